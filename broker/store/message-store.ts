/**
 * The broker's durable message log: per (topic, queue) an append-only sequence of messages with
 * dense offsets, on RocksDB (layouts in keys.ts, records in codec.ts).
 *
 * - Offsets are assigned synchronously in `append`, so concurrent senders never race; a message
 *   becomes visible to readers only once its write batch has committed (`committedOffset`), and
 *   then `onArrival` fires — the signal that wakes parked receives. No reader ever polls.
 * - A bounded per-queue tail cache keeps the most recent records decoded in memory, so consumers
 *   that keep up never touch RocksDB on the read path.
 * - Everything is written through one WriteQueue (group commit, flush policy sync|async), except
 *   the message id index ('N' entries of stored messages): those go through a second WriteQueue
 *   (`idWrites`) whose batches run beside the first one's, as RocketMQ builds its index beside
 *   the commit log. Messages become visible (parked receives wake) once their own batch
 *   committed; the append resolves only when both its batches did, so an acknowledged message
 *   can always be looked up; a message whose index write was lost in a crash was never
 *   acknowledged (its producer retries). Nothing else writes stored messages' 'N' keys, so the
 *   two queues never write the same key and their relative order cannot matter. The split halves
 *   the ops of the serial message batches (measured: the RocksDB batch, ~2.6 µs per op, was what
 *   bounded W1).
 * - Message records go to the commit log (commit-log.ts); their 'M' keys hold 13-byte pointers.
 *   The WriteQueue writes the log before each RocksDB batch, so no pointer commits before its bytes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommitLog, DEFAULT_SEGMENT_BYTES } from './commit-log.js';
import { RocksDb, type BatchOp } from './rocks.js';
import { WriteQueue, type FlushPolicy } from './write-queue.js';
import { decodeLogPointer, decodeMessage, encodeLogPointer, encodeMessageHead, storedMessage, type StoredHeader, type StoredMessage } from './codec.js';
import {
  consumerPrefix,
  decodeKeyIndexKey,
  decodeLocation,
  encodeLocation,
  dedupPrefix,
  expiryKey,
  keyIndexKey,
  keyIndexPrefix,
  logLiveKey,
  logLiveKeySegment,
  messageIdKey,
  messageKey,
  messageKeyOffset,
  messagePrefix,
  prefixEnd,
  topicKey,
  P_CURSOR,
  P_INFLIGHT,
  P_WAITING,
  P_LOG,
} from './keys.js';
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
  /** Commit log segment size in bytes. @default 268435456 (256 MiB) */
  segmentBytes?: number;
}

/** Where the message id index points: a stored message, or a delayed one not yet due. */
export type MessageLocation = { topic: string; queueId: number; offset: number } | { scheduled: string };

/** Called after messages of `topic` committed: `count` new deliverable messages. */
export type ArrivalListener = (topic: string, count: number) => void;

interface QueueState {
  /** next offset to assign */
  next: number;
  /** offsets below this are durable and readable */
  committed: number;
  /** lowest offset still stored */
  min: number;
  /** recent records by offset, ascending insertion order (undefined: this queue caches nothing) */
  cache: Map<number, StoredMessage> | undefined;
  /** Lite queues: their cached records count against the store-wide lite budget instead. */
  shared: boolean;
  /**
   * Unshared caches: no cached offset is below this. Records are cached in offset order, so the
   * oldest is evicted by deleting upwards from here (`Map.keys().next()` would walk over the
   * holes earlier deletions left at the front of the table).
   */
  evictFrom: number;
}

/** Records of lite queues kept decoded in memory, all lite queues together. */
export const LITE_CACHE_MESSAGES = 16_384;

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

const EMPTY = Buffer.alloc(0);

export class MessageStore {
  readonly db: RocksDb;
  readonly writes: WriteQueue;
  /** The message id index of stored messages (see the header comment). */
  private readonly idWrites: WriteQueue;
  readonly flushPolicy: FlushPolicy;
  private readonly queues = new Map<string, QueueState[]>();
  private arrival: ArrivalListener = () => {};
  /** FIFO of cached lite records (queue, offset) from liteCacheHead on: the shared lite cache. */
  private readonly liteCacheQ: QueueState[] = [];
  private readonly liteCacheOffset: number[] = [];
  private liteCacheHead = 0;
  /** Append sequence for the key index: store time x 1024, strictly increasing (oldest first across queues). */
  private keySeq = 0;
  /** Where message records live (set by open()). */
  private log!: CommitLog;

  private constructor(private readonly opts: MessageStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.db = new RocksDb(opts.dataDir);
    this.writes = new WriteQueue(this.db, opts.flush, undefined, () => this.log.flush(), (err, writes) =>
      opts.logger.error('a write batch failed; its receive claims and new lite topic records are lost (those messages are delivered again, those lite topics are recreated on use)', { writes, err: String(err) }),
    );
    this.idWrites = new WriteQueue(this.db, opts.flush);
    this.flushPolicy = opts.flush;
  }

  static async open(opts: MessageStoreOptions): Promise<MessageStore> {
    const store = new MessageStore(opts);
    await store.db.open();
    const persisted = new Map<number, number>();
    for await (const [k, v] of store.db.range({ gte: Buffer.from([P_LOG]), lt: Buffer.from([P_LOG + 1]) })) persisted.set(logLiveKeySegment(k), v.readUInt32BE(0));
    store.log = CommitLog.open(
      { dir: join(opts.dataDir, 'commitlog'), sync: opts.flush === 'sync', segmentBytes: opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, logger: opts.logger },
      persisted,
    );
    return store;
  }

  /** Commit log segments holding live records. */
  get logSegments(): number {
    return this.log.segments;
  }

  /** Ops persisting the live counts of `segments` (in the batch that changed them). */
  private liveOps(segments: Iterable<number>): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const seg of segments) {
      const n = this.log.liveCount(seg);
      if (n > 0) {
        const v = Buffer.allocUnsafe(4);
        v.writeUInt32BE(n);
        ops.push({ type: 'put', key: logLiveKey(seg), value: v });
      } else {
        ops.push({ type: 'del', key: logLiveKey(seg) });
      }
    }
    return ops;
  }

  /**
   * A message from its 'M' value: the record itself, or read through its commit log pointer.
   * Undefined when the message was deleted (TTL, topic deletion) between reading the pointer and
   * reading the record (its segment may be gone); any other failure is thrown.
   */
  private async decodeStored(topic: string, queueId: number, offset: number, value: Buffer): Promise<StoredMessage | undefined> {
    const ptr = decodeLogPointer(value);
    if (!ptr) return decodeMessage(topic, queueId, offset, value);
    let record: Buffer;
    try {
      record = await this.log.read(ptr);
    } catch (err) {
      if ((await this.db.get(messageKey(topic, queueId, offset))) === undefined) return undefined;
      throw err;
    }
    return decodeMessage(topic, queueId, offset, record);
  }

  /** Releases the commit log records of 'M' values being deleted; returns the segments touched. */
  private releaseValues(values: (Buffer | undefined)[]): Set<number> {
    const segments = new Set<number>();
    for (const v of values) {
      const ptr = v && decodeLogPointer(v);
      if (!ptr) continue;
      this.log.release(ptr.segment);
      segments.add(ptr.segment);
    }
    return segments;
  }

  setArrivalListener(listener: ArrivalListener): void {
    this.arrival = listener;
  }

  /**
   * Makes `queueCount` queues of `topic` known, recovering offsets of existing ones from disk.
   * Queues are only ever added.
   */
  async openQueues(topic: string, queueCount: number, opts: { shared?: boolean } = {}): Promise<void> {
    const states = this.queues.get(topic) ?? [];
    for (let q = states.length; q < queueCount; q++) {
      const prefix = messagePrefix(topic, q);
      let min = 0;
      let next = 0;
      for await (const [key] of this.db.range({ gte: prefix, lt: prefixEnd(prefix), limit: 1 })) min = messageKeyOffset(key);
      for await (const [key] of this.db.range({ gte: prefix, lt: prefixEnd(prefix), limit: 1, reverse: true }))
        next = messageKeyOffset(key) + 1;
      states.push({ next, committed: next, min: next === 0 ? 0 : min, cache: opts.shared ? undefined : new Map(), shared: opts.shared === true, evictFrom: next });
    }
    this.queues.set(topic, states);
  }

  /**
   * Makes queues of a topic known to have no stored message (a brand-new lite topic): no disk
   * read. Use openQueues for anything that may have been written before.
   */
  createEmptyQueues(topic: string, queueCount: number): void {
    if (this.queues.has(topic)) return;
    // Lite topics have one queue: an exact-size array literal (push would reserve 17 slots).
    const states: QueueState[] = queueCount === 1 ? [{ next: 0, committed: 0, min: 0, cache: undefined, shared: true, evictFrom: 0 }] : [];
    for (let q = states.length; q < queueCount; q++) states.push({ next: 0, committed: 0, min: 0, cache: undefined, shared: true, evictFrom: 0 });
    this.queues.set(topic, states);
  }

  /** Store time of the newest message of a queue, or undefined when it is empty. */
  async lastStoreMs(topic: string, queueId: number): Promise<number | undefined> {
    const q = this.queues.get(topic)?.[queueId];
    if (!q || q.committed === 0) return undefined;
    return (await this.readOne(topic, queueId, q.committed - 1))?.storeMs;
  }

  /** First offset in [min, committed) stored at or after `atMs` (binary search on store time). */
  async offsetForTime(topic: string, queueId: number, atMs: number): Promise<number> {
    const q = this.queue(topic, queueId);
    let lo = q.min;
    let hi = q.committed;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.readOne(topic, queueId, mid);
      if (m === undefined || m.storeMs < atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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
   * Appends messages (any mix of topics/queues) in one group-committed write, with their index
   * entries (message id, keys, TTL expiry). `extraOps`, and the ops `withOffsets` derives from
   * the assigned offsets, are committed atomically with them. Resolves with each entry's offset
   * once durable.
   */
  async append(entries: AppendEntry[], extraOps: BatchOp[] = [], withOffsets?: (results: AppendResult[]) => BatchOp[]): Promise<AppendResult[]> {
    const ops: BatchOp[] = [...extraOps];
    const idOps: BatchOp[] = [];
    const results: AppendResult[] = [];
    const touched: { q: QueueState; topic: string; offset: number }[] = [];
    let segment = -1;
    let segments: Set<number> | undefined;
    for (const e of entries) {
      const q = this.queue(e.topic, e.queueId);
      const offset = q.next++;
      const ptr = this.log.reserve(encodeMessageHead(e.header), e.body);
      if (ptr.segment !== segment) {
        if (segment >= 0) (segments ??= new Set([segment])).add(ptr.segment);
        segment = ptr.segment;
      }
      ops.push({ type: 'put', key: messageKey(e.topic, e.queueId, offset), value: encodeLogPointer(ptr) });
      idOps.push({ type: 'put', key: messageIdKey(e.header.id), value: encodeLocation(e.topic, e.queueId, offset) });
      if (e.header.keys?.length) {
        this.keySeq = Math.max(this.keySeq + 1, e.header.storeMs * 1024);
        for (const k of e.header.keys) ops.push({ type: 'put', key: keyIndexKey(e.topic, k, this.keySeq, e.queueId, offset), value: EMPTY });
      }
      if (e.header.expireMs !== undefined) {
        ops.push({ type: 'put', key: expiryKey(e.header.expireMs, { kind: 'message', topic: e.topic, queueId: e.queueId, offset }), value: EMPTY });
      }
      this.cachePut(q, storedMessage(e.header, e.topic, e.queueId, offset, e.body));
      results.push({ queueId: e.queueId, offset });
      touched.push({ q, topic: e.topic, offset });
    }
    if (withOffsets) for (const op of withOffsets(results)) ops.push(op);
    if (segment >= 0) for (const op of this.liveOps(segments ?? [segment])) ops.push(op);
    const indexed = this.idWrites.write(idOps);
    try {
      await this.writes.write(ops);
    } catch (err) {
      // The batch is lost: forget the cached records; offsets stay reserved (a gap readers skip).
      for (const t of touched) t.q.cache?.delete(t.offset);
      indexed.catch(() => {}); // entries pointing at nothing: lookups answer "not found"
      throw err;
    }
    // Visible (and parked receives woken) as soon as the messages are stored; the append
    // resolves (the producer's acknowledgement) only once their id index is committed too.
    const arrivals = new Map<string, number>();
    for (const t of touched) {
      if (t.offset + 1 > t.q.committed) t.q.committed = t.offset + 1;
      arrivals.set(t.topic, (arrivals.get(t.topic) ?? 0) + 1);
    }
    for (const [topic, count] of arrivals) this.arrival(topic, count);
    try {
      await indexed;
    } catch (err) {
      // The messages are stored and visible; only looking them up by id fails.
      this.opts.logger.warn('message id index write failed; these messages cannot be looked up by id', { count: idOps.length, err: String(err) });
    }
    return results;
  }

  private cachePut(q: QueueState, m: StoredMessage): void {
    if (q.shared) {
      // Lite queues: a million of them share one bounded cache (oldest records leave first).
      (q.cache ??= new Map()).set(m.offset, m);
      this.liteCacheQ.push(q);
      this.liteCacheOffset.push(m.offset);
      while (this.liteCacheQ.length - this.liteCacheHead > LITE_CACHE_MESSAGES) {
        const old = this.liteCacheQ[this.liteCacheHead]!;
        old.cache?.delete(this.liteCacheOffset[this.liteCacheHead]!);
        if (old.cache?.size === 0) old.cache = undefined;
        this.liteCacheHead++;
      }
      if (this.liteCacheHead > LITE_CACHE_MESSAGES) {
        this.liteCacheQ.splice(0, this.liteCacheHead);
        this.liteCacheOffset.splice(0, this.liteCacheHead);
        this.liteCacheHead = 0;
      }
      return;
    }
    if (!q.cache) return;
    q.cache.set(m.offset, m);
    while (q.cache.size > this.opts.cacheMessagesPerQueue) q.cache.delete(q.evictFrom++);
  }

  /** Committed messages with offsets in [from, to), in order; gaps (lost batches) are skipped. */
  async read(topic: string, queueId: number, from: number, to: number): Promise<StoredMessage[]> {
    const q = this.queue(topic, queueId);
    const end = Math.min(to, q.committed);
    const out: StoredMessage[] = [];
    let o = Math.max(from, q.min);
    // Serve the cached suffix without touching the disk.
    while (o < end) {
      const m = q.cache?.get(o);
      if (!m) break;
      out.push(m);
      o++;
    }
    if (o >= end) return out;
    const missing: StoredMessage[] = [];
    const found: [number, Buffer][] = [];
    for await (const [key, value] of this.db.range({ gte: messageKey(topic, queueId, o), lt: messageKey(topic, queueId, end) })) {
      found.push([messageKeyOffset(key), value]);
    }
    for (const m of await Promise.all(found.map(([off, value]) => this.decodeStored(topic, queueId, off, value)))) if (m) missing.push(m);
    // Cached head was shorter than the range: disk results come first only if o == from.
    if (out.length === 0) return missing;
    return [...out, ...missing];
  }

  async readOne(topic: string, queueId: number, offset: number): Promise<StoredMessage | undefined> {
    const q = this.queue(topic, queueId);
    if (offset >= q.committed || offset < q.min) return undefined;
    const cached = q.cache?.get(offset);
    if (cached) return cached;
    const value = await this.db.get(messageKey(topic, queueId, offset));
    return value ? this.decodeStored(topic, queueId, offset, value) : undefined;
  }

  /**
   * Deletes messages (TTL expiry) in one write, with `extraOps`. Readers skip the gaps; in-flight
   * records pointing at them are dropped when they come due. Returns how many existed.
   */
  deleteMessages(targets: { topic: string; queueId: number; offset: number }[], extraOps: BatchOp[] = []): Promise<number> {
    return this.serialDelete(() => this.deleteMessagesNow(targets, extraOps));
  }

  /**
   * Deletions run one at a time: each reads the pointers it deletes, and a second deletion of the
   * same message must see it gone (or a commit log segment would be released twice).
   */
  private serialDelete<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.deleting.catch(() => {}).then(fn);
    this.deleting = run;
    return run;
  }

  private deleting: Promise<unknown> = Promise.resolve();

  private async deleteMessagesNow(targets: { topic: string; queueId: number; offset: number }[], extraOps: BatchOp[]): Promise<number> {
    const ops: BatchOp[] = [...extraOps];
    const heads = new Set<QueueState>();
    const headOf = new Map<QueueState, { topic: string; queueId: number }>();
    let existed = 0;
    const live = targets.filter((t) => this.queues.get(t.topic)?.[t.queueId] !== undefined);
    const segments = this.releaseValues(await Promise.all(live.map((t) => this.db.get(messageKey(t.topic, t.queueId, t.offset)))));
    for (const op of this.liveOps(segments)) ops.push(op);
    for (const t of targets) {
      const q = this.queues.get(t.topic)?.[t.queueId];
      if (!q) continue;
      q.cache?.delete(t.offset);
      if (t.offset >= q.min && t.offset < q.committed) existed++;
      ops.push({ type: 'del', key: messageKey(t.topic, t.queueId, t.offset) });
      if (t.offset === q.min) {
        heads.add(q);
        headOf.set(q, t);
      }
    }
    await this.writes.write(ops);
    await this.log.reclaim(segments);
    // Advance the low-water mark of queues whose head was deleted.
    for (const q of heads) {
      const { topic, queueId } = headOf.get(q)!;
      let min = q.committed;
      for await (const [k] of this.db.range({ gte: messageKey(topic, queueId, q.min), lt: messageKey(topic, queueId, q.committed), limit: 1 })) min = messageKeyOffset(k);
      q.min = min;
    }
    return existed;
  }

  /** Where the message id index says a message is (the newest copy), if anywhere. */
  async locate(messageId: string): Promise<MessageLocation | undefined> {
    const v = await this.db.get(messageIdKey(messageId));
    return v ? decodeLocation(v) : undefined;
  }

  /** Messages of `topic` carrying `key`, oldest first (entries of deleted messages skipped). */
  async findByKey(topic: string, key: string, limit: number): Promise<StoredMessage[]> {
    const prefix = keyIndexPrefix(topic, key);
    const out: StoredMessage[] = [];
    for await (const [k] of this.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      const { queueId, offset } = decodeKeyIndexKey(k);
      if (queueId >= this.queueCount(topic)) continue;
      const m = await this.readOne(topic, queueId, offset);
      if (m) out.push(m);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Deletes a topic's messages, indexes and all consumer state, and forgets its queues. */
  deleteTopic(topic: string): Promise<void> {
    return this.serialDelete(() => this.deleteTopicNow(topic));
  }

  private async deleteTopicNow(topic: string): Promise<void> {
    this.queues.delete(topic);
    await this.writes.write([{ type: 'del', key: topicKey(topic) }]);
    // Pointers are read before their keys go, and the counts lowered only after: a crash in
    // between leaves counts too high (space reclaimed later), never a pointer into a deleted file.
    const values: Buffer[] = [];
    const mp = messagePrefix(topic);
    for await (const [, v] of this.db.range({ gte: mp, lt: prefixEnd(mp) })) values.push(v);
    const prefixes = [
      messagePrefix(topic),
      consumerPrefix(P_CURSOR, topic),
      consumerPrefix(P_INFLIGHT, topic),
      consumerPrefix(P_WAITING, topic),
      keyIndexPrefix(topic),
      dedupPrefix(topic),
    ];
    for (const prefix of prefixes) await this.db.clear({ gte: prefix, lt: prefixEnd(prefix) });
    const segments = this.releaseValues(values);
    await this.writes.write(this.liveOps(segments));
    await this.log.reclaim(segments);
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
    await this.idWrites.drain();
    await this.deleting.catch(() => {});
    await this.log?.close().catch((err: unknown) => this.opts.logger.warn('commit log close failed', { err: String(err) }));
    await this.db.close();
  }
}
