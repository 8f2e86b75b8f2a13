/**
 * Promise and async-iterator wrapper over the callback API of the `rocksdb` package
 * (abstract-leveldown 7). This folder (broker/store/) is the only place that imports `rocksdb`.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// The package ships no types; this is the part of its surface we use.
interface NativeIterator {
  next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: (err?: Error | null) => void): void;
}
/** The binding's write batch (rocksdb/chained-batch.js): one native call per op, no property lookups. */
interface NativeChainedBatch {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
  _write(opts: { sync: boolean }, cb: (err?: Error | null) => void): void;
  _clear(): void;
}
interface NativeDb {
  open(opts: Record<string, unknown>, cb: (err?: Error | null) => void): void;
  close(cb: (err?: Error | null) => void): void;
  get(key: Buffer, opts: Record<string, unknown>, cb: (err: (Error & { notFound?: boolean }) | null, value?: Buffer) => void): void;
  _chainedBatch(): NativeChainedBatch;
  iterator(opts: Record<string, unknown>): NativeIterator;
  clear(opts: Record<string, unknown>, cb: (err?: Error | null) => void): void;
}
const rocksdb = require('rocksdb') as (location: string) => NativeDb;

export type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * An atomic write batch filled op by op and written later. Each op is copied into the native
 * batch when it is added, so the caller's key and value Buffers are free at once (they die young
 * instead of waiting in the JavaScript heap for the write).
 */
export interface WriteBatch {
  /** Adds the ops, in order. */
  add(ops: readonly BatchOp[]): void;
  /** Writes everything added, atomically; `sync` fsyncs the WAL first. Call once. */
  write(sync: boolean): Promise<void>;
}

export interface RangeOptions {
  gte?: Buffer;
  gt?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  reverse?: boolean;
  limit?: number;
}

/** `WriteBatch` over the binding's chained batch (a class: one object per batch, no closures). */
class NativeWriteBatch implements WriteBatch {
  constructor(
    private readonly db: RocksDb,
    private readonly batch: NativeChainedBatch,
  ) {}

  add(ops: readonly BatchOp[]): void {
    const b = this.batch;
    for (const op of ops) {
      if (op.type === 'put') b._put(op.key, op.value);
      else b._del(op.key);
    }
  }

  write(sync: boolean): Promise<void> {
    const b = this.batch;
    try {
      this.db.assertOpen();
    } catch (err) {
      b._clear();
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) =>
      b._write({ sync }, (err) => {
        b._clear(); // frees the native WriteBatch now rather than when the wrapper is collected
        if (err) reject(err);
        else resolve();
      }),
    );
  }
}

export class RocksDb {
  private readonly db: NativeDb;
  private closing: Promise<void> | undefined;
  private opened = false;
  constructor(readonly location: string) {
    this.db = rocksdb(location);
  }

  /**
   * Opens (creating if missing). Defaults are tuned for a message log: a 64 MiB memtable and
   * 64 MiB SST files (the binding's 4 MiB / 2 MiB defaults made compaction the broker's largest
   * CPU cost), and no block compression unless asked for (message bodies are often already
   * compact or random; compression is paid again on every compaction).
   */
  open(tuning: { writeBufferSize?: number; compression?: boolean } = {}): Promise<void> {
    return new Promise((resolve, reject) =>
      this.db.open({
        createIfMissing: true,
        errorIfExists: false,
        writeBufferSize: tuning.writeBufferSize ?? 64 * 1024 * 1024,
        maxFileSize: 64 * 1024 * 1024,
        compression: tuning.compression ?? false,
      }, (err) => {
        if (err) return reject(err);
        this.opened = true;
        resolve();
      }),
    );
  }

  /** The native binding must never be called on a closed database (it can crash the process). */
  private check(): void {
    if (!this.opened || this.closing) throw new Error(`store ${this.location} is not open`);
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    this.check();
    return new Promise((resolve, reject) =>
      this.db.get(key, { asBuffer: true, fillCache: true }, (err, value) => {
        if (err) return err.notFound || /NotFound/i.test(err.message) ? resolve(undefined) : reject(err);
        resolve(value);
      }),
    );
  }

  /** Atomic write batch; `sync` fsyncs the WAL before resolving. */
  batch(ops: BatchOp[], sync: boolean): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    try {
      this.check();
    } catch (err) {
      return Promise.reject(err);
    }
    // The binding's chained batch, driven directly: `db.batch(array)` copies every op in
    // abstract-leveldown and then reads `type`/`key`/`value` of each through N-API property
    // lookups on the main thread, ~2.5x the cost of one `batch_put(key, value)` call per op.
    // Keys and values are Buffers by type, so abstract-leveldown's checks have nothing to add.
    const batch = this.db._chainedBatch();
    for (const op of ops) {
      if (op.type === 'put') batch._put(op.key, op.value);
      else batch._del(op.key);
    }
    return new Promise((resolve, reject) =>
      batch._write({ sync }, (err) => {
        batch._clear(); // frees the native WriteBatch now rather than when the wrapper is collected
        if (err) reject(err);
        else resolve();
      }),
    );
  }

  /** A new empty batch (throws if the database is not open). */
  openBatch(): WriteBatch {
    this.check();
    return new NativeWriteBatch(this, this.db._chainedBatch());
  }

  /** Throws unless open (for batches written later). */
  assertOpen(): void {
    this.check();
  }

  /** Deletes every key in the range (no scan through JS). */
  clear(range: RangeOptions): Promise<void> {
    this.check();
    return new Promise((resolve, reject) => this.db.clear({ ...range }, (err) => (err ? reject(err) : resolve())));
  }

  /** Iterates [key, value] pairs of a range; breaking out of the loop ends the native iterator. */
  async *range(opts: RangeOptions): AsyncGenerator<[Buffer, Buffer]> {
    this.check();
    const it = this.db.iterator({ ...opts, keyAsBuffer: true, valueAsBuffer: true, limit: opts.limit ?? -1 });
    try {
      for (;;) {
        const entry = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
          it.next((err, key, value) => (err ? reject(err) : resolve(key === undefined ? undefined : [key, value!]))),
        );
        if (!entry) return;
        yield entry;
      }
    } finally {
      await new Promise<void>((resolve) => it.end(() => resolve()));
    }
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
    return this.closing;
  }
}
