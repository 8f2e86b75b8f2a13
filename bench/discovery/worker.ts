/**
 * One measurement of `npm run bench:discovery`, in its own process (forked by run.ts with
 * --expose-gc and a large heap), so memory figures start from a clean process:
 *
 * - `index`: a synthetic catalog of `size` topics → HybridSearch build (BM25 + HNSW, embedding
 *   excluded) → memory → search latency per scenario → HNSW recall@10 against brute force →
 *   optionally the same through a TopicCatalog (the Discover path).
 * - `embed`: embedding throughput of the lexical embedder and of the transformers.js pipeline on a
 *   tiny self-built model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LexicalEmbedder, TransformersEmbedder } from '../../nameserver/semantic/embedder.js';
import { HybridSearch, embedderFamily } from '../../nameserver/semantic/hybrid-search.js';
import type { SearchFilters } from '../../nameserver/semantic/hybrid-search.js';
import type { CharNgramIndex } from '../../nameserver/semantic/char-ngram-index.js';
import { LexicalIndex } from '../../nameserver/semantic/lexical-index.js';
import { TopicCatalog } from '../../nameserver/semantic/topic-catalog.js';
import { bundledThesaurus } from '../../nameserver/semantic/thesaurus.js';
import { embeddingText, lexicalSections, validateTopicDocument } from '../../nameserver/semantic/topic-document.js';
import type { TopicDocument } from '../../nameserver/semantic/topic-document.js';
import { DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_HNSW_M } from '../../nameserver/semantic/hnsw-parameters.js';
import { VectorIndex } from '../../nameserver/semantic/vector-index.js';
import { buildTinyModel } from '../../test/nameserver/semantic/tiny-model.js';
import { BagOfWordVectors, Corpus, Rng, mixSeed } from './corpus.js';
import type { SyntheticQuery } from './corpus.js';
import { PrecomputedEmbedder } from './embedders.js';
import type {
  CatalogResult,
  EfPoint,
  EmbedderThroughput,
  EmbedResult,
  EmbedSpec,
  IndexResult,
  IndexSpec,
  MemoryResult,
  OrchestratorMessage,
  RecallResult,
  ScenarioResult,
  StudyConfigResult,
  StudyResult,
  StudySpec,
  WorkerMessage,
} from './protocol.js';
import { cpuWindow, gcRecorder, memory, memoryDelta, summarize } from './stats.js';
import { budgetLabel } from './report.js';

const require = createRequire(import.meta.url);
const { BruteforceSearch } = require('hnswlib-node') as typeof import('hnswlib-node');

function send(msg: WorkerMessage): void {
  if (process.send) process.send(msg);
  else if (msg.type === 'progress') process.stderr.write(`${msg.line}\n`);
}

function progress(line: string): void {
  send({ type: 'progress', line });
}

const now = (): number => performance.now();

/** Document i's index from its topic name (the base-36 suffix corpus.ts puts there). */
function indexOfName(name: string): number {
  return parseInt(name.slice(name.lastIndexOf('-') + 1), 36);
}

/** Row storage for N vectors, in chunks (a single typed array cannot hold 1M × 1024 floats). */
class VectorStore {
  static readonly CHUNK = 65_536;
  readonly dims: number;
  readonly #chunks: Float32Array[] = [];

  constructor(n: number, dims: number) {
    this.dims = dims;
    for (let i = 0; i < n; i += VectorStore.CHUNK) {
      const c = new Float32Array(Math.min(VectorStore.CHUNK, n - i) * dims);
      c.fill(0); // touch the pages now, so they are in the memory baseline
      this.#chunks.push(c);
    }
  }

  row(i: number): Float32Array {
    const c = this.#chunks[Math.floor(i / VectorStore.CHUNK)]!;
    const off = (i % VectorStore.CHUNK) * this.dims;
    return c.subarray(off, off + this.dims);
  }
}

/** The liveness a broker reports for topic i (deterministic; `share` of the topics are live). */
/** Documents generated and indexed per step. */
const BATCH = 1000;

function liveOf(seed: number, i: number, share: number): boolean {
  return mixSeed(seed ^ 0x11fe, i) / 4294967296 < share;
}

function hnswEstimateBytes(capacity: number, dims: number, m: number): number {
  // hnswlib: per slot data + level-0 links (2M ids + count) + label; a mutex per slot (40 B);
  // label_lookup_ unordered_map (~48 B per entry); upper levels ~ (M ids + count) / (M - 1).
  const perSlot = dims * 4 + (2 * m * 4 + 4) + 8 + 40 + 8 + 4;
  return Math.round(capacity * perSlot + capacity * ((m * 4 + 4) / (m - 1)) + capacity * 48);
}

interface ScenarioRunner {
  run(id: string, label: string, fn: (q: number) => Promise<unknown> | unknown): Promise<ScenarioResult>;
}

/** Fewest measured queries of a scenario before its time budget may stop it. */
const MIN_QUERIES = 50;

function scenarioRunner(spec: { queries: number; warmup: number; scenarioBudgetMs: number }): ScenarioRunner {
  return {
    async run(id, label, fn) {
      // Warm-up queries come after the measured ones in the query list; at most a tenth of the budget.
      const w0 = now();
      for (let w = 0; w < spec.warmup && now() - w0 < spec.scenarioBudgetMs / 10; w++) await fn(spec.queries + w);
      const samples: number[] = [];
      const gc = gcRecorder();
      const cpu = cpuWindow();
      const t0 = now();
      let q = 0;
      while (q < spec.queries) {
        const s = now();
        await fn(q);
        samples.push(now() - s);
        q++;
        if (q >= MIN_QUERIES && now() - t0 > spec.scenarioBudgetMs) break;
      }
      const wall = now() - t0;
      const cpuResult = cpu.stop();
      const result: ScenarioResult = { id, label, latency: summarize(samples, wall), gc: await gc.stop(), cpu: cpuResult, skipped: spec.queries - q };
      progress(
        `    ${label}: p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms, ${result.latency.perSecond}/s` +
          `${result.skipped ? ` (${samples.length} queries, time budget)` : ''}`,
      );
      return result;
    },
  };
}

interface Setup {
  corpus: Corpus;
  lexicalEmbedder: LexicalEmbedder;
  bow: BagOfWordVectors | undefined;
  dims: number;
  embedderId: string;
  embedder: PrecomputedEmbedder;
  queries: SyntheticQuery[];
  qvec: Float32Array[];
  /** Vectors of held-out documents (not indexed), as in-distribution queries. */
  docQvec: Float32Array[];
  store: VectorStore;
  queryTerms: number;
}

/** The bundled thesaurus's terms: the vocabulary of `--words english`. */
function englishWords(): string[] {
  const t = bundledThesaurus();
  return Array.from({ length: t.size }, (_, i) => t.term(i));
}

function setup(spec: IndexSpec): Setup {
  const N = spec.size;
  const corpus = new Corpus({ seed: spec.seed, words: spec.words, englishWords: spec.words === 'english' ? englishWords() : undefined });
  const lexicalEmbedder = new LexicalEmbedder();
  const bow = spec.vectors === 'bow' ? new BagOfWordVectors(corpus, spec.dims, spec.seed, { globalWeight: spec.bowWeights[0], domainWeight: spec.bowWeights[1] }) : undefined;
  const dims = bow ? bow.dimensions : lexicalEmbedder.dimensions;
  const embedderId = bow ? `bow-synthetic:d${dims}` : lexicalEmbedder.id;
  // Queries: measured 0..queries-1, then warm-up ones, at least recallQueries.
  const nq = Math.max(spec.queries + spec.warmup, spec.recallQueries, spec.filteredRecallQueries);
  const queries: SyntheticQuery[] = Array.from({ length: nq }, (_, q) => corpus.query(q, N));
  const qvec = queries.map((q) => (bow ? bow.embed(q.words) : lexicalEmbedder.embedOne(q.text)));
  const docQvec = Array.from({ length: Math.min(spec.recallQueries, 500) }, (_, j) => {
    const t = corpus.topic(N + j);
    return bow ? bow.embed(t.words) : lexicalEmbedder.embedOne(embeddingText(validateTopicDocument(t.input)));
  });
  const queryTerms = queries.reduce((s, q) => s + LexicalIndex.queryTerms(q.text).length, 0) / nq;
  return {
    corpus,
    lexicalEmbedder,
    bow,
    dims,
    embedderId,
    embedder: new PrecomputedEmbedder(embedderId, dims),
    queries,
    qvec,
    docQvec,
    store: new VectorStore(N, dims),
    queryTerms: Math.round(queryTerms * 10) / 10,
  };
}

/** Generates documents [start, end), validated, and writes their vectors into the store. */
function generate(su: Setup, start: number, end: number, t: { generateMs: number; embedMs: number }): TopicDocument[] {
  let t0 = now();
  const topics = [];
  const docs: TopicDocument[] = [];
  for (let i = start; i < end; i++) {
    const topic = su.corpus.topic(i);
    topics.push(topic);
    docs.push(validateTopicDocument(topic.input));
  }
  t.generateMs += now() - t0;
  t0 = now();
  for (let i = start; i < end; i++) {
    const v = su.bow ? su.bow.embed(topics[i - start]!.words) : su.lexicalEmbedder.embedOne(embeddingText(docs[i - start]!));
    su.store.row(i).set(v);
  }
  t.embedMs += now() - t0;
  return docs;
}

function liveness(spec: IndexSpec, su: Setup): (name: string) => boolean {
  // The catalog's liveness check, reproduced: a map lookup, then any broker reporting it live.
  const entries = new Map<string, { brokers: Map<string, boolean> }>();
  for (let i = 0; i < spec.size; i++) {
    entries.set(su.corpus.topic(i).input.name, { brokers: new Map([['broker-a', liveOf(spec.seed, i, spec.liveShare)]]) });
  }
  return (name: string): boolean => {
    const e = entries.get(name);
    if (e === undefined) return false;
    for (const live of e.brokers.values()) if (live) return true;
    return false;
  };
}

async function runIndex(spec: IndexSpec): Promise<IndexResult> {
  const tStart = now();
  const su = setup(spec);
  const family = embedderFamily(su.embedder);
  progress(`  ${spec.mode === 'full' ? 'HybridSearch over' : 'BM25 and HNSW indexes (separately) over'} ${spec.size.toLocaleString('en-US')} topics (${su.embedderId}, ${family} family)`);
  const r = spec.mode === 'full' ? await runFull(spec, su) : await runParts(spec, su);
  // The Discover path on its own: measured after runFull has returned, so that its HybridSearch
  // (as large as the catalog's) is garbage, as in a NameServer, which holds one catalog.
  if (spec.mode === 'full' && spec.catalog) r.catalog = await measureCatalog(spec, su);
  return { kind: 'index', spec, embedderId: su.embedderId, family, dims: su.dims, ...r, queryTerms: su.queryTerms, wallMs: Math.round(now() - tStart) };
}

type IndexBody = Pick<IndexResult, 'build' | 'memory' | 'partMemory' | 'scenarios' | 'recall' | 'catalog'>;

async function runFull(spec: IndexSpec, su: Setup): Promise<IndexBody> {
  const N = spec.size;
  const { embedder, queries, qvec } = su;
  const baseline = memory();
  const hybrid = new HybridSearch(embedder);
  const t = { generateMs: 0, embedMs: 0 };
  let indexMs = 0;
  const buildCpu = cpuWindow();
  let lastReport = now();
  for (let start = 0; start < N; start += BATCH) {
    const end = Math.min(N, start + BATCH);
    const docs = generate(su, start, end, t);
    for (let i = start; i < end; i++) embedder.push(su.store.row(i));
    const t0 = now();
    await hybrid.upsertMany(docs);
    indexMs += now() - t0;
    if (embedder.pending !== 0) throw new Error(`embedder queue out of step (${embedder.pending} left)`);
    if (now() - lastReport > 60_000) {
      lastReport = now();
      progress(`    ${end.toLocaleString('en-US')} / ${N.toLocaleString('en-US')} indexed (${(indexMs / 1000).toFixed(0)} s in the index so far)`);
    }
  }
  const build = {
    generateMs: Math.round(t.generateMs),
    embedMs: Math.round(t.embedMs),
    indexMs: Math.round(indexMs),
    indexUsPerTopic: Math.round((indexMs / N) * 1000 * 10) / 10,
    vectorCapacity: hybrid.vectors.capacity,
    cpu: buildCpu.stop(),
  };
  progress(`    index build ${(indexMs / 1000).toFixed(1)} s (${build.indexUsPerTopic} µs/topic); vectors ${(t.embedMs / 1000).toFixed(1)} s; generation ${(t.generateMs / 1000).toFixed(1)} s`);
  const after = memory();
  const mem: MemoryResult = { baseline, after, delta: memoryDelta(after, baseline), hnswEstimateBytes: hybrid.vectors.graph ? hnswEstimateBytes(hybrid.vectors.capacity, su.dims, DEFAULT_HNSW_M) : 0 };
  progress(`    memory: RSS +${(mem.delta.rssBytes / 2 ** 20).toFixed(0)} MiB, heap used +${(mem.delta.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`);

  // --- Latency ---------------------------------------------------------------------------------
  const liveAccept = liveness(spec, su);
  // Offline topics are hidden, as TopicCatalog does it (a flag per document in the BM25 rankers).
  for (let i = 0; i < N; i++) if (!liveOf(spec.seed, i, spec.liveShare)) hybrid.setHidden(su.corpus.topic(i).input.name, true);
  const tagFilters: SearchFilters[] = queries.map((q) => ({ tags: [su.corpus.topic(q.target).input.tags[0]!] }));
  const pre = (q: number): void => embedder.push(qvec[q]!);
  const runner = scenarioRunner(spec);
  const scenarios: ScenarioResult[] = [];
  progress(`  search latency (${spec.queries} queries per scenario, ${spec.warmup} warm-up)`);
  scenarios.push(
    await runner.run('hybrid', 'HybridSearch.search, no filter', (q) => {
      pre(q);
      return hybrid.search(queries[q]!.text, { topK: 10, includeHidden: true });
    }),
  );
  scenarios.push(
    await runner.run('live', 'HybridSearch.search, live topics only (the Discover default)', (q) => {
      pre(q);
      return hybrid.search(queries[q]!.text, { topK: 10 });
    }),
  );
  scenarios.push(
    await runner.run('live-tag', 'same + tag filter (one tag of the target)', (q) => {
      pre(q);
      return hybrid.search(queries[q]!.text, { topK: 10, filters: tagFilters[q]! });
    }),
  );
  if (!su.bow) {
    embedder.delegate = su.lexicalEmbedder;
    scenarios.push(
      await runner.run('live-embed', 'live topics only, incl. query embedding (LexicalEmbedder)', (q) => hybrid.search(queries[q]!.text, { topK: 10 })),
    );
    embedder.delegate = undefined;
  }
  scenarios.push(await bm25Scenario(runner, hybrid.lexical, queries));
  const charNgrams = hybrid.charNgrams;
  if (charNgrams) {
    scenarios.push(
      await runner.run('char', 'part: char 4-gram BM25 only (CharNgramIndex, 100 candidates)', (q) => charNgrams.searchWithCeiling(queries[q]!.text, 100)),
    );
  }
  // Lexical vectors only score results: HybridSearch builds no graph for them, so there is no
  // HNSW walk to time and no recall to measure (the bow vectors measure both).
  if (hybrid.vectors.graph) scenarios.push(...(await hnswScenarios(runner, hybrid.vectors, qvec, liveAccept)));
  else progress('    no HNSW graph (lexical family: the vectors only score results); HNSW parts and recall skipped');
  if (embedder.pending !== 0) throw new Error(`embedder queue out of step after the searches (${embedder.pending} left)`);
  const charBudget = charNgrams ? measureCharBudget(charNgrams, queries, Math.min(spec.recallQueries, 300)) : undefined;

  const recall = hybrid.vectors.graph ? await measureRecall(spec, hybrid.vectors, su) : undefined;
  return { build, memory: mem, scenarios, ...(recall ? { recall } : {}), ...(charBudget ? { charBudget } : {}) };
}

/** The n-gram ranker with its default approximation of large queries vs exact n-gram BM25 (top-100 lists). */
function measureCharBudget(index: CharNgramIndex, queries: SyntheticQuery[], n: number): NonNullable<IndexResult['charBudget']> {
  let o10 = 0;
  let o100 = 0;
  const tb: number[] = [];
  const te: number[] = [];
  for (let q = 0; q < n; q++) {
    let t = now();
    const exact = index.searchWithCeiling(queries[q]!.text, 100, undefined, { maxPostings: Infinity }).hits.map((h) => h.key);
    te.push(now() - t);
    t = now();
    const budget = index.searchWithCeiling(queries[q]!.text, 100).hits.map((h) => h.key);
    tb.push(now() - t);
    const e10 = new Set(exact.slice(0, 10));
    const e100 = new Set(exact);
    o10 += e10.size ? budget.slice(0, 10).filter((k) => e10.has(k)).length / e10.size : 1;
    o100 += e100.size ? budget.filter((k) => e100.has(k)).length / e100.size : 1;
  }
  const b = summarize(tb, 0);
  const e = summarize(te, 0);
  const r = {
    ...index.approximation,
    queries: n,
    overlapAt10: Math.round((o10 / n) * 1000) / 1000,
    overlapAt100: Math.round((o100 / n) * 1000) / 1000,
    budgetP50Ms: b.p50Ms,
    budgetP99Ms: b.p99Ms,
    exactP50Ms: e.p50Ms,
    exactP99Ms: e.p99Ms,
  };
  progress(
    `    char n-grams, ${budgetLabel(r)}: top-10 overlap with exact ${r.overlapAt10}, top-100 ${r.overlapAt100}; ` +
      `p50/p99 ${r.budgetP50Ms}/${r.budgetP99Ms} ms (exact ${r.exactP50Ms}/${r.exactP99Ms} ms)`,
  );
  return r;
}

function bm25Scenario(runner: ScenarioRunner, lexical: LexicalIndex, queries: SyntheticQuery[]): Promise<ScenarioResult> {
  return runner.run('bm25', 'part: word BM25 only (LexicalIndex.search, 100 candidates)', (q) => lexical.search(LexicalIndex.queryTerms(queries[q]!.text), 100));
}

async function hnswScenarios(runner: ScenarioRunner, vectors: VectorIndex, qvec: Float32Array[], liveAccept: (name: string) => boolean): Promise<ScenarioResult[]> {
  return [
    await runner.run('hnsw', 'part: HNSW only (VectorIndex.search, 100 candidates)', (q) => vectors.search(qvec[q]!, 100)),
    await runner.run('hnsw-live', 'part: HNSW only, live filter', (q) => vectors.search(qvec[q]!, 100, liveAccept)),
  ];
}

/** BM25 and HNSW built and measured one after the other, without HybridSearch. */
async function runParts(spec: IndexSpec, su: Setup): Promise<IndexBody> {
  const N = spec.size;
  const runner = scenarioRunner(spec);
  const t = { generateMs: 0, embedMs: 0 };
  const names: string[] = [];
  const buildCpu = cpuWindow();
  // BM25 (word index with HybridSearch's field weights); documents are not kept.
  let baseline = memory();
  const lexical = new LexicalIndex();
  let bm25Ms = 0;
  for (let start = 0; start < N; start += BATCH) {
    const docs = generate(su, start, Math.min(N, start + BATCH), t);
    const t0 = now();
    for (const doc of docs) {
      lexical.upsert(doc.name, lexicalSections(doc));
      names.push(doc.name);
    }
    bm25Ms += now() - t0;
  }
  let after = memory();
  const bm25Mem: MemoryResult = { baseline, after, delta: memoryDelta(after, baseline), hnswEstimateBytes: 0 };
  progress(`    BM25 build ${(bm25Ms / 1000).toFixed(1)} s; memory RSS +${(bm25Mem.delta.rssBytes / 2 ** 20).toFixed(0)} MiB, heap used +${(bm25Mem.delta.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`);
  const scenarios: ScenarioResult[] = [await bm25Scenario(runner, lexical, su.queries)];

  // HNSW (VectorIndex with its defaults, as HybridSearch builds it).
  baseline = memory();
  const vectors = new VectorIndex({ dimensions: su.dims });
  let hnswMs = 0;
  let lastReport = now();
  for (let i = 0; i < N; i++) {
    const t0 = now();
    vectors.upsert(names[i]!, su.store.row(i));
    hnswMs += now() - t0;
    if (i % 1000 === 999 && now() - lastReport > 60_000) {
      lastReport = now();
      progress(`    HNSW ${(i + 1).toLocaleString('en-US')} / ${N.toLocaleString('en-US')} inserted (${(hnswMs / 1000).toFixed(0)} s so far)`);
    }
  }
  after = memory();
  const hnswMem: MemoryResult = { baseline, after, delta: memoryDelta(after, baseline), hnswEstimateBytes: hnswEstimateBytes(vectors.capacity, su.dims, DEFAULT_HNSW_M) };
  progress(`    HNSW build ${(hnswMs / 1000).toFixed(1)} s; memory RSS +${(hnswMem.delta.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  const build = {
    generateMs: Math.round(t.generateMs),
    embedMs: Math.round(t.embedMs),
    indexMs: Math.round(bm25Ms + hnswMs),
    indexUsPerTopic: Math.round(((bm25Ms + hnswMs) / N) * 1000 * 10) / 10,
    vectorCapacity: vectors.capacity,
    cpu: buildCpu.stop(),
    bm25Ms: Math.round(bm25Ms),
    hnswMs: Math.round(hnswMs),
  };
  const mem: MemoryResult = {
    baseline: bm25Mem.baseline,
    after,
    delta: memoryDelta(after, bm25Mem.baseline),
    hnswEstimateBytes: hnswMem.hnswEstimateBytes,
  };
  scenarios.push(...(await hnswScenarios(runner, vectors, su.qvec, liveness(spec, su))));
  const recall = await measureRecall(spec, vectors, su);
  // Keeps the BM25 index alive until here: collected earlier, it would free gigabytes of heap
  // while the HNSW index is measured.
  if (lexical.size !== N) throw new Error(`BM25 index holds ${lexical.size} documents, expected ${N}`);
  return { build, memory: mem, partMemory: { bm25: bm25Mem, hnsw: hnswMem }, scenarios, recall };
}

async function measureRecall(spec: IndexSpec, vectors: VectorIndex, su: Setup): Promise<RecallResult> {
  const N = spec.size;
  const { store, qvec, dims } = su;
  const nq = Math.min(spec.recallQueries, qvec.length);
  progress(`  recall: brute force over ${N.toLocaleString('en-US')} vectors, ${nq} queries`);
  let t = now();
  const bf = new BruteforceSearch('cosine', dims);
  bf.initIndex(N);
  for (let i = 0; i < N; i++) bf.addPoint(Array.from(store.row(i)), i);
  const bfBuildMs = now() - t;
  t = now();
  const exact: number[][] = [];
  const exactCos: number[][] = [];
  for (let q = 0; q < nq; q++) {
    const r = bf.searchKnn(Array.from(qvec[q]!), Math.min(100, N));
    exact.push(r.neighbors);
    exactCos.push(r.distances.map((d) => 1 - d));
  }
  const bfMsPerQuery = (now() - t) / nq;
  const meanCos = (rank: number): number => Math.round((exactCos.reduce((s, c) => s + (c[Math.min(rank, c.length) - 1] ?? 0), 0) / nq) * 1000) / 1000;
  let hnswCos10 = 0;
  for (let q = 0; q < nq; q++) {
    const hits = vectors.search(qvec[q]!, 10);
    hnswCos10 += hits[Math.min(10, hits.length) - 1]?.similarity ?? 0;
  }

  // Sanity check of the brute force against a plain JavaScript scan (a few queries).
  const checkQ = Math.min(3, nq);
  let agree = 0;
  for (let q = 0; q < checkQ; q++) {
    const v = qvec[q]!;
    const best: Array<[number, number]> = [];
    for (let i = 0; i < N; i++) {
      const r = store.row(i);
      let s = 0;
      for (let k = 0; k < dims; k++) s += r[k]! * v[k]!;
      if (best.length < 10 || s > best[best.length - 1]![0]) {
        best.push([s, i]);
        best.sort((a, b) => b[0] - a[0]);
        if (best.length > 10) best.pop();
      }
    }
    const top = new Set(exact[q]!.slice(0, 10));
    agree += best.filter(([, i]) => top.has(i)).length / 10;
  }

  const sweep: EfPoint[] = [];
  for (const ef of spec.efs) {
    let r10 = 0;
    let r100 = 0;
    const samples: number[] = [];
    const t0 = now();
    for (let q = 0; q < nq; q++) {
      const s = now();
      // hnswlib searches with ef = max(efSearch, k); the top 10 of a k = 100 search (what
      // HybridSearch asks for) at the same ef are the same as those of a k = 10 search.
      const hits = vectors.search(qvec[q]!, 10, undefined, { efSearch: ef });
      samples.push(now() - s);
      const truth10 = new Set(exact[q]!.slice(0, 10));
      r10 += hits.slice(0, 10).filter((h) => truth10.has(indexOfName(h.key))).length / Math.min(10, N);
      if (ef === DEFAULT_EF_SEARCH && N >= 100) {
        const hits100 = vectors.search(qvec[q]!, 100, undefined, { efSearch: ef });
        const truth100 = new Set(exact[q]!.slice(0, 100));
        r100 += hits100.filter((h) => truth100.has(indexOfName(h.key))).length / 100;
      }
    }
    const point: EfPoint = { ef, recallAt10: Math.round((r10 / nq) * 10000) / 10000, latency: summarize(samples, now() - t0) };
    if (ef === DEFAULT_EF_SEARCH && N >= 100) point.recallAt100 = Math.round((r100 / nq) * 10000) / 10000;
    sweep.push(point);
    progress(`    efSearch ${ef}: recall@10 ${point.recallAt10}${point.recallAt100 !== undefined ? `, recall@100 ${point.recallAt100}` : ''}, p50 ${point.latency.p50Ms} ms`);
  }
  const ok = sweep.filter((p) => p.recallAt10 >= 0.95).map((p) => p.ef);
  const result: RecallResult = {
    queries: nq,
    m: DEFAULT_HNSW_M,
    efConstruction: DEFAULT_EF_CONSTRUCTION,
    defaultEfSearch: DEFAULT_EF_SEARCH,
    sweep,
    efFor095: ok.length ? Math.min(...ok) : undefined,
    similarity: { exactAt1: meanCos(1), exactAt10: meanCos(10), exactAt100: meanCos(100), hnswAt10: Math.round((hnswCos10 / nq) * 1000) / 1000 },
    bruteForce: {
      buildMs: Math.round(bfBuildMs),
      msPerQuery: Math.round(bfMsPerQuery * 100) / 100,
      jsCheck: { queries: checkQ, agreement: checkQ ? Math.round((agree / checkQ) * 1000) / 1000 : 1 },
    },
  };

  // Held-out documents as queries (the usual ANN benchmark setting: queries from the data's distribution).
  if (su.docQvec.length > 0) {
    let r = 0;
    for (const v of su.docQvec) {
      const truth = new Set(bf.searchKnn(Array.from(v), Math.min(10, N)).neighbors);
      r += vectors.search(v, 10).filter((h) => truth.has(indexOfName(h.key))).length / truth.size;
    }
    result.documentQueries = { queries: su.docQvec.length, recallAt10: Math.round((r / su.docQvec.length) * 10000) / 10000 };
    progress(`    held-out documents as queries (ef ${DEFAULT_EF_SEARCH}): recall@10 ${result.documentQueries.recallAt10}`);
  }

  // Filtered (live-only) search: HNSW with the filter inside the graph walk vs exact over live topics.
  const fq = Math.min(spec.filteredRecallQueries, qvec.length);
  if (fq > 0) {
    const liveLabel = (label: number): boolean => liveOf(spec.seed, label, spec.liveShare);
    const liveName = (name: string): boolean => liveOf(spec.seed, indexOfName(name), spec.liveShare);
    let r = 0;
    for (let q = 0; q < fq; q++) {
      const truth = new Set(bf.searchKnn(Array.from(qvec[q]!), Math.min(10, N), liveLabel).neighbors);
      const hits = vectors.search(qvec[q]!, 100, liveName).slice(0, 10);
      r += hits.filter((h) => truth.has(indexOfName(h.key))).length / Math.max(1, truth.size);
    }
    result.filtered = { queries: fq, recallAt10: Math.round((r / fq) * 10000) / 10000, liveShare: spec.liveShare };
    progress(`    live-only filtered search (ef ${DEFAULT_EF_SEARCH}): recall@10 ${result.filtered.recallAt10}`);
  }
  return result;
}

async function measureCatalog(spec: IndexSpec, su: Setup): Promise<CatalogResult> {
  const N = spec.size;
  const { embedder, store, queries, qvec } = su;
  progress(`  TopicCatalog: registering ${N.toLocaleString('en-US')} topics one by one (validation, BM25, HNSW; embedding excluded)`);
  const baseline = memory();
  const catalog = new TopicCatalog({ embedder });
  let buildMs = 0;
  for (let start = 0; start < N; start += BATCH) {
    const end = Math.min(N, start + BATCH);
    const inputs = [];
    for (let i = start; i < end; i++) inputs.push(su.corpus.topic(i).input);
    const t = now();
    for (let i = start; i < end; i++) {
      embedder.push(store.row(i));
      await catalog.upsert(inputs[i - start], { broker: 'broker-a', live: liveOf(spec.seed, i, spec.liveShare) });
    }
    buildMs += now() - t;
    if (embedder.pending !== 0) throw new Error(`embedder queue out of step (${embedder.pending} left)`);
  }
  const after = memory();
  const mem: MemoryResult = { baseline, after, delta: memoryDelta(after, baseline), hnswEstimateBytes: 0 };
  progress(`    build ${(buildMs / 1000).toFixed(1)} s; memory RSS +${(mem.delta.rssBytes / 2 ** 20).toFixed(0)} MiB, heap used +${(mem.delta.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`);
  const runner = scenarioRunner(spec);
  const scenarios: ScenarioResult[] = [];
  scenarios.push(
    await runner.run('catalog-live', 'TopicCatalog.search (Discover default: live only, top 10)', (q) => {
      embedder.push(qvec[q]!);
      return catalog.search(queries[q]!.text, { topK: 10 });
    }),
  );
  scenarios.push(
    await runner.run('catalog-all', 'TopicCatalog.search, includeOffline', (q) => {
      embedder.push(qvec[q]!);
      return catalog.search(queries[q]!.text, { topK: 10, includeOffline: true });
    }),
  );
  if (!su.bow) {
    embedder.delegate = su.lexicalEmbedder;
    scenarios.push(
      await runner.run('catalog-live-embed', 'TopicCatalog.search incl. query embedding (LexicalEmbedder)', (q) => catalog.search(queries[q]!.text, { topK: 10 })),
    );
    // Requests nobody serves: a live-only "no match" runs a second search for offline topics
    // that would fit (TopicCatalog's offline-fit check). Random vocabulary words, kept when the
    // live-only search declares them "no match".
    const noMatch = await noMatchQueries(su.corpus, catalog, spec.queries + spec.warmup);
    if (noMatch.texts.length > 0) {
      progress(`    "no match" requests: ${noMatch.texts.length} of ${noMatch.tried} random-word queries; ${noMatch.offlineFits} of them fit an offline topic`);
      scenarios.push(
        await runner.run('catalog-nomatch', 'TopicCatalog.search, live only, requests nobody serves ("no match" + offline-fit check; incl. query embedding)', (q) =>
          catalog.search(noMatch.texts[q % noMatch.texts.length]!, { topK: 10 }),
        ),
      );
    } else progress('    no random-word query was declared "no match"; that scenario is skipped');
    embedder.delegate = undefined;
  }
  return { buildMs: Math.round(buildMs), usPerTopic: Math.round((buildMs / N) * 1000 * 10) / 10, memory: mem, scenarios };
}

/** Random-word queries (5-12 words of the corpus vocabulary) that a live-only search declares "no match"; tries at most 4 × `want`. */
async function noMatchQueries(corpus: Corpus, catalog: TopicCatalog, want: number): Promise<{ texts: string[]; tried: number; offlineFits: number }> {
  const texts: string[] = [];
  let tried = 0;
  let offlineFits = 0;
  while (texts.length < want && tried < 4 * want) {
    const rng = new Rng(mixSeed(0x0ff1, ++tried));
    const words: string[] = [];
    for (let i = rng.int(5, 12); i > 0; i--) words.push(corpus.word(rng.int(0, corpus.vocabulary - 1)));
    const r = await catalog.search(words.join(' '), { topK: 10 });
    if (!r.noMatch) continue;
    texts.push(words.join(' '));
    if ((r.offlineFits ?? 0) > 0) offlineFits++;
  }
  return { texts, tried, offlineFits };
}

// ---------------------------------------------------------------------------------------------
// HNSW parameter study
// ---------------------------------------------------------------------------------------------

async function runStudy(spec: StudySpec): Promise<StudyResult> {
  const t0 = now();
  const N = spec.size;
  const corpus = new Corpus({ seed: spec.seed });
  const bow = new BagOfWordVectors(corpus, spec.dims, spec.seed, { globalWeight: spec.bowWeights[0], domainWeight: spec.bowWeights[1] });
  const store = new VectorStore(N, spec.dims);
  const names: string[] = [];
  for (let i = 0; i < N; i++) {
    const t = corpus.topic(i);
    names.push(t.input.name);
    store.row(i).set(bow.embed(t.words));
  }
  const qvec = Array.from({ length: spec.queries }, (_, q) => bow.embed(corpus.query(q, N).words));
  const bf = new BruteforceSearch('cosine', spec.dims);
  bf.initIndex(N);
  for (let i = 0; i < N; i++) bf.addPoint(Array.from(store.row(i)), i);
  const exact = qvec.map((v) => new Set(bf.searchKnn(Array.from(v), 10).neighbors));
  progress(`  HNSW parameter study over ${N.toLocaleString('en-US')} bow ${spec.dims}d vectors, ${spec.queries} queries`);
  const configs: StudyConfigResult[] = [];
  for (const { m, efConstruction } of spec.configs) {
    const before = memory();
    const index = new VectorIndex({ dimensions: spec.dims, m, efConstruction, efSearch: 10, initialCapacity: N });
    const tb = now();
    for (let i = 0; i < N; i++) index.upsert(names[i]!, store.row(i));
    const buildMs = now() - tb;
    const rss = memory().rssBytes - before.rssBytes;
    const sweep: StudyConfigResult['sweep'] = [];
    for (const ef of spec.efs) {
      let r = 0;
      const samples: number[] = [];
      const ts = now();
      for (let q = 0; q < qvec.length; q++) {
        const s = now();
        const hits = index.search(qvec[q]!, Math.max(ef, 10));
        samples.push(now() - s);
        r += hits.slice(0, 10).filter((h) => exact[q]!.has(indexOfName(h.key))).length / 10;
      }
      sweep.push({ ef, recallAt10: Math.round((r / qvec.length) * 10000) / 10000, latency: summarize(samples, now() - ts) });
    }
    const c: StudyConfigResult = { m, efConstruction, buildMs: Math.round(buildMs), usPerTopic: Math.round((buildMs / N) * 1000), rssDeltaBytes: rss, sweep };
    configs.push(c);
    progress(`    M ${m}, efConstruction ${efConstruction}: build ${(buildMs / 1000).toFixed(1)} s; ${sweep.map((p) => `ef ${p.ef} ${p.recallAt10}`).join(', ')}`);
  }
  return { kind: 'study', spec, configs, wallMs: Math.round(now() - t0) };
}

// ---------------------------------------------------------------------------------------------
// Embedding throughput
// ---------------------------------------------------------------------------------------------

async function throughput(
  name: string,
  id: string,
  dims: number,
  note: string,
  embed: (texts: string[]) => Promise<Float32Array[]>,
  docs: string[],
  queryTexts: string[],
  loadMs?: number,
): Promise<EmbedderThroughput> {
  await embed(docs.slice(0, Math.min(64, docs.length)));
  for (const q of queryTexts.slice(0, 20)) await embed([q]);
  let t = now();
  await embed(docs);
  const docMs = now() - t;
  const samples: number[] = [];
  t = now();
  for (const q of queryTexts) {
    const s = now();
    await embed([q]);
    samples.push(now() - s);
  }
  const qWall = now() - t;
  const meanChars = (xs: string[]): number => Math.round(xs.reduce((s, x) => s + x.length, 0) / Math.max(1, xs.length));
  const r: EmbedderThroughput = {
    embedder: name,
    id,
    dims,
    note,
    ...(loadMs !== undefined ? { loadMs: Math.round(loadMs) } : {}),
    documents: { count: docs.length, perSecond: Math.round((docs.length / docMs) * 1000), meanChars: meanChars(docs) },
    queries: { count: queryTexts.length, latency: summarize(samples, qWall), meanChars: meanChars(queryTexts) },
  };
  progress(`    ${name}: ${r.documents.perSecond} documents/s; query p50 ${r.queries.latency.p50Ms} ms, p99 ${r.queries.latency.p99Ms} ms`);
  return r;
}

async function runEmbed(spec: EmbedSpec): Promise<EmbedResult> {
  const t0 = now();
  const corpus = new Corpus({ seed: spec.seed });
  const topics = Array.from({ length: spec.texts }, (_, i) => corpus.topic(i));
  const docs = topics.map((t) => embeddingText(validateTopicDocument(t.input)));
  const queryTexts = Array.from({ length: spec.texts }, (_, q) => corpus.query(q, Math.max(1, spec.texts)).text);
  const out: EmbedderThroughput[] = [];
  progress(`  embedding throughput: ${docs.length} documents (batched), ${queryTexts.length} queries (one call each)`);

  const lexical = new LexicalEmbedder();
  out.push(await throughput('LexicalEmbedder', lexical.id, lexical.dimensions, 'the offline embedder NameServers use without a model', (t) => lexical.embed(t), docs, queryTexts));

  // The transformers.js pipeline on a tiny model built here: one embedding lookup per token
  // (the bag-of-word-vectors table), no attention layers.
  const bow = new BagOfWordVectors(corpus, spec.dims, spec.seed, { globalWeight: spec.bowWeights[0], domainWeight: spec.bowWeights[1] });
  const vocab = new Map<string, number[]>();
  for (const t of topics) for (const w of t.words) if (!vocab.has(corpus.word(w))) vocab.set(corpus.word(w), Array.from(bow.wordVector(w)));
  for (let q = 0; q < spec.texts; q++) for (const w of corpus.query(q, Math.max(1, spec.texts)).words) if (!vocab.has(corpus.word(w))) vocab.set(corpus.word(w), Array.from(bow.wordVector(w)));
  const root = mkdtempSync(join(tmpdir(), 'agentmq-bench-tiny-'));
  try {
    buildTinyModel(join(root, 'tiny-bow'), { dimensions: spec.dims, vectors: Object.fromEntries(vocab) });
    const t = now();
    const tiny = await TransformersEmbedder.load({ localModelPath: root, model: 'tiny-bow', quantized: false });
    const loadMs = now() - t;
    out.push(
      await throughput(
        'TransformersEmbedder (tiny self-built model)',
        tiny.id,
        tiny.dimensions,
        `transformers.js pipeline (tokenizer, onnxruntime, mean pooling) on a ${vocab.size.toLocaleString('en-US')}-word embedding-lookup model without attention layers; NOT representative of all-MiniLM-L6-v2, which runs 6 transformer layers per token`,
        (x) => tiny.embed(x),
        docs,
        queryTexts,
        loadMs,
      ),
    );
    await tiny.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { kind: 'embed', spec, embedders: out, wallMs: Math.round(now() - t0) };
}

process.on('message', (msg: OrchestratorMessage) => {
  if (msg.type !== 'run') return;
  const spec = msg.spec;
  const run = spec.kind === 'index' ? runIndex(spec) : spec.kind === 'study' ? runStudy(spec) : runEmbed(spec);
  run.then(
    (result) => {
      send({ type: 'result', result });
      process.disconnect?.();
    },
    (err: unknown) => {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.disconnect?.();
    },
  );
});
