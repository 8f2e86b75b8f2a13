/**
 * HNSW graph parameters of the discovery vector index (vector-index.ts), their defaults and
 * their validation. Kept apart from the index so that option parsing (NameServer options, the
 * CLI) does not load hnswlib's native addon.
 */

/** HNSW graph degree. */
export const DEFAULT_HNSW_M = 16;
/** Candidate list size while building. */
export const DEFAULT_EF_CONSTRUCTION = 200;
/** Candidate list size while searching: recall@10 >= 0.95 up to 100k topics (docs/benchmarks.md). */
export const DEFAULT_EF_SEARCH = 300;

/** The graph parameters an index was built with (VectorIndexOptions, defaults applied). */
export interface HnswParameters {
  m: number;
  efConstruction: number;
  efSearch: number;
}

/** Largest graph degree accepted: hnswlib's own guidance is 2-100, and memory grows with M. */
export const MAX_HNSW_M = 100;

/**
 * Validates the graph parameters of `options` and applies the defaults; throws a RangeError
 * naming the option.
 */
export function resolveHnswParameters(options: Partial<HnswParameters> = {}): HnswParameters {
  const p: HnswParameters = {
    m: options.m ?? DEFAULT_HNSW_M,
    efConstruction: options.efConstruction ?? DEFAULT_EF_CONSTRUCTION,
    efSearch: options.efSearch ?? DEFAULT_EF_SEARCH,
  };
  if (!Number.isInteger(p.m) || p.m < 2 || p.m > MAX_HNSW_M) throw new RangeError(`m must be an integer from 2 to ${MAX_HNSW_M} (got ${String(p.m)})`);
  if (!Number.isInteger(p.efConstruction) || p.efConstruction < 1) throw new RangeError(`efConstruction must be a positive integer (got ${String(p.efConstruction)})`);
  if (!Number.isInteger(p.efSearch) || p.efSearch < 1) throw new RangeError(`efSearch must be a positive integer (got ${String(p.efSearch)})`);
  return p;
}
