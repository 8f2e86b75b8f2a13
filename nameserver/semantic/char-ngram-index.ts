/**
 * A BM25 index over character n-grams (3 to 5 characters of each word, with `<` and `>` marking
 * the word's start and end), the third ranker of the hybrid search.
 *
 * Word-level BM25 needs the exact stem; n-grams also match inflections the Porter stemmer does
 * not know, compounds, and cognates in other Latin-script languages ("subtítulos" / "subtitles",
 * "signature électronique" / "e-signature", "Literaturverzeichnis" / "literature"). The idf of an
 * n-gram comes from the registered topics, like the word idf, so nothing here is tied to a
 * domain or a data set.
 *
 * Query n-grams that occur in more than `maxDocumentShare` of the topics ("<th", "ion>") carry
 * little information and have the longest postings; they are skipped, which keeps a query cheap
 * on a large catalog. A query whose remaining n-grams hold at most `exactPostings` postings
 * (1,000,000) is scored exactly: at 100k synthetic topics a query holds ~300k. A larger one (a
 * catalog of about a million topics) is approximated: its rarest n-grams are scanned up to
 * `maxPostings` (200,000), and the best `rescore` topics (1,000) found so far are then scored on
 * the other n-grams too, from their own n-gram lists. Scanning is what costs at a million topics:
 * each posting adds into a score array of a million entries that no cache holds. Measured at 1M
 * topics (docs/discovery.md, "Search at scale"): exact 15.7 / 25.1 ms p50 / p99; the earlier
 * rule, a budget of 1,000,000 postings and nothing rescored, 11.9 / 38.3 ms with 0.835 of the
 * exact top 10; this rule 8.9 / 13.0 ms with 0.978.
 */
import { isStopWord, words } from './text-analysis.js';
import { LexicalIndex } from './lexical-index.js';
import type { DocKey, LexicalHit } from './lexical-index.js';

export interface CharNgramOptions {
  /** Shortest n-gram. @default 3 */
  min?: number;
  /** Longest n-gram. @default 5 */
  max?: number;
  /**
   * Query n-grams found in more than this share of the topics are skipped (they are near stop
   * words). @default 0.2
   */
  maxDocumentShare?: number;
  /**
   * A query whose n-grams (those not skipped) hold at most this many postings is scored exactly.
   * A catalog of a few hundred thousand topics rarely has a query above it.
   * @default DEFAULT_CHAR_NGRAM_EXACT_POSTINGS
   */
  exactPostings?: number;
  /**
   * Postings a query above `exactPostings` scans, rarest n-grams first (see
   * `LexicalSearchOptions.maxPostings`); bounds its cost. @default DEFAULT_CHAR_NGRAM_MAX_POSTINGS
   */
  maxPostings?: number;
  /**
   * For a query above `exactPostings`: the best this many topics of the scan are scored on the
   * n-grams it left out too, from their own n-gram lists (see `LexicalSearchOptions.rescore`),
   * ~1.5 µs a topic. 0 leaves those n-grams out. @default DEFAULT_CHAR_NGRAM_RESCORE
   */
  rescore?: number;
}

export const DEFAULT_CHAR_NGRAM_MIN = 4;
export const DEFAULT_CHAR_NGRAM_MAX = 4;
export const DEFAULT_CHAR_NGRAM_MAX_DOCUMENT_SHARE = 0.2;
export const DEFAULT_CHAR_NGRAM_EXACT_POSTINGS = 1_000_000;
export const DEFAULT_CHAR_NGRAM_MAX_POSTINGS = 200_000;
export const DEFAULT_CHAR_NGRAM_RESCORE = 1000;

/**
 * Counts the character n-grams of the words of `text` (lowercased, accent-free, stop words,
 * digits-only words and words shorter than 3 characters left out). CJK bigrams from `words()`
 * count as words, so a CJK catalog is matched on them too.
 */
export function charNgramCounts(text: string, min = DEFAULT_CHAR_NGRAM_MIN, max = DEFAULT_CHAR_NGRAM_MAX): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of words(text)) {
    if (isStopWord(w) || /^\d+$/.test(w)) continue;
    if (w.length < 3 && !/[^\p{Script=Latin}\d]/u.test(w)) continue;
    const s = `<${w}>`;
    for (let n = min; n <= max; n++) {
      for (let i = 0; i + n <= s.length; i++) {
        const g = s.slice(i, i + n);
        counts.set(g, (counts.get(g) ?? 0) + 1);
      }
    }
  }
  return counts;
}

export class CharNgramIndex {
  readonly #min: number;
  readonly #max: number;
  readonly #maxShare: number;
  readonly #exactPostings: number;
  readonly #maxPostings: number;
  readonly #rescore: number;
  readonly #index = new LexicalIndex();

  constructor(options: CharNgramOptions = {}) {
    this.#min = options.min ?? DEFAULT_CHAR_NGRAM_MIN;
    this.#max = options.max ?? DEFAULT_CHAR_NGRAM_MAX;
    this.#maxShare = options.maxDocumentShare ?? DEFAULT_CHAR_NGRAM_MAX_DOCUMENT_SHARE;
    this.#exactPostings = options.exactPostings ?? DEFAULT_CHAR_NGRAM_EXACT_POSTINGS;
    this.#maxPostings = options.maxPostings ?? DEFAULT_CHAR_NGRAM_MAX_POSTINGS;
    this.#rescore = options.rescore ?? DEFAULT_CHAR_NGRAM_RESCORE;
    if (!(this.#exactPostings >= 0)) throw new RangeError(`exactPostings must be >= 0 (got ${String(this.#exactPostings)})`);
    if (!(this.#maxPostings >= 1)) throw new RangeError(`maxPostings must be >= 1 (got ${String(this.#maxPostings)})`);
    if (!(this.#rescore >= 0 && Number.isInteger(this.#rescore))) throw new RangeError(`rescore must be an integer >= 0 (got ${String(this.#rescore)})`);
    if (!(this.#min >= 1 && this.#max >= this.#min)) throw new RangeError(`need 1 <= min <= max (got ${this.#min}, ${this.#max})`);
    if (!(this.#maxShare > 0 && this.#maxShare <= 1)) throw new RangeError(`maxDocumentShare must be in (0, 1] (got ${String(this.#maxShare)})`);
  }

  get size(): number {
    return this.#index.size;
  }

  /** How large queries are approximated (see `CharNgramOptions`). */
  get approximation(): { exactPostings: number; maxPostings: number; rescore: number } {
    return { exactPostings: this.#exactPostings, maxPostings: this.#maxPostings, rescore: this.#rescore };
  }

  /** Adds or replaces `key` with the n-grams of `text`. */
  upsert(key: DocKey, text: string): void {
    this.#index.upsertTerms(key, charNgramCounts(text, this.#min, this.#max));
  }

  remove(key: DocKey): boolean {
    return this.#index.remove(key);
  }

  /** See LexicalIndex.setHidden. */
  setHidden(key: DocKey, hidden: boolean): boolean {
    return this.#index.setHidden(key, hidden);
  }

  /** The best `limit` topics for `query` by BM25 over n-grams (query n-grams weigh 1 + ln tf). */
  search(query: string, limit = 10, accept?: (key: DocKey) => boolean): LexicalHit[] {
    return this.searchWithCeiling(query, limit, accept).hits;
  }

  /**
   * `search`, plus the ceiling Σ weight·idf over the query n-grams that were not skipped for
   * being too common (n-grams no topic has count, with the highest idf). A hit's score divided by
   * it is its n-gram coverage, in [0, 1] roughly: the share of the query's n-gram information it
   * matches. `options.maxPostings` / `rescore` replace the index's approximation for this query
   * (`maxPostings: Infinity` scores exactly).
   */
  searchWithCeiling(
    query: string,
    limit = 10,
    accept?: (key: DocKey) => boolean,
    options: { maxPostings?: number; rescore?: number; skipHidden?: boolean; only?: readonly DocKey[] } = {},
  ): { hits: LexicalHit[]; ceiling: number } {
    const n = this.#index.size;
    if (n === 0) return { hits: [], ceiling: 0 };
    const maxDf = Math.max(2, Math.floor(this.#maxShare * n));
    const terms = [];
    let ceiling = 0;
    let postings = 0;
    for (const [term, f] of charNgramCounts(query, this.#min, this.#max)) {
      const df = this.#index.documentFrequency(term);
      if (df > maxDf) continue;
      const weight = 1 + Math.log(f);
      ceiling += weight * this.#index.idf(term);
      postings += df;
      if (df > 0) terms.push({ term, weight });
    }
    const maxPostings = options.maxPostings ?? (postings <= this.#exactPostings ? Infinity : this.#maxPostings);
    const rescore = options.rescore ?? this.#rescore;
    return { hits: terms.length === 0 ? [] : this.#index.search(terms, limit, accept, { maxPostings, rescore, skipHidden: options.skipHidden, only: options.only }), ceiling };
  }
}
