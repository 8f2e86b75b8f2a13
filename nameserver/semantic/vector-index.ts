/**
 * Approximate nearest-neighbour search over topic embeddings: an hnswlib-node HNSW graph in the
 * cosine space, keyed by topic name.
 *
 * - hnswlib works on integer labels; this class keeps the label <-> topic map. Labels are never
 *   reused for another topic, so a stale label can never name the wrong topic.
 * - Updating a topic rewrites its vector in place (same label). Removing it marks the label
 *   deleted; the graph is built with `allowReplaceDeleted`, so the next new topic takes over the
 *   deleted slot instead of growing the index.
 * - When every slot is live the index doubles its capacity (`resizeIndex`) before adding.
 * - A normalised float32 copy of every vector stays on the JavaScript side (dimensions × 4 bytes
 *   per topic, e.g. 150 MiB for 100k × 384): `searchAmong` scores a filter's candidates exactly
 *   from it, because hnswlib's `getPoint` costs ~30 µs a call.
 * - A filtered search first asks hnswlib for a few more neighbours than wanted without the filter
 *   and filters them in JavaScript; only when too few pass does it walk the graph with the filter
 *   (a JavaScript callback per visited node, 2× the cost when 90% of the topics pass).
 *
 * - Sparse vectors (fewer than a quarter of the dimensions set, as the lexical embedder's hashed
 *   features) are kept as (dimension, value) pairs: ~100 pairs, 0.6 KB instead of 4 KB at 1024
 *   dimensions.
 * - `graph: false` keeps the vectors without an HNSW graph: `search` is then an exact scan. That
 *   is what a catalog wants when the vectors only score the results the other rankers found (the
 *   lexical embedder: fusion weight 0), since the graph costs 1-2.5 ms per insert at 1024
 *   dimensions and ~4 KB per topic (docs/discovery.md, "Search at scale"), and `search` then
 *   only fills short result lists.
 *
 * The index is soft state, rebuilt from the catalog (and the embedding cache) after a restart.
 *
 *   stored vector (per label)   Float32Array(dimensions)                      dense, normalised
 *                               { dims: Uint16Array(n), values: Float32Array(n) }   sparse, normalised
 */
import { createRequire } from 'node:module';
import type { HierarchicalNSW as HnswType } from 'hnswlib-node';
import { resolveHnswParameters } from './hnsw-parameters.js';
import type { HnswParameters } from './hnsw-parameters.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');

/** A topic name. */
export type VectorKey = string;
/** hnswlib's integer id of a stored vector. */
type Label = number;

export interface VectorHit {
  key: VectorKey;
  /** Cosine similarity in [-1, 1] (1 - hnswlib's cosine distance). */
  similarity: number;
}

export const DEFAULT_INITIAL_CAPACITY = 1024;

export interface VectorIndexOptions {
  /** Vector length; must match the embedder's. */
  dimensions: number;
  /** Slots allocated up front; the index doubles when full. @default 1024 */
  initialCapacity?: number;
  /**
   * HNSW graph degree (links per node and layer; 2 to 100). Fixed when the index is built: a
   * denser graph costs build time and memory and buys recall at large sizes (at 1M topics,
   * M 32 / efConstruction 400 / efSearch 800 reach recall@10 0.954 where the defaults reach 0.768;
   * docs/benchmarks.md, Discovery, "1M topics"). @default 16
   */
  m?: number;
  /** Candidate list size while building (at least 1). @default 200 */
  efConstruction?: number;
  /**
   * Candidate list size while searching (at least 1; raised to k when k is larger). 300 keeps
   * recall@10 above 0.95 at 100k topics (docs/benchmarks.md, Discovery). @default 300
   */
  efSearch?: number;
  /** Seed of hnswlib's level generator, for reproducible graphs. @default 100 */
  randomSeed?: number;
  /**
   * Build the HNSW graph. Without it the index keeps only the vectors, and `search` scans them
   * all exactly (fine for filling short lists, not for ranking a large catalog). @default true
   */
  graph?: boolean;
}

export interface VectorSearchOptions {
  /** Candidate list size of this search (graph only). @default the index's efSearch */
  efSearch?: number;
  /**
   * Without a graph: score at most this many vectors (the oldest first), so that a search that
   * only fills a short list has a bounded cost on a large catalog; the result is then exact over
   * those only. @default Infinity
   */
  scanLimit?: number;
}

/** A normalised vector as stored: dense, or its non-zero dimensions (see the file comment). */
type StoredVector = Float32Array | { dims: Uint16Array; values: Float32Array };

export class VectorIndex {
  readonly dimensions: number;
  /** M, efConstruction and efSearch as built (defaults applied). */
  readonly parameters: Readonly<HnswParameters>;
  readonly #index: HnswType | undefined;
  readonly #efSearch: number;
  readonly #labelOf = new Map<VectorKey, Label>();
  readonly #keyOf = new Map<Label, VectorKey>();
  /** label -> the normalised vector (for exact search over a filter's candidates). */
  readonly #vectors = new Map<Label, StoredVector>();
  /** Slots holding a vector marked deleted (reusable by the next insert). */
  #deleted = 0;
  #nextLabel = 0;

  constructor(options: VectorIndexOptions) {
    const { dimensions } = options;
    if (!Number.isInteger(dimensions) || dimensions < 1) throw new RangeError(`dimensions must be a positive integer (got ${String(dimensions)})`);
    const capacity = options.initialCapacity ?? DEFAULT_INITIAL_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`initialCapacity must be a positive integer (got ${String(capacity)})`);
    this.dimensions = dimensions;
    this.parameters = Object.freeze(resolveHnswParameters(options));
    this.#efSearch = this.parameters.efSearch;
    if (options.graph === false) return;
    this.#index = new HierarchicalNSW('cosine', dimensions);
    this.#index.initIndex({
      maxElements: capacity,
      m: this.parameters.m,
      efConstruction: this.parameters.efConstruction,
      randomSeed: options.randomSeed ?? 100,
      allowReplaceDeleted: true,
    });
    this.#index.setEf(this.#efSearch);
  }

  /** Whether an HNSW graph is built (`graph` option); without one `search` is exact. */
  get graph(): boolean {
    return this.#index !== undefined;
  }

  /** Live vectors. */
  get size(): number {
    return this.#labelOf.size;
  }

  /** Allocated slots of the graph (live + deleted + free); without a graph, the live vectors. */
  get capacity(): number {
    return this.#index ? this.#index.getMaxElements() : this.size;
  }

  has(key: VectorKey): boolean {
    return this.#labelOf.has(key);
  }

  /** Adds `key` or replaces its vector. */
  upsert(key: VectorKey, vector: Float32Array | readonly number[]): void {
    if (vector.length !== this.dimensions) {
      throw new RangeError(`vector for ${JSON.stringify(key)} has ${vector.length} dimensions, the index ${this.dimensions}`);
    }
    const copy = storedVector(vector);
    const existing = this.#labelOf.get(key);
    const index = this.#index;
    if (existing !== undefined) {
      index?.addPoint(Array.from(vector), existing);
      this.#vectors.set(existing, copy);
      return;
    }
    const label = this.#nextLabel++;
    if (index) {
      if (this.#deleted === 0 && index.getCurrentCount() >= index.getMaxElements()) {
        index.resizeIndex(Math.max(1, index.getMaxElements()) * 2);
      }
      // With a deleted slot available hnswlib reuses it (and forgets the deleted label).
      index.addPoint(Array.from(vector), label, this.#deleted > 0);
      if (this.#deleted > 0) this.#deleted--;
    }
    this.#labelOf.set(key, label);
    this.#keyOf.set(label, key);
    this.#vectors.set(label, copy);
  }

  /** Removes `key`; returns whether it was present. */
  remove(key: VectorKey): boolean {
    const label = this.#labelOf.get(key);
    if (label === undefined) return false;
    if (this.#index) {
      this.#index.markDelete(label);
      this.#deleted++;
    }
    this.#labelOf.delete(key);
    this.#keyOf.delete(label);
    this.#vectors.delete(label);
    return true;
  }

  /**
   * The `k` nearest live vectors to `query`, most similar first (ties by key). `accept`, when
   * given, restricts the search to the keys it accepts (evaluated inside the graph walk, so `k`
   * accepted results come back when there are that many).
   */
  search(query: Float32Array | readonly number[], k: number, accept?: (key: VectorKey) => boolean, options: VectorSearchOptions = {}): VectorHit[] {
    if (query.length !== this.dimensions) throw new RangeError(`query has ${query.length} dimensions, the index ${this.dimensions}`);
    const n = Math.min(k, this.size);
    if (n <= 0) return [];
    const index = this.#index;
    if (!index) return this.#scan(query, n, accept, options.scanLimit ?? Infinity);
    const ef = options.efSearch ?? this.#efSearch;
    if (accept) {
      // Post-filter first: the nearest n + 25% without the filter, kept if enough of them pass.
      const over = Math.min(this.size, n + Math.max(10, Math.ceil(n / 4)));
      index.setEf(Math.max(ef, over));
      const r = index.searchKnn(Array.from(query), over);
      const passed: VectorHit[] = [];
      r.neighbors.forEach((label, i) => {
        const key = this.#keyOf.get(label);
        if (key !== undefined && accept(key)) passed.push({ key, similarity: 1 - r.distances[i]! });
      });
      if (passed.length >= n || over === this.size) {
        return passed.sort(byScore).slice(0, n);
      }
    }
    index.setEf(Math.max(ef, n));
    const filter = accept
      ? (label: number) => {
          const key = this.#keyOf.get(label);
          return key !== undefined && accept(key);
        }
      : undefined;
    const result = index.searchKnn(Array.from(query), n, filter);
    const hits: VectorHit[] = [];
    result.neighbors.forEach((label, i) => {
      const key = this.#keyOf.get(label);
      if (key !== undefined) hits.push({ key, similarity: 1 - result.distances[i]! });
    });
    return hits.sort(byScore);
  }

  /**
   * Exact search over the given keys only (keys not in the index are ignored): the cosine of the
   * query with each of their stored vectors, the best `k` first (ties by key). This is what a
   * selective filter needs: an HNSW walk that must reject almost every node it visits degrades
   * towards a full scan and can miss results, while scoring a few hundred candidates directly is
   * both exact and cheap (the usual pre-filter / post-filter switch of vector databases).
   */
  searchAmong(query: Float32Array | readonly number[], keys: Iterable<VectorKey>, k: number): VectorHit[] {
    const dot = this.#scorer(query);
    const hits: VectorHit[] = [];
    for (const key of keys) {
      const label = this.#labelOf.get(key);
      if (label !== undefined) hits.push({ key, similarity: dot(this.#vectors.get(label)!) });
    }
    return hits.sort(byScore).slice(0, Math.max(0, k));
  }

  /** Exact search over every live vector (the graph-less `search`): the best `n`, ties by key. */
  #scan(query: Float32Array | readonly number[], n: number, accept: ((key: VectorKey) => boolean) | undefined, limit: number): VectorHit[] {
    const dot = this.#scorer(query);
    let scanned = 0;
    // The best n so far, best first (n is a result list's length, so insertion is cheap).
    const best: VectorHit[] = [];
    for (const [label, v] of this.#vectors) {
      if (scanned++ >= limit) break;
      const similarity = dot(v);
      if (best.length === n && similarity < best[n - 1]!.similarity) continue;
      const key = this.#keyOf.get(label)!;
      if (accept && !accept(key)) continue;
      const hit = { key, similarity };
      let i = best.length;
      while (i > 0 && byScore(hit, best[i - 1]!) < 0) i--;
      if (i >= n) continue;
      best.splice(i, 0, hit);
      if (best.length > n) best.pop();
    }
    return best;
  }

  /** The cosine of `query` (normalised here) with a stored vector. */
  #scorer(query: Float32Array | readonly number[]): (v: StoredVector) => number {
    if (query.length !== this.dimensions) throw new RangeError(`query has ${query.length} dimensions, the index ${this.dimensions}`);
    let qn = 0;
    for (let i = 0; i < query.length; i++) qn += query[i]! * query[i]!;
    qn = Math.sqrt(qn) || 1;
    const d = this.dimensions;
    const q = new Float32Array(d); // a loop, not Float32Array.from(query, fn): that iterates
    for (let i = 0; i < d; i++) q[i] = query[i]! / qn;
    // A sparse query (the lexical embedder's hashed features: ~10% of 1024 dimensions set) is
    // multiplied over its non-zero dimensions only; the zeros add nothing to the dot product.
    let nnz = 0;
    for (let i = 0; i < d; i++) if (q[i] !== 0) nnz++;
    const nz = nnz < d / 4 ? new Int32Array(nnz) : undefined;
    if (nz) for (let i = 0, j = 0; i < d; i++) if (q[i] !== 0) nz[j++] = i;
    return (v) => {
      let dot = 0;
      if (!(v instanceof Float32Array)) {
        const { dims, values } = v;
        for (let j = 0; j < dims.length; j++) dot += values[j]! * q[dims[j]!]!;
      } else if (nz) {
        for (let j = 0; j < nz.length; j++) {
          const i = nz[j]!;
          dot += v[i]! * q[i]!;
        }
      } else {
        for (let i = 0; i < d; i++) dot += v[i]! * q[i]!;
      }
      return dot;
    };
  }
}

const byScore = (a: VectorHit, b: VectorHit): number => b.similarity - a.similarity || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The normalised copy of `vector` kept for exact scoring: sparse when under a quarter is set. */
function storedVector(vector: Float32Array | readonly number[]): StoredVector {
  let norm = 0;
  let nnz = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i]!;
    norm += x * x;
    if (x !== 0) nnz++;
  }
  norm = Math.sqrt(norm) || 1;
  if (nnz >= vector.length / 4 || vector.length > 0x10000) return Float32Array.from(vector, (x) => x / norm);
  const dims = new Uint16Array(nnz);
  const values = new Float32Array(nnz);
  for (let i = 0, j = 0; i < vector.length; i++) {
    if (vector[i] !== 0) {
      dims[j] = i;
      values[j++] = vector[i]! / norm;
    }
  }
  return { dims, values };
}
