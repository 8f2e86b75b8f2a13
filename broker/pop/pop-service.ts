/**
 * POP-style consumption: receive (with invisibility), ack, change invisibility, redelivery,
 * FIFO message-group gating, TTL skipping and dead-lettering after too many deliveries.
 *
 * State per (topic, group, store queue), in memory and persisted through the store's WriteQueue:
 *   cursor    next offset never examined for this group                 -> 'C' key
 *   inflight  offset -> {visibleAt, attempt, token, group?}             -> 'I' keys
 *   waiting   FIFO only: message group -> offsets held back behind an    -> 'W' keys
 *             unacked message of that group (ascending)
 *   blocked   FIFO only: message group -> its in-flight offset (derived from inflight)
 *   due       min-heap of (visibleAt, offset, token) for redelivery; entries may be stale
 * Invariant (keys.ts): an offset below the cursor with neither an 'I' nor a 'W' record is
 * acknowledged (or skipped: filtered out, expired, dead-lettered). So a restart recovers exactly.
 *
 * Redelivery is driven by one timer, reset to the earliest visibility deadline of all groups; it
 * signals the LongPolling of the topic/group, which wakes parked receives. No polling loop.
 *
 * Concurrency: Node is single-threaded; for normal queues every claim (cursor move, in-flight
 * record) is made synchronously before the first `await` of an operation, so two receives racing
 * on a queue never claim the same offset. FIFO queues must read a message to know its group
 * before deciding, so their pops run one at a time per queue (`lock`).
 */
import { randomInt } from 'node:crypto';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessageStore, StoredMessage } from '../store/message-store.js';
import type { BatchOp } from '../store/rocks.js';
import { consumerPrefix, decodeConsumerKey, encodeU64, decodeU64, cursorKey, inflightKey, waitingKey, prefixEnd, P_CURSOR, P_INFLIGHT, P_WAITING, type ConsumerKey } from '../store/keys.js';
import { decodeInflight, encodeInflight, type InflightRecord } from '../store/codec.js';
import type { TopicConfig } from '../topic/topic-manager.js';
import { drainOrder } from '../topic/lanes.js';
import { DeadlineHeap } from './deadline-heap.js';
import type { LongPolling } from './long-polling.js';
import type { ReceiptHandleCodec } from './receipt-handle.js';
import type { TagFilter } from '../consumer/filter.js';

type Offset = number;
type MessageGroup = string;

/** FIFO: most messages held back per queue before scanning stops until acks free groups. */
export const MAX_WAITING_PER_QUEUE = 10_000;
/** FIFO: messages read per scan step. */
const FIFO_SCAN_CHUNK = 64;

const RESOLVED = Promise.resolve();
/** Shared by lite queue consumers, which never block on message groups (never written). */
const NO_GROUPS_BLOCKED = new Map<MessageGroup, Offset>();
const NO_GROUPS_WAITING = new Map<MessageGroup, Offset[]>();

interface Due {
  at: number;
  offset: Offset;
  token: number;
}

interface QueueConsumer {
  topic: string;
  group: string;
  queueId: number;
  cursor: Offset;
  inflight: Map<Offset, InflightRecord>;
  due: DeadlineHeap<Due>;
  blocked: Map<MessageGroup, Offset>;
  waiting: Map<MessageGroup, Offset[]>;
  waitingCount: number;
  lock: Promise<void>;
}

export interface Delivery {
  message: StoredMessage;
  attempt: number;
  receiptHandle: string;
  /** When the message becomes visible again if not acked. */
  visibleAt: number;
}

export interface PopRequest {
  topic: TopicConfig;
  group: string;
  filter: TagFilter;
  maxMessages: number;
  invisibleMs: number;
  /** Deliveries after which an unacked message is dead-lettered instead of redelivered. */
  maxAttempts: number;
  /**
   * Lite topics: no new message while any message of the queue is in the group's hands, so a
   * lite topic is consumed in order (a batch, then the next once it is settled).
   */
  gate?: boolean;
}

/** A message leaving for the dead-letter topic. */
export interface DeadLetter {
  message: StoredMessage;
  attempts: number;
  reason: string;
}

/** Moves messages to the group's dead-letter topic, committing `ops` atomically with them. */
export type DeadLetterSink = (group: string, letters: DeadLetter[], ops: BatchOp[]) => Promise<void>;

interface GlobalDue {
  at: number;
  topic: string;
  group: string;
}

/** A delivery that was the last one allowed: dead-lettered when its invisibility ends unacked. */
interface LastChance {
  at: number;
  qc: QueueConsumer;
  offset: Offset;
  token: number;
}

export interface GroupDeliveryState {
  group: string;
  state: 'pending' | 'inflight' | 'waiting' | 'acked';
  attempt: number;
  visibleAt: number;
}

export class PopService {
  /** key: topic \0 group -> one state per store queue */
  private readonly consumers = new Map<string, QueueConsumer[]>();
  private readonly globalDue = new DeadlineHeap<GlobalDue>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /**
   * Lite topics: the position of a group whose queue consumer was compacted away once it had
   * consumed everything (topic \0 group -> cursor). A million used reply channels keep a number
   * each instead of a consumer with its maps (compactIdle).
   */
  private readonly idleCursors = new Map<string, Offset>();
  /** Round-robin start queue per topic\0group, so one busy queue does not starve the others. */
  private readonly rr = new Map<string, number>();
  private closed = false;
  private deadLetterSink: DeadLetterSink | undefined;
  private readonly lastChance = new DeadlineHeap<LastChance>();
  /** Max delivery attempts of a group (from its config); set by the broker. */
  private maxAttemptsOf: (group: string) => number = () => Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly store: MessageStore,
    private readonly longPolling: LongPolling,
    private readonly handles: ReceiptHandleCodec,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Where exhausted messages go, and how many deliveries a group allows. With both set, a
   * message whose last allowed delivery expires unacked is dead-lettered by the redelivery
   * timer even when no consumer is receiving.
   */
  setDeadLetterSink(sink: DeadLetterSink, maxAttemptsOf: (group: string) => number): void {
    this.deadLetterSink = sink;
    this.maxAttemptsOf = maxAttemptsOf;
  }

  /**
   * Recovers cursors, in-flight and waiting records after a restart. Lite topics (internal
   * names parent$lite) are skipped: their queues open lazily and `loadTopic` recovers them then.
   */
  async load(): Promise<void> {
    const counts = { cursors: 0, inflight: 0, waiting: 0 };
    for (const kind of [P_CURSOR, P_INFLIGHT, P_WAITING] as const) {
      const prefix = Buffer.from([kind]);
      for await (const [key, value] of this.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
        const k = decodeConsumerKey(key);
        if (k.topic.includes('$')) continue; // a lite topic: recovered when it is opened
        if (this.recover(kind, k, value)) counts[kind === P_CURSOR ? 'cursors' : kind === P_INFLIGHT ? 'inflight' : 'waiting']++;
      }
    }
    this.logger.info('consumer state recovered', counts);
  }

  /** Recovers the consumer state of one topic whose queues were just opened (lite topics); returns its groups. */
  async loadTopic(topic: string): Promise<Set<string>> {
    const groups = new Set<string>();
    for (const kind of [P_CURSOR, P_INFLIGHT, P_WAITING] as const) {
      const prefix = consumerPrefix(kind, topic);
      for await (const [key, value] of this.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
        const k = decodeConsumerKey(key);
        if (this.recover(kind, k, value)) groups.add(k.group);
      }
    }
    return groups;
  }

  private recover(kind: number, k: ConsumerKey, value: Buffer): boolean {
    if (this.store.queueCount(k.topic) <= k.queueId) return false; // topic deleted meanwhile
    const qc = this.queueConsumer(k.topic, k.group, k.queueId);
    if (kind === P_CURSOR) {
      qc.cursor = decodeU64(value);
    } else if (kind === P_INFLIGHT && k.offset !== undefined) {
      const rec = decodeInflight(value);
      qc.inflight.set(k.offset, rec);
      if (rec.group !== undefined) qc.blocked.set(rec.group, k.offset);
      this.schedule(qc, k.offset, rec);
      if (rec.attempt >= this.maxAttemptsOf(qc.group)) this.lastChance.push({ at: rec.visibleAt, qc, offset: k.offset, token: rec.token });
    } else if (kind === P_WAITING && k.offset !== undefined) {
      this.holdBack(qc, value.toString('utf8'), k.offset);
    } else return false;
    return true;
  }

  private consumersOf(topic: string, group: string): QueueConsumer[] {
    const key = `${topic}\0${group}`;
    let list = this.consumers.get(key);
    if (!list) {
      list = [];
      this.consumers.set(key, list);
    }
    const want = this.store.queueCount(topic);
    // Lite topics (parent$lite) carry no message groups: their FIFO maps stay empty and shared,
    // which keeps a million lite consumers small.
    const lite = topic.includes('$');
    for (let q = list.length; q < want; q++) {
      // A group new to a queue starts at the oldest stored message.
      list.push({
        topic,
        group,
        queueId: q,
        cursor: lite && q === 0 ? this.takeIdleCursor(key, this.store.offsets(topic, q).min) : this.store.offsets(topic, q).min,
        inflight: new Map(),
        due: new DeadlineHeap(),
        blocked: lite ? NO_GROUPS_BLOCKED : new Map(),
        waiting: lite ? NO_GROUPS_WAITING : new Map(),
        waitingCount: 0,
        lock: RESOLVED,
      });
    }
    return list;
  }

  private queueConsumer(topic: string, group: string, queueId: number): QueueConsumer {
    const qc = this.consumersOf(topic, group)[queueId];
    if (!qc) throw new Error(`no queue ${topic}/${queueId}`);
    return qc;
  }

  private newToken(): number {
    return randomInt(0, 0xffffffff);
  }

  private holdBack(qc: QueueConsumer, g: MessageGroup, offset: Offset): void {
    const list = qc.waiting.get(g);
    if (list) list.push(offset);
    else qc.waiting.set(g, [offset]);
    qc.waitingCount++;
  }

  private schedule(qc: QueueConsumer, offset: Offset, rec: InflightRecord): void {
    qc.due.push({ at: rec.visibleAt, offset, token: rec.token });
    this.globalDue.push({ at: rec.visibleAt, topic: qc.topic, group: qc.group });
    this.armTimer();
  }

  /** Keeps exactly one timer, set to the earliest redelivery deadline. */
  private armTimer(): void {
    if (this.closed) return;
    const next = this.globalDue.peek();
    if (!next || next.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next.at - this.clock.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    // Wake as many receivers per topic/group as messages became visible (entries may be
    // stale; a receiver woken for nothing parks again).
    const due = new Map<string, { topic: string; group: string; count: number }>();
    for (let d = this.globalDue.peek(); d && d.at <= now; d = this.globalDue.peek()) {
      this.globalDue.pop();
      const key = `${d.topic}\0${d.group}`;
      const entry = due.get(key);
      if (entry) entry.count++;
      else due.set(key, { topic: d.topic, group: d.group, count: 1 });
    }
    for (const { topic, group, count } of due.values()) this.longPolling.signal(topic, count, group);
    this.deadLetterExhausted(now);
    this.armTimer();
  }

  /** Dead-letters last-chance deliveries whose invisibility ended unacked (timer-driven). */
  private deadLetterExhausted(now: number): void {
    const byQueue = new Map<QueueConsumer, { offset: Offset; attempts: number }[]>();
    for (let d = this.lastChance.peek(); d && d.at <= now; d = this.lastChance.peek()) {
      this.lastChance.pop();
      const cur = d.qc.inflight.get(d.offset);
      if (!cur || cur.token !== d.token || cur.visibleAt > now) continue; // acked, extended or redelivered
      const list = byQueue.get(d.qc) ?? [];
      list.push({ offset: d.offset, attempts: cur.attempt });
      byQueue.set(d.qc, list);
    }
    for (const [qc, items] of byQueue) {
      // Retired now (synchronously): a new token and no deadline, so no receive redelivers them
      // meanwhile; still in flight, so a FIFO group stays blocked until the dead letter is durable.
      for (const it of items) {
        const rec = qc.inflight.get(it.offset)!;
        rec.token = this.newToken();
        rec.handle = undefined;
        rec.visibleAt = Number.MAX_SAFE_INTEGER;
      }
      const ops: BatchOp[] = items.map((it) => ({ type: 'del', key: inflightKey(qc.topic, qc.group, qc.queueId, it.offset) }));
      void (async () => {
        const letters: DeadLetter[] = [];
        for (const it of items) {
          const message = await this.store.readOne(qc.topic, qc.queueId, it.offset);
          if (message && !this.expired(message, now)) letters.push({ message, attempts: it.attempts, reason: `not acknowledged after ${it.attempts} deliveries` });
        }
        if (letters.length > 0 && this.deadLetterSink) await this.deadLetterSink(qc.group, letters, ops);
        else await this.store.writes.write(ops);
        for (const it of items) this.release(qc, it.offset, []);
        if (letters.length > 0) this.logger.info('messages dead-lettered', { topic: qc.topic, group: qc.group, count: letters.length });
      })().catch((err: unknown) => this.logger.error('dead-lettering failed; the messages come back after a restart', { topic: qc.topic, group: qc.group, err: String(err) }));
    }
  }

  private expired(m: StoredMessage, now: number): boolean {
    return m.expireMs !== undefined && m.expireMs <= now;
  }

  /** False for a dead letter re-driven for another consumer group. */
  private forGroup(m: StoredMessage, group: string): boolean {
    return m.forGroup === undefined || m.forGroup === group;
  }

  /** Claims a message for delivery (in memory) and adds its 'I' op. */
  private claim(qc: QueueConsumer, offset: Offset, attempt: number, fifoGroup: MessageGroup | undefined, invisibleMs: number, now: number, ops: BatchOp[]): InflightRecord {
    const rec: InflightRecord = { visibleAt: now + invisibleMs, attempt, token: this.newToken(), handle: undefined, ...(fifoGroup !== undefined ? { group: fifoGroup } : {}) };
    qc.inflight.set(offset, rec);
    if (fifoGroup !== undefined) qc.blocked.set(fifoGroup, offset);
    this.schedule(qc, offset, rec);
    if (attempt >= this.maxAttemptsOf(qc.group)) this.lastChance.push({ at: rec.visibleAt, qc, offset, token: rec.token });
    ops.push({ type: 'put', key: inflightKey(qc.topic, qc.group, qc.queueId, offset), value: encodeInflight(rec) });
    return rec;
  }

  /** Drops a message from the group's hands (acked, expired, dead-lettered): its ops, and FIFO unblocking. */
  private release(qc: QueueConsumer, offset: Offset, ops: BatchOp[]): void {
    const rec = qc.inflight.get(offset);
    qc.inflight.delete(offset);
    ops.push({ type: 'del', key: inflightKey(qc.topic, qc.group, qc.queueId, offset) });
    if (rec?.group !== undefined && qc.blocked.get(rec.group) === offset) {
      qc.blocked.delete(rec.group);
      // The group's next message may now be delivered.
      if (qc.waiting.has(rec.group)) this.longPolling.signal(qc.topic, 1, qc.group);
    }
  }

  /**
   * Hands out up to `maxMessages` deliverable messages to `group`: first messages whose
   * invisibility expired (redeliveries, attempt + 1; dead-lettered instead once `maxAttempts`
   * deliveries were made), then new ones in order (by priority first on PRIORITY topics; FIFO
   * topics: at most one unacked message per message group).
   */
  async pop(req: PopRequest): Promise<Delivery[]> {
    const now = this.clock.now();
    const topic = req.topic.name;
    const fifo = req.topic.messageType === 'FIFO';
    const list = this.consumersOf(topic, req.group);
    const rrKey = `${topic}\0${req.group}`;
    const start = this.rr.get(rrKey) ?? 0;
    if (req.topic.queueCount > 1) this.rr.set(rrKey, (start + 1) % req.topic.queueCount);
    const order = drainOrder(req.topic, start).filter((q) => q < list.length);
    const out: Delivery[] = [];
    const ops: BatchOp[] = [];
    const letters: DeadLetter[] = [];

    // Pass 1: redeliveries (claimed synchronously).
    const redeliver: { qc: QueueConsumer; offset: Offset; rec: InflightRecord }[] = [];
    const exhausted: { qc: QueueConsumer; offset: Offset; attempts: number }[] = [];
    for (const qid of order) {
      const qc = list[qid]!;
      // Gated (lite): nothing comes back while another message of the queue is still in hand.
      if (req.gate && this.inHand(qc, now)) continue;
      while (redeliver.length < req.maxMessages) {
        const d = qc.due.peek();
        if (!d || d.at > now) break;
        qc.due.pop();
        const cur = qc.inflight.get(d.offset);
        if (!cur || cur.token !== d.token || cur.visibleAt !== d.at) continue; // stale entry
        if (cur.attempt >= req.maxAttempts) {
          // Taken out of circulation now; released (and unblocked) once it is dead-lettered.
          cur.token = this.newToken();
          cur.handle = undefined;
          exhausted.push({ qc, offset: d.offset, attempts: cur.attempt });
          continue;
        }
        redeliver.push({ qc, offset: d.offset, rec: this.claim(qc, d.offset, cur.attempt + 1, cur.group, req.invisibleMs, now, ops) });
      }
      if (redeliver.length >= req.maxMessages) break;
    }

    for (const x of exhausted) {
      const message = await this.store.readOne(topic, x.qc.queueId, x.offset);
      this.release(x.qc, x.offset, ops);
      if (message && !this.expired(message, now)) letters.push({ message, attempts: x.attempts, reason: `not acknowledged after ${x.attempts} deliveries` });
    }
    // Gated queues redeliver in queue order (the due heap orders by time).
    if (req.gate) redeliver.sort((a, b) => a.offset - b.offset);
    for (const r of redeliver) {
      const message = await this.store.readOne(topic, r.qc.queueId, r.offset);
      if (!message || this.expired(message, now)) {
        // Expired (TTL) or gone: never delivered again.
        this.release(r.qc, r.offset, ops);
        continue;
      }
      out.push(this.delivery(r.qc, message, r.rec));
    }

    // Pass 2: new messages (a gated queue only once nothing of it is in the group's hands).
    if (req.gate) {
      const open = order.filter((q) => list[q]!.inflight.size === 0);
      if (open.length > 0) await this.popOrdered(list, open, req, now, out, ops);
    } else if (fifo) {
      for (const qid of order) {
        if (out.length >= req.maxMessages) break;
        const qc = list[qid]!;
        await this.locked(qc, () => this.popFifo(qc, req, now, out, ops));
      }
    } else {
      await this.popOrdered(list, order, req, now, out, ops);
    }

    if (letters.length > 0) {
      if (!this.deadLetterSink) throw new Error('no dead-letter sink');
      await this.deadLetterSink(req.group, letters, ops);
      this.logger.info('messages dead-lettered', { topic, group: req.group, count: letters.length });
    } else if (out.length > 0) {
      // Deliver without waiting for the claim (cursor, in-flight records) to be written, under
      // either flush policy: if the broker dies first, the messages are simply delivered again
      // (at-least-once), and any ack that follows is queued behind this write, so it cannot
      // overtake it. The `sync` policy is about acknowledged sends; consumer positions are not
      // fsynced before a delivery in RocketMQ either (it persists consume offsets periodically).
      // Detached: no promise per receive; a failed batch is logged by the store.
      try {
        this.store.writes.writeDetached(ops);
      } catch (err) {
        this.logger.error('persisting a receive failed; its messages will be redelivered after a restart', { topic, group: req.group, err: String(err) });
      }
    } else {
      await this.store.writes.write(ops);
    }
    return out;
  }

  /** Normal queues: claim offset ranges synchronously, then read; repeat while messages were skipped. */
  private async popOrdered(list: QueueConsumer[], order: number[], req: PopRequest, now: number, out: Delivery[], ops: BatchOp[]): Promise<void> {
    for (let budget = req.maxMessages - out.length; budget > 0; budget = req.maxMessages - out.length) {
      const claims: { qc: QueueConsumer; from: Offset; to: Offset }[] = [];
      for (const qid of order) {
        if (budget <= 0) break;
        const qc = list[qid]!;
        const committed = this.store.committedOffset(qc.topic, qc.queueId);
        if (qc.cursor >= committed) continue;
        const from = qc.cursor;
        const to = Math.min(committed, from + budget);
        claims.push({ qc, from, to });
        qc.cursor = to;
        budget -= to - from;
        ops.push({ type: 'put', key: cursorKey(qc.topic, qc.group, qc.queueId), value: encodeU64(to) });
      }
      if (claims.length === 0) return;
      for (const c of claims) {
        for (const m of await this.store.read(c.qc.topic, c.qc.queueId, c.from, c.to)) {
          // Skipped for good: not for this group's filter (RocketMQ semantics), expired, or a
          // dead letter re-driven for another group.
          if (!req.filter(m.tag) || this.expired(m, now) || !this.forGroup(m, req.group)) continue;
          out.push(this.delivery(c.qc, m, this.claim(c.qc, m.offset, 1, undefined, req.invisibleMs, now, ops)));
        }
      }
    }
  }

  /** FIFO queue, under its lock: first held-back heads of unblocked groups, then scan forward. */
  private async popFifo(qc: QueueConsumer, req: PopRequest, now: number, out: Delivery[], ops: BatchOp[]): Promise<void> {
    for (const [g, offsets] of [...qc.waiting]) {
      if (out.length >= req.maxMessages) return;
      while (offsets.length > 0 && !qc.blocked.has(g)) {
        const offset = offsets.shift()!;
        qc.waitingCount--;
        ops.push({ type: 'del', key: waitingKey(qc.topic, qc.group, qc.queueId, offset) });
        const m = await this.store.readOne(qc.topic, qc.queueId, offset);
        if (!m || this.expired(m, now)) continue;
        out.push(this.delivery(qc, m, this.claim(qc, offset, 1, g, req.invisibleMs, now, ops)));
      }
      if (offsets.length === 0) qc.waiting.delete(g);
    }
    const startCursor = qc.cursor;
    while (out.length < req.maxMessages && qc.waitingCount < MAX_WAITING_PER_QUEUE) {
      const committed = this.store.committedOffset(qc.topic, qc.queueId);
      if (qc.cursor >= committed) break;
      const to = Math.min(committed, qc.cursor + FIFO_SCAN_CHUNK);
      let next = to;
      for (const m of await this.store.read(qc.topic, qc.queueId, qc.cursor, to)) {
        if (out.length >= req.maxMessages || qc.waitingCount >= MAX_WAITING_PER_QUEUE) {
          next = m.offset;
          break;
        }
        if (!req.filter(m.tag) || this.expired(m, now) || !this.forGroup(m, req.group)) continue;
        const g = m.group ?? '';
        if (qc.blocked.has(g) || qc.waiting.has(g)) {
          this.holdBack(qc, g, m.offset);
          ops.push({ type: 'put', key: waitingKey(qc.topic, qc.group, qc.queueId, m.offset), value: Buffer.from(g, 'utf8') });
          continue;
        }
        out.push(this.delivery(qc, m, this.claim(qc, m.offset, 1, g, req.invisibleMs, now, ops)));
      }
      qc.cursor = next;
    }
    if (qc.cursor !== startCursor) ops.push({ type: 'put', key: cursorKey(qc.topic, qc.group, qc.queueId), value: encodeU64(qc.cursor) });
  }

  private async locked<T>(qc: QueueConsumer, fn: () => Promise<T>): Promise<T> {
    const prev = qc.lock;
    let release!: () => void;
    qc.lock = new Promise((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private delivery(qc: QueueConsumer, message: StoredMessage, rec: InflightRecord): Delivery {
    return { message, attempt: rec.attempt, visibleAt: rec.visibleAt, receiptHandle: this.issue(qc, message.offset, rec) };
  }

  /** A receipt handle for `rec`'s current token, remembered on the record for the ack. */
  private issue(qc: QueueConsumer, offset: Offset, rec: InflightRecord): string {
    return (rec.handle = this.handles.encode(qc.group, qc.topic, { queueId: qc.queueId, offset, token: rec.token }));
  }

  /**
   * The in-flight record a receipt handle designates, or INVALID_RECEIPT_HANDLE.
   *
   * Fast path: a handle equal to the one issued for the record's current token (kept in memory
   * on the record) is genuine, because only this broker made that string for this group, topic,
   * queue, offset and token; its MAC is not computed again. Anything else (a handle issued before
   * a restart, a stale, forged or mangled one) takes the verifying path, which also gives the
   * precise error.
   */
  private resolveHandle(topic: string, group: string, handle: string): { qc: QueueConsumer; offset: Offset; rec: InflightRecord } {
    const p = this.handles.peek(handle);
    if (p !== undefined) {
      const qc = this.consumers.get(`${topic}\0${group}`)?.[p.queueId];
      const rec = qc?.inflight.get(p.offset);
      if (qc && rec && rec.handle === handle) return { qc, offset: p.offset, rec };
    }
    const h = this.handles.decode(group, topic, handle);
    const list = this.consumersOf(topic, group);
    const qc = list[h.queueId];
    const rec = qc?.inflight.get(h.offset);
    if (!qc || !rec || rec.token !== h.token) {
      throw new MqError(
        Code.INVALID_RECEIPT_HANDLE,
        `receipt handle is stale: the message (queue ${h.queueId}, offset ${h.offset}) was already acknowledged or delivered again since`,
        { receiptHandle: handle, topic, group },
      );
    }
    return { qc, offset: h.offset, rec };
  }

  /** Acknowledges a delivery. Durable when the promise resolves. */
  async ack(topic: string, group: string, handle: string): Promise<void> {
    await this.store.writes.write(this.settle(topic, group, handle));
  }

  /** Removes a delivery from the group's hands and returns the ops that persist it. */
  settle(topic: string, group: string, handle: string): BatchOp[] {
    const { qc, offset } = this.resolveHandle(topic, group, handle);
    const ops: BatchOp[] = [];
    this.release(qc, offset, ops);
    return ops;
  }

  /**
   * Makes the message invisible for `invisibleMs` from now (0 = visible at once, a nack) and
   * returns the new receipt handle; the old one becomes stale.
   */
  async changeInvisibleDuration(topic: string, group: string, handle: string, invisibleMs: number, suspend = false): Promise<string> {
    const { qc, offset, rec: cur } = this.resolveHandle(topic, group, handle);
    const ops: BatchOp[] = [];
    // Suspend (lite topics): the delivery does not count, so the redelivery carries the same attempt.
    const attempt = suspend ? Math.max(0, cur.attempt - 1) : cur.attempt;
    const rec = this.claim(qc, offset, attempt, cur.group, invisibleMs, this.clock.now(), ops);
    await this.store.writes.write(ops);
    if (invisibleMs === 0) this.longPolling.signal(topic, 1, group);
    return this.issue(qc, offset, rec);
  }

  /** ForwardMessageToDeadLetterQueue: dead-letters a delivery now. */
  async forwardToDeadLetter(topic: string, group: string, handle: string, reason: string): Promise<void> {
    const { qc, offset, rec } = this.resolveHandle(topic, group, handle);
    const message = await this.store.readOne(topic, qc.queueId, offset);
    const ops: BatchOp[] = [];
    this.release(qc, offset, ops);
    if (!message) return void (await this.store.writes.write(ops));
    if (!this.deadLetterSink) throw new Error('no dead-letter sink');
    await this.deadLetterSink(group, [{ message, attempts: rec.attempt, reason }], ops);
  }

  /**
   * Whether a receive by `group` on the (single-queue) topic would get something now: a
   * redelivery that is due, or, with nothing in the group's hands, a new message. Lite topics
   * use this to decide if a lite topic belongs in a ReadySet.
   */
  deliverable(topic: string, group: string): boolean {
    const qc = this.consumersOf(topic, group)[0];
    if (!qc) return false;
    if (qc.inflight.size === 0) return qc.cursor < this.store.committedOffset(topic, qc.queueId);
    const now = this.clock.now();
    if (this.inHand(qc, now)) return false;
    for (let d = qc.due.peek(); d; d = qc.due.peek()) {
      const cur = qc.inflight.get(d.offset);
      if (cur && cur.token === d.token && cur.visibleAt === d.at) return d.at <= now;
      qc.due.pop(); // stale
    }
    return false;
  }

  /**
   * Moves a group's position on a single-queue topic (lite subscription offset options): drops
   * what it has in flight there (those receipt handles become stale) and persists the cursor.
   */
  async resetCursor(topic: string, group: string, offset: number): Promise<void> {
    const qc = this.consumersOf(topic, group)[0];
    if (!qc) return;
    const { min, max } = this.store.offsets(topic, qc.queueId);
    const ops: BatchOp[] = [];
    for (const o of qc.inflight.keys()) ops.push({ type: 'del', key: inflightKey(topic, group, qc.queueId, o) });
    qc.inflight.clear();
    qc.due.clear();
    qc.cursor = Math.max(min, Math.min(max, offset));
    ops.push({ type: 'put', key: cursorKey(topic, group, qc.queueId), value: encodeU64(qc.cursor) });
    await this.store.writes.write(ops);
  }

  private takeIdleCursor(key: string, min: Offset): Offset {
    const c = this.idleCursors.get(key);
    if (c === undefined) return min;
    this.idleCursors.delete(key);
    return Math.max(c, min);
  }

  /**
   * Lite topics: once a group has nothing in hand on a one-queue topic, its consumer is replaced
   * by its cursor alone (the cursor is persisted already; a later receive recreates the consumer
   * from it).
   */
  compactIdle(topic: string, group: string): void {
    const key = `${topic}\0${group}`;
    const list = this.consumers.get(key);
    if (!list || list.length !== 1) return;
    const qc = list[0]!;
    if (qc.inflight.size > 0 || qc.waitingCount > 0) return;
    this.consumers.delete(key);
    this.idleCursors.set(key, qc.cursor);
  }

  /** Some message of the queue is in a consumer's hands (invisible) at `now`. */
  private inHand(qc: QueueConsumer, now: number): boolean {
    for (const rec of qc.inflight.values()) if (rec.visibleAt > now) return true;
    return false;
  }

  /** Forgets the consumer state of some groups on a topic (the store deletes the records). */
  dropQueueConsumers(topic: string, groups: Iterable<string>): void {
    for (const g of groups) {
      this.consumers.delete(`${topic}\0${g}`);
      this.rr.delete(`${topic}\0${g}`);
      this.idleCursors.delete(`${topic}\0${g}`);
    }
  }

  /** Forgets all consumer state of a topic (after the store deleted it). */
  dropTopic(topic: string): void {
    for (const key of [...this.consumers.keys()]) if (key.startsWith(`${topic}\0`)) this.consumers.delete(key);
  }

  /** Where a stored message stands for every group that consumed its topic. */
  deliveryStates(topic: string, queueId: number, offset: number): GroupDeliveryState[] {
    const out: GroupDeliveryState[] = [];
    for (const [key, list] of this.consumers) {
      if (!key.startsWith(`${topic}\0`)) continue;
      const qc = list[queueId];
      if (!qc) continue;
      const rec = qc.inflight.get(offset);
      let state: GroupDeliveryState['state'];
      if (rec) state = 'inflight';
      else if (offset >= qc.cursor) state = 'pending';
      else if ([...qc.waiting.values()].some((l) => l.includes(offset))) state = 'waiting';
      else state = 'acked';
      out.push({ group: qc.group, state, attempt: rec?.attempt ?? 0, visibleAt: rec?.visibleAt ?? 0 });
    }
    return out;
  }

  /** Consumer state of a group on a topic: backlog and in-flight counts. */
  groupStats(topic: string, group: string): { inflight: number; backlog: number; waiting: number } {
    let inflight = 0;
    let backlog = 0;
    let waiting = 0;
    for (const qc of this.consumers.get(`${topic}\0${group}`) ?? []) {
      inflight += qc.inflight.size;
      waiting += qc.waitingCount;
      backlog += Math.max(0, this.store.committedOffset(topic, qc.queueId) - qc.cursor);
    }
    return { inflight, backlog, waiting };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
