/**
 * An in-memory inverted index scored with BM25 (Robertson & Zaragoza's Okapi BM25, with the
 * BM25F idea of weighting fields: a term's frequency in a document is the weighted sum of its
 * frequencies in the document's sections, and only then saturated by k1 and normalised by the
 * weighted document length).
 *
 * Documents are keyed by a string (the topic name). Terms come from `analyze()` in
 * text-analysis.ts unless the caller passes already analysed terms. The index is soft state:
 * the catalog rebuilds it from topic documents after a restart.
 *
 * Layout, for search at 100k+ documents: every document gets a small integer id (reused after
 * removal); a posting list is a pair of typed arrays (document ids, weighted term frequencies as 32-bit floats);
 * a query accumulates scores term-at-a-time into a preallocated score array and keeps the best
 * `limit` documents in a binary heap. The `accept` filter is asked only about documents that
 * would enter that heap, not about every posting. Nothing is allocated per posting, and nothing
 * is sorted beyond the `limit` results.
 */
import { analyze } from './text-analysis.js';

/**
 * Weighted term frequencies of a document made of sections: each analysed term counts its
 * section's weight (sections with a weight <= 0 are left out). What `upsert` indexes.
 */
export function sectionTermFrequencies(sections: readonly WeightedSection[]): Map<Term, number> {
  const tf = new Map<Term, number>();
  for (const section of sections) {
    if (!(section.weight > 0)) continue;
    for (const term of analyze(section.text)) tf.set(term, (tf.get(term) ?? 0) + section.weight);
  }
  return tf;
}

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

export interface LexicalSearchOptions {
  /**
   * Budget of postings one query may scan. Terms are scored rarest first; once the postings
   * scanned reach the budget, the remaining (more common, lower-idf) terms are left out of the
   * ranking (the classic "quit" strategy of term-at-a-time evaluation, Moffat & Zobel 1996). The
   * rarest term is always scored. @default Infinity (exact BM25)
   */
  maxPostings?: number;
  /**
   * When the budget left terms out: the best `rescore` documents found so far (after the
   * filters) also get the left-out terms' scores, read from their own term lists instead of the
   * long posting lists, so their scores are exact. The results are the best `limit` of them.
   * A document outside them could have ranked higher with every term scored; with `rescore`
   * well above `limit` that is rare (docs/discovery.md, "Search at scale"). Costs about
   * `rescore` × terms per document reads. @default 0 (left-out terms are not scored)
   */
  rescore?: number;
  /**
   * Leave out the documents marked hidden (`setHidden`). A flag per document id, so this costs
   * nothing like an `accept` lookup by key does (a hash lookup and two cache misses per call,
   * ~0.35 µs at 50k documents). @default false
   */
  skipHidden?: boolean;
  /**
   * Search only these documents (keys not indexed are ignored). For a filter that leaves few
   * documents (a selective tag). When their term lists together are shorter than the query's
   * posting lists, each of them is scored from its own term list (exact BM25, whatever
   * `maxPostings` says), so the cost follows the filter, not the catalog: a tag of 2,000 topics
   * costs the same in a catalog of 10k as of 1M. Otherwise the postings are scanned and a flag
   * per document id is checked instead of calling `accept` by key for every document touched.
   */
  only?: readonly DocKey[];
}

export const DEFAULT_BM25_K1 = 1.2;
export const DEFAULT_BM25_B = 0.75;

/** A posting list: parallel arrays of document ids and weighted term frequencies. */
interface Posting {
  ids: Int32Array;
  tfs: Float32Array;
  size: number;
}

function growInt(a: Int32Array, min: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(min, a.length * 2, 4));
  b.set(a);
  return b;
}

function growFloat(a: Float64Array, min: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(Math.max(min, a.length * 2, 4));
  b.set(a);
  return b;
}

function growFloat32(a: Float32Array, min: number): Float32Array<ArrayBuffer> {
  const b = new Float32Array(Math.max(min, a.length * 2, 4));
  b.set(a);
  return b;
}

/** A query term as the scan sees it: its posting list, its weight in the query and its idf. */
interface QueryList {
  termId: number;
  posting: Posting;
  weight: number;
  idf: number;
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class LexicalIndex {
  readonly #k1: number;
  readonly #b: number;
  /** key -> document id. */
  readonly #ids = new Map<DocKey, number>();
  /** id -> key (undefined for a free id). */
  readonly #keys: Array<DocKey | undefined> = [];
  /**
   * id -> the ids of the document's terms (for `remove`) and, in the same order, their weighted
   * frequencies (for `rescore`): bytes when every frequency is an integer 1-255 (n-gram counts,
   * words in sections of integer weight), else float32.
   */
  readonly #terms: Array<Int32Array | undefined> = [];
  readonly #freqs: Array<Uint8Array | Float32Array | undefined> = [];
  /** id -> weighted length (sum of tf). */
  #lengths = new Float64Array(64);
  /** id -> 1 when the document is hidden (`setHidden`). */
  #hidden = new Uint8Array(64);
  /** Per-search scratch for `only`: id -> 1 when the document may be returned. */
  #only = new Uint8Array(64);
  readonly #free: number[] = [];
  /** term -> term id; term id -> posting list (ids of emptied lists are reused). */
  readonly #termIds = new Map<Term, number>();
  readonly #postings: Array<Posting | undefined> = [];
  readonly #termOf: Array<Term | undefined> = [];
  readonly #freeTerms: number[] = [];
  #totalLength = 0;
  /** Per-query scratch: score per id (0 = not touched) and the ids touched. */
  #acc = new Float64Array(64);
  #touched = new Int32Array(64);
  /**
   * Per-query scratch for `rescore`: by term id, the BM25 factor weight·idf·(k1 + 1) of a query
   * term the budget left out (0 otherwise), the same as a bit set, and the ids set. A document's
   * terms are checked against the bit set (an eighth of a byte a term: it stays in cache for a
   * million-term vocabulary, where the factor array would miss on nearly every lookup).
   */
  #leftOut = new Float64Array(64);
  #leftBits = new Int32Array(2);
  readonly #leftIds: number[] = [];

  constructor(options: Bm25Options = {}) {
    this.#k1 = options.k1 ?? DEFAULT_BM25_K1;
    this.#b = options.b ?? DEFAULT_BM25_B;
  }

  get size(): number {
    return this.#ids.size;
  }

  has(key: DocKey): boolean {
    return this.#ids.has(key);
  }

  /** Adds or replaces the document `key`, made of weighted sections of text. */
  upsert(key: DocKey, sections: readonly WeightedSection[]): void {
    this.upsertTerms(key, sectionTermFrequencies(sections));
  }

  /** Adds or replaces the document `key` from already weighted term frequencies. */
  upsertTerms(key: DocKey, tf: ReadonlyMap<Term, number>): void {
    this.remove(key);
    const id = this.#free.pop() ?? this.#keys.length;
    if (id === this.#keys.length) {
      this.#keys.push(undefined);
      this.#terms.push(undefined);
      this.#freqs.push(undefined);
    }
    if (id >= this.#lengths.length) {
      this.#lengths = growFloat(this.#lengths, id + 1);
      const hidden = new Uint8Array(this.#lengths.length);
      hidden.set(this.#hidden);
      this.#hidden = hidden;
      this.#only = new Uint8Array(this.#lengths.length);
      this.#acc = new Float64Array(this.#lengths.length);
      this.#touched = new Int32Array(this.#lengths.length);
    }
    let length = 0;
    const own: number[] = [];
    const freqs: number[] = [];
    let small = true;
    for (const [term, f] of tf) {
      if (!(f > 0)) continue;
      length += f;
      let termId = this.#termIds.get(term);
      if (termId === undefined) {
        termId = this.#freeTerms.pop() ?? this.#postings.length;
        this.#termIds.set(term, termId);
        this.#postings[termId] = { ids: new Int32Array(2), tfs: new Float32Array(2), size: 0 };
        this.#termOf[termId] = term;
      }
      own.push(termId);
      freqs.push(f);
      if (!(Number.isInteger(f) && f <= 255)) small = false;
      const posting = this.#postings[termId]!;
      if (posting.size === posting.ids.length) {
        posting.ids = growInt(posting.ids, posting.size + 1);
        posting.tfs = growFloat32(posting.tfs, posting.size + 1);
      }
      posting.ids[posting.size] = id;
      posting.tfs[posting.size] = f;
      posting.size++;
    }
    this.#ids.set(key, id);
    this.#keys[id] = key;
    this.#hidden[id] = 0;
    this.#terms[id] = Int32Array.from(own);
    this.#freqs[id] = small ? Uint8Array.from(freqs) : Float32Array.from(freqs);
    this.#lengths[id] = length;
    this.#totalLength += length;
  }

  /** Removes `key`; returns whether it was present. */
  remove(key: DocKey): boolean {
    const id = this.#ids.get(key);
    if (id === undefined) return false;
    for (const termId of this.#terms[id]!) {
      const posting = this.#postings[termId]!;
      const at = posting.ids.subarray(0, posting.size).indexOf(id);
      const last = posting.size - 1;
      posting.ids[at] = posting.ids[last]!;
      posting.tfs[at] = posting.tfs[last]!;
      posting.size = last;
      if (last === 0) {
        this.#termIds.delete(this.#termOf[termId]!);
        this.#postings[termId] = undefined;
        this.#termOf[termId] = undefined;
        this.#freeTerms.push(termId);
      }
    }
    this.#totalLength -= this.#lengths[id]!;
    this.#lengths[id] = 0;
    this.#hidden[id] = 0;
    this.#ids.delete(key);
    this.#keys[id] = undefined;
    this.#terms[id] = undefined;
    this.#freqs[id] = undefined;
    this.#free.push(id);
    if (this.#ids.size === 0) this.#totalLength = 0;
    return true;
  }

  /**
   * Marks `key` hidden (or visible again): searches with `skipHidden` leave it out. It still
   * counts in document frequencies and lengths (hiding is not removing). A re-`upsert` makes the
   * document visible. Returns false when `key` is not indexed.
   */
  setHidden(key: DocKey, hidden: boolean): boolean {
    const id = this.#ids.get(key);
    if (id === undefined) return false;
    this.#hidden[id] = hidden ? 1 : 0;
    return true;
  }

  /** Number of documents containing `term`. */
  documentFrequency(term: Term): number {
    const termId = this.#termIds.get(term);
    return termId === undefined ? 0 : this.#postings[termId]!.size;
  }

  /**
   * BM25 inverse document frequency, the "plus one" variant that is never negative:
   * ln(1 + (N - df + 0.5) / (df + 0.5)).
   */
  idf(term: Term): number {
    const n = this.#ids.size;
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
  search(
    query: string | readonly WeightedTerm[],
    limit = 10,
    accept?: (key: DocKey) => boolean,
    options: LexicalSearchOptions = {},
  ): LexicalHit[] {
    if (limit <= 0) return [];
    const lists = this.#resolve(query);
    let onlyIds: number[] | undefined;
    let forward = false;
    if (options.only !== undefined) {
      // A few documents: score them from their term lists when that reads less than the postings.
      // The flags also drop repeated keys; they are cleared in the `finally` below.
      onlyIds = [];
      const flags = this.#only;
      let termReads = 0;
      for (const key of options.only) {
        const id = this.#ids.get(key);
        if (id === undefined || flags[id] === 1) continue;
        flags[id] = 1;
        onlyIds.push(id);
        termReads += this.#terms[id]!.length;
      }
      let postings = 0;
      for (const l of lists) postings += l.posting.size;
      forward = termReads <= postings;
    }
    const touched = forward ? this.#accumulateForward(lists, onlyIds!) : this.#accumulate(lists, options.maxPostings ?? Infinity, (options.rescore ?? 0) > 0);
    // With terms left out by the budget, the heap keeps the best `rescore` candidates, which are
    // then scored on those terms too (see LexicalSearchOptions.rescore).
    const leftIds = this.#leftIds;
    const keep = leftIds.length > 0 ? Math.max(limit, options.rescore ?? 0) : limit;
    const acc = this.#acc;
    const ids = this.#touched;
    const keys = this.#keys;
    const hidden = options.skipHidden ? this.#hidden : undefined;
    const only = onlyIds !== undefined ? this.#only : undefined;
    // Min-heap of the best `limit` (worst at the root): lower score, then larger key, is worse.
    const heap: number[] = [];
    const worse = (a: number, b: number): boolean => acc[a]! < acc[b]! || (acc[a] === acc[b] && keys[a]! > keys[b]!);
    let hits: LexicalHit[];
    try {
      for (let i = 0; i < touched; i++) {
        const id = ids[i]!;
        if (hidden !== undefined && hidden[id] === 1) continue;
        if (only !== undefined && only[id] === 0) continue;
        // Full heap: a document scoring below its worst cannot enter (a plain compare first;
        // `worse` only settles ties).
        if (heap.length === keep && (acc[id]! < acc[heap[0]!]! || !worse(heap[0]!, id))) continue;
        if (accept && !accept(keys[id]!)) continue;
        if (heap.length < keep) {
          heap.push(id);
          for (let c = heap.length - 1; c > 0; ) {
            const p = (c - 1) >> 1;
            if (!worse(heap[c]!, heap[p]!)) break;
            const swap = heap[c]!;
            heap[c] = heap[p]!;
            heap[p] = swap;
            c = p;
          }
        } else {
          heap[0] = id;
          for (let p = 0; ; ) {
            const l = 2 * p + 1;
            const r = l + 1;
            let m = p;
            if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
            if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
            if (m === p) break;
            const swap = heap[m]!;
            heap[m] = heap[p]!;
            heap[p] = swap;
            p = m;
          }
        }
      }
      if (leftIds.length > 0) this.#rescore(heap);
      hits = heap.map((id) => ({ key: keys[id]!, score: acc[id]! }));
    } finally {
      // The scratch arrays are shared by every search: reset them even if `accept` threw.
      for (let i = 0; i < touched; i++) acc[ids[i]!] = 0;
      this.#clearLeftOut();
      if (only !== undefined) for (const id of onlyIds!) only[id] = 0;
    }
    hits.sort((a, b) => b.score - a.score || compareKeys(a.key, b.key));
    if (hits.length > limit) hits.length = limit;
    return hits;
  }

  /**
   * Adds the scores of the terms the budget left out (`#leftOut`) to the documents `ids`, reading
   * each document's own term list: a few hundred entries a document instead of postings that may
   * hold a large share of the catalog.
   */
  #rescore(ids: readonly number[]): void {
    const leftOut = this.#leftOut;
    const bits = this.#leftBits;
    const acc = this.#acc;
    const { c0, c1 } = this.#lengthNorm();
    for (const id of ids) {
      const terms = this.#terms[id]!;
      const freqs = this.#freqs[id]!;
      const length = this.#lengths[id]!;
      let add = 0;
      for (let i = 0; i < terms.length; i++) {
        const t = terms[i]!;
        if (((bits[t >>> 5]! >>> (t & 31)) & 1) === 0) continue;
        const w = leftOut[t]!;
        const f = freqs[i]!;
        add += (w * f) / (f + c0 + c1 * length);
      }
      acc[id]! += add;
    }
  }

  /** BM25 score of every document that shares at least one query term. */
  scoreAll(query: string | readonly WeightedTerm[], accept?: (key: DocKey) => boolean): Map<DocKey, number> {
    const touched = this.#accumulate(this.#resolve(query), Infinity);
    const scores = new Map<DocKey, number>();
    for (let i = 0; i < touched; i++) {
      const id = this.#touched[i]!;
      const key = this.#keys[id]!;
      if (!accept || accept(key)) scores.set(key, this.#acc[id]!);
      this.#acc[id] = 0;
    }
    return scores;
  }

  /** The query's indexed terms with their posting lists; repeated terms merged (a word said twice weighs twice). */
  #resolve(query: string | readonly WeightedTerm[]): QueryList[] {
    const terms = typeof query === 'string' ? LexicalIndex.queryTerms(query) : query;
    if (this.#ids.size === 0) return [];
    const merged = new Map<Term, number>();
    for (const { term, weight } of terms) if (weight > 0) merged.set(term, (merged.get(term) ?? 0) + weight);
    const lists: QueryList[] = [];
    for (const [term, weight] of merged) {
      const termId = this.#termIds.get(term);
      const posting = termId === undefined ? undefined : this.#postings[termId];
      if (posting) lists.push({ termId: termId!, posting, weight, idf: this.idf(term) });
    }
    return lists;
  }

  /**
   * Scores the documents `ids` on every query term from their own term lists (the terms marked
   * in the left-out bit set for the duration, as `#rescore` reads them); lists those scoring
   * above 0 as touched and returns how many.
   */
  #accumulateForward(lists: readonly QueryList[], ids: readonly number[]): number {
    this.#recordLeftOut(lists, this.#k1);
    this.#rescore(ids);
    this.#clearLeftOut();
    const acc = this.#acc;
    const touchedIds = this.#touched;
    let touched = 0;
    for (const id of ids) if (acc[id]! > 0) touchedIds[touched++] = id;
    return touched;
  }

  /**
   * Adds every matching document's BM25 score into the scratch array; returns how many ids were
   * touched (listed in the scratch id array). The caller resets the scores it read to 0.
   */
  #accumulate(lists: QueryList[], maxPostings: number, recordLeftOut = false): number {
    if (lists.length === 0) return 0;
    if (maxPostings < Infinity) lists.sort((a, b) => a.posting.size - b.posting.size);
    const k1 = this.#k1;
    const { c0, c1 } = this.#lengthNorm();
    const acc = this.#acc;
    const lengths = this.#lengths;
    const touchedIds = this.#touched;
    let touched = 0;
    let scanned = 0;
    for (let l = 0; l < lists.length; l++) {
      const { posting, weight, idf } = lists[l]!;
      if (scanned > 0 && scanned + posting.size > maxPostings) {
        if (recordLeftOut) this.#recordLeftOut(lists.slice(l), k1);
        break;
      }
      scanned += posting.size;
      const w = weight * idf * (k1 + 1);
      const { ids, tfs, size } = posting;
      for (let i = 0; i < size; i++) {
        const id = ids[i]!;
        const f = tfs[i]!;
        const s = (w * f) / (f + c0 + c1 * lengths[id]!);
        const before = acc[id]!;
        if (before === 0) touchedIds[touched++] = id;
        acc[id] = before + s;
      }
    }
    return touched;
  }

  /** BM25's length normalisation: a document of weighted length L divides by tf + c0 + c1·L. */
  #lengthNorm(): { c0: number; c1: number } {
    const avgLength = this.#totalLength / this.#ids.size || 1;
    return { c0: this.#k1 * (1 - this.#b), c1: (this.#k1 * this.#b) / avgLength };
  }

  #clearLeftOut(): void {
    for (const termId of this.#leftIds) {
      this.#leftOut[termId] = 0;
      this.#leftBits[termId >>> 5] = 0;
    }
    this.#leftIds.length = 0;
  }

  #recordLeftOut(lists: ReadonlyArray<{ termId: number; weight: number; idf: number }>, k1: number): void {
    if (this.#leftOut.length < this.#postings.length) {
      this.#leftOut = new Float64Array(Math.max(this.#postings.length, this.#leftOut.length * 2));
      this.#leftBits = new Int32Array((this.#leftOut.length >>> 5) + 1);
    }
    for (const { termId, weight, idf } of lists) {
      this.#leftOut[termId] = weight * idf * (k1 + 1);
      this.#leftBits[termId >>> 5]! |= 1 << (termId & 31);
      this.#leftIds.push(termId);
    }
  }
}
