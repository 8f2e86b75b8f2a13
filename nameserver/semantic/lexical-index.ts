/**
 * An in-memory inverted index scored with BM25 (Robertson & Zaragoza's Okapi BM25, with the
 * BM25F idea of weighting fields: a term's frequency in a document is the weighted sum of its
 * frequencies in the document's sections, and only then saturated by k1 and normalised by the
 * weighted document length).
 *
 * Documents are keyed by a string (the topic name). Terms come from `analyze()` in
 * text-analysis.ts unless the caller passes already analysed terms. The index is soft state:
 * the catalog rebuilds it from topic documents after a restart.
 */
import { analyze } from './text-analysis.js';

/** Document key: the topic name. */
export type DocKey = string;
/** An analysed (lowercased, stemmed) term. */
export type Term = string;

/** A part of a document, with the weight its term frequencies get (e.g. name 2, examples 0.5). */
export interface WeightedSection {
  text: string;
  weight: number;
}

/** A query term with its weight (1 for the words of the query, less for expansions). */
export interface WeightedTerm {
  term: Term;
  weight: number;
}

export interface LexicalHit {
  key: DocKey;
  /** Raw BM25 score (unbounded, comparable only within one query). */
  score: number;
}

export interface Bm25Options {
  /** Term-frequency saturation. @default 1.2 */
  k1?: number;
  /** Length normalisation strength, 0 (none) to 1 (full). @default 0.75 */
  b?: number;
}

export const DEFAULT_BM25_K1 = 1.2;
export const DEFAULT_BM25_B = 0.75;

interface DocEntry {
  /** Weighted term frequencies. */
  tf: Map<Term, number>;
  /** Weighted length (sum of tf). */
  length: number;
}

export class LexicalIndex {
  readonly #k1: number;
  readonly #b: number;
  readonly #docs = new Map<DocKey, DocEntry>();
  /** term -> keys of the documents containing it (the postings). */
  readonly #postings = new Map<Term, Set<DocKey>>();
  #totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.#k1 = options.k1 ?? DEFAULT_BM25_K1;
    this.#b = options.b ?? DEFAULT_BM25_B;
  }

  get size(): number {
    return this.#docs.size;
  }

  has(key: DocKey): boolean {
    return this.#docs.has(key);
  }

  /** Adds or replaces the document `key`, made of weighted sections of text. */
  upsert(key: DocKey, sections: readonly WeightedSection[]): void {
    const tf = new Map<Term, number>();
    for (const section of sections) {
      if (!(section.weight > 0)) continue;
      for (const term of analyze(section.text)) tf.set(term, (tf.get(term) ?? 0) + section.weight);
    }
    this.upsertTerms(key, tf);
  }

  /** Adds or replaces the document `key` from already weighted term frequencies. */
  upsertTerms(key: DocKey, tf: ReadonlyMap<Term, number>): void {
    this.remove(key);
    let length = 0;
    const own = new Map<Term, number>();
    for (const [term, f] of tf) {
      if (!(f > 0)) continue;
      own.set(term, f);
      length += f;
      let posting = this.#postings.get(term);
      if (!posting) this.#postings.set(term, (posting = new Set()));
      posting.add(key);
    }
    this.#docs.set(key, { tf: own, length });
    this.#totalLength += length;
  }

  /** Removes `key`; returns whether it was present. */
  remove(key: DocKey): boolean {
    const doc = this.#docs.get(key);
    if (!doc) return false;
    for (const term of doc.tf.keys()) {
      const posting = this.#postings.get(term);
      posting?.delete(key);
      if (posting && posting.size === 0) this.#postings.delete(term);
    }
    this.#docs.delete(key);
    this.#totalLength -= doc.length;
    return true;
  }

  /** Number of documents containing `term`. */
  documentFrequency(term: Term): number {
    return this.#postings.get(term)?.size ?? 0;
  }

  /**
   * BM25 inverse document frequency, the "plus one" variant that is never negative:
   * ln(1 + (N - df + 0.5) / (df + 0.5)).
   */
  idf(term: Term): number {
    const n = this.#docs.size;
    const df = this.documentFrequency(term);
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** Analyses `query` into unit-weight terms (repeated words count once per occurrence). */
  static queryTerms(query: string): WeightedTerm[] {
    return analyze(query).map((term) => ({ term, weight: 1 }));
  }

  /**
   * Scores every document sharing a term with the query and returns the best `limit`, highest
   * first; ties go to the smaller key so results are deterministic.
   */
  search(query: string | readonly WeightedTerm[], limit = 10, accept?: (key: DocKey) => boolean): LexicalHit[] {
    const scores = this.scoreAll(query, accept);
    return [...scores.entries()]
      .map(([key, score]) => ({ key, score }))
      .sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, limit);
  }

  /** BM25 score of every document that shares at least one query term. */
  scoreAll(query: string | readonly WeightedTerm[], accept?: (key: DocKey) => boolean): Map<DocKey, number> {
    const terms = typeof query === 'string' ? LexicalIndex.queryTerms(query) : query;
    // Merge repeated terms: a word said twice weighs twice.
    const merged = new Map<Term, number>();
    for (const { term, weight } of terms) merged.set(term, (merged.get(term) ?? 0) + weight);
    const scores = new Map<DocKey, number>();
    const n = this.#docs.size;
    if (n === 0) return scores;
    const avgLength = this.#totalLength / n || 1;
    for (const [term, qWeight] of merged) {
      const posting = this.#postings.get(term);
      if (!posting) continue;
      const idf = this.idf(term);
      for (const key of posting) {
        if (accept && !accept(key)) continue;
        const doc = this.#docs.get(key)!;
        const f = doc.tf.get(term)!;
        const norm = this.#k1 * (1 - this.#b + (this.#b * doc.length) / avgLength);
        const s = qWeight * idf * ((f * (this.#k1 + 1)) / (f + norm));
        scores.set(key, (scores.get(key) ?? 0) + s);
      }
    }
    return scores;
  }
}
