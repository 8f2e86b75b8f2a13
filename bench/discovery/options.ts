/** Command-line options of `npm run bench:discovery` and their help text. */
import { parseArgs } from 'node:util';
import { DEFAULT_EF_SEARCH } from '../../nameserver/semantic/hnsw-parameters.js';
import type { VectorSource } from './protocol.js';

export interface DiscoveryBenchOptions {
  sizes: number[];
  vectors: VectorSource[];
  lexicalMaxSize: number;
  catalogMaxSize: number;
  fullMaxSize: number;
  study: Array<{ m: number; efConstruction: number }>;
  studySize: number;
  studyEfs: number[];
  dims: number;
  queries: number;
  warmup: number;
  scenarioBudgetS: number;
  recallQueries: number;
  filteredRecallQueries: number;
  efs: number[];
  liveShare: number;
  bowWeights: [number, number];
  embedTexts: number;
  seed: number;
  words: 'pseudo' | 'english';
  heapMb: number;
  quietWaitS: number;
  save: boolean;
  outDir: string;
  verbose: boolean;
}

export const USAGE = `Usage: npm run bench:discovery [-- OPTIONS]

Benchmarks semantic topic discovery (nameserver/semantic/) on synthetic catalogs, in-process (no
gRPC): for each size and vector source, one forked Node process builds a HybridSearch (BM25 +
HNSW) and measures build time, memory, search latency p50/p99 and throughput per scenario
(query vectors computed beforehand, so embedding is excluded unless a scenario says otherwise),
and HNSW recall@10 against an exact brute-force search over the same vectors; up to
--catalog-max-size it also registers the topics in a TopicCatalog and measures its search (the
Discover path). A last process measures embedding throughput per embedder. Prints tables and a
Markdown block for docs/benchmarks.md, and writes bench/discovery/results/<date>.json.

Vector sources:
  bow       synthetic "transformers-like" vectors (--dims, default 384 = all-MiniLM-L6-v2): each
            word a fixed random vector (pulled towards its domain and a global direction), a
            text the normalised mean of its words' vectors; transformers ranker family
  lexical   the real LexicalEmbedder (1024 dims) on the synthetic texts; lexical ranker family

Options:
  --sizes LIST              catalog sizes (default 1000,100000,1000000)
  --vectors LIST            bow, lexical or both (default bow,lexical)
  --lexical-max-size N      largest size run with lexical vectors (default 100000: a 1M lexical
                            catalog takes ~15 GiB; above --full-max-size the parts run builds an
                            HNSW graph of its 1024-dim vectors, ~1 h at 1M, which HybridSearch
                            itself does not build for this family)
  --catalog-max-size N      also measure TopicCatalog up to this size (default 100000)
  --full-max-size N         above this size, build and measure the BM25 index and the HNSW index
                            each on its own instead of a HybridSearch (default 100000; the HNSW
                            build alone takes ~15 min at 1M, the hybrid latency runs ~10 more)
  --hnsw-study LIST         HNSW parameter study: VectorIndex built with each M:efConstruction
                            over --study-size bow vectors, recall@10 and latency per efSearch
                            (default 16:200,16:100,24:200,32:200; "none" to skip)
  --study-size N            vectors in the parameter study (default 100000)
  --study-ef LIST           efSearch values of the study (default 10,20,40,64,100,150,200,300,400)
  --dims N                  bow vector dimensions (default 384)
  --queries N               measured queries per latency scenario and for recall (default 1000)
  --warmup N                warm-up queries before each scenario (default 100)
  --scenario-budget-s S     stop a latency scenario after S seconds once 200 queries are in
                            (default 45)
  --recall-queries N        queries for recall (default: --queries)
  --filtered-recall-queries N  queries for the recall of the live-only filtered search
                            (default 200; the exact side scans every vector through a JS filter)
  --ef LIST                 efSearch values for the recall sweep, each >= 100 (HybridSearch asks
                            for 100 candidates, so hnswlib never searches with less; the index's
                            default is ${DEFAULT_EF_SEARCH}) (default 100,150,200,300,400,800)
  --live-share F            share of topics with a live consumer (default 0.9)
  --bow-weights G,D         bow: per-word weight of the global and the domain direction
                            (default 0.05,0.15: unrelated texts cosine ~0.08, same domain ~0.5)
  --embed-texts N           texts per embedder for the throughput run (default 2000; 0 = skip)
  --seed N                  corpus seed (default 1)
  --words pseudo|english    word strings of the synthetic texts: generated pseudo-words (default;
                            unknown to the thesaurus, which then skips the query) or the bundled
                            thesaurus's English terms (the lexical family's thesaurus ranker works)
  --heap-mb N               --max-old-space-size of the measuring processes (default 20000)
  --quiet-wait-s N          before each run, wait up to N s for other processes to leave the
                            CPUs alone (< 15% of a core; default 30, 0 = do not wait)
  --no-save                 do not write the JSON results
  --out DIR                 results directory (default bench/discovery/results)
  --verbose                 pass the measuring processes' stderr through
  -h, --help                this text

A default run takes about an hour on a 2-core VM (1M: ~20 min, lexical at 100k: ~15 min).`;

export class UsageError extends Error {}

function num(name: string, v: string | undefined, def: number, min: number, integer = true, max = Infinity): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}${max < Infinity ? ` and <= ${max}` : ''} (got ${v})`);
  }
  return n;
}

function numList(name: string, v: string | undefined, def: number[], min: number): number[] {
  if (v === undefined) return def;
  const parts = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (parts.length === 0) throw new UsageError(`--${name} needs at least one value`);
  return parts.map((p) => {
    // Accept 1k / 100k / 1m shorthands.
    const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(p);
    const n = m ? Number(m[1]) * (m[2] === 'k' || m[2] === 'K' ? 1e3 : m[2] === 'm' || m[2] === 'M' ? 1e6 : 1) : NaN;
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: ${p} must be an integer >= ${min}`);
    return n;
  });
}

/** Parses argv; returns undefined when help was asked for. */
export function parseOptions(argv: string[]): DiscoveryBenchOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        sizes: { type: 'string' },
        vectors: { type: 'string' },
        'lexical-max-size': { type: 'string' },
        'catalog-max-size': { type: 'string' },
        'full-max-size': { type: 'string' },
        'hnsw-study': { type: 'string' },
        'study-size': { type: 'string' },
        'study-ef': { type: 'string' },
        dims: { type: 'string' },
        queries: { type: 'string' },
        warmup: { type: 'string' },
        'scenario-budget-s': { type: 'string' },
        'recall-queries': { type: 'string' },
        'filtered-recall-queries': { type: 'string' },
        ef: { type: 'string' },
        'live-share': { type: 'string' },
        'bow-weights': { type: 'string' },
        'embed-texts': { type: 'string' },
        seed: { type: 'string' },
        words: { type: 'string' },
        'heap-mb': { type: 'string' },
        'quiet-wait-s': { type: 'string' },
        'no-save': { type: 'boolean' },
        out: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const vectors = (v.vectors ?? 'bow,lexical').split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const x of vectors) if (x !== 'bow' && x !== 'lexical') throw new UsageError(`--vectors must be bow, lexical or both (got ${x})`);
  const queries = num('queries', v.queries, 1000, 1);
  const weights = (v['bow-weights'] ?? '0.05,0.15').split(',').map(Number);
  if (weights.length !== 2 || weights.some((w) => !Number.isFinite(w) || w < 0)) throw new UsageError(`--bow-weights must be two numbers >= 0 (got ${v['bow-weights']})`);
  const efs = numList('ef', v.ef, [100, 150, 200, 300, 400, 800], 100);
  const studyText = v['hnsw-study'] ?? '16:200,16:100,24:200,32:200';
  const study =
    studyText === 'none' || studyText === ''
      ? []
      : studyText.split(',').map((c) => {
          const m = /^\s*(\d+):(\d+)\s*$/.exec(c);
          if (!m || Number(m[1]) < 2 || Number(m[2]) < 1) throw new UsageError(`--hnsw-study entries are M:efConstruction with M >= 2 (got ${c})`);
          return { m: Number(m[1]), efConstruction: Number(m[2]) };
        });
  return {
    sizes: numList('sizes', v.sizes, [1000, 100_000, 1_000_000], 10),
    vectors: [...new Set(vectors)] as VectorSource[],
    lexicalMaxSize: num('lexical-max-size', v['lexical-max-size'], 100_000, 0),
    catalogMaxSize: num('catalog-max-size', v['catalog-max-size'], 100_000, 0),
    fullMaxSize: num('full-max-size', v['full-max-size'], 100_000, 0),
    study,
    studySize: numList('study-size', v['study-size'], [100_000], 10)[0]!,
    studyEfs: [...new Set(numList('study-ef', v['study-ef'], [10, 20, 40, 64, 100, 150, 200, 300, 400], 1))].sort((a, b) => a - b),
    dims: num('dims', v.dims, 384, 2),
    queries,
    warmup: num('warmup', v.warmup, 100, 0),
    scenarioBudgetS: num('scenario-budget-s', v['scenario-budget-s'], 45, 1, false),
    recallQueries: num('recall-queries', v['recall-queries'], queries, 1),
    filteredRecallQueries: num('filtered-recall-queries', v['filtered-recall-queries'], 200, 0),
    efs: [...new Set(efs)].sort((a, b) => a - b),
    liveShare: num('live-share', v['live-share'], 0.9, 0, false, 1),
    bowWeights: [weights[0]!, weights[1]!],
    embedTexts: num('embed-texts', v['embed-texts'], 2000, 0),
    seed: num('seed', v.seed, 1, 0),
    words: wordsOption(v.words),
    heapMb: num('heap-mb', v['heap-mb'], 20_000, 512),
    quietWaitS: num('quiet-wait-s', v['quiet-wait-s'], 30, 0, false),
    save: !(v['no-save'] ?? false),
    outDir: v.out ?? 'bench/discovery/results',
    verbose: v.verbose ?? false,
  };
}

function wordsOption(v: string | undefined): 'pseudo' | 'english' {
  if (v === undefined || v === 'pseudo' || v === 'english') return v ?? 'pseudo';
  throw new UsageError(`--words is pseudo or english (got ${v})`);
}
