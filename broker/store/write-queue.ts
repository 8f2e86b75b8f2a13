/**
 * Group commit. Every write of the broker (messages, pop cursors, in-flight records, acks,
 * configs) goes through one WriteQueue. While a batch is being written, new writes accumulate;
 * when it finishes they are written together as the next batch. With the `sync` flush policy
 * each batch is fsynced once, so N concurrent writers pay for one fsync, not N, and are never
 * serialized behind each other's fsync. Batches commit in submission order: a write that
 * resolves is durable together with everything submitted before it.
 */
import type { BatchOp, RocksDb } from './rocks.js';

export type FlushPolicy = 'sync' | 'async';

interface Pending {
  ops: BatchOp[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Most ops per physical batch (whole writes are never split). Bounding the batch keeps the
 * pipeline moving under load: with one unbounded batch, every outstanding request lands in the
 * same write and is answered at the same moment, so clients send their next burst all at once
 * and the broker alternates between idle and overloaded (lockstep). Smaller batches answer
 * requests in waves that overlap with the decoding of new ones.
 */
export const MAX_OPS_PER_BATCH = 512;

export class WriteQueue {
  /** Writes waiting for the next batch, in submission order. */
  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private idle: (() => void)[] = [];
  /** Number of physical batches written and ops in them (for stats and benchmarks). */
  readonly stats = { batches: 0, ops: 0 };

  /**
   * @param beforeBatch runs before each RocksDB batch, which waits for it (the commit log writes
   *   the records that batch's pointers point at); its failure fails the batch.
   */
  constructor(
    private readonly db: RocksDb,
    private readonly flush: FlushPolicy,
    private readonly maxOpsPerBatch = MAX_OPS_PER_BATCH,
    private readonly beforeBatch?: () => Promise<void>,
  ) {}

  /** Resolves once `ops` are committed (and fsynced under the `sync` policy). */
  write(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      // When idle, start on the next turn of the event loop rather than at once: requests that
      // arrived in the same I/O phase (a burst of calls) then share the first batch.
      if (!this.writing && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          if (!this.writing) this.kick();
        });
      }
    });
  }

  private kick(): void {
    if (this.queue.length === 0) return;
    // Take whole writes, in order, up to the op budget (always at least one).
    let n = 0;
    let count = 0;
    while (n < this.queue.length && (n === 0 || count + this.queue[n]!.ops.length <= this.maxOpsPerBatch)) {
      count += this.queue[n]!.ops.length;
      n++;
    }
    const batch = this.queue.splice(0, n);
    const ops = batch.length === 1 ? batch[0]!.ops : batch.flatMap((p) => p.ops);
    this.writing = true;
    this.stats.batches++;
    this.stats.ops += ops.length;
    const sync = this.flush === 'sync';
    (this.beforeBatch ? this.beforeBatch().then(() => this.db.batch(ops, sync)) : this.db.batch(ops, sync)).then(
      () => this.done(batch, undefined),
      (err: unknown) => this.done(batch, err ?? new Error('write failed')),
    );
  }

  private done(batch: Pending[], err: unknown): void {
    for (const w of batch) (err === undefined ? w.resolve() : w.reject(err));
    this.writing = false;
    if (this.queue.length > 0) return this.kick();
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }

  /** Resolves when everything submitted so far is committed. */
  drain(): Promise<void> {
    if (!this.writing && this.queue.length === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
