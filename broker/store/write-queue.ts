/**
 * Group commit. Every write of the broker (messages, pop cursors, in-flight records, acks,
 * configs) goes through one WriteQueue. While a batch is being written, new writes accumulate;
 * when it finishes they are written together as the next batch. With the `sync` flush policy
 * each batch is fsynced once, so N concurrent writers pay for one fsync, not N, and are never
 * serialized behind each other's fsync. Batches commit in submission order: a write that
 * resolves is durable together with everything submitted before it.
 *
 * Writes are copied into the next batch's native RocksDB write batch when they are submitted,
 * not when that batch starts: while one batch is on disk, the ones queued behind it hold no
 * JavaScript objects per op (a burst of a million small writes, such as the records of new lite
 * topics, would otherwise keep its ops, keys and values alive long enough to be promoted to the
 * old generation, and the heap would grow by the size of the burst).
 *
 *   submitted ops ──copy──► [open batch N+2] [open batch N+1] ──► writing: batch N ──► RocksDB
 *                           (≤ maxOpsPerBatch each, whole writes never split)
 */
import type { BatchOp, RocksDb, WriteBatch } from './rocks.js';

export type FlushPolicy = 'sync' | 'async';

/** A batch being filled, then written. */
interface Pending {
  batch: WriteBatch;
  ops: number;
  /**
   * Settles when the batch is written: one promise shared by every `write` in the batch (they
   * all resolve or fail together anyway), made when the first of them joins.
   */
  done: Promise<void> | undefined;
  resolve: (() => void) | undefined;
  reject: ((e: unknown) => void) | undefined;
  /** Writes submitted with `writeDetached`: no promise; a failure goes to `onDetachedError`. */
  detached: number;
}

/**
 * Most ops per physical batch (whole writes are never split). Bounding the batch keeps the
 * pipeline moving under load: with one unbounded batch, every outstanding request lands in the
 * same write and is answered at the same moment, so clients send their next burst all at once
 * and the broker alternates between idle and overloaded (lockstep). Smaller batches answer
 * requests in waves that overlap with the decoding of new ones.
 */
export const MAX_OPS_PER_BATCH = 512;

const RESOLVED = Promise.resolve();

export class WriteQueue {
  /** Batches filled and waiting, oldest first; only the last one takes new writes. */
  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private idle: (() => void)[] = [];
  /** Number of physical batches written and ops in them (for stats and benchmarks). */
  readonly stats = { batches: 0, ops: 0 };

  /**
   * @param beforeBatch runs before each RocksDB batch, which waits for it (the commit log writes
   *   the records that batch's pointers point at); its failure fails the batch.
   * @param onDetachedError told when a batch holding `writeDetached` writes fails (default: ignored).
   */
  constructor(
    private readonly db: RocksDb,
    private readonly flush: FlushPolicy,
    private readonly maxOpsPerBatch = MAX_OPS_PER_BATCH,
    private readonly beforeBatch?: () => Promise<void>,
    private readonly onDetachedError: (err: unknown, writes: number) => void = () => undefined,
  ) {}

  /** Resolves once `ops` are committed (and fsynced under the `sync` policy). */
  write(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return RESOLVED;
    let p: Pending;
    try {
      p = this.enqueue(ops);
    } catch (err) {
      return Promise.reject(err);
    }
    return (p.done ??= new Promise<void>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    }));
  }

  /**
   * Like `write`, for a caller that does not wait: no promise is made, and a failure is
   * reported to `onDetachedError` (with the number of such writes in the failed batch). Order
   * and atomicity are the same as `write`'s. Throws if the database is closed.
   */
  writeDetached(ops: BatchOp[]): void {
    if (ops.length === 0) return;
    this.enqueue(ops).detached++;
  }

  /** Copies `ops` into the open batch (a new one when it would overflow) and schedules a write. */
  private enqueue(ops: BatchOp[]): Pending {
    let p = this.queue[this.queue.length - 1];
    if (p === undefined || (p.ops > 0 && p.ops + ops.length > this.maxOpsPerBatch)) {
      p = { batch: this.db.openBatch(), ops: 0, done: undefined, resolve: undefined, reject: undefined, detached: 0 };
      this.queue.push(p);
    }
    p.batch.add(ops);
    p.ops += ops.length;
    // When idle, start on the next turn of the event loop rather than at once: requests that
    // arrived in the same I/O phase (a burst of calls) then share the first batch.
    if (!this.writing && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (!this.writing) this.kick();
      });
    }
    return p;
  }

  private kick(): void {
    const p = this.queue.shift();
    if (p === undefined) return;
    this.writing = true;
    this.stats.batches++;
    this.stats.ops += p.ops;
    const sync = this.flush === 'sync';
    (this.beforeBatch ? this.beforeBatch().then(() => p.batch.write(sync)) : p.batch.write(sync)).then(
      () => this.done(p, undefined),
      (err: unknown) => this.done(p, err ?? new Error('write failed')),
    );
  }

  private done(p: Pending, err: unknown): void {
    if (err === undefined) p.resolve?.();
    else p.reject?.(err);
    if (err !== undefined && p.detached > 0) this.onDetachedError(err, p.detached);
    this.writing = false;
    if (this.queue.length > 0) return this.kick();
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }

  /** Resolves when everything submitted so far is committed. */
  drain(): Promise<void> {
    if (!this.writing && this.queue.length === 0 && !this.scheduled) return RESOLVED;
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
