/**
 * A/B of the lexical family's vector index with and without the HNSW graph (HybridSearch
 * `vectorGraph`), on the same topics in one process: index build time, memory, search latency
 * (queries interleaved between the two), and whether both return the same top-10 lists.
 *
 *   node --expose-gc --max-old-space-size=16000 --import tsx bench/discovery/vector-graph-ab.ts [--topics N] [--queries N]
 *
 * Topics: random English words from the bundled thesaurus (description of 25 words, one skill of
 * 3 + 12 + 10 words, one of 500 tags), word frequencies skewed towards the first words; queries
 * of 8 such words. Seeded, so runs compare.
 */
import { parseArgs } from 'node:util';
import { LexicalEmbedder } from '../../nameserver/semantic/embedder.js';
import { HybridSearch } from '../../nameserver/semantic/hybrid-search.js';
import { bundledThesaurus } from '../../nameserver/semantic/thesaurus.js';
import { validateTopicDocument } from '../../proto/common/topic-document.js';

const USAGE = `Usage: node --expose-gc --import tsx bench/discovery/vector-graph-ab.ts [--topics N] [--queries N]

Builds two HybridSearch catalogs over the same synthetic English topics with the offline
embedder, one with an HNSW graph over its vectors and one without (the default), and prints
build time, memory and search latency of each, and how many top-10 lists agree.
  --topics N    topics (default 100000)
  --queries N   queries, each asked of both (default 600)`;

const { values } = parseArgs({ options: { topics: { type: 'string' }, queries: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const gcFn = (globalThis as { gc?: () => void }).gc;
if (!gcFn) {
  console.error('run with node --expose-gc (memory is measured after a full GC)');
  process.exit(2);
}
const N = Number(values.topics ?? 100_000);
const Q = Number(values.queries ?? 600);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(Q) || Q < 1) {
  console.error(`--topics and --queries must be positive integers\n\n${USAGE}`);
  process.exit(2);
}

const th = bundledThesaurus();
let seed = 7;
const rnd = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const vocabulary = Array.from({ length: 8000 }, () => th.term(Math.floor(rnd() * th.size)));
const text = (n: number): string => Array.from({ length: n }, () => vocabulary[Math.floor(rnd() ** 2 * vocabulary.length)]).join(' ');
const docs = Array.from({ length: N }, (_, i) =>
  validateTopicDocument({ name: `topic-${i}`, description: text(25), tags: [`tag${i % 500}`], skills: [{ id: 's', name: text(3), description: text(12), examples: [text(10)] }] }),
);
const queries = Array.from({ length: Q }, () => text(8));
const gc = (): void => {
  gcFn();
  gcFn();
};
const embedder = new LexicalEmbedder();
const MiB = 2 ** 20;

async function build(graph: boolean): Promise<HybridSearch> {
  gc();
  const m0 = process.memoryUsage();
  const h = new HybridSearch(embedder, { vectorGraph: graph });
  const t0 = performance.now();
  for (let i = 0; i < N; i += 500) await h.upsertMany(docs.slice(i, i + 500));
  const ms = performance.now() - t0;
  gc();
  const m1 = process.memoryUsage();
  console.log(
    `${graph ? 'HNSW graph' : 'no graph  '}: build ${(ms / 1000).toFixed(1)} s (${((ms / N) * 1000).toFixed(0)} µs/topic), RSS +${((m1.rss - m0.rss) / MiB).toFixed(0)} MiB, JS heap +${((m1.heapUsed - m0.heapUsed) / MiB).toFixed(0)} MiB`,
  );
  return h;
}

const withGraph = await build(true);
const without = await build(false);
const latency = { graph: [] as number[], exact: [] as number[] };
let same = 0;
for (let round = 0; round < 2; round++) {
  for (let q = 0; q < Q; q++) {
    const order: Array<['graph' | 'exact', HybridSearch]> = (q + round) % 2 === 0 ? [['graph', withGraph], ['exact', without]] : [['exact', without], ['graph', withGraph]];
    const lists: string[] = [];
    for (const [k, h] of order) {
      const t = performance.now();
      const r = await h.search(queries[q]!, { topK: 10 });
      latency[k].push(performance.now() - t);
      lists.push(r.hits.map((x) => x.name).join(','));
    }
    if (round === 0 && lists[0] === lists[1]) same++;
  }
}
const pct = (xs: number[], p: number): string => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!.toFixed(2);
console.log(`search (top 10), ${Q} queries x 2 rounds, interleaved:`);
console.log(`  HNSW graph: p50 ${pct(latency.graph, 0.5)} ms, p99 ${pct(latency.graph, 0.99)} ms`);
console.log(`  no graph  : p50 ${pct(latency.exact, 0.5)} ms, p99 ${pct(latency.exact, 0.99)} ms`);
console.log(`identical top-10 lists: ${same} / ${Q}`);
