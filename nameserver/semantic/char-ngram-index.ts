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
 * on a large catalog. The rest are scored rarest first, within a budget of postings per query
 * (`maxPostings`, 1,000,000, about 8 ms of scanning): a guard for catalogs of a million topics.
 * At 100k synthetic topics a query scans ~300k postings, so the ranking there is exact (a budget
 * of 250,000 changed 5% of the n-gram top 10 for 5% less time; docs/discovery.md).
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
   * Postings one query may scan (rarest n-grams first; see `LexicalSearchOptions.maxPostings`).
   * Bounds the cost of a query on a large catalog; a catalog of a few thousand topics never
   * reaches it. @default DEFAULT_CHAR_NGRAM_MAX_POSTINGS
   */
  maxPostings?: number;
}

export const DEFAULT_CHAR_NGRAM_MIN = 4;
export const DEFAULT_CHAR_NGRAM_MAX = 4;
export const DEFAULT_CHAR_NGRAM_MAX_DOCUMENT_SHARE = 0.2;
export const DEFAULT_CHAR_NGRAM_MAX_POSTINGS = 1_000_000;

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
  readonly #maxPostings: number;
  readonly #index = new LexicalIndex();

  constructor(options: CharNgramOptions = {}) {
    this.#min = options.min ?? DEFAULT_CHAR_NGRAM_MIN;
    this.#max = options.max ?? DEFAULT_CHAR_NGRAM_MAX;
    this.#maxShare = options.maxDocumentShare ?? DEFAULT_CHAR_NGRAM_MAX_DOCUMENT_SHARE;
    this.#maxPostings = options.maxPostings ?? DEFAULT_CHAR_NGRAM_MAX_POSTINGS;
    if (!(this.#maxPostings >= 1)) throw new RangeError(`maxPostings must be >= 1 (got ${String(this.#maxPostings)})`);
    if (!(this.#min >= 1 && this.#max >= this.#min)) throw new RangeError(`need 1 <= min <= max (got ${this.#min}, ${this.#max})`);
    if (!(this.#maxShare > 0 && this.#maxShare <= 1)) throw new RangeError(`maxDocumentShare must be in (0, 1] (got ${String(this.#maxShare)})`);
  }

  get size(): number {
    return this.#index.size;
  }

  /** The postings budget of one query (see `CharNgramOptions.maxPostings`). */
  get maxPostings(): number {
    return this.#maxPostings;
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
   * matches.
   */
  searchWithCeiling(
    query: string,
    limit = 10,
    accept?: (key: DocKey) => boolean,
    options: { maxPostings?: number; skipHidden?: boolean; only?: readonly DocKey[] } = {},
  ): { hits: LexicalHit[]; ceiling: number } {
    const n = this.#index.size;
    if (n === 0) return { hits: [], ceiling: 0 };
    const maxDf = Math.max(2, Math.floor(this.#maxShare * n));
    const terms = [];
    let ceiling = 0;
    for (const [term, f] of charNgramCounts(query, this.#min, this.#max)) {
      const df = this.#index.documentFrequency(term);
      if (df > maxDf) continue;
      const weight = 1 + Math.log(f);
      ceiling += weight * this.#index.idf(term);
      if (df > 0) terms.push({ term, weight });
    }
    const maxPostings = options.maxPostings ?? this.#maxPostings;
    return { hits: terms.length === 0 ? [] : this.#index.search(terms, limit, accept, { maxPostings, skipHidden: options.skipHidden, only: options.only }), ceiling };
  }
}
