/**
 * Hybrid topic search: a query goes to the BM25 index and, embedded, to the vector index; the two
 * rankings are merged by weighted reciprocal rank fusion (RRF); filters on tags and attributes
 * restrict both; every result gets a calibrated score in [0, 1], and the best score decides
 * whether anything matches at all.
 *
 * Rankers: BM25 over words, the vector index, BM25 over character 4-grams (cognates and
 * inflections; char-ngram-index.ts), and, with the offline embedder, the thesaurus ranker
 * (synonyms from a general-English thesaurus; thesaurus-ranker.ts). Ranking: weighted RRF, `fused(d) = Σ_r w_r / (k + rank_r(d))` over the rankers r that
 * returned d (Cormack, Clarke & Büttcher 2009, with per-ranker weights). Rank fusion needs no
 * score normalisation between a cosine and an unbounded BM25 score, which is why it is used
 * for ordering.
 *
 * Score and "no match": ranks say nothing about whether the best topic actually fits, so the
 * score uses absolute evidence of each candidate: its cosine similarity to the query and its
 * BM25 *coverage* (its BM25 score divided by the score a document containing every query term
 * would get, in [0, 1]), and with the offline embedder its thesaurus similarity. A logistic
 * function of them, `σ(a·cos + b·coverage + d·thesaurus + c)`, fitted on
 * the dev set per embedder (see docs/discovery.md and `npm run eval:discovery`), estimates the
 * probability that the result serves the query. Scores are made non-increasing down the ranked
 * list, so the list reads in order; the raw signals are returned alongside. A query whose best
 * score is below `minScore` is declared "no match".
 *
 * Cost at 100k+ topics (docs/discovery.md, "Search at scale"): with a zero vector weight (the
 * lexical family) the HNSW graph is not walked; the cosines of the other rankers' candidates are
 * computed exactly. A tag filter that leaves few topics is answered exactly over those topics
 * from a tag index (`prefilterMax`); other filters run inside each ranker.
 */
import { CharNgramIndex } from './char-ngram-index.js';
import { bundledThesaurus } from './thesaurus.js';
import type { Thesaurus } from './thesaurus.js';
import { ThesaurusRanker } from './thesaurus-ranker.js';
import type { ThesaurusRankerOptions } from './thesaurus-ranker.js';
import type { Embedder } from './embedder.js';
import { LexicalIndex, sectionTermFrequencies } from './lexical-index.js';
import type { WeightedTerm } from './lexical-index.js';
import { analyze } from './text-analysis.js';
import { embeddingText, lexicalSections } from './topic-document.js';
import type { LexicalFieldWeights, TopicDocument } from './topic-document.js';
import { VectorIndex } from './vector-index.js';
import type { HnswParameters } from './hnsw-parameters.js';

/** A topic name. */
export type TopicName = string;

/** Restricts a search. Every condition given must hold. */
export interface SearchFilters {
  /** The topic must carry every one of these tags (topic or skill tags; case-insensitive). */
  tags?: string[];
  /** The topic must carry at least one of these tags (case-insensitive). */
  anyTags?: string[];
  /**
   * Attribute conditions: the topic's attribute must equal the value, or one of the values when
   * an array is given. `owner` and `version` can be matched here too.
   */
  attributes?: Record<string, string | string[]>;
}

/**
 * Logistic calibration of the match score:
 * σ(intercept + vector·cosine + lexical·coverage + charNgram·charCoverage + thesaurus·thesaurusSimilarity).
 */
export interface ScoreCalibration {
  intercept: number;
  vector: number;
  lexical: number;
  /** Coefficient of the character n-gram coverage (0 when absent). */
  charNgram?: number;
  /** Coefficient of the thesaurus similarity (0 when absent). */
  thesaurus?: number;
}

export interface RankerWeights {
  /** Weight of the BM25 ranking in the fusion. @default 1 */
  lexical: number;
  /** Weight of the vector ranking in the fusion. @default 1 */
  vector: number;
  /**
   * Weight of the character n-gram BM25 ranking (char-ngram-index.ts) in the fusion; 0 leaves it
   * out. @default DEFAULT_RANKER_WEIGHTS of the embedder's family
   */
  charNgram?: number;
  /**
   * Weight of the thesaurus ranking (thesaurus-ranker.ts) in the fusion, before it is scaled per
   * query by the square of the share of the query the thesaurus knows; 0 leaves it out (and the
   * thesaurus is not loaded). @default DEFAULT_RANKER_WEIGHTS of the embedder's family
   */
  thesaurus?: number;
}

export const DEFAULT_RRF_K = 60;
/**
 * Topics the thesaurus ranker scores on a catalog above its full-scan size: the best of the word
 * and n-gram rankings fused so far (~0.4 ms at 100 topics; docs/discovery.md).
 */
export const THESAURUS_CANDIDATES = 100;
/**
 * The BM25 search for thesaurus candidates on large catalogs: relatives per query term, topics
 * it adds, and its postings budget (rarest terms first; see `LexicalSearchOptions.maxPostings`).
 */
export const THESAURUS_EXPANSION_PER_TERM = 5;
export const THESAURUS_EXPANSION_CANDIDATES = 50;
export const THESAURUS_EXPANSION_MAX_POSTINGS = 100_000;
export const DEFAULT_CANDIDATES = 100;

/** Embedder families with their own defaults: the offline lexical embedder, or a neural model. */
export type EmbedderFamily = 'lexical' | 'transformers';

export function embedderFamily(embedder: Embedder): EmbedderFamily {
  return embedder.id.startsWith('lexical') ? 'lexical' : 'transformers';
}

/**
 * Fusion weights per embedder family.
 *
 * - lexical: the offline embedder sees the same words BM25 sees, only less precisely (hashed, no
 *   idf). On the dev set every positive weight made the ranking worse (top-1 0.589 at 0, 0.556 at
 *   0.3, 0.533 at 0.6), so by default it does not vote on the order; its cosine still feeds the
 *   score calibration.
 * - transformers: a neural embedder carries what BM25 cannot see (synonyms, paraphrases, other
 *   languages) and is weighted above BM25, which still anchors exact names and rare terms.
 * - charNgram (BM25 over character 4-grams, char-ngram-index.ts): 0.3 with the lexical embedder,
 *   where it finds inflections and cognates in other Latin-script languages (dev set: recall@5
 *   0.671 -> 0.702, multilingual recall@5 0.45 -> 0.65, top-1 0.589 -> 0.594; weights 0.3-1 and
 *   n-gram ranges 3-5 measured within ±0.01 of each other). 0 with a neural embedder until it is
 *   measured there.
 * - thesaurus (thesaurus-ranker.ts): 2 with the lexical embedder, scaled per query by the square
 *   of the share of the query the thesaurus knows (dev set: recall@5 0.702 -> 0.721, top-1
 *   0.594 -> 0.600; second set: 0.715 -> 0.829, 0.585 -> 0.622; weights 1-2 within ±0.01 on the
 *   dev set). 0 with a neural embedder, which knows synonyms itself.
 */
export const DEFAULT_RANKER_WEIGHTS: Readonly<Record<EmbedderFamily, Readonly<Required<RankerWeights>>>> = {
  lexical: { lexical: 1, vector: 0, charNgram: 0.3, thesaurus: 2 },
  transformers: { lexical: 1, vector: 1.5, charNgram: 0, thesaurus: 0 },
};

/**
 * Score calibrations per embedder family: σ(intercept + vector·cosine + lexical·coverage +
 * thesaurus·thesaurusSimilarity) estimates the probability that a result serves the query.
 *
 * - lexical: the thesaurus similarity alone, fitted with `npm run eval:discovery -- --embedder
 *   lexical --fit` on ../shared/datasets/discovery-dev (label: the first hit is relevant). It
 *   tells unanswerable queries from answerable ones better than the cosine and BM25 coverage
 *   did (AUC 0.79 / 0.81 on the two data sets, against 0.71 / 0.68; docs/discovery.md).
 * - transformers: NOT fitted (no real model was available offline); a prior for a
 *   sentence-transformer whose related texts reach cosine 0.4-0.7 and unrelated ones 0-0.2.
 *   Refit it with `--embedder transformers --model-dir DIR --fit` where the model is present.
 */
export const DEFAULT_CALIBRATIONS: Readonly<Record<EmbedderFamily, ScoreCalibration>> = {
  lexical: { intercept: -6.25, vector: 0, lexical: 0, thesaurus: 9.51 },
  transformers: { intercept: -5, vector: 10, lexical: 2 },
};

/**
 * Default "no match" thresholds on the best score, per family. Lexical: the highest τ that
 * declares at most 10% of the answerable queries of the dev set and the second data set together
 * "no match" (dev: 0.40 of the unanswerable queries recognised at 0.072 false no-match; second
 * set 0.583 at 0.122; docs/discovery.md). The transformers value is the natural 0.5 of the
 * uncalibrated prior.
 */
export const DEFAULT_MIN_SCORES: Readonly<Record<EmbedderFamily, number>> = {
  lexical: 0.28,
  transformers: 0.5,
};

export interface HybridSearchOptions {
  /** Fusion weights. @default DEFAULT_RANKER_WEIGHTS of the embedder's family */
  weights?: Partial<RankerWeights>;
  /** RRF rank offset k. @default 60 */
  rrfK?: number;
  /** How many candidates each ranker contributes before fusion. @default 100 */
  candidates?: number;
  /** Score calibration. @default DEFAULT_CALIBRATIONS by embedder id ('lexical…' or other) */
  calibration?: ScoreCalibration;
  /** BM25 field weights. @default DEFAULT_LEXICAL_FIELD_WEIGHTS */
  fieldWeights?: LexicalFieldWeights;
  /** The thesaurus of the thesaurus ranker. @default the bundled one (thesaurus.ts), loaded when its weight is positive */
  thesaurus?: Thesaurus;
  /** Options of the thesaurus ranker (relatives per term, full-scan size). @default its defaults */
  thesaurusRanker?: ThesaurusRankerOptions;
  /** Initial vector index capacity. @default 1024 */
  initialCapacity?: number;
  /**
   * HNSW graph parameters of the vector index (M, efConstruction, efSearch; vector-index.ts).
   * @default M 16, efConstruction 200, efSearch 300 (recall@10 >= 0.95 up to 100k topics; for
   * about 1M topics with a transformers model use 32 / 400 / 800: docs/discovery.md, "Search at scale")
   */
  hnsw?: Partial<HnswParameters>;
  /**
   * Build the HNSW graph over the vectors. Without it the vector ranking is an exact scan, which
   * only suits a ranking that fills short lists. @default true when the vector ranking has a
   * positive fusion weight (the transformers family); false when the vectors only score the
   * results of the other rankers (the lexical family: their cosine is computed exactly anyway, and
   * the graph would cost 1-2.5 ms per registration and ~4 KB per topic at 1024 dimensions)
   */
  vectorGraph?: boolean;
  /** Default "no match" threshold of searches. @default DEFAULT_MIN_SCORES of the embedder's family */
  minScore?: number;
  /**
   * Tag filters that leave at most this many topics are searched exactly over those topics
   * instead of through the filtered rankers. With an HNSW graph: their vectors scored one by one
   * instead of a filtered walk, which has to visit about efSearch / (share of topics passing)
   * nodes. Without a graph (the lexical family): every tagged topic scored by the thesaurus
   * (~8 µs a topic with the BM25 rankers' share), against the thesaurus scoring candidates only;
   * the BM25 rankers take the tagged topics as `only` on both paths.
   * @default with a graph DEFAULT_PREFILTER_WORK / dimensions (5,208 topics at 384 dimensions,
   * 1,953 at 1,024: about 4 ms of scoring at most); without one DEFAULT_GRAPHLESS_PREFILTER_MAX
   */
  prefilterMax?: number;
}

/**
 * Without an HNSW graph (the lexical family), the vectors that fill a short result list are found
 * by an exact scan of at most this many topics (the oldest registered): ~2 ms at 1024 dimensions.
 * A list needs filling only when no word, n-gram or thesaurus match found topK topics, and the
 * filler's scores are then near 0 whichever topics they are.
 */
export const FILL_SCAN_LIMIT = 20_000;

/** Multiply-adds an exact search over a tag filter's candidates may cost (see `prefilterMax`). */
export const DEFAULT_PREFILTER_WORK = 2_000_000;

/**
 * `prefilterMax` without an HNSW graph. Above it the filtered rankers are faster than scoring every
 * tagged topic (at 100k topics they cost the same for ~270 tagged topics, at 300k 20% less for
 * ~520); below it the exact path costs about the same and lets the thesaurus score every tagged
 * topic, not only candidates (docs/discovery.md, "Search at scale").
 */
export const DEFAULT_GRAPHLESS_PREFILTER_MAX = 1000;

export interface SearchOptions {
  /** Results wanted. @default 10 */
  topK?: number;
  filters?: SearchFilters;
  /** Best score below which the result is "no match". @default DEFAULT_MIN_SCORES of the embedder's family */
  minScore?: number;
  /** Extra restriction, asked by topic name (slower than hiding: see `HybridSearch.setHidden`). */
  accept?: (name: TopicName) => boolean;
  /** Also rank the topics marked hidden (`HybridSearch.setHidden`). @default false */
  includeHidden?: boolean;
  /**
   * Rank only the hidden topics (implies `includeHidden`). They are a restriction like a tag
   * filter's: up to `prefilterMax` of them are searched exactly, which is cheap; more go through
   * the filtered rankers, which then cost more than an unfiltered search (at 100k topics with 10k
   * hidden: ~11 against ~4 ms p50, most of it resolving the 10k names in each ranker). @default false
   */
  onlyHidden?: boolean;
  /**
   * English terms a translation of the query yielded (query-translator.ts), space-separated.
   * The word rankers then use them plus the query's words that some topic contains; the n-gram
   * ranker and the embedder read the query and the translation together.
   */
  translation?: string;
}

/** The evidence behind one result. */
export interface SearchSignals {
  /** Weighted RRF value, normalised by its maximum (first in every ranking = 1). */
  fused: number;
  /** Cosine similarity to the query, when the vector ranking returned the topic. */
  cosine?: number;
  /** BM25 coverage in [0, 1], when the lexical ranking returned the topic. */
  coverage?: number;
  /** Character n-gram BM25 coverage in [0, 1], when the n-gram ranking returned the topic. */
  charCoverage?: number;
  /** 1-based rank in the vector ranking. */
  vectorRank?: number;
  /** 1-based rank in the BM25 ranking. */
  lexicalRank?: number;
  /** 1-based rank in the character n-gram ranking. */
  charNgramRank?: number;
  /** Similarity in the thesaurus ranking, when it returned the topic. */
  thesaurusSimilarity?: number;
  /** 1-based rank in the thesaurus ranking. */
  thesaurusRank?: number;
  /** The calibrated score before it was capped by the results above. */
  rawScore: number;
}

export interface SearchHit {
  name: TopicName;
  /** Calibrated match score in [0, 1], non-increasing down the list. */
  score: number;
  signals: SearchSignals;
}

export interface SearchResult {
  hits: SearchHit[];
  /**
   * The highest calibrated score of any candidate the rankers returned (0 when there is none):
   * how well the closest topic fits. It decides "no match"; the first hit's score can be lower
   * when the fusion ranks another topic first.
   */
  bestScore: number;
  /**
   * True when no topic fits: no hit, or `bestScore < minScore` for a query the score can judge
   * (see `readShare`). Hits are still returned.
   */
  noMatch: boolean;
  /** The threshold that was applied. */
  minScore: number;
  /** The signals of the candidate that has `bestScore` (for refitting the calibration). */
  best?: SearchSignals;
  /**
   * With a calibration that uses the thesaurus similarity: the share of the query's idf mass in
   * words the thesaurus knows. Below MIN_READ_SHARE the similarity says nothing (mostly a query
   * in another language without a dictionary), and the query is never declared "no match".
   */
  readShare?: number;
}

/**
 * A query whose idf mass is less than this share in words the thesaurus knows is not judged by
 * a calibration that uses the thesaurus similarity (never declared "no match"). Every English
 * query of both data sets reads 0.40 or more, untranslated foreign ones 0 to 0.46.
 */
export const MIN_READ_SHARE = 0.5;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The topic's tags and its skills' tags, lowercased. */
function tagSet(doc: TopicDocument): Set<string> {
  const have = new Set<string>();
  for (const t of doc.tags) have.add(t.toLowerCase());
  for (const s of doc.skills) for (const t of s.tags) have.add(t.toLowerCase());
  return have;
}

/** True when `doc` satisfies every condition of `filters`. */
export function matchesFilters(doc: TopicDocument, filters: SearchFilters | undefined, tags?: ReadonlySet<string>): boolean {
  if (!filters) return true;
  const needTags = filters.tags ?? [];
  const anyTags = filters.anyTags ?? [];
  if (needTags.length > 0 || anyTags.length > 0) {
    const have = tags ?? tagSet(doc);
    if (!needTags.every((t) => have.has(t.toLowerCase()))) return false;
    if (anyTags.length > 0 && !anyTags.some((t) => have.has(t.toLowerCase()))) return false;
  }
  for (const [key, want] of Object.entries(filters.attributes ?? {})) {
    const value = key === 'owner' ? doc.owner : key === 'version' ? doc.version : doc.attributes[key];
    if (value === undefined) return false;
    if (Array.isArray(want) ? !want.includes(value) : value !== want) return false;
  }
  return true;
}

/**
 * A candidate's signals while a search runs, every field present from the start: one object
 * shape and one allocation per candidate, where adding the fields one by one grew each object.
 */
function newRow(): Omit<SearchSignals, 'rawScore'> {
  return {
    fused: 0,
    cosine: undefined,
    coverage: undefined,
    charCoverage: undefined,
    vectorRank: undefined,
    lexicalRank: undefined,
    charNgramRank: undefined,
    thesaurusSimilarity: undefined,
    thesaurusRank: undefined,
  };
}

/**
 * Both indexes over one set of topic documents. Not safe for overlapping `upsert` calls on the
 * same topic (the catalog serialises writes).
 */
export class HybridSearch {
  readonly embedder: Embedder;
  readonly lexical: LexicalIndex;
  readonly vectors: VectorIndex;
  /** Character n-gram BM25 (built only when its fusion weight is positive). */
  readonly charNgrams: CharNgramIndex | undefined;
  /** Thesaurus ranker (built only when its fusion weight is positive). */
  readonly thesaurus: ThesaurusRanker | undefined;
  readonly #docs = new Map<TopicName, TopicDocument>();
  /** Topics left out of searches unless `includeHidden` (the catalog: offline topics). */
  readonly #hidden = new Set<TopicName>();
  /** Each topic's lowercased tags (topic and skill tags), and the reverse: tag -> topics. */
  readonly #tagsOf = new Map<TopicName, Set<string>>();
  readonly #byTag = new Map<string, Set<TopicName>>();
  readonly #prefilterMax: number;
  readonly #weights: Required<RankerWeights>;
  readonly #rrfK: number;
  readonly #candidates: number;
  readonly #calibration: ScoreCalibration;
  readonly #fieldWeights: LexicalFieldWeights | undefined;
  readonly #minScore: number;

  constructor(embedder: Embedder, options: HybridSearchOptions = {}) {
    this.embedder = embedder;
    const family = embedderFamily(embedder);
    const defaults = DEFAULT_RANKER_WEIGHTS[family];
    this.#weights = {
      lexical: options.weights?.lexical ?? defaults.lexical,
      vector: options.weights?.vector ?? defaults.vector,
      charNgram: options.weights?.charNgram ?? defaults.charNgram,
      thesaurus: options.weights?.thesaurus ?? defaults.thesaurus,
    };
    for (const [k, w] of Object.entries(this.#weights)) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weights.${k} must be a finite number >= 0 (got ${String(w)})`);
    }
    if (this.#weights.lexical + this.#weights.vector + this.#weights.charNgram + this.#weights.thesaurus <= 0) throw new RangeError('at least one ranker weight must be positive');
    this.#rrfK = options.rrfK ?? DEFAULT_RRF_K;
    if (!(this.#rrfK >= 0)) throw new RangeError(`rrfK must be >= 0 (got ${String(this.#rrfK)})`);
    this.#candidates = options.candidates ?? DEFAULT_CANDIDATES;
    this.#calibration = options.calibration ?? DEFAULT_CALIBRATIONS[family];
    this.#minScore = options.minScore ?? DEFAULT_MIN_SCORES[family];
    if (!(this.#minScore >= 0 && this.#minScore <= 1)) throw new RangeError(`minScore must be between 0 and 1 (got ${String(this.#minScore)})`);
    this.#fieldWeights = options.fieldWeights;
    this.lexical = new LexicalIndex();
    this.charNgrams = this.#weights.charNgram > 0 ? new CharNgramIndex() : undefined;
    // Like the vectors, the thesaurus ranker can feed the score without voting on the order.
    this.thesaurus = this.#weights.thesaurus > 0 || (this.#calibration.thesaurus ?? 0) !== 0 ? new ThesaurusRanker(options.thesaurus ?? bundledThesaurus(), options.thesaurusRanker) : undefined;
    this.vectors = new VectorIndex({
      dimensions: embedder.dimensions,
      initialCapacity: options.initialCapacity,
      ...options.hnsw,
      graph: options.vectorGraph ?? this.#weights.vector > 0,
    });
    this.#prefilterMax = options.prefilterMax ?? (this.vectors.graph ? Math.floor(DEFAULT_PREFILTER_WORK / embedder.dimensions) : DEFAULT_GRAPHLESS_PREFILTER_MAX);
    if (!(this.#prefilterMax >= 0)) throw new RangeError(`prefilterMax must be >= 0 (got ${String(this.#prefilterMax)})`);
  }

  get size(): number {
    return this.#docs.size;
  }

  /** Tag filters leaving at most this many topics are searched exactly over them (see `HybridSearchOptions.prefilterMax`). */
  get prefilterMax(): number {
    return this.#prefilterMax;
  }

  get calibration(): Readonly<ScoreCalibration> {
    return this.#calibration;
  }

  /** The "no match" threshold used when a search does not pass one. */
  get minScore(): number {
    return this.#minScore;
  }

  /** Indexes (or re-indexes) documents; embeds them in one batch. */
  async upsertMany(docs: readonly TopicDocument[]): Promise<void> {
    if (docs.length === 0) return;
    const texts = docs.map(embeddingText);
    const vectors = await this.embedder.embed(texts);
    docs.forEach((doc, i) => {
      this.#untag(doc.name);
      const tags = tagSet(doc);
      this.#tagsOf.set(doc.name, tags);
      for (const t of tags) {
        let names = this.#byTag.get(t);
        if (!names) this.#byTag.set(t, (names = new Set()));
        names.add(doc.name);
      }
      this.#docs.set(doc.name, doc);
      // Analysed once for both word-level rankers.
      const tf = sectionTermFrequencies(lexicalSections(doc, this.#fieldWeights));
      this.lexical.upsertTerms(doc.name, tf);
      this.thesaurus?.upsert(doc.name, tf);
      this.charNgrams?.upsert(doc.name, texts[i]!);
      this.vectors.upsert(doc.name, vectors[i]!);
      if (this.#hidden.has(doc.name)) {
        this.lexical.setHidden(doc.name, true);
        this.charNgrams?.setHidden(doc.name, true);
      }
    });
  }

  /**
   * Hides `name` from searches (or shows it again) unless they pass `includeHidden`. The catalog
   * hides offline topics this way rather than through `accept`: the two BM25 rankers, which see
   * the most candidates, then skip hidden topics by a flag per document instead of a lookup by
   * name (at 100k topics that lookup was ~20% of a live-only search). The mark is kept by name:
   * it holds across re-indexing, and applies to a topic indexed later.
   */
  setHidden(name: TopicName, hidden: boolean): void {
    if (hidden) this.#hidden.add(name);
    else this.#hidden.delete(name);
    this.lexical.setHidden(name, hidden);
    this.charNgrams?.setHidden(name, hidden);
  }

  /** Whether `name` is hidden (see `setHidden`). */
  isHidden(name: TopicName): boolean {
    return this.#hidden.has(name);
  }

  /** How many topics are hidden (see `setHidden`). */
  get hiddenCount(): number {
    return this.#hidden.size;
  }

  upsert(doc: TopicDocument): Promise<void> {
    return this.upsertMany([doc]);
  }

  #untag(name: TopicName): void {
    for (const t of this.#tagsOf.get(name) ?? []) {
      const names = this.#byTag.get(t)!;
      names.delete(name);
      if (names.size === 0) this.#byTag.delete(t);
    }
    this.#tagsOf.delete(name);
  }

  /** The first `max` of `names` that `allow` lets through. */
  #firstAllowed(names: readonly TopicName[], allow: ((name: TopicName) => boolean) | undefined, max: number): TopicName[] {
    const out: TopicName[] = [];
    for (const name of names) {
      if (out.length >= max) break;
      if (!allow || allow(name)) out.push(name);
    }
    return out;
  }

  /**
   * The topics a tag filter leaves (before attribute filters and `accept`), from the tag index;
   * undefined when the filters name no tags.
   */
  #tagCandidates(filters: SearchFilters | undefined): TopicName[] | undefined {
    const need = (filters?.tags ?? []).map((t) => t.toLowerCase());
    const any = (filters?.anyTags ?? []).map((t) => t.toLowerCase());
    if (need.length === 0 && any.length === 0) return undefined;
    const empty = new Set<TopicName>();
    const sets: Array<ReadonlySet<TopicName>> = need.map((t) => this.#byTag.get(t) ?? empty);
    let base: Iterable<TopicName>;
    if (sets.length > 0) base = sets.reduce((a, b) => (b.size < a.size ? b : a));
    else {
      const union = new Set<TopicName>();
      for (const t of any) for (const n of this.#byTag.get(t) ?? []) union.add(n);
      base = union;
    }
    const out: TopicName[] = [];
    for (const name of base) {
      const tags = this.#tagsOf.get(name)!;
      if (need.every((t) => tags.has(t)) && (any.length === 0 || any.some((t) => tags.has(t)))) out.push(name);
    }
    return out;
  }

  remove(name: TopicName): boolean {
    this.#untag(name);
    this.#hidden.delete(name);
    const had = this.#docs.delete(name);
    this.lexical.remove(name);
    this.charNgrams?.remove(name);
    this.thesaurus?.remove(name);
    this.vectors.remove(name);
    return had;
  }

  get(name: TopicName): TopicDocument | undefined {
    return this.#docs.get(name);
  }

  /** Ranks the topics for `query`; see the file comment for how. */
  async search(query: string, options: SearchOptions = {}): Promise<SearchResult> {
    const topK = options.topK ?? 10;
    const minScore = options.minScore ?? this.#minScore;
    const { filters, accept } = options;
    // The filter, compiled once per search: tags through the tag index, attributes against the
    // document, then `accept`. The rankers ask it only about topics that would enter their lists.
    const attributes = Object.entries(filters?.attributes ?? {}).map(([key, want]) => ({ key, want: Array.isArray(want) ? want : [want] }));
    const attributesHold = (name: TopicName): boolean => {
      const doc = this.#docs.get(name);
      if (doc === undefined) return false;
      for (const { key, want } of attributes) {
        const value = key === 'owner' ? doc.owner : key === 'version' ? doc.version : doc.attributes[key];
        if (value === undefined || !want.includes(value)) return false;
      }
      return true;
    };
    let tagged = this.#tagCandidates(filters);
    if (options.onlyHidden) tagged = tagged ? tagged.filter((name) => this.#hidden.has(name)) : [...this.#hidden];
    const taggedSet = tagged ? new Set(tagged) : undefined;
    // The BM25 rankers take a tag filter's topics as `only` (a flag per document id, or the
    // topics' own term lists when those read less than the postings) and hiding as `skipHidden`;
    // `rest` is what is left for them to ask by name (attributes, the caller's `accept`).
    // `allow`: every restriction, for the other rankers.
    const byName: ((name: TopicName) => boolean) | undefined =
      attributes.length > 0 || accept ? (name) => (attributes.length === 0 || attributesHold(name)) && (!accept || accept(name)) : undefined;
    let rest = byName;
    const restrict: ((name: TopicName) => boolean) | undefined = taggedSet
      ? byName
        ? (name) => taggedSet.has(name) && byName(name)
        : (name) => taggedSet.has(name)
      : byName;
    const hidden = !options.includeHidden && !options.onlyHidden && this.#hidden.size > 0 ? this.#hidden : undefined;
    let allow: ((name: TopicName) => boolean) | undefined = hidden ? (restrict ? (name) => !hidden.has(name) && restrict(name) : (name) => !hidden.has(name)) : restrict;
    const skipHidden = hidden !== undefined;
    let only: readonly TopicName[] | undefined = tagged;
    // A selective tag filter: the few topics it leaves are searched exactly (see prefilterMax).
    let among: TopicName[] | undefined;
    if (tagged && tagged.length <= this.#prefilterMax) {
      among = allow ? tagged.filter(allow) : tagged;
      const allowed = new Set(among);
      allow = (name) => allowed.has(name);
      only = among;
      rest = undefined;
    }
    const k = Math.max(topK, this.#candidates);

    // Lexical ranking, with coverage = score / the score of a document holding every term.
    // A translated query: the word rankers take the English terms and those of the query's own
    // words that some topic uses (names, cognates); its other words were translated, and counted
    // as unknown they would only lower coverage. N-grams and the embedder read both texts.
    const { translation } = options;
    const fullText = translation !== undefined ? `${query} ${translation}` : query;
    const terms: WeightedTerm[] = (
      translation !== undefined ? [...analyze(query).filter((t) => this.lexical.documentFrequency(t) > 0), ...analyze(translation)] : analyze(query)
    ).map((term) => ({ term, weight: 1 }));
    const lexHits = this.#weights.lexical > 0 || this.#calibration.lexical !== 0 ? this.lexical.search(terms, k, rest, { skipHidden, only }) : [];
    const ceiling = this.#coverageCeiling(terms);
    // Vector ranking. With a zero fusion weight (the lexical family) the vectors fill the list when
    // the other rankers find fewer than topK topics, and the exact cosine is computed below: for
    // every candidate when the calibration weighs it, else for the results only (a reported
    // signal); the HNSW graph is walked only when the list needs filling.
    let vecHits: Array<{ key: TopicName; similarity: number }> = [];
    const [qv] = await this.embedder.embed([fullText]);
    if (this.#weights.vector > 0) {
      vecHits = among ? this.vectors.searchAmong(qv!, among, k) : this.vectors.search(qv!, k, allow);
    }

    // Character n-gram ranking.
    const charSearch = this.charNgrams ? this.charNgrams.searchWithCeiling(fullText, k, rest, { skipHidden, only }) : { hits: [], ceiling: 0 };

    /** Per candidate: the signals so far, `fused` not yet normalised. */
    const rows = new Map<TopicName, Omit<SearchSignals, 'rawScore'>>();
    const row = (name: TopicName) => {
      let r = rows.get(name);
      if (!r) rows.set(name, (r = newRow()));
      return r;
    };
    lexHits.forEach((h, i) => {
      const r = row(h.key);
      r.lexicalRank = i + 1;
      r.coverage = ceiling > 0 ? Math.min(1, h.score / ceiling) : 0;
      r.fused += this.#weights.lexical / (this.#rrfK + i + 1);
    });
    vecHits.forEach((h, i) => {
      const r = row(h.key);
      r.vectorRank = i + 1;
      r.cosine = h.similarity;
      r.fused += this.#weights.vector / (this.#rrfK + i + 1);
    });
    charSearch.hits.forEach((h, i) => {
      const r = row(h.key);
      r.charNgramRank = i + 1;
      r.charCoverage = charSearch.ceiling > 0 ? Math.min(1, h.score / charSearch.ceiling) : 0;
      r.fused += this.#weights.charNgram / (this.#rrfK + i + 1);
    });
    // Thesaurus ranking: over the whole catalog while it is small, else over the candidates above.
    let thesaurusWeight = 0;
    let readShare: number | undefined;
    if (this.thesaurus) {
      // Above the full-scan size it scores the best THESAURUS_CANDIDATES of the fusion so far,
      // and the best THESAURUS_EXPANSION_CANDIDATES of a BM25 search over the query terms'
      // closest relatives (topics that share no word with the query).
      let candidates: Iterable<TopicName> = among ?? [];
      if (!among && !this.thesaurus.scansAll) {
        const set = new Set(
          [...rows.entries()]
            .sort((a, b) => b[1].fused - a[1].fused)
            .slice(0, THESAURUS_CANDIDATES)
            .map(([name]) => name),
        );
        const expanded = this.thesaurus.expansion(
          terms.map((t) => t.term),
          THESAURUS_EXPANSION_PER_TERM,
        );
        if (expanded.length > 0) {
          for (const h of this.lexical.search(expanded, THESAURUS_EXPANSION_CANDIDATES, rest, { maxPostings: THESAURUS_EXPANSION_MAX_POSTINGS, skipHidden, only })) set.add(h.key);
        }
        candidates = set;
      }
      const t = this.thesaurus.search(
        terms.map((t) => t.term),
        k,
        candidates,
        allow,
      );
      thesaurusWeight = this.#weights.thesaurus * t.known * t.known;
      if ((this.#calibration.thesaurus ?? 0) !== 0) readShare = t.known;
      if (this.#weights.thesaurus > 0) {
        t.hits.forEach((h, i) => {
          const r = row(h.key);
          r.thesaurusRank = i + 1;
          r.thesaurusSimilarity = h.similarity;
          r.fused += thesaurusWeight / (this.#rrfK + i + 1);
        });
      } else {
        // Fusion weight 0: the similarity is a signal of the score only, on the topics the
        // other rankers found.
        for (const h of t.hits) {
          const r = rows.get(h.key);
          if (r) r.thesaurusSimilarity = h.similarity;
        }
      }
    }
    if (this.#weights.vector === 0 && qv !== undefined) {
      if (rows.size < topK) {
        // Too few word or n-gram matches: the nearest vectors fill the list (fused 0, so after them).
        // A tag filter too large for the exact path: its own topics, up to the same scan limit.
        const fill = among
          ? this.vectors.searchAmong(qv, among, k)
          : tagged
            ? this.vectors.searchAmong(qv, this.#firstAllowed(tagged, allow, FILL_SCAN_LIMIT), k)
            : this.vectors.search(qv, k, allow, { scanLimit: FILL_SCAN_LIMIT });
        fill.forEach((h, i) => {
          const r = row(h.key);
          r.vectorRank = i + 1;
          r.cosine = h.similarity;
        });
      }
      // Every candidate's exact cosine when the score weighs it; otherwise it is only reported,
      // and only the results need it (below).
      if (this.#calibration.vector !== 0) this.#fillCosines(qv, rows, rows.keys());
    }
    const maxFused = (this.#weights.lexical + this.#weights.vector + this.#weights.charNgram + thesaurusWeight) / (this.#rrfK + 1);
    const c = this.#calibration;
    let bestRaw = 0;
    let bestRow: Omit<SearchSignals, 'rawScore'> | undefined;
    let bestName: TopicName | undefined;
    const ranked = [...rows.entries()]
      .map(([name, r]) => {
        const rawScore = sigmoid(
          c.intercept +
            c.vector * (r.cosine ?? 0) +
            c.lexical * (r.coverage ?? 0) +
            (c.charNgram ?? 0) * (r.charCoverage ?? 0) +
            (c.thesaurus ?? 0) * (r.thesaurusSimilarity ?? 0),
        );
        if (rawScore > bestRaw) {
          bestRaw = rawScore;
          bestRow = r;
          bestName = name;
        }
        return { name, r, rawScore };
      })
      .sort((a, b) => b.r.fused - a.r.fused || b.rawScore - a.rawScore || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, topK);
    if (this.#weights.vector === 0 && this.#calibration.vector === 0 && qv !== undefined) {
      // The cosine is a reported signal only: computed for the results and the best candidate.
      this.#fillCosines(qv, rows, [...ranked.map((x) => x.name), ...(bestName !== undefined ? [bestName] : [])]);
    }

    const signalsOf = (r: Omit<SearchSignals, 'rawScore'>, rawScore: number): SearchSignals => {
      const signals: SearchSignals = { fused: r.fused / maxFused, rawScore };
      if (r.cosine !== undefined) signals.cosine = r.cosine;
      if (r.coverage !== undefined) signals.coverage = r.coverage;
      if (r.charCoverage !== undefined) signals.charCoverage = r.charCoverage;
      if (r.vectorRank !== undefined) signals.vectorRank = r.vectorRank;
      if (r.lexicalRank !== undefined) signals.lexicalRank = r.lexicalRank;
      if (r.charNgramRank !== undefined) signals.charNgramRank = r.charNgramRank;
      if (r.thesaurusRank !== undefined) signals.thesaurusRank = r.thesaurusRank;
      if (r.thesaurusSimilarity !== undefined) signals.thesaurusSimilarity = r.thesaurusSimilarity;
      return signals;
    };
    let cap = 1;
    const hits: SearchHit[] = ranked.map(({ name, r, rawScore }) => {
      cap = Math.min(cap, rawScore);
      return { name, score: cap, signals: signalsOf(r, rawScore) };
    });
    const bestScore = hits.length > 0 ? bestRaw : 0;
    const judged = readShare === undefined || readShare >= MIN_READ_SHARE;
    return {
      hits,
      bestScore,
      noMatch: hits.length === 0 || (judged && bestScore < minScore),
      minScore,
      ...(hits.length > 0 && bestRow ? { best: signalsOf(bestRow, bestRaw) } : {}),
      ...(readShare !== undefined ? { readShare } : {}),
    };
  }

  /** Sets the exact cosine of the rows named in `names` that have none yet. */
  #fillCosines(qv: Float32Array, rows: Map<TopicName, { cosine?: number }>, names: Iterable<TopicName>): void {
    const missing: TopicName[] = [];
    for (const name of names) if (rows.get(name)?.cosine === undefined) missing.push(name);
    if (missing.length === 0) return;
    for (const h of this.vectors.searchAmong(qv, missing, missing.length)) rows.get(h.key)!.cosine = h.similarity;
  }

  /**
   * What a document matching every query term once, at average length, would score: Σ idf(t).
   * Coverage = BM25 / this, clamped to 1. Terms no topic contains count too, with the highest
   * idf: a query full of words no topic uses is probably asking for something else.
   */
  #coverageCeiling(terms: readonly WeightedTerm[]): number {
    const merged = new Map<string, number>();
    for (const { term, weight } of terms) merged.set(term, (merged.get(term) ?? 0) + weight);
    let ceiling = 0;
    for (const [term, w] of merged) ceiling += w * this.lexical.idf(term);
    return ceiling;
  }
}
