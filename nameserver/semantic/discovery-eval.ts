/**
 * Discovery quality evaluation over a data set in the discovery-dev format (topics.jsonl +
 * queries.jsonl; see ../shared/datasets/discovery-dev/README.md): load the topics, run every
 * query through one search function, compute top-1 accuracy, recall@5 and MRR@10 over the
 * answerable queries, the share of unanswerable queries declared "no match" and the false
 * no-match rate, overall and per query kind.
 *
 * The search is a parameter (`DiscoverFn`), so the same evaluation runs against the in-process
 * catalog (`catalogDiscoverFn`) or, later, a running NameServer over gRPC.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbedderFamily } from './hybrid-search.js';
import type { CatalogSearchOptions, TopicCatalog } from './topic-catalog.js';
import type { TopicDocument } from './topic-document.js';
import { validateTopicDocument } from './topic-document.js';

export interface DatasetTopic {
  name: string;
  description: string;
  tags?: string[];
  skills?: Array<{ id: string; name: string; description?: string; tags?: string[]; examples?: string[] }>;
  input_schema?: Record<string, unknown>;
  output_schema?: Record<string, unknown>;
  domain?: string;
}

export interface DatasetQuery {
  id: string;
  query: string;
  relevant: string[];
  kind: string;
}

export interface Dataset {
  dir: string;
  topics: DatasetTopic[];
  queries: DatasetQuery[];
  /** Data-set topic name -> the topic name registered (dots are not legal in topic names). */
  topicNameOf: Map<string, string>;
  /** Registered topic name -> data-set topic name. */
  datasetNameOf: Map<string, string>;
  documents: TopicDocument[];
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (err) {
        throw new Error(`${path}:${i + 1}: not JSON (${(err as Error).message})`, { cause: err });
      }
    });
}

/**
 * Topic names follow RocketMQ's rules (`[%a-zA-Z0-9_-]`), which have no dot; the data set's
 * `<area>.<capability>` names are registered with `.` replaced by `_` and mapped back for scoring.
 */
export function registeredTopicName(datasetName: string): string {
  return datasetName.replace(/[^%a-zA-Z0-9_-]/g, '_');
}

/** Loads and validates a data set directory; every topic becomes a `TopicDocument`. */
export function loadDataset(dir: string): Dataset {
  const topics = readJsonl<DatasetTopic>(join(dir, 'topics.jsonl'));
  const queries = readJsonl<DatasetQuery>(join(dir, 'queries.jsonl'));
  const topicNameOf = new Map<string, string>();
  const datasetNameOf = new Map<string, string>();
  const documents = topics.map((t) => {
    const name = registeredTopicName(t.name);
    if (datasetNameOf.has(name)) throw new Error(`topics ${t.name} and ${datasetNameOf.get(name)} map to the same topic name ${name}`);
    topicNameOf.set(t.name, name);
    datasetNameOf.set(name, t.name);
    return validateTopicDocument({
      name,
      description: t.description,
      tags: t.tags,
      skills: t.skills,
      inputSchema: t.input_schema,
      outputSchema: t.output_schema,
      attributes: t.domain ? { domain: t.domain } : undefined,
    });
  });
  for (const q of queries) {
    for (const r of q.relevant) if (!topicNameOf.has(r)) throw new Error(`query ${q.id}: relevant topic ${r} is not in topics.jsonl`);
  }
  return { dir, topics, queries, topicNameOf, datasetNameOf, documents };
}

/** One search call: ranked topic names (registered names), best score, and the no-match verdict. */
export interface DiscoverAnswer {
  ranked: string[];
  bestScore: number;
  noMatch: boolean;
  /** Calibration signals of the first hit, when the implementation exposes them. */
  top?: CalibrationSignals;
  /** Calibration signals of the candidate with the best score (`bestScore`), when exposed. */
  best?: CalibrationSignals;
}

export interface CalibrationSignals {
  cosine?: number;
  coverage?: number;
  charCoverage?: number;
  thesaurusSimilarity?: number;
}

/** The signals a calibration can weigh (ScoreCalibration's coefficients). */
export type CalibrationSignal = 'vector' | 'lexical' | 'charNgram' | 'thesaurus';

/** Only the calibration signals of a hit's (larger) signal set. */
const pickSignals = (s: CalibrationSignals): CalibrationSignals => ({
  cosine: s.cosine,
  coverage: s.coverage,
  charCoverage: s.charCoverage,
  thesaurusSimilarity: s.thesaurusSimilarity,
});

export type DiscoverFn = (query: string) => Promise<DiscoverAnswer>;

/** The in-process search: `catalog.search` with everything else at its defaults. */
export function catalogDiscoverFn(catalog: TopicCatalog, options: CatalogSearchOptions = {}): DiscoverFn {
  return async (query) => {
    const r = await catalog.search(query, { topK: 10, ...options });
    const first = r.hits[0];
    return {
      ranked: r.hits.map((h) => h.name),
      bestScore: r.bestScore,
      noMatch: r.noMatch,
      top: first ? pickSignals(first.signals) : undefined,
      best: r.best ? pickSignals(r.best) : undefined,
    };
  };
}

export interface KindMetrics {
  kind: string;
  queries: number;
  /** Answerable kinds only. */
  top1?: number;
  recall5?: number;
  mrr10?: number;
  /** Share of the queries declared "no match": the no-match accuracy for `unanswerable`, the false no-match rate otherwise. */
  noMatchRate: number;
}

export interface EvaluationReport {
  /** Over answerable queries. */
  top1: number;
  recall5: number;
  mrr10: number;
  /** Share of unanswerable queries declared "no match". */
  noMatchAccuracy: number;
  /** Share of answerable queries declared "no match". */
  falseNoMatchRate: number;
  perKind: KindMetrics[];
  /** Per query, for threshold sweeps and debugging. */
  rows: Array<{ query: DatasetQuery; answer: DiscoverAnswer; top1Relevant: boolean }>;
}

const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Runs every query of `dataset` through `discover` (one at a time) and scores the answers. */
export async function evaluate(dataset: Dataset, discover: DiscoverFn): Promise<EvaluationReport> {
  const rows: EvaluationReport['rows'] = [];
  for (const query of dataset.queries) {
    const answer = await discover(query.query);
    const ranked = answer.ranked.map((n) => dataset.datasetNameOf.get(n) ?? n);
    const mapped = { ...answer, ranked };
    rows.push({ query, answer: mapped, top1Relevant: ranked[0] !== undefined && query.relevant.includes(ranked[0]) });
  }
  return scoreRows(rows);
}

/** Metrics of already answered queries (`answer.ranked` holds data-set topic names). */
export function scoreRows(rows: EvaluationReport['rows'], threshold?: number): EvaluationReport {
  const declared = (a: DiscoverAnswer) => (threshold === undefined ? a.noMatch : a.bestScore < threshold);
  const per = new Map<string, { top1: number[]; r5: number[]; mrr: number[]; noMatch: number[] }>();
  const all = { top1: [] as number[], r5: [] as number[], mrr: [] as number[], falseNo: [] as number[], trueNo: [] as number[] };
  for (const { query, answer } of rows) {
    let p = per.get(query.kind);
    if (!p) per.set(query.kind, (p = { top1: [], r5: [], mrr: [], noMatch: [] }));
    const noMatch = declared(answer) ? 1 : 0;
    p.noMatch.push(noMatch);
    if (query.relevant.length === 0) {
      all.trueNo.push(noMatch);
      continue;
    }
    const rel = new Set(query.relevant);
    const top1 = rel.has(answer.ranked[0] ?? '') ? 1 : 0;
    const r5 = answer.ranked.slice(0, 5).filter((n) => rel.has(n)).length / rel.size;
    const first = answer.ranked.slice(0, 10).findIndex((n) => rel.has(n));
    const mrr = first >= 0 ? 1 / (first + 1) : 0;
    p.top1.push(top1);
    p.r5.push(r5);
    p.mrr.push(mrr);
    all.top1.push(top1);
    all.r5.push(r5);
    all.mrr.push(mrr);
    all.falseNo.push(noMatch);
  }
  const perKind: KindMetrics[] = [...per.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, p]) =>
      p.top1.length > 0
        ? { kind, queries: p.noMatch.length, top1: mean(p.top1), recall5: mean(p.r5), mrr10: mean(p.mrr), noMatchRate: mean(p.noMatch) }
        : { kind, queries: p.noMatch.length, noMatchRate: mean(p.noMatch) },
    );
  return {
    top1: mean(all.top1),
    recall5: mean(all.r5),
    mrr10: mean(all.mrr),
    noMatchAccuracy: mean(all.trueNo),
    falseNoMatchRate: mean(all.falseNo),
    perKind,
    rows,
  };
}

/**
 * The threshold τ on the best score that recognises the most unanswerable queries while
 * declaring at most `maxFalseNoMatch` of the answerable ones "no match" (ties: the lower τ).
 */
export function bestThreshold(rows: EvaluationReport['rows'], maxFalseNoMatch = 0.1): { threshold: number; noMatchAccuracy: number; falseNoMatchRate: number } {
  const candidates = [...new Set(rows.map((r) => r.answer.bestScore))].sort((a, b) => a - b);
  let best = { threshold: 0, noMatchAccuracy: 0, falseNoMatchRate: 0 };
  for (const s of candidates) {
    // τ just above s: every best score <= s is "no match".
    const t = s + 1e-9;
    const r = scoreRows(rows, t);
    if (r.falseNoMatchRate > maxFalseNoMatch) break;
    if (r.noMatchAccuracy > best.noMatchAccuracy) best = { threshold: t, noMatchAccuracy: r.noMatchAccuracy, falseNoMatchRate: r.falseNoMatchRate };
  }
  return best;
}

/**
 * The signals the calibration of each embedder family weighs (what `--fit` fits). Lexical: the
 * thesaurus similarity alone separates unanswerable queries best on both data sets (AUC 0.79 /
 * 0.81 against 0.71 / 0.68 for the cosine-and-coverage score; docs/discovery.md). Transformers:
 * the cosine and the BM25 coverage (the thesaurus ranker is off there).
 */
export const FIT_SIGNALS: Readonly<Record<EmbedderFamily, readonly CalibrationSignal[]>> = {
  lexical: ['thesaurus'],
  transformers: ['vector', 'lexical'],
};

/**
 * Fits the logistic score calibration σ(intercept + a·cosine + b·coverage + c·charCoverage +
 * d·thesaurusSimilarity) to "the first hit serves the query" over the evaluated queries, from
 * the first hit's signals (plain gradient descent on the log loss, with a little L2 so two
 * separable points do not run off to infinity). Only the `signals` named are fitted; the others
 * get coefficient 0 (default: the lexical family's, `FIT_SIGNALS`).
 */
export function fitCalibration(
  rows: EvaluationReport['rows'],
  iterations = 20000,
  rate = 0.5,
  signals: readonly CalibrationSignal[] = FIT_SIGNALS.lexical,
): { intercept: number; vector: number; lexical: number; charNgram: number; thesaurus: number } {
  const use = new Set(signals);
  const data = rows.map((r) => ({
    x: [
      1,
      use.has('vector') ? (r.answer.top?.cosine ?? 0) : 0,
      use.has('lexical') ? (r.answer.top?.coverage ?? 0) : 0,
      use.has('charNgram') ? (r.answer.top?.charCoverage ?? 0) : 0,
      use.has('thesaurus') ? (r.answer.top?.thesaurusSimilarity ?? 0) : 0,
    ],
    y: r.top1Relevant ? 1 : 0,
  }));
  const d = 5;
  const w = new Array<number>(d).fill(0);
  const l2 = 1e-3;
  for (let it = 0; it < iterations; it++) {
    const g = new Array<number>(d).fill(0);
    for (const { x, y } of data) {
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j]! * x[j]!;
      const p = 1 / (1 + Math.exp(-z));
      for (let j = 0; j < d; j++) g[j]! += (p - y) * x[j]!;
    }
    for (let j = 0; j < d; j++) w[j]! -= rate * (g[j]! / data.length + (j > 0 ? l2 * w[j]! : 0));
  }
  return { intercept: w[0]!, vector: w[1]!, lexical: w[2]!, charNgram: w[3]!, thesaurus: w[4]! };
}

/**
 * The best score of an answered query under `cal`: the calibrated score of the candidate that had
 * the best score (`answer.best`, else the first hit). Exact when `cal` weighs the same single
 * signal as the calibration that answered; otherwise another candidate could score higher.
 */
export function calibratedScore(
  answer: DiscoverAnswer,
  cal: { intercept: number; vector: number; lexical: number; charNgram?: number; thesaurus?: number },
): number {
  const t = answer.best ?? answer.top;
  const z =
    cal.intercept +
    cal.vector * (t?.cosine ?? 0) +
    cal.lexical * (t?.coverage ?? 0) +
    (cal.charNgram ?? 0) * (t?.charCoverage ?? 0) +
    (cal.thesaurus ?? 0) * (t?.thesaurusSimilarity ?? 0);
  return t ? 1 / (1 + Math.exp(-z)) : 0;
}

/**
 * Held-out check of the "no match" calibration: the queries are split into `folds` groups; for
 * each, the calibration and τ are fitted on the other groups only and applied to it. `groupOf`
 * decides the split (by default the relevant topics' position, so that a fold's topics are
 * never seen in fitting; unanswerable queries are spread by their position). Returns the pooled
 * held-out rates.
 */
export function crossValidateNoMatch(
  rows: EvaluationReport['rows'],
  folds = 5,
  groupOf: (row: EvaluationReport['rows'][number], index: number) => number = (row, i) => {
    const key = row.query.relevant[0] ?? `u${i}`;
    let h = 0;
    for (let c = 0; c < key.length; c++) h = (Math.imul(h, 31) + key.charCodeAt(c)) >>> 0;
    return h % folds;
  },
  maxFalseNoMatch = 0.1,
  signals: readonly CalibrationSignal[] = FIT_SIGNALS.lexical,
): { noMatchAccuracy: number; falseNoMatchRate: number; perFold: Array<{ noMatchAccuracy: number; falseNoMatchRate: number }> } {
  const group = rows.map((r, i) => groupOf(r, i) % folds);
  let trueNo = 0;
  let unanswerable = 0;
  let falseNo = 0;
  let answerable = 0;
  const perFold: Array<{ noMatchAccuracy: number; falseNoMatchRate: number }> = [];
  for (let f = 0; f < folds; f++) {
    const train = rows.filter((_, i) => group[i] !== f);
    const test = rows.filter((_, i) => group[i] === f);
    const cal = fitCalibration(train, 5000, 0.5, signals);
    const rescore = (rs: typeof rows) => rs.map((r) => ({ ...r, answer: { ...r.answer, bestScore: calibratedScore(r.answer, cal) } }));
    const tau = bestThreshold(rescore(train), maxFalseNoMatch).threshold;
    let t = 0;
    let u = 0;
    let fa = 0;
    let a = 0;
    for (const r of rescore(test)) {
      const declared = r.answer.bestScore < tau ? 1 : 0;
      if (r.query.relevant.length === 0) {
        u++;
        t += declared;
      } else {
        a++;
        fa += declared;
      }
    }
    trueNo += t;
    unanswerable += u;
    falseNo += fa;
    answerable += a;
    perFold.push({ noMatchAccuracy: u ? t / u : 0, falseNoMatchRate: a ? fa / a : 0 });
  }
  return { noMatchAccuracy: unanswerable ? trueNo / unanswerable : 0, falseNoMatchRate: answerable ? falseNo / answerable : 0, perFold };
}

/**
 * Leave-one-domain-out folds for `crossValidateNoMatch`: a query belongs to the domain of its
 * (first) relevant topic; unanswerable queries, which have none, are dealt round-robin over the
 * domains. Fitting without a whole domain and testing on it is the closest the dev set gets to
 * the hidden set's "other domains and topics". Returns the fold count and the grouping.
 */
export function domainFolds(dataset: Dataset): { folds: number; domains: string[]; groupOf: (row: EvaluationReport['rows'][number], index: number) => number } {
  const domainOf = new Map(dataset.topics.map((t) => [t.name, t.domain ?? t.name.split('.')[0] ?? '']));
  const domains = [...new Set(domainOf.values())].sort();
  const slot = new Map(domains.map((d, i) => [d, i]));
  let u = 0;
  const unanswerable = new Map<string, number>();
  return {
    folds: domains.length,
    domains,
    groupOf: (row) => {
      const first = row.query.relevant[0];
      if (first !== undefined) return slot.get(domainOf.get(first)!)!;
      let g = unanswerable.get(row.query.id);
      if (g === undefined) unanswerable.set(row.query.id, (g = u++ % domains.length));
      return g;
    },
  };
}

/** Ranking metrics of the answerable queries per domain of their (first) relevant topic. */
export function perDomain(dataset: Dataset, rows: EvaluationReport['rows']): Array<{ domain: string; queries: number; top1: number; recall5: number; mrr10: number }> {
  const domainOf = new Map(dataset.topics.map((t) => [t.name, t.domain ?? t.name.split('.')[0] ?? '']));
  const by = new Map<string, EvaluationReport['rows']>();
  for (const r of rows) {
    const first = r.query.relevant[0];
    if (first === undefined) continue;
    const d = domainOf.get(first)!;
    let list = by.get(d);
    if (!list) by.set(d, (list = []));
    list.push(r);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([domain, rs]) => {
      const m = scoreRows(rs);
      return { domain, queries: rs.length, top1: m.top1, recall5: m.recall5, mrr10: m.mrr10 };
    });
}

/** The report as Markdown tables (what docs/discovery.md shows). */
export function formatReport(title: string, report: EvaluationReport): string {
  const f = (x: number | undefined) => (x === undefined ? '' : x.toFixed(3));
  const lines = [
    `#### ${title}`,
    '',
    `Answerable: top-1 **${f(report.top1)}**, recall@5 **${f(report.recall5)}**, MRR@10 **${f(report.mrr10)}**; ` +
      `unanswerable recognised **${f(report.noMatchAccuracy)}**, false no-match **${f(report.falseNoMatchRate)}**.`,
    '',
    '| kind | queries | top-1 | recall@5 | MRR@10 | declared no match |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...report.perKind.map((k) => `| ${k.kind} | ${k.queries} | ${f(k.top1)} | ${f(k.recall5)} | ${f(k.mrr10)} | ${f(k.noMatchRate)} |`),
  ];
  return lines.join('\n');
}
