/**
 * What the thesaurus ranker (nameserver/semantic/thesaurus-ranker.ts) costs per query, on English
 * text, without the rest of the hybrid search (`npm run bench:discovery -- --words english`
 * measures Discover end to end on English catalogs).
 *
 *   node --import tsx bench/discovery/thesaurus-cost.ts [--sizes 1000,2000,100000] [--queries N]
 *
 * Catalog: topics made by recombining the sections (description, skill descriptions, examples,
 * tags) of the dev set's and the synthetic set's topics at random, so vocabulary and lengths are
 * those of real capability descriptions. Queries: the two data sets' queries. Up to the ranker's
 * full-scan size every topic is scored; above it, the candidates are the word BM25's top 100
 * (the hybrid search passes the best 100 of its word and n-gram rankings fused, and up to 50
 * more from a BM25 search over the query's relatives).
 * Prints p50 / p99 per query of the ranker alone, and of the BM25 search for scale.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDataset } from '../../nameserver/semantic/discovery-eval.js';
import { LexicalIndex, sectionTermFrequencies } from '../../nameserver/semantic/lexical-index.js';
import { analyze } from '../../nameserver/semantic/text-analysis.js';
import { bundledThesaurus } from '../../nameserver/semantic/thesaurus.js';
import { ThesaurusRanker } from '../../nameserver/semantic/thesaurus-ranker.js';
import { lexicalSections } from '../../nameserver/semantic/topic-document.js';
import { Rng } from './corpus.js';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1000,2000,100000' }, queries: { type: 'string', default: '2000' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('Usage: node --import tsx bench/discovery/thesaurus-cost.ts [--sizes 1000,2000,100000] [--queries N]');
  process.exit(0);
}
const sizes = values.sizes!.split(',').map(Number);
const queryCount = Number(values.queries);

const sets = [fileURLToPath(new URL('../../../shared/datasets/discovery-dev', import.meta.url)), fileURLToPath(new URL('../../test/nameserver/fixtures/discovery-synth', import.meta.url))];
const datasets = sets.map((d) => loadDataset(d));
const sections = datasets.flatMap((d) => d.documents.flatMap((doc) => lexicalSections(doc)));
const queries = datasets.flatMap((d) => d.queries.map((q) => q.query));

const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const t0 = performance.now();
const thesaurus = bundledThesaurus();
console.log(`thesaurus: ${thesaurus.size} terms, ${thesaurus.links} links, loaded in ${(performance.now() - t0).toFixed(0)} ms`);
console.log('| topics | mode | ranker p50 / p99 ms | word BM25 p50 / p99 ms | upsert µs/topic |');
console.log('| ---: | --- | ---: | ---: | ---: |');
for (const size of sizes) {
  const rng = new Rng(size);
  const ranker = new ThesaurusRanker(thesaurus);
  const lexical = new LexicalIndex();
  let upsertMs = 0;
  for (let i = 0; i < size; i++) {
    const parts = 6 + Math.floor(rng.next() * 6);
    const tf = sectionTermFrequencies(Array.from({ length: parts }, () => sections[Math.floor(rng.next() * sections.length)]!));
    lexical.upsertTerms(`t${i}`, tf);
    const u = performance.now();
    ranker.upsert(`t${i}`, tf);
    upsertMs += performance.now() - u;
  }
  const rankerMs: number[] = [];
  const bm25Ms: number[] = [];
  for (let q = 0; q < queryCount; q++) {
    const text = queries[q % queries.length]!;
    const queryTerms = analyze(text);
    const b = performance.now();
    const hits = lexical.search(text, 100);
    bm25Ms.push(performance.now() - b);
    const candidates = hits.map((h) => h.key);
    const a = performance.now();
    ranker.search(queryTerms, 100, candidates);
    rankerMs.push(performance.now() - a);
  }
  const f = (xs: number[]) => `${pct(xs, 50).toFixed(2)} / ${pct(xs, 99).toFixed(2)}`;
  console.log(`| ${size} | ${ranker.scansAll ? 'every topic' : '100 candidates'} | ${f(rankerMs)} | ${f(bm25Ms)} | ${((upsertMs * 1000) / size).toFixed(1)} |`);
}
console.log(`heap after: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
