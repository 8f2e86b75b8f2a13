/**
 * A persistent cache of embeddings in RocksDB, so a restarted NameServer (which rebuilds its
 * catalog from broker registrations) does not run the model again over every topic.
 *
 * `withEmbeddingCache(embedder, cache)` wraps any `Embedder`: texts already cached under the
 * embedder's `id` are read back, only the misses are embedded, and those are written in one
 * batch. Changing the model (or its settings, which change `id`) naturally misses.
 *
 * This folder is the NameServer's only user of `rocksdb`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Embedder } from './embedder.js';

const require = createRequire(import.meta.url);
// The package ships no types; this is the part of its surface used here.
interface NativeDb {
  open(opts: Record<string, unknown>, cb: (err?: Error | null) => void): void;
  close(cb: (err?: Error | null) => void): void;
  get(key: Buffer, opts: Record<string, unknown>, cb: (err: (Error & { notFound?: boolean }) | null, value?: Buffer) => void): void;
  batch(ops: Array<{ type: 'put'; key: Buffer; value: Buffer }>, opts: { sync: boolean }, cb: (err?: Error | null) => void): void;
}
const rocksdb = require('rocksdb') as (location: string) => NativeDb;

/**
 * Key layout (ordered by model, so one model's entries are contiguous):
 *
 * ```
 * ┌───────────────────────┬──────┬──────────────────────────┐
 * │ embedder id (UTF-8)   │ 0x00 │ sha256(text)  (32 bytes) │
 * └───────────────────────┴──────┴──────────────────────────┘
 * ```
 *
 * Value layout: the vector as little-endian float32, `dimensions * 4` bytes, nothing else. A
 * value of the wrong length is treated as a miss (and overwritten on the next put).
 *
 * ```
 * ┌─────────────┬─────────────┬─────┬─────────────────────┐
 * │ f32 LE [0]  │ f32 LE [1]  │ ... │ f32 LE [dims - 1]   │
 * └─────────────┴─────────────┴─────┴─────────────────────┘
 * ```
 */
export function embeddingKey(embedderId: string, text: string): Buffer {
  if (embedderId.includes('\u0000')) throw new RangeError('embedder id must not contain NUL');
  const digest = createHash('sha256').update(text, 'utf8').digest();
  return Buffer.concat([Buffer.from(embedderId, 'utf8'), Buffer.from([0]), digest]);
}

export function encodeVector(v: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) out.writeFloatLE(v[i]!, i * 4);
  return out;
}

export function decodeVector(b: Buffer): Float32Array {
  const v = new Float32Array(b.length / 4);
  for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  return v;
}

export interface EmbeddingCacheStats {
  hits: number;
  misses: number;
  writes: number;
}

export class EmbeddingCache {
  readonly location: string;
  readonly #db: NativeDb;
  #closing: Promise<void> | undefined;
  readonly stats: EmbeddingCacheStats = { hits: 0, misses: 0, writes: 0 };

  private constructor(location: string, db: NativeDb) {
    this.location = location;
    this.#db = db;
  }

  /** Opens (creating the directory and database if missing). */
  static async open(location: string): Promise<EmbeddingCache> {
    mkdirSync(location, { recursive: true });
    const db = rocksdb(location);
    await new Promise<void>((resolve, reject) =>
      db.open({ createIfMissing: true, errorIfExists: false, compression: false }, (err) => (err ? reject(err) : resolve())),
    );
    return new EmbeddingCache(location, db);
  }

  /** The native binding must never be called after close (it can crash the process). */
  #check(): void {
    if (this.#closing) throw new Error(`embedding cache ${this.location} is closed`);
  }

  /** The cached vector of `text` under `embedderId` with `dimensions` entries, if any. */
  get(embedderId: string, dimensions: number, text: string): Promise<Float32Array | undefined> {
    this.#check();
    return new Promise((resolve, reject) =>
      this.#db.get(embeddingKey(embedderId, text), { asBuffer: true, fillCache: true }, (err, value) => {
        if (err) {
          if (err.notFound || /NotFound/i.test(err.message)) {
            this.stats.misses++;
            return resolve(undefined);
          }
          return reject(err);
        }
        if (!value || value.length !== dimensions * 4) {
          this.stats.misses++;
          return resolve(undefined);
        }
        this.stats.hits++;
        resolve(decodeVector(value));
      }),
    );
  }

  getMany(embedderId: string, dimensions: number, texts: readonly string[]): Promise<Array<Float32Array | undefined>> {
    return Promise.all(texts.map((t) => this.get(embedderId, dimensions, t)));
  }

  /** Writes the vectors in one batch (not fsynced: a lost entry is only re-embedded). */
  putMany(embedderId: string, entries: ReadonlyArray<readonly [text: string, vector: Float32Array]>): Promise<void> {
    this.#check();
    if (entries.length === 0) return Promise.resolve();
    const ops = entries.map(([text, vector]) => ({ type: 'put' as const, key: embeddingKey(embedderId, text), value: encodeVector(vector) }));
    return new Promise((resolve, reject) =>
      this.#db.batch(ops, { sync: false }, (err) => {
        if (err) return reject(err);
        this.stats.writes += ops.length;
        resolve();
      }),
    );
  }

  /** Closes the database; idempotent (later calls wait on the same promise). */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve, reject) => this.#db.close((err) => (err ? reject(err) : resolve())));
    return this.#closing;
  }
}

/**
 * An `Embedder` that reads through `cache`: same `id` and `dimensions` as `inner`, and the same
 * vectors, but only texts never seen before reach `inner`. Duplicate texts in one call are
 * embedded once.
 */
export function withEmbeddingCache(inner: Embedder, cache: EmbeddingCache): Embedder {
  return {
    id: inner.id,
    dimensions: inner.dimensions,
    async embed(texts: readonly string[]): Promise<Float32Array[]> {
      const cached = await cache.getMany(inner.id, inner.dimensions, texts);
      const missing = [...new Set(texts.filter((_, i) => cached[i] === undefined))];
      if (missing.length > 0) {
        const vectors = await inner.embed(missing);
        const byText = new Map(missing.map((t, i) => [t, vectors[i]!] as const));
        await cache.putMany(inner.id, [...byText]);
        return texts.map((t, i) => cached[i] ?? byText.get(t)!);
      }
      return cached as Float32Array[];
    },
    close: inner.close ? () => inner.close!() : undefined,
  };
}
