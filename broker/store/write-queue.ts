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
  waiters: { resolve: () => void; reject: (e: unknown) => void }[];
}

export class WriteQueue {
  private pending: Pending | undefined;
  private writing = false;
  private idle: (() => void)[] = [];
  /** Number of physical batches written and ops in them (for stats and benchmarks). */
  readonly stats = { batches: 0, ops: 0 };

  constructor(
    private readonly db: RocksDb,
    private readonly flush: FlushPolicy,
  ) {}

  /** Resolves once `ops` are committed (and fsynced under the `sync` policy). */
  write(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const p = (this.pending ??= { ops: [], waiters: [] });
      for (const op of ops) p.ops.push(op);
      p.waiters.push({ resolve, reject });
      if (!this.writing) this.kick();
    });
  }

  private kick(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = undefined;
    this.writing = true;
    this.stats.batches++;
    this.stats.ops += batch.ops.length;
    this.db.batch(batch.ops, this.flush === 'sync').then(
      () => this.done(batch, undefined),
      (err: unknown) => this.done(batch, err ?? new Error('write failed')),
    );
  }

  private done(batch: Pending, err: unknown): void {
    for (const w of batch.waiters) (err === undefined ? w.resolve() : w.reject(err));
    this.writing = false;
    if (this.pending) return this.kick();
    const idle = this.idle;
    this.idle = [];
    for (const fn of idle) fn();
  }

  /** Resolves when everything submitted so far is committed. */
  drain(): Promise<void> {
    if (!this.writing && !this.pending) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
