/**
 * The lite topics of this broker: created on first send or subscribe, deleted after their
 * parent's TTL (attribute `lite.ttl.ms`) without writes, counted against a broker-wide quota.
 *
 * Storage: a lite topic L of parent P is the one-queue internal topic `P$L` in the message
 * store (messages, cursors, in-flight records like any topic); its existence and creation time
 * are the 'Q'|P|L record (keys.ts). Startup loads the 'Q' records only: a lite topic's queue is
 * opened (two seeks) the first time it is used again, so a million lite topics cost no startup
 * reads beyond one prefix scan.
 *
 * TTL: one timer, armed at the earliest deadline of a heap of (deadline, lite topic); entries
 * are re-checked when they fire (a write since pushes the deadline back), so writes never touch
 * the heap. After a restart the last write time is unknown until the topic is opened: a due
 * entry is verified against the newest stored message before anything is deleted.
 */
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessageStore } from '../store/message-store.js';
import { decodeLiteKey, decodeU64, encodeU64, liteKey, P_LITE, prefixEnd } from '../store/keys.js';
import { DeadlineHeap } from '../pop/deadline-heap.js';
import { LITE_TTL_ATTRIBUTE, type TopicConfig } from '../topic/topic-manager.js';
import { liteInternalName } from './lite-names.js';
import { NO_SUBSCRIBERS, type ClientInterest } from './interest.js';

/** Longest single setTimeout (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LiteTopic {
  parent: string;
  name: string;
  /** `parent$name`: its topic in the message store. */
  internal: string;
  createdMs: number;
  /** Last write (store time); after a restart, the creation time until `verified`. */
  lastWriteMs: number;
  verified: boolean;
  /** Queues known to the message store. */
  opened: boolean;
  opening: Promise<void> | undefined;
  deleted: boolean;
  /** Reverse index: the InterestSets holding this lite topic (usually one). */
  subs: ClientInterest[];
  /** Consumer groups with consumer state on it (dropped with the topic). */
  groups: Set<string> | undefined;
  /** Round-robin among a shared group's subscribers. */
  rr: number;
}

export interface LiteTopicTableOptions {
  store: MessageStore;
  parentOf: (name: string) => TopicConfig | undefined;
  maxTopics: number;
  defaultTtlMs: number;
  clock: Clock;
  logger: Logger;
  /** Called before an expired lite topic's data is deleted (drop subscriptions, consumer state). */
  onExpire: (lt: LiteTopic) => void;
  /** Called when a lite topic known from disk is opened, before use (recover consumer state). */
  onOpen: (lt: LiteTopic) => Promise<void>;
}

interface TtlEntry {
  at: number;
  lt: LiteTopic;
}

export class LiteTopicTable {
  private readonly parents = new Map<string, Map<string, LiteTopic>>();
  private count = 0;
  private readonly ttl = new DeadlineHeap<TtlEntry>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly o: LiteTopicTableOptions) {}

  get size(): number {
    return this.count;
  }

  /** Loads the lite topic records (no queue is opened). */
  async load(): Promise<void> {
    const prefix = Buffer.from([P_LITE]);
    for await (const [key, value] of this.o.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      const { parent, lite } = decodeLiteKey(key);
      if (!this.o.parentOf(parent)) continue; // parent deleted meanwhile
      const created = decodeU64(value);
      this.add(parent, lite, created, false);
    }
    if (this.count > 0) this.o.logger.info('lite topics loaded', { count: this.count });
    this.arm();
  }

  get(parent: string, lite: string): LiteTopic | undefined {
    return this.parents.get(parent)?.get(lite);
  }

  /** Lite topics of a parent (admin listing). */
  list(parent: string): LiteTopic[] {
    return [...(this.parents.get(parent)?.values() ?? [])];
  }

  /** Whether `n` more lite topics fit the broker quota. */
  canCreate(n: number): boolean {
    return this.count + n <= this.o.maxTopics;
  }

  /**
   * The lite topic, created now if new (LITE_TOPIC_QUOTA_EXCEEDED past the quota), open. A new
   * lite topic gets its store queue on its first write (`forWrite`): a million subscribed but
   * never written lite topics hold no queue state.
   */
  async ensure(parent: TopicConfig, lite: string, forWrite = false): Promise<LiteTopic> {
    let lt = this.get(parent.name, lite);
    if (!lt) {
      if (!this.canCreate(1)) {
        throw new MqError(Code.LITE_TOPIC_QUOTA_EXCEEDED, `this broker holds its maximum of ${this.o.maxTopics} lite topics; lite topic ${lite} of ${parent.name} was not created (unused lite topics expire after their TTL)`, { topic: parent.name, liteTopic: lite });
      }
      const now = this.o.clock.now();
      lt = this.add(parent.name, lite, now, true);
      if (forWrite) this.o.store.createEmptyQueues(lt.internal, 1);
      lt.opened = true;
      this.arm();
      const record = [{ type: 'put' as const, key: liteKey(parent.name, lite), value: encodeU64(now) }];
      // Async flush: like every other write there, not awaited (the record is queued before any
      // message of the lite topic, so it commits first), and detached: a million new lite topics
      // leave no promise each behind. A failed batch is logged by the store. Sync flush: durable
      // before we answer.
      if (this.o.store.flushPolicy === 'sync') await this.o.store.writes.write(record);
      else this.o.store.writes.writeDetached(record);
      return lt;
    }
    if (!lt.opened) await this.open(lt);
    if (forWrite && this.o.store.queueCount(lt.internal) === 0) this.o.store.createEmptyQueues(lt.internal, 1);
    return lt;
  }

  /** Opens the queue of a lite topic known from disk. */
  open(lt: LiteTopic): Promise<void> {
    if (lt.opened) return Promise.resolve();
    lt.opening ??= (async () => {
      await this.o.store.openQueues(lt.internal, 1, { shared: true });
      await this.o.onOpen(lt);
      lt.opened = true;
      lt.opening = undefined;
    })();
    return lt.opening;
  }

  /** A message was stored on `lt`. */
  touchWrite(lt: LiteTopic): void {
    lt.lastWriteMs = this.o.clock.now();
    lt.verified = true;
  }

  private add(parent: string, lite: string, createdMs: number, verified: boolean): LiteTopic {
    let m = this.parents.get(parent);
    if (!m) {
      m = new Map();
      this.parents.set(parent, m);
    }
    const lt: LiteTopic = {
      parent,
      name: lite,
      internal: liteInternalName(parent, lite),
      createdMs,
      lastWriteMs: createdMs,
      verified,
      opened: false,
      opening: undefined,
      deleted: false,
      subs: NO_SUBSCRIBERS,
      groups: undefined,
      rr: 0,
    };
    m.set(lite, lt);
    this.count++;
    const ttl = this.ttlOf(parent);
    if (ttl > 0) this.ttl.push({ at: createdMs + ttl, lt });
    return lt;
  }

  /** TTL of a parent's lite topics in ms; -1 = never. */
  ttlOf(parent: string): number {
    const v = this.o.parentOf(parent)?.attributes[LITE_TTL_ATTRIBUTE];
    const n = v === undefined ? NaN : Number(v);
    return Number.isInteger(n) && (n === -1 || n > 0) ? n : this.o.defaultTtlMs;
  }

  private arm(): void {
    if (this.closed) return;
    const next = this.ttl.peek();
    if (!next || next.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => void this.onTimer(), Math.min(MAX_TIMER_MS, Math.max(0, next.at - this.o.clock.now())));
    this.timer.unref();
  }

  private async onTimer(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.o.clock.now();
    const due: LiteTopic[] = [];
    for (let e = this.ttl.peek(); e && e.at <= now; e = this.ttl.peek()) {
      this.ttl.pop();
      if (!e.lt.deleted) due.push(e.lt);
    }
    for (const lt of due) {
      try {
        const ttl = this.ttlOf(lt.parent);
        if (ttl <= 0) continue; // made never-expiring meanwhile; re-armed if changed back on next write
        if (!lt.verified) {
          await this.open(lt);
          const last = await this.o.store.lastStoreMs(lt.internal, 0);
          if (last !== undefined) lt.lastWriteMs = Math.max(lt.lastWriteMs, last);
          lt.verified = true;
        }
        const at = lt.lastWriteMs + ttl;
        if (at > this.o.clock.now()) this.ttl.push({ at, lt });
        else await this.delete(lt, 'expired');
      } catch (err) {
        this.o.logger.error('lite topic expiry failed; retried later', { topic: lt.parent, liteTopic: lt.name, err: String(err) });
        this.ttl.push({ at: this.o.clock.now() + 60_000, lt });
      }
    }
    this.arm();
  }

  /** Deletes a lite topic: subscriptions, consumer state, messages and its record. */
  async delete(lt: LiteTopic, why: 'expired' | 'parent deleted'): Promise<void> {
    if (lt.deleted) return;
    lt.deleted = true;
    this.o.onExpire(lt);
    const m = this.parents.get(lt.parent);
    m?.delete(lt.name);
    if (m?.size === 0) this.parents.delete(lt.parent);
    this.count--;
    await this.o.store.writes.write([{ type: 'del', key: liteKey(lt.parent, lt.name) }]);
    await this.o.store.deleteTopic(lt.internal);
    this.o.logger.debug('lite topic deleted', { topic: lt.parent, liteTopic: lt.name, why });
  }

  /** Deletes every lite topic of a parent (the parent topic is being deleted). */
  async deleteParent(parent: string): Promise<void> {
    for (const lt of this.list(parent)) await this.delete(lt, 'parent deleted');
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
