/**
 * How the character n-gram ranker approximates large queries (CharNgramIndex `exactPostings`,
 * `maxPostings`, `rescore`), on one index in one process: latency and overlap with exact n-gram
 * BM25 for several (budget, rescored topics) pairs, queries interleaved over two passes.
 *
 *   node --max-old-space-size=16000 --import tsx bench/discovery/ngram-approximation.ts [--topics N] [--queries N] [--rules JSON]
 *
 * Topics and queries: the synthetic English catalog of `npm run bench:discovery -- --words
 * english` (bench/discovery/corpus.ts, seed 1). Only the n-gram index is built (~4.5 minutes and
 * ~5.5 GiB at 1M topics).
 */
import { parseArgs } from 'node:util';
import { CharNgramIndex } from '../../nameserver/semantic/char-ngram-index.js';
import { bundledThesaurus } from '../../nameserver/semantic/thesaurus.js';
import { embeddingText, validateTopicDocument } from '../../nameserver/semantic/topic-document.js';
import { Corpus } from './corpus.js';

const DEFAULT_RULES: Array<[number, number]> = [
  [1_000_000, 0],
  [300_000, 1000],
  [200_000, 1000],
  [100_000, 1000],
  [100_000, 2000],
  [50_000, 1000],
  [50_000, 2000],
];

const USAGE = `Usage: node --max-old-space-size=16000 --import tsx bench/discovery/ngram-approximation.ts [options]

Builds a CharNgramIndex over synthetic English topics and compares, on the same queries, exact
n-gram BM25 with approximations: the rarest n-grams scanned up to a budget of postings, then the
best topics of that scan rescored on the rest. Prints p50 / p99 latency and the overlap of the
top 10 and top 100 with the exact lists.
  --topics N      topics (default 1000000)
  --queries N     queries, each asked twice per rule (default 200)
  --rules JSON    [[budget, rescored], ...] (default ${JSON.stringify(DEFAULT_RULES)})`;

const { values } = parseArgs({ options: { topics: { type: 'string' }, queries: { type: 'string' }, rules: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const N = Number(values.topics ?? 1_000_000);
const Q = Number(values.queries ?? 200);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(Q) || Q < 1) {
  console.error(`--topics and --queries must be positive integers\n\n${USAGE}`);
  process.exit(2);
}
let rules: Array<[number, number]>;
try {
  rules = values.rules ? (JSON.parse(values.rules) as Array<[number, number]>) : DEFAULT_RULES;
  if (!Array.isArray(rules) || !rules.every((r) => Array.isArray(r) && r.length === 2 && r[0]! >= 1 && Number.isInteger(r[1]) && r[1]! >= 0)) throw new Error('not a list of [budget >= 1, rescored >= 0]');
} catch (err) {
  console.error(`--rules: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}

const th = bundledThesaurus();
const corpus = new Corpus({ seed: 1, words: 'english', englishWords: Array.from({ length: th.size }, (_, i) => th.term(i)) });
// exactPostings Infinity: every search below passes its own maxPostings.
const index = new CharNgramIndex({ exactPostings: Infinity });
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  index.upsert(`t${i}`, embeddingText(validateTopicDocument(corpus.topic(i).input)));
  if ((i + 1) % 100_000 === 0 || i + 1 === N) {
    console.log(`built ${(i + 1).toLocaleString('en-US')} topics in ${((performance.now() - t0) / 1000).toFixed(0)} s, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  }
}
const queries = Array.from({ length: Q }, (_, q) => corpus.query(q, N).text);
const exact = queries.map((q) => index.searchWithCeiling(q, 100, undefined, { maxPostings: Infinity }).hits.map((h) => h.key));
const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};
const all: Array<[number, number]> = [[Infinity, 0], ...rules];
const times = all.map((): number[] => []);
const overlap10 = all.map(() => 0);
const overlap100 = all.map(() => 0);
for (let pass = 0; pass < 2; pass++) {
  for (let q = 0; q < Q; q++) {
    all.forEach(([maxPostings, rescore], r) => {
      const start = performance.now();
      const hits = index.searchWithCeiling(queries[q]!, 100, undefined, { maxPostings, rescore }).hits.map((h) => h.key);
      times[r]!.push(performance.now() - start);
      if (pass > 0) return;
      const e = exact[q]!;
      const e10 = new Set(e.slice(0, 10));
      const e100 = new Set(e);
      overlap10[r]! += e10.size ? hits.slice(0, 10).filter((k) => e10.has(k)).length / e10.size : 1;
      overlap100[r]! += e100.size ? hits.filter((k) => e100.has(k)).length / e100.size : 1;
    });
  }
}
console.log(`\n${N.toLocaleString('en-US')} topics, ${Q} queries x 2 (interleaved)\n`);
console.log('| budget (postings) | rescored topics | p50 / p99 ms | top-10 / top-100 overlap with exact |');
console.log('| ---: | ---: | ---: | ---: |');
all.forEach(([maxPostings, rescore], r) => {
  const label = maxPostings === Infinity ? 'exact' : maxPostings.toLocaleString('en-US');
  console.log(`| ${label} | ${rescore.toLocaleString('en-US')} | ${percentile(times[r]!, 0.5).toFixed(2)} / ${percentile(times[r]!, 0.99).toFixed(2)} | ${(overlap10[r]! / Q).toFixed(3)} / ${(overlap100[r]! / Q).toFixed(3)} |`);
});
