/**
 * Accepting messages: dedup, delay, queue (and priority lane) selection, TTL, and the append to
 * the store. Input is already validated by the gRPC edge.
 *
 * Queue selection: messages with a message group always go to the same queue of their topic
 * (FNV-1a of the group modulo the queue count), so a group stays in order; others are spread
 * round-robin. The client's own queue choice is ignored, as Apache's proxy does: the official
 * Node client only ever addresses queue 0. PRIORITY topics then pick the lane of the message's
 * priority (topic/lanes.ts).
 */
import { fnv1a } from '../../proto/common/hash.js';
import type { MessageStore, AppendEntry } from '../store/message-store.js';
import { storedHeader, type StoredHeader } from '../store/codec.js';
import type { BatchOp } from '../store/rocks.js';
import type { TopicConfig, TopicManager } from '../topic/topic-manager.js';
import { storeQueue } from '../topic/lanes.js';
import type { DelayService, DueMessage } from '../schedule/delay-service.js';
import type { ExpiryService } from '../schedule/expiry-service.js';
import { DEDUP_WINDOW_ATTRIBUTE, type Dedup } from './dedup.js';

export interface IncomingMessage {
  topic: string;
  header: Omit<StoredHeader, 'storeMs' | 'expireMs'>;
  body: Buffer;
  /** Deliver no earlier than this (ms since the epoch). */
  deliverAtMs?: number;
  /** Per-message TTL (ms), counted from when the message becomes deliverable. */
  ttlMs?: number;
  /** Send-side dedup key (user property agentmq.dedup.key). */
  dedupKey?: string;
}

export interface SendOutcome {
  messageId: string;
  /** Offset in its queue; -1 for a delayed message not yet due. */
  offset: number;
  /** Delayed messages: the handle RecallMessage takes. */
  recallHandle?: string;
  /** A duplicate within the dedup window: nothing was stored. */
  duplicate?: boolean;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class SendService {
  private readonly rr = new Map<string, number>();
  private delays: DelayService | undefined;

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicManager,
    private readonly dedup: Dedup,
    private readonly expiry: ExpiryService,
    private readonly defaultDedupWindowMs: number,
  ) {}

  /** Wired after construction (the delay service delivers through `deliverDue`). */
  setDelayService(delays: DelayService): void {
    this.delays = delays;
  }

  private selectQueue(topic: TopicConfig, group: string | undefined, priority: number | undefined): number {
    let q: number;
    if (topic.queueCount === 1) {
      q = 0; // no round-robin state for one-queue topics (a million lite topics)
    } else if (group !== undefined) {
      q = fnv1a(group) % topic.queueCount;
    } else {
      q = ((this.rr.get(topic.name) ?? 0) + 1) % topic.queueCount;
      this.rr.set(topic.name, q);
    }
    return storeQueue(topic, q, priority);
  }

  private dedupWindowMs(topic: TopicConfig): number {
    const v = Number(topic.attributes[DEDUP_WINDOW_ATTRIBUTE]);
    return Number.isFinite(v) && v > 0 ? v : this.defaultDedupWindowMs;
  }

  private entry(topic: TopicConfig, header: Omit<StoredHeader, 'storeMs' | 'expireMs'>, body: Buffer, ttlMs: number | undefined, now: number): AppendEntry {
    return {
      topic: topic.name,
      queueId: this.selectQueue(topic, header.group, header.priority),
      header: storedHeader(header, now, ttlMs !== undefined ? now + ttlMs : undefined),
      body,
    };
  }

  /** Stores (or schedules) messages in one group-committed write; resolves once durable. */
  async send(messages: IncomingMessage[], now: number): Promise<SendOutcome[]> {
    const outcomes: (SendOutcome | Promise<SendOutcome>)[] = new Array(messages.length);
    const entries: AppendEntry[] = [];
    const entryIdx: number[] = [];
    const extraOps: BatchOp[] = [];
    const scheduled: number[] = [];
    /** dedup reservations made by this call: message index -> (key, window end, offset) */
    const reserved = new Map<number, { topic: string; key: string; expireAt: number; offset: Deferred<number> }>();
    let minExpiry = Infinity;

    messages.forEach((m, i) => {
      const topic = this.topics.require(m.topic);
      if (m.dedupKey !== undefined) {
        const dup = this.dedup.lookup(m.topic, m.dedupKey, now);
        if (dup) {
          outcomes[i] = dup.offset.then((offset) => ({ messageId: dup.messageId, offset, duplicate: true }));
          return;
        }
        const expireAt = now + this.dedupWindowMs(topic);
        const offset = deferred<number>();
        this.dedup.reserve(m.topic, m.dedupKey, m.header.id, expireAt, offset.promise);
        reserved.set(i, { topic: m.topic, key: m.dedupKey, expireAt, offset });
        minExpiry = Math.min(minExpiry, expireAt);
      }
      if (m.deliverAtMs !== undefined && m.deliverAtMs > now && this.delays) {
        const { ops, recallHandle } = this.delays.schedule({ topic: m.topic, header: { ...m.header, storeMs: now }, body: m.body, ...(m.ttlMs !== undefined ? { ttlMs: m.ttlMs } : {}) }, m.deliverAtMs);
        extraOps.push(...ops);
        scheduled.push(m.deliverAtMs);
        outcomes[i] = { messageId: m.header.id, offset: -1, recallHandle };
        const r = reserved.get(i);
        if (r) extraOps.push(...this.dedup.recordOps(r.topic, r.key, m.header.id, -1, r.expireAt));
        return;
      }
      const e = this.entry(topic, m.header, m.body, m.ttlMs, now);
      if (e.header.expireMs !== undefined) minExpiry = Math.min(minExpiry, e.header.expireMs);
      entryIdx.push(i);
      entries.push(e);
    });

    try {
      const results = await this.store.append(entries, extraOps, (res) => {
        const ops: BatchOp[] = [];
        res.forEach((r, j) => {
          const d = reserved.get(entryIdx[j]!);
          if (d) ops.push(...this.dedup.recordOps(d.topic, d.key, messages[entryIdx[j]!]!.header.id, r.offset, d.expireAt));
        });
        return ops;
      });
      results.forEach((r, j) => {
        const i = entryIdx[j]!;
        outcomes[i] = { messageId: messages[i]!.header.id, offset: r.offset };
        reserved.get(i)?.offset.resolve(r.offset);
      });
      // Delayed messages have no offset yet (settling an already-resolved deferred is a no-op).
      for (const r of reserved.values()) r.offset.resolve(-1);
    } catch (err) {
      for (const r of reserved.values()) r.offset.reject(err);
      throw err;
    }
    for (const at of scheduled) this.delays?.scheduled(at);
    if (minExpiry < Infinity) this.expiry.notify(minExpiry);
    return Promise.all(outcomes);
  }

  /** Moves due delayed messages into their topics (called by the delay service). */
  async deliverDue(due: DueMessage[], now: number): Promise<void> {
    const entries: AppendEntry[] = [];
    const retire: BatchOp[] = [];
    let minExpiry = Infinity;
    for (const d of due) {
      retire.push(...d.retire);
      const topic = this.topics.get(d.pending.topic);
      if (!topic) continue; // topic deleted while the message waited: dropped with its 'D' key
      const { storeMs: _s, expireMs: _e, ...header } = d.pending.header;
      const e = this.entry(topic, header, d.pending.body, d.pending.ttlMs, now);
      // The TTL runs from the scheduled delivery time, not from when it was moved (the broker may
      // have been down then): one whose window already passed is stored expired and reclaimed.
      if (d.pending.ttlMs !== undefined && header.deliveryMs !== undefined) e.header.expireMs = Math.min(now, header.deliveryMs) + d.pending.ttlMs;
      if (e.header.expireMs !== undefined) minExpiry = Math.min(minExpiry, e.header.expireMs);
      entries.push(e);
    }
    await this.store.append(entries, retire);
    if (minExpiry < Infinity) this.expiry.notify(minExpiry);
  }

  /** Re-publishes copies of stored messages (dead-letter redrive, DLQ forwarding). */
  async republish(items: { topic: TopicConfig; header: StoredHeader; body: Buffer }[], extraOps: BatchOp[], now: number): Promise<void> {
    const entries = items.map((it) => {
      const { storeMs: _s, expireMs, ...header } = it.header;
      const e = this.entry(it.topic, header, it.body, undefined, now);
      if (expireMs !== undefined) e.header.expireMs = expireMs;
      return e;
    });
    await this.store.append(entries, extraOps);
  }
}
