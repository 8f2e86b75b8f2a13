/**
 * The thesaurus ranker: the fourth ranker of the hybrid search with the offline (lexical)
 * embedder. It matches a query to a topic through words that mean the same or nearly the same
 * thing, using a general-English thesaurus (thesaurus.ts), not the catalog: "nudge me when I get
 * to the supermarket" finds *reminders*, whose description says "remind", "store", "location".
 *
 * Model (second-order co-occurrence, as in explicit semantic analysis): a term t stands for a
 * vector over the thesaurus's terms,
 *
 *   v(t) = g(t)·e_t + α/√deg(t) · Σ_{r related to t} g(r)·e_r,    g(x) = ln(1 + N / (1 + deg(x)))
 *
 * (N terms in the thesaurus, deg = number of related terms; g is an idf over the thesaurus, so
 * "get" with its hundreds of relatives counts little). A text is Σ w(t)·v(t) with the catalog's
 * tf-idf weights w(t) = (1 + ln tf)·idf(t). A topic's score x is the dot product of the query's
 * and the topic's vectors over the query vector's norm and the topic's tf-idf norm (cheaper than
 * the topic vector's norm, and as good on both data sets), reported as x / (1 + x). Terms the
 * thesaurus does not know (product names, other languages) keep their own dimension only.
 *
 * A term stands for at most `maxRelated` relatives (the first of its thesaurus row: closest
 * synonyms, then the most specific terms), which bounds what one common word can pull in.
 *
 * Cost: per query, the query vector qv is built (dense over the thesaurus ids, ~41k doubles) and
 * pushed once through the inverse of the capped rows, s[t] = Σ_{r ∈ R'(t)} g(r)·qv[r], so that a
 * topic term's dot product with the query is g(t)·qv[t] + α/√deg(t)·s[t], O(1). The work of a
 * query depends on the query's terms, not on the catalog's vocabulary; only the touched entries
 * are reset. A topic is scored by walking its terms. Catalogs up to `fullScanMax` topics are
 * scored whole; larger ones only over the candidates the caller passes.
 *
 * Trust: the ranker's fusion weight is scaled per query by the square of the share of the
 * query's idf mass that the thesaurus knows, so a Spanish or Japanese query (whose words the
 * English thesaurus does not know) is left to the other rankers.
 */
import type { Thesaurus } from './thesaurus.js';

export interface ThesaurusRankerOptions {
  /** Weight α of a term's related terms against the term itself. @default 1 */
  relatedWeight?: number;
  /** Catalogs up to this many topics are scored whole; larger ones over candidates. @default 2000 */
  fullScanMax?: number;
  /**
   * A term stands for at most this many related terms, its most specific ones (fewest relatives
   * of their own). Bounds the cost of a term with hundreds of relatives. @default DEFAULT_THESAURUS_MAX_RELATED
   */
  maxRelated?: number;
}

export const DEFAULT_THESAURUS_RELATED_WEIGHT = 1;
export const DEFAULT_THESAURUS_FULL_SCAN_MAX = 2000;
export const DEFAULT_THESAURUS_MAX_RELATED = 150;

export interface ThesaurusHit {
  key: string;
  /** Similarity in [0, 1): x / (1 + x) of the dot product over the two norms (see `search`). */
  similarity: number;
}

export interface ThesaurusQuery {
  hits: ThesaurusHit[];
  /** Share of the query's idf mass the thesaurus knows, in [0, 1]. */
  known: number;
}

/** One topic: its distinct analysed terms (interned ids) and their damped frequencies 1 + ln tf. */
interface TopicTerms {
  terms: Int32Array;
  logTfs: Float32Array;
}

const logTf = (tf: number): number => (tf >= 1 ? 1 + Math.log(tf) : tf);

/**
 * What a ranker derives from the thesaurus, shared by every ranker with the same thesaurus,
 * `maxRelated` and α (a catalog rebuild does not redo it):
 *
 *   g[id]            ln(1 + N / (1 + deg)), deg = min(degree, maxRelated)
 *   scale[id]        α / √deg (0 without relatives)
 *   invOffsets/inv   the inverse of the capped rows: inv[invOffsets[r] .. invOffsets[r+1]) are
 *                    the terms t whose first `maxRelated` relatives include r
 */
interface Derived {
  g: Float64Array;
  scale: Float64Array;
  invOffsets: Uint32Array;
  inv: Int32Array;
}

const derivedCache = new WeakMap<Thesaurus, Map<string, Derived>>();

function derive(th: Thesaurus, maxRelated: number, alpha: number): Derived {
  let byKey = derivedCache.get(th);
  if (!byKey) derivedCache.set(th, (byKey = new Map()));
  const key = `${maxRelated}:${alpha}`;
  const hit = byKey.get(key);
  if (hit) return hit;
  const n = th.size;
  const g = new Float64Array(n);
  const scale = new Float64Array(n);
  const counts = new Uint32Array(n + 1);
  for (let id = 0; id < n; id++) {
    const row = th.neighbours(id);
    const deg = Math.min(row.length, maxRelated);
    g[id] = Math.log(1 + n / (1 + deg));
    scale[id] = deg > 0 ? alpha / Math.sqrt(deg) : 0;
    for (let j = 0; j < deg; j++) counts[row[j]! + 1]!++;
  }
  for (let i = 0; i < n; i++) counts[i + 1]! += counts[i]!;
  const inv = new Int32Array(counts[n]!);
  const fill = counts.slice(0, n);
  for (let id = 0; id < n; id++) {
    const row = th.neighbours(id);
    const deg = Math.min(row.length, maxRelated);
    for (let j = 0; j < deg; j++) inv[fill[row[j]!]!++] = id;
  }
  const d: Derived = { g, scale, invOffsets: counts, inv };
  byKey.set(key, d);
  return d;
}

export class ThesaurusRanker {
  readonly #thesaurus: Thesaurus;
  readonly #alpha: number;
  readonly #fullScanMax: number;
  readonly #maxRelated: number;
  /**
   * Interned analysed terms of the topics: term -> id, id -> term, id -> thesaurus id (-1:
   * unknown). Ids are never freed: the table grows with the vocabulary ever registered, not
   * with the topics (a catalog's vocabulary levels off).
   */
  readonly #termIds = new Map<string, number>();
  readonly #termOf: string[] = [];
  #thesaurusIdOf = new Int32Array(1024);
  /** Per thesaurus id: g(id), α / √deg(id) (0 without related terms), the inverse rows. */
  readonly #g: Float64Array;
  readonly #relatedScale: Float64Array;
  readonly #invOffsets: Uint32Array;
  readonly #inv: Int32Array;
  /** g of a term the thesaurus does not know (degree 0). */
  readonly #gUnknown: number;
  /** Per-query caches over topic term ids, valid where `#stamp[id] === #query`. */
  #stamp = new Int32Array(1024);
  #dotCache = new Float64Array(1024);
  #idfCache = new Float64Array(1024);
  #query = 0;
  /** Number of topics holding each term id (the catalog's document frequency). */
  #df = new Int32Array(1024);
  readonly #topics = new Map<string, TopicTerms>();
  /**
   * Per query, over thesaurus ids: the query vector qv and the entries it touched, and
   * s[t] = Σ_{r among t's relatives} g(r)·qv[r] (pushed from qv through the inverse rows) and the
   * entries it touched. Reset after each query.
   */
  #qv: Float64Array;
  /** Ids set in #qv during a query (preallocated: a query touches thousands, allocating nothing). */
  #touched: IdList;
  #s: Float64Array;
  /** Ids set in #s during a query. */
  #sTouched: IdList;

  constructor(thesaurus: Thesaurus, options: ThesaurusRankerOptions = {}) {
    this.#thesaurus = thesaurus;
    this.#alpha = options.relatedWeight ?? DEFAULT_THESAURUS_RELATED_WEIGHT;
    this.#fullScanMax = options.fullScanMax ?? DEFAULT_THESAURUS_FULL_SCAN_MAX;
    this.#maxRelated = options.maxRelated ?? DEFAULT_THESAURUS_MAX_RELATED;
    if (!(this.#maxRelated >= 0)) throw new RangeError(`maxRelated must be >= 0 (got ${String(this.#maxRelated)})`);
    if (!(this.#alpha >= 0) || !Number.isFinite(this.#alpha)) throw new RangeError(`relatedWeight must be a finite number >= 0 (got ${String(this.#alpha)})`);
    if (!(this.#fullScanMax >= 0)) throw new RangeError(`fullScanMax must be >= 0 (got ${String(this.#fullScanMax)})`);
    this.#qv = new Float64Array(thesaurus.size);
    this.#s = new Float64Array(thesaurus.size);
    this.#touched = new IdList(thesaurus.size);
    this.#sTouched = new IdList(thesaurus.size);
    const d = derive(thesaurus, this.#maxRelated, this.#alpha);
    this.#g = d.g;
    this.#relatedScale = d.scale;
    this.#invOffsets = d.invOffsets;
    this.#inv = d.inv;
    this.#gUnknown = Math.log(1 + thesaurus.size);
  }

  get size(): number {
    return this.#topics.size;
  }

  /** True when the catalog is small enough to be scored whole (no candidates needed). */
  get scansAll(): boolean {
    return this.#topics.size <= this.#fullScanMax;
  }

  /** Indexes (or re-indexes) a topic from its analysed terms and weighted term frequencies. */
  upsert(key: string, tf: ReadonlyMap<string, number>): void {
    this.remove(key);
    const terms = new Int32Array(tf.size);
    const logTfs = new Float32Array(tf.size);
    let i = 0;
    for (const [term, f] of tf) {
      let id = this.#termIds.get(term);
      if (id === undefined) {
        id = this.#termOf.length;
        this.#termIds.set(term, id);
        this.#termOf.push(term);
        if (id >= this.#thesaurusIdOf.length) this.#grow(id + 1);
        this.#thesaurusIdOf[id] = this.#thesaurus.id(term) ?? -1;
      }
      terms[i] = id;
      this.#df[id]!++;
      logTfs[i++] = logTf(f);
    }
    this.#topics.set(key, { terms, logTfs });
  }

  remove(key: string): boolean {
    const topic = this.#topics.get(key);
    if (!topic) return false;
    for (const id of topic.terms) this.#df[id]!--;
    return this.#topics.delete(key);
  }

  /** Catalog idf of a term id: ln(1 + (n + 1) / (1 + df)), n = topics indexed. */
  #idf(df: number): number {
    return Math.log(1 + (this.#topics.size + 1) / (1 + df));
  }

  #grow(min: number): void {
    let size = this.#thesaurusIdOf.length;
    while (size < min) size *= 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.#thesaurusIdOf = grow(this.#thesaurusIdOf, (n) => new Int32Array(n));
    this.#stamp = grow(this.#stamp, (n) => new Int32Array(n));
    this.#dotCache = grow(this.#dotCache, (n) => new Float64Array(n));
    this.#idfCache = grow(this.#idfCache, (n) => new Float64Array(n));
    this.#df = grow(this.#df, (n) => new Int32Array(n));
  }

  /**
   * The closest relatives of the query's terms that some topic uses (the first `perTerm` of each
   * term's row), for a BM25 search that finds candidates on a catalog too large to score whole:
   * without it, a topic that shares no word with the query could not be a candidate there. The
   * query's own terms are left out (the word ranking has searched them already).
   */
  expansion(queryTerms: readonly string[], perTerm: number): Array<{ term: string; weight: number }> {
    const th = this.#thesaurus;
    const own = new Set(queryTerms);
    const weights = new Map<string, number>();
    for (const term of own) {
      const id = th.id(term);
      if (id === undefined) continue;
      const related = this.#related(id);
      let taken = 0;
      for (let j = 0; j < related.length && taken < perTerm; j++) {
        const r = th.term(related[j]!);
        const termId = this.#termIds.get(r);
        if (own.has(r) || termId === undefined || this.#df[termId] === 0) continue;
        taken++;
        weights.set(r, 1);
      }
    }
    return [...weights].map(([term, weight]) => ({ term, weight }));
  }

  /**
   * Ranks topics for a query's analysed terms (repeats count): every topic when the catalog has
   * at most `fullScanMax` topics, otherwise the `candidates`. Answers no hits, without scoring,
   * when neither the thesaurus nor any topic knows any of the query's terms.
   */
  search(queryTerms: readonly string[], limit: number, candidates: Iterable<string>, accept?: (key: string) => boolean): ThesaurusQuery {
    const th = this.#thesaurus;
    const qv = this.#qv;
    /** Query weight on topic terms the thesaurus does not know (their own dimension only), by term id. */
    const outside = new Map<number, number>();
    /** Norm² of the query's weight on terms neither the thesaurus nor any topic knows. */
    let strangers2 = 0;
    const g = this.#g;
    const scale = this.#relatedScale;
    let knownMass = 0;
    let mass = 0;
    const counts = new Map<string, number>();
    for (const t of queryTerms) counts.set(t, (counts.get(t) ?? 0) + 1);
    try {
      for (const [term, count] of counts) {
        const termId = this.#termIds.get(term);
        const qIdf = this.#idf(termId === undefined ? 0 : this.#df[termId]!);
        const w = logTf(count) * qIdf;
        mass += qIdf;
        const id = th.id(term);
        if (id === undefined) {
          const x = w * this.#gUnknown;
          if (termId === undefined) strangers2 += x * x;
          else outside.set(termId, (outside.get(termId) ?? 0) + x);
          continue;
        }
        knownMass += qIdf;
        this.#addTo(id, w * g[id]!);
        const rw = w * this.#relatedScale[id]!;
        if (rw === 0) continue;
        const related = this.#related(id);
        for (let j = 0; j < related.length; j++) this.#addTo(related[j]!, rw * g[related[j]!]!);
      }
      const known = mass > 0 ? knownMass / mass : 0;
      // Nothing the thesaurus knows: the topics' own words still give a similarity (for the score;
      // the fusion weight is 0 then). Nothing anyone knows: no hits.
      if (known === 0 && outside.size === 0) return { hits: [], known };
      let qNorm2 = strangers2;
      const touched = this.#touched;
      for (let i = 0; i < touched.length; i++) {
        const id = touched.ids[i]!;
        qNorm2 += qv[id]! * qv[id]!;
      }
      for (const w of outside.values()) qNorm2 += w * w;
      const qNorm = Math.sqrt(qNorm2);

      // Dot product of one topic term's vector with the query vector, and the term's idf, cached
      // for this query (valid where stamp === query).
      if (this.#query === 0x7fffffff) {
        this.#query = 0;
        this.#stamp.fill(0);
      }
      const query0 = ++this.#query;
      const stamp = this.#stamp;
      const dots = this.#dotCache;
      const idfs = this.#idfCache;
      const thesaurusIdOf = this.#thesaurusIdOf;
      const df = this.#df;
      // Push qv through the inverse rows once: s[t] = Σ_{r ∈ R'(t)} g(r)·qv[r]. The cost depends
      // on the query only, not on how many topics or distinct terms the catalog has.
      const sv = this.#s;
      const inv = this.#inv;
      const invOffsets = this.#invOffsets;
      const sTouched = this.#sTouched;
      for (let i = 0; i < touched.length; i++) {
        const r = touched.ids[i]!;
        const val = g[r]! * qv[r]!;
        for (let j = invOffsets[r]!, end = invOffsets[r + 1]!; j < end; j++) {
          const t = inv[j]!;
          if (sv[t] === 0) sTouched.push(t);
          sv[t]! += val;
        }
      }
      const fill = (termId: number): void => {
        stamp[termId] = query0;
        idfs[termId] = this.#idf(df[termId]!);
        const id = thesaurusIdOf[termId]!;
        dots[termId] = id < 0 ? (outside.get(termId) ?? 0) * this.#gUnknown : qv[id]! * g[id]! + scale[id]! * sv[id]!;
      };

      const hits: ThesaurusHit[] = [];
      const score = (key: string, topic: TopicTerms): void => {
        let dot = 0;
        let norm2 = 0;
        const terms = topic.terms;
        const logTfs = topic.logTfs;
        for (let i = 0; i < terms.length; i++) {
          const id = terms[i]!;
          if (stamp[id] !== query0) fill(id);
          const w = logTfs[i]! * idfs[id]!;
          norm2 += w * w;
          dot += w * dots[id]!;
        }
        if (dot > 0 && norm2 > 0) hits.push({ key, similarity: dot / (qNorm * Math.sqrt(norm2)) });
      };
      if (this.scansAll) {
        for (const [key, topic] of this.#topics) if (!accept || accept(key)) score(key, topic);
      } else {
        for (const key of candidates) {
          const topic = this.#topics.get(key);
          if (topic && (!accept || accept(key))) score(key, topic);
        }
      }
      hits.sort((a, b) => b.similarity - a.similarity || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      if (hits.length > limit) hits.length = limit;
      // The topic's tf-idf norm stands in for its vector's norm (which would cost a pass over
      // every related term of every topic term), so the ratio is unbounded: x / (1 + x) maps it
      // to [0, 1) without changing the order.
      for (const h of hits) h.similarity = h.similarity / (1 + h.similarity);
      return { hits, known };
    } finally {
      this.#touched.clear(qv);
      this.#sTouched.clear(this.#s);
    }
  }

  /** The related terms a term stands for: the first `maxRelated` of its row (closest first). */
  #related(id: number): Int32Array {
    const all = this.#thesaurus.neighbours(id);
    return all.length > this.#maxRelated ? all.subarray(0, this.#maxRelated) : all;
  }

  #addTo(id: number, x: number): void {
    if (x === 0) return;
    if (this.#qv[id] === 0) this.#touched.push(id);
    this.#qv[id]! += x;
  }
}

/**
 * The ids set in a scratch array during one query, to reset exactly those afterwards: a typed
 * array with room for every id, so recording thousands of them allocates nothing (a growing
 * JavaScript array did, ~0.4 MB a query, and the garbage collections it caused set the p99).
 */
class IdList {
  readonly ids: Int32Array;
  length = 0;
  /** An id was recorded twice (its value went back to 0 and up again): reset by a full fill. */
  #overflow = false;

  constructor(capacity: number) {
    this.ids = new Int32Array(capacity);
  }

  push(id: number): void {
    if (this.length < this.ids.length) this.ids[this.length++] = id;
    else this.#overflow = true;
  }

  /** Zeroes the recorded ids in `values`, and forgets them. */
  clear(values: Float64Array): void {
    if (this.#overflow) values.fill(0);
    else for (let i = 0; i < this.length; i++) values[this.ids[i]!] = 0;
    this.length = 0;
    this.#overflow = false;
  }
}
