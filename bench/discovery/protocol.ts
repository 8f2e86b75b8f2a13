/** Messages and records between `bench/discovery/run.ts` and its forked `worker.ts`. */
import type { CpuWindowResult, GcSummary, LatencySummary, MemorySnapshot } from './stats.js';

/**
 * Where the vectors come from:
 * - `bow`: the synthetic bag-of-word-vectors "transformers-like" embedding (corpus.ts), 384 dims by default;
 * - `lexical`: the real `LexicalEmbedder` (1024 dims) applied to the synthetic texts.
 */
export type VectorSource = 'bow' | 'lexical';

export interface IndexSpec {
  kind: 'index';
  /**
   * `full`: HybridSearch (and optionally TopicCatalog) over BM25 + HNSW. `parts`: the BM25 index
   * (LexicalIndex) and the HNSW index (VectorIndex) built and measured on their own, for sizes
   * where the full run takes too long.
   */
  mode: 'full' | 'parts';
  vectors: VectorSource;
  size: number;
  /** bow only; lexical uses the embedder's own. */
  dims: number;
  queries: number;
  warmup: number;
  scenarioBudgetMs: number;
  recallQueries: number;
  filteredRecallQueries: number;
  /** efSearch values of the recall sweep (each >= 100, HybridSearch's candidate count). */
  efs: number[];
  /** Also build a TopicCatalog and measure its search. */
  catalog: boolean;
  liveShare: number;
  bowWeights: [number, number];
  seed: number;
  /** Word strings of the corpus (corpus.ts). */
  words: 'pseudo' | 'english';
}

export interface EmbedSpec {
  kind: 'embed';
  texts: number;
  dims: number;
  seed: number;
  bowWeights: [number, number];
}

/** HNSW parameter study: VectorIndex built with each (M, efConstruction) over the bow vectors. */
export interface StudySpec {
  kind: 'study';
  size: number;
  dims: number;
  configs: Array<{ m: number; efConstruction: number }>;
  efs: number[];
  queries: number;
  bowWeights: [number, number];
  seed: number;
}

export type WorkerSpec = IndexSpec | EmbedSpec | StudySpec;

export interface ScenarioResult {
  id: string;
  label: string;
  latency: LatencySummary;
  gc: GcSummary;
  cpu: CpuWindowResult;
  /** Queries not run because the scenario's time budget ran out. */
  skipped: number;
}

export interface EfPoint {
  ef: number;
  /** Mean |HNSW top-10 ∩ exact top-10| / 10. */
  recallAt10: number;
  /** Same with top-100 (ef >= 100 only): the candidate list HybridSearch fuses. */
  recallAt100?: number;
  /** Latency of VectorIndex.search(q, max(ef, 10)) (returns ef hits; HybridSearch asks for 100). */
  latency: LatencySummary;
}

export interface RecallResult {
  queries: number;
  /** Index defaults (vector-index.ts). */
  m: number;
  efConstruction: number;
  defaultEfSearch: number;
  sweep: EfPoint[];
  /** Smallest swept efSearch with recall@10 >= 0.95 (undefined: none of them). */
  efFor095: number | undefined;
  /**
   * Mean cosine of the exact 1st, 10th and 100th neighbour, and of the 10th hit HNSW returns at
   * the default efSearch: how far apart the neighbours a recall miss confuses are.
   */
  similarity: { exactAt1: number; exactAt10: number; exactAt100: number; hnswAt10: number };
  /** Recall@10 at the default efSearch when the queries are held-out documents (in-distribution). */
  documentQueries?: { queries: number; recallAt10: number };
  /** Recall@10 of the live-only filtered search (default efSearch) vs exact search over live topics. */
  filtered?: { queries: number; recallAt10: number; liveShare: number };
  bruteForce: { buildMs: number; msPerQuery: number; jsCheck: { queries: number; agreement: number } };
}

export interface BuildResult {
  /** Generating the synthetic documents and validating them (not part of the index build). */
  generateMs: number;
  /** Computing the document vectors (bow: the synthetic model; lexical: LexicalEmbedder). */
  embedMs: number;
  /** HybridSearch.upsertMany: BM25 + HNSW inserts, excluding embedding. */
  indexMs: number;
  indexUsPerTopic: number;
  vectorCapacity: number;
  cpu: CpuWindowResult;
  /** parts mode: the two indexes' build times. */
  bm25Ms?: number;
  hnswMs?: number;
}

export interface MemoryResult {
  baseline: MemorySnapshot;
  after: MemorySnapshot;
  delta: MemorySnapshot;
  /** hnswlib's own allocation by its layout (data + level-0 links + label map + locks), for reference. */
  hnswEstimateBytes: number;
}

export interface CatalogResult {
  buildMs: number;
  usPerTopic: number;
  memory: MemoryResult;
  scenarios: ScenarioResult[];
}

export interface IndexResult {
  kind: 'index';
  spec: IndexSpec;
  embedderId: string;
  family: string;
  dims: number;
  build: BuildResult;
  memory: MemoryResult;
  /** parts mode: memory of each index on its own (BM25 measured first, then HNSW). */
  partMemory?: { bm25: MemoryResult; hnsw: MemoryResult };
  scenarios: ScenarioResult[];
  /** Absent when the index built no HNSW graph (lexical vectors: HybridSearch's default). */
  recall?: RecallResult;
  catalog?: CatalogResult;
  /**
   * The character n-gram ranker's approximation of large queries (CharNgramIndex exactPostings,
   * maxPostings, rescore; results before session 13 have no exactPostings / rescore: a plain
   * budget) against exact n-gram BM25 on the same queries: overlap of the top 10 / top 100, and
   * both latencies.
   */
  charBudget?: { exactPostings?: number; maxPostings: number; rescore?: number; queries: number; overlapAt10: number; overlapAt100: number; budgetP50Ms: number; budgetP99Ms: number; exactP50Ms: number; exactP99Ms: number };
  /** Query texts: mean analysed terms per query. */
  queryTerms: number;
  wallMs: number;
}

export interface EmbedderThroughput {
  embedder: string;
  id: string;
  dims: number;
  note: string;
  loadMs?: number;
  /** Documents embedded in batches (the embedder's own batching). */
  documents: { count: number; perSecond: number; meanChars: number };
  /** Queries embedded one call each. */
  queries: { count: number; latency: LatencySummary; meanChars: number };
}

export interface EmbedResult {
  kind: 'embed';
  spec: EmbedSpec;
  embedders: EmbedderThroughput[];
  wallMs: number;
}

export interface StudyConfigResult {
  m: number;
  efConstruction: number;
  buildMs: number;
  usPerTopic: number;
  rssDeltaBytes: number;
  /** Recall@10 and latency of VectorIndex.search(q, ef) (efSearch floor 10, so ef is exact). */
  sweep: Array<{ ef: number; recallAt10: number; latency: LatencySummary }>;
}

export interface StudyResult {
  kind: 'study';
  spec: StudySpec;
  configs: StudyConfigResult[];
  wallMs: number;
}

export type WorkerResult = IndexResult | EmbedResult | StudyResult;

export type WorkerMessage = { type: 'progress'; line: string } | { type: 'result'; result: WorkerResult } | { type: 'error'; message: string };
export type OrchestratorMessage = { type: 'run'; spec: WorkerSpec };
