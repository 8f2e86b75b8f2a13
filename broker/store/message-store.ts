/**
 * The broker's durable message log: per (topic, queue) an append-only sequence of messages with
 * dense offsets, on RocksDB (layouts in keys.ts, records in codec.ts).
 *
 * - Offsets are assigned synchronously in `append`, so concurrent senders never race; a message
 *   becomes visible to readers only once its write batch has committed (`committedOffset`), and
 *   then `onArrival` fires — the signal that wakes parked receives. No reader ever polls.
 * - A bounded per-queue tail cache keeps the most recent records decoded in memory, so consumers
 *   that keep up never touch RocksDB on the read path.
 * - Everything is written through one WriteQueue (group commit, flush policy sync|async).
 */
import { mkdirSync } from 'node:fs';
import { RocksDb, type BatchOp } from './rocks.js';
import { WriteQueue, type FlushPolicy } from './write-queue.js';
import { decodeMessage, encodeMessage, type StoredHeader, type StoredMessage } from './codec.js';
import { messageKey, messageKeyOffset, messagePrefix, prefixEnd, topicKey, P_CURSOR, P_INFLIGHT, consumerPrefix } from './keys.js';
import type { Logger } from '../../proto/common/logger.js';

export type { StoredMessage, StoredHeader } from './codec.js';
export type { FlushPolicy } from './write-queue.js';

export interface MessageStoreOptions {
  /** Directory of the RocksDB database (created if missing). */
  dataDir: string;
  /** `sync`: fsync each group-committed batch; `async`: leave flushing to the OS. */
  flush: FlushPolicy;
  /** Most recent messages per queue kept decoded in memory. */
  cacheMessagesPerQueue: number;
  logger: Logger;
}

/** Called after messages of `topic` committed: `count` new deliverable messages. */
export type ArrivalListener = (topic: string, count: number) => void;

interface QueueState {
  /** next offset to assign */
  next: number;
  /** offsets below this are durable and readable */
  committed: number;
  /** lowest offset still stored */
  min: number;
  /** recent records by offset, ascending insertion order */
  cache: Map<number, StoredMessage>;
}

export interface AppendEntry {
  topic: string;
  queueId: number;
  header: StoredHeader;
  body: Buffer;
}

export interface AppendResult {
  queueId: number;
  offset: number;
}

export class MessageStore {
  readonly db: RocksDb;
  readonly writes: WriteQueue;
  private readonly queues = new Map<string, QueueState[]>();
  private arrival: ArrivalListener = () => {};

  private constructor(private readonly opts: MessageStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.db = new RocksDb(opts.dataDir);
    this.writes = new WriteQueue(this.db, opts.flush);
  }

  static async open(opts: MessageStoreOptions): Promise<MessageStore> {
    const store = new MessageStore(opts);
    await store.db.open();
    return store;
  }

  setArrivalListener(listener: ArrivalListener): void {
    this.arrival = listener;
  }

  /**
   * Makes `queueCount` queues of `topic` known, recovering offsets of existing ones from disk.
   * Queues are only ever added.
   */
  async openQueues(topic: string, queueCount: number): Promise<void> {
    const states = this.queues.get(topic) ?? [];
    for (let q = states.length; q < queueCount; q++) {
      const prefix = messagePrefix(topic, q);
      let min = 0;
      let next = 0;
      for await (const [key] of this.db.range({ gte: prefix, lt: prefixEnd(prefix), limit: 1 })) min = messageKeyOffset(key);
      for await (const [key] of this.db.range({ gte: prefix, lt: prefixEnd(prefix), limit: 1, reverse: true }))
        next = messageKeyOffset(key) + 1;
      states.push({ next, committed: next, min: next === 0 ? 0 : min, cache: new Map() });
    }
    this.queues.set(topic, states);
  }

  queueCount(topic: string): number {
    return this.queues.get(topic)?.length ?? 0;
  }

  /** [min, committed) of a queue. */
  offsets(topic: string, queueId: number): { min: number; max: number } {
    const q = this.queue(topic, queueId);
    return { min: q.min, max: q.committed };
  }

  committedOffset(topic: string, queueId: number): number {
    return this.queue(topic, queueId).committed;
  }

  private queue(topic: string, queueId: number): QueueState {
    const q = this.queues.get(topic)?.[queueId];
    if (!q) throw new Error(`queue ${topic}/${queueId} is not open`);
    return q;
  }

  /**
   * Appends messages (any mix of topics/queues) in one group-committed write. `extraOps` are
   * committed atomically with them. Resolves with each entry's offset once durable.
   */
  async append(entries: AppendEntry[], extraOps: BatchOp[] = []): Promise<AppendResult[]> {
    const ops: BatchOp[] = [...extraOps];
    const results: AppendResult[] = [];
    const touched: { q: QueueState; topic: string; offset: number }[] = [];
    for (const e of entries) {
      const q = this.queue(e.topic, e.queueId);
      const offset = q.next++;
      const value = encodeMessage(e.header, e.body);
      ops.push({ type: 'put', key: messageKey(e.topic, e.queueId, offset), value });
      this.cachePut(q, { ...e.header, topic: e.topic, queueId: e.queueId, offset, body: e.body });
      results.push({ queueId: e.queueId, offset });
      touched.push({ q, topic: e.topic, offset });
    }
    try {
      await this.writes.write(ops);
    } catch (err) {
      // The batch is lost: forget the cached records; offsets stay reserved (a gap readers skip).
      for (const t of touched) t.q.cache.delete(t.offset);
      throw err;
    }
    const arrivals = new Map<string, number>();
    for (const t of touched) {
      if (t.offset + 1 > t.q.committed) t.q.committed = t.offset + 1;
      arrivals.set(t.topic, (arrivals.get(t.topic) ?? 0) + 1);
    }
    for (const [topic, count] of arrivals) this.arrival(topic, count);
    return results;
  }

  private cachePut(q: QueueState, m: StoredMessage): void {
    q.cache.set(m.offset, m);
    if (q.cache.size > this.opts.cacheMessagesPerQueue) {
      const oldest = q.cache.keys().next().value;
      if (oldest !== undefined) q.cache.delete(oldest);
    }
  }

  /** Committed messages with offsets in [from, to), in order; gaps (lost batches) are skipped. */
  async read(topic: string, queueId: number, from: number, to: number): Promise<StoredMessage[]> {
    const q = this.queue(topic, queueId);
    const end = Math.min(to, q.committed);
    const out: StoredMessage[] = [];
    let o = Math.max(from, q.min);
    // Serve the cached suffix without touching the disk.
    while (o < end) {
      const m = q.cache.get(o);
      if (!m) break;
      out.push(m);
      o++;
    }
    if (o >= end) return out;
    const missing: StoredMessage[] = [];
    for await (const [key, value] of this.db.range({ gte: messageKey(topic, queueId, o), lt: messageKey(topic, queueId, end) })) {
      missing.push(decodeMessage(topic, queueId, messageKeyOffset(key), value));
    }
    // Cached head was shorter than the range: disk results come first only if o == from.
    if (out.length === 0) return missing;
    return [...out, ...missing];
  }

  async readOne(topic: string, queueId: number, offset: number): Promise<StoredMessage | undefined> {
    const q = this.queue(topic, queueId);
    if (offset >= q.committed || offset < q.min) return undefined;
    const cached = q.cache.get(offset);
    if (cached) return cached;
    const value = await this.db.get(messageKey(topic, queueId, offset));
    return value ? decodeMessage(topic, queueId, offset, value) : undefined;
  }

  /** Deletes a topic's messages and all consumer state, and forgets its queues. */
  async deleteTopic(topic: string): Promise<void> {
    this.queues.delete(topic);
    await this.writes.write([{ type: 'del', key: topicKey(topic) }]);
    for (const prefix of [messagePrefix(topic), consumerPrefix(P_CURSOR, topic), consumerPrefix(P_INFLIGHT, topic)]) {
      await this.db.clear({ gte: prefix, lt: prefixEnd(prefix) });
    }
  }

  /** Counts for admin stats. */
  topicStats(topic: string): { messageCount: number; maxOffset: number } {
    let messageCount = 0;
    let maxOffset = 0;
    for (const q of this.queues.get(topic) ?? []) {
      messageCount += q.committed - q.min;
      maxOffset += q.committed;
    }
    return { messageCount, maxOffset };
  }

  async close(): Promise<void> {
    await this.writes.drain();
    await this.db.close();
  }
}
