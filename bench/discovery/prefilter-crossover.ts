/**
 * Where a tag filter should take HybridSearch's exact path (`prefilterMax`): the same catalog is
 * indexed into one HybridSearch per limit, and every tag-filtered query runs through each, so
 * the exact path over the tagged topics and the filtered rankers are compared on the same
 * queries in the same process. Results are grouped by how many topics the filter leaves.
 *
 *   node --max-old-space-size=20000 --import tsx bench/discovery/prefilter-crossover.ts [--topics N] [--queries N] [--limits A,B]
 *
 * Topics and queries: the synthetic English catalog of `npm run bench:discovery -- --words
 * english` (bench/discovery/corpus.ts, seed 1), offline embedder (no HNSW graph). Each query
 * is asked with three filters: its target's first tag, any of its first two tags, any of all of
 * them (a spread of filter sizes). ~65 s and ~1.5 GiB per 100k topics and limit.
 */
import { parseArgs } from 'node:util';
import { LexicalEmbedder } from '../../nameserver/semantic/embedder.js';
import { HybridSearch, type SearchFilters } from '../../nameserver/semantic/hybrid-search.js';
import { bundledThesaurus } from '../../nameserver/semantic/thesaurus.js';
import { validateTopicDocument } from '../../nameserver/semantic/topic-document.js';
import { Corpus } from './corpus.js';

const USAGE = `Usage: node --max-old-space-size=20000 --import tsx bench/discovery/prefilter-crossover.ts [options]

Builds one HybridSearch (offline embedder) per prefilterMax limit over the same synthetic English
topics and runs the same tag-filtered queries through each. Prints p50 / p99 latency per filter
size and the top-10 overlap between the first two limits.
  --topics N      topics (default 100000)
  --queries N     queries, each with three filters (default 100)
  --limits A,B    prefilterMax values (default 0,Infinity: never / always the exact path)`;

const { values } = parseArgs({ options: { topics: { type: 'string' }, queries: { type: 'string' }, limits: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const N = Number(values.topics ?? 100_000);
const Q = Number(values.queries ?? 100);
const limits = (values.limits ?? '0,Infinity').split(',').map(Number);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(Q) || Q < 1 || limits.length === 0 || !limits.every((l) => l >= 0)) {
  console.error(`--topics and --queries must be positive integers, --limits numbers >= 0\n\n${USAGE}`);
  process.exit(2);
}

const th = bundledThesaurus();
const corpus = new Corpus({ seed: 1, words: 'english', englishWords: Array.from({ length: th.size }, (_, i) => th.term(i)) });
const embedder = new LexicalEmbedder();
const indexes = limits.map((prefilterMax) => new HybridSearch(embedder, { prefilterMax }));
const t0 = performance.now();
const tagCount = new Map<string, number>();
for (let start = 0; start < N; start += 1000) {
  const docs = [];
  for (let i = start; i < Math.min(N, start + 1000); i++) {
    const doc = validateTopicDocument(corpus.topic(i).input);
    docs.push(doc);
    for (const t of new Set([...doc.tags, ...doc.skills.flatMap((s) => s.tags)].map((x) => x.toLowerCase()))) tagCount.set(t, (tagCount.get(t) ?? 0) + 1);
  }
  for (const index of indexes) await index.upsertMany(docs);
  if (start % 100_000 === 0 && start > 0) console.error(`  indexed ${start.toLocaleString('en-US')} topics`);
}
console.log(`${N.toLocaleString('en-US')} topics indexed ${limits.length}× in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

const BUCKETS: Array<[number, string]> = [
  [1000, '< 1k'],
  [2500, '1k-2.5k'],
  [5000, '2.5k-5k'],
  [10_000, '5k-10k'],
  [Infinity, '>= 10k'],
];
const groups = new Map<string, { ms: number[][]; sizes: number[]; overlap: number }>();
for (let q = 0; q < Q; q++) {
  const query = corpus.query(q, N);
  const tags = corpus.topic(query.target).input.tags.map((t: string) => t.toLowerCase());
  const filters: SearchFilters[] = [{ tags: [tags[0]!] }, { anyTags: tags.slice(0, 2) }, { anyTags: tags }];
  for (const f of filters) {
    const size = (f.tags ?? f.anyTags ?? []).reduce((s, t) => s + (tagCount.get(t) ?? 0), 0); // an upper bound for anyTags
    const label = BUCKETS.find(([max]) => size < max)![1];
    let g = groups.get(label);
    if (!g) groups.set(label, (g = { ms: limits.map(() => []), sizes: [], overlap: 0 }));
    g.sizes.push(size);
    const lists: string[][] = [];
    for (let k = 0; k < indexes.length; k++) {
      await indexes[k]!.search(query.text, { topK: 10, filters: f }); // warm the same path
      const a = performance.now();
      const r = await indexes[k]!.search(query.text, { topK: 10, filters: f });
      g.ms[k]!.push(performance.now() - a);
      lists.push(r.hits.map((h) => h.name));
    }
    if (lists.length > 1) g.overlap += lists[0]!.filter((n) => lists[1]!.includes(n)).length / Math.max(1, lists[0]!.length);
  }
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
console.log(`\n| topics the filter leaves | filters | mean size | ${limits.map((l) => `prefilterMax ${l} p50 / p99 ms`).join(' | ')}${limits.length > 1 ? ' | top-10 overlap' : ''} |`);
console.log(`| --- | ---: | ---: | ${limits.map(() => '---:').join(' | ')}${limits.length > 1 ? ' | ---:' : ''} |`);
for (const [, label] of BUCKETS) {
  const g = groups.get(label);
  if (!g) continue;
  const mean = g.sizes.reduce((a, b) => a + b, 0) / g.sizes.length;
  const cells = g.ms.map((ms) => `${pct(ms, 0.5).toFixed(2)} / ${pct(ms, 0.99).toFixed(2)}`);
  console.log(`| ${label} | ${g.sizes.length} | ${mean.toFixed(0)} | ${cells.join(' | ')}${limits.length > 1 ? ` | ${(g.overlap / g.sizes.length).toFixed(3)}` : ''} |`);
}
process.exit(0);
