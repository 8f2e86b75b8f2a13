/**
 * The fast paths of discovery search (issue 5, benchmarks): BM25 over typed-array postings with
 * a top-k heap must score exactly like textbook BM25; the postings budget of the n-gram ranker
 * drops only the most common terms; selective tag filters search exactly over the tagged topics
 * and must rank like the filtered walk they replace.
 */
import { describe, expect, it } from 'vitest';
import { CharNgramIndex, DEFAULT_CHAR_NGRAM_RESCORE } from '../../../nameserver/semantic/char-ngram-index.js';
import { LexicalEmbedder } from '../../../nameserver/semantic/embedder.js';
import { DEFAULT_GRAPHLESS_PREFILTER_MAX, DEFAULT_PREFILTER_WORK, HybridSearch } from '../../../nameserver/semantic/hybrid-search.js';
import { LexicalIndex } from '../../../nameserver/semantic/lexical-index.js';
import { embeddingText, validateTopicDocument } from '../../../nameserver/semantic/topic-document.js';
import { VectorIndex } from '../../../nameserver/semantic/vector-index.js';

/** mulberry32 */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Documents d0…d{docs-1} over words w0…w{words-1}, skewed so that low-numbered words are common.
 * Every `fractionalEvery`-th document has fractional frequencies (the float32 path), the others
 * whole ones (bytes).
 */
function skewedIndex(o: { seed: number; docs: number; words: number; termsPerDoc: number; fractionalEvery: number }): LexicalIndex {
  const random = rng(o.seed);
  const idx = new LexicalIndex();
  for (let d = 0; d < o.docs; d++) {
    const tf = new Map<string, number>();
    for (let k = 0; k < o.termsPerDoc; k++) {
      const w = `w${Math.floor(random() ** 2 * o.words)}`;
      tf.set(w, (tf.get(w) ?? 0) + (d % o.fractionalEvery === 0 ? 0.5 : 1));
    }
    idx.upsertTerms(`d${d}`, tf);
  }
  return idx;
}

/** Textbook BM25 over term-frequency maps (the reference the index must match). */
function referenceBm25(docs: Map<string, Map<string, number>>, query: string[], k1 = 1.2, b = 0.75): Array<{ key: string; score: number }> {
  const n = docs.size;
  const avg = [...docs.values()].reduce((s, d) => s + [...d.values()].reduce((a, x) => a + x, 0), 0) / n;
  const q = new Map<string, number>();
  for (const t of query) q.set(t, (q.get(t) ?? 0) + 1);
  const out: Array<{ key: string; score: number }> = [];
  for (const [key, tf] of docs) {
    const len = [...tf.values()].reduce((a, x) => a + x, 0);
    let s = 0;
    for (const [t, w] of q) {
      const f = tf.get(t) ?? 0;
      if (f === 0) continue;
      const df = [...docs.values()].filter((d) => d.has(t)).length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      s += w * idf * ((f * (k1 + 1)) / (f + k1 * (1 - b + (b * len) / avg)));
    }
    if (s > 0) out.push({ key, score: s });
  }
  return out.sort((x, y) => y.score - x.score || (x.key < y.key ? -1 : 1));
}

describe('BM25 fast path', () => {
  it('search performance - typed-array BM25 matches textbook BM25 through upserts, updates and removals', () => {
    const rand = rng(7);
    const vocab = Array.from({ length: 40 }, (_, i) => `term${i}`);
    const pick = () => vocab[Math.floor(Math.pow(rand(), 2) * vocab.length)]!; // skewed: short and long postings
    const idx = new LexicalIndex();
    const ref = new Map<string, Map<string, number>>();
    const put = (key: string) => {
      const tf = new Map<string, number>();
      for (let i = 0; i < 3 + Math.floor(rand() * 12); i++) {
        const t = pick();
        tf.set(t, (tf.get(t) ?? 0) + (rand() < 0.3 ? 2 : 1));
      }
      idx.upsertTerms(key, tf);
      ref.set(key, tf);
    };
    for (let i = 0; i < 150; i++) put(`doc${i}`);
    for (let i = 0; i < 60; i++) {
      const key = `doc${Math.floor(rand() * 150)}`;
      if (rand() < 0.5) {
        expect(idx.remove(key)).toBe(ref.delete(key));
      } else put(key); // update, or re-add into a freed id
    }
    expect(idx.size).toBe(ref.size);
    for (let q = 0; q < 40; q++) {
      const query = Array.from({ length: 1 + Math.floor(rand() * 5) }, pick);
      const want = referenceBm25(ref, query);
      const got = idx.search(query.map((term) => ({ term, weight: 1 })), 15);
      expect(got.map((h) => h.key)).toEqual(want.slice(0, 15).map((h) => h.key));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 9));
      const all = idx.scoreAll(query.map((term) => ({ term, weight: 1 })));
      expect(all.size).toBe(want.length);
      // Filtered: the best 5 accepted documents, as if only they existed in the ranking.
      const even = (k: string) => Number(k.slice(3)) % 2 === 0;
      expect(idx.search(query.map((term) => ({ term, weight: 1 })), 5, even).map((h) => h.key)).toEqual(
        want.filter((h) => even(h.key)).slice(0, 5).map((h) => h.key),
      );
    }
    for (const key of [...ref.keys()]) idx.remove(key);
    expect(idx.size).toBe(0);
    expect(idx.documentFrequency('term0')).toBe(0);
    expect(idx.search('term0')).toEqual([]);
  });

  it('search performance - the postings budget scores the rarest terms first and drops the common ones', () => {
    const idx = new LexicalIndex();
    for (let i = 0; i < 50; i++) idx.upsertTerms(`common${i}`, new Map([['common', 1]]));
    idx.upsertTerms('rare', new Map([['rare', 1], ['common', 1]]));
    const q = [
      { term: 'common', weight: 1 },
      { term: 'rare', weight: 1 },
    ];
    expect(idx.search(q, 100)).toHaveLength(51);
    // Budget 10: "rare" (1 posting) is scored, "common" (51 postings) would exceed it.
    const budgeted = idx.search(q, 100, undefined, { maxPostings: 10 });
    expect(budgeted.map((h) => h.key)).toEqual(['rare']);
    // The rarest term is scored even when it alone exceeds the budget.
    expect(idx.search([{ term: 'common', weight: 1 }], 100, undefined, { maxPostings: 1 })).toHaveLength(51);
  });

  it('search performance - rescoring gives the kept candidates their exact scores on the terms the budget left out', () => {
    const idx = skewedIndex({ seed: 7, docs: 300, words: 40, termsPerDoc: 12, fractionalEvery: 3 });
    // Removal and id reuse must keep each document's term list and frequencies in step.
    for (let d = 0; d < 300; d += 7) idx.remove(`d${d}`);
    idx.upsertTerms('d0', new Map([['w0', 3], ['w39', 1.5]]));
    const q = ['w0', 'w1', 'w2', 'w25', 'w39'].map((term) => ({ term, weight: 1 }));
    const exact = idx.search(q, 300);
    const exactScore = new Map(exact.map((h) => [h.key, h.score]));
    const budget = { maxPostings: 30 };
    const dropped = idx.search(q, 10, undefined, budget);
    const rescored = idx.search(q, 10, undefined, { ...budget, rescore: 50 });
    // The budget alone changes the top 10; rescoring the best 50 restores it here.
    expect(dropped.map((h) => h.key)).not.toEqual(exact.slice(0, 10).map((h) => h.key));
    expect(rescored.map((h) => h.key)).toEqual(exact.slice(0, 10).map((h) => h.key));
    for (const h of rescored) expect(h.score).toBeCloseTo(exactScore.get(h.key)!, 9);
    // Everything rescored: every returned score is exact, and `limit` still holds.
    const all = idx.search(q, 5, undefined, { ...budget, rescore: 1000 });
    expect(all).toHaveLength(5);
    for (const h of all) expect(h.score).toBeCloseTo(exactScore.get(h.key)!, 9);
    // A filter applies before the candidates are kept. (Only documents holding a scanned term are
    // candidates: one that holds none of them is not found, with or without rescoring.)
    const odd = idx.search(q, 10, (key) => Number(key.slice(1)) % 2 === 1, { ...budget, rescore: 1000 });
    expect(odd).toHaveLength(10);
    for (const h of odd) {
      expect(Number(h.key.slice(1)) % 2).toBe(1);
      expect(h.score).toBeCloseTo(exactScore.get(h.key)!, 9);
    }
    expect(odd.map((h) => h.score)).toEqual([...odd.map((h) => h.score)].sort((a, b) => b - a));
    // Without a budget there is nothing to rescore: same as exact.
    expect(idx.search(q, 10, undefined, { rescore: 50 })).toEqual(exact.slice(0, 10));
    // The scratch state is reset between searches, also when `accept` throws part way through a
    // rescoring search.
    expect(idx.search(q, 300)).toEqual(exact);
    let calls = 0;
    const throwing = (): boolean => {
      if (++calls === 3) throw new Error('boom');
      return true;
    };
    expect(() => idx.search(q, 10, throwing, { ...budget, rescore: 50 })).toThrow('boom');
    expect(idx.search(q, 300)).toEqual(exact);
    expect(idx.search(q, 10, undefined, { ...budget, rescore: 50 })).toEqual(rescored);
  });

  it('search performance - the n-gram index applies its postings budget and validates it', () => {
    const idx = new CharNgramIndex({ exactPostings: 0, maxPostings: 1 });
    idx.upsert('a', 'subtitles for videos');
    idx.upsert('b', 'subtitles and captions');
    expect(idx.approximation).toEqual({ exactPostings: 0, maxPostings: 1, rescore: DEFAULT_CHAR_NGRAM_RESCORE });
    expect(idx.searchWithCeiling('subtitles', 10, undefined, { maxPostings: Infinity }).hits).toHaveLength(2);
    // The rarest n-gram of "subtitles" is in both topics here, so both still come back.
    expect(idx.search('subtitles').length).toBeGreaterThan(0);
    expect(() => new CharNgramIndex({ maxPostings: 0 })).toThrow(RangeError);
    expect(() => new CharNgramIndex({ exactPostings: -1 })).toThrow(/exactPostings/);
    expect(() => new CharNgramIndex({ rescore: 1.5 })).toThrow(/rescore/);
  });

  it('search performance - the n-gram index scores small queries exactly and approximates large ones, rescoring the best topics', () => {
    const random = rng(11);
    const syllables = ['tra', 'dex', 'mon', 'vil', 'sor', 'kep', 'lun', 'gar', 'fen', 'bro', 'qui', 'zel'];
    const word = () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => syllables[Math.floor(random() ** 2 * syllables.length)]).join('');
    const texts = Array.from({ length: 400 }, () => Array.from({ length: 15 }, word).join(' '));
    const exactIndex = new CharNgramIndex({ exactPostings: Infinity });
    const plainBudget = new CharNgramIndex({ exactPostings: 0, maxPostings: 400, rescore: 0 });
    const rescored = new CharNgramIndex({ exactPostings: 0, maxPostings: 400, rescore: 200 });
    const large = new CharNgramIndex({ exactPostings: 1_000_000_000, maxPostings: 400, rescore: 200 });
    texts.forEach((t, i) => [exactIndex, plainBudget, rescored, large].forEach((x) => x.upsert(`t${i}`, t)));
    let plainOverlap = 0;
    let rescoredOverlap = 0;
    for (let q = 0; q < 20; q++) {
      const query = texts[q * 7]!.split(' ').slice(0, 6).join(' ');
      const exact = exactIndex.search(query, 10).map((h) => h.key);
      const overlap = (hits: Array<{ key: string }>) => hits.filter((h) => exact.includes(h.key)).length / exact.length;
      plainOverlap += overlap(plainBudget.search(query, 10));
      rescoredOverlap += overlap(rescored.search(query, 10));
      // Under its exactPostings a query is exact, whatever the budget.
      expect(large.search(query, 10).map((h) => h.key)).toEqual(exact);
      // A per-search maxPostings of Infinity is exact too.
      expect(rescored.searchWithCeiling(query, 10, undefined, { maxPostings: Infinity }).hits.map((h) => h.key)).toEqual(exact);
    }
    expect(rescoredOverlap / 20).toBeGreaterThan(plainOverlap / 20);
    expect(rescoredOverlap / 20).toBeGreaterThanOrEqual(0.9);
  });
});

describe('exact search for selective filters', () => {
  it('search performance - VectorIndex.searchAmong is exact cosine over the given keys', () => {
    const rand = rng(3);
    const idx = new VectorIndex({ dimensions: 8 });
    const vecs = new Map<string, number[]>();
    for (let i = 0; i < 60; i++) {
      const v = Array.from({ length: 8 }, () => rand() - 0.5);
      vecs.set(`v${i}`, v);
      idx.upsert(`v${i}`, v);
    }
    const q = Array.from({ length: 8 }, () => rand() - 0.5);
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0) / (norm(a) * norm(b));
    const among = ['v1', 'v5', 'v9', 'v20', 'v33', 'nope'];
    const want = among
      .filter((k) => vecs.has(k))
      .map((k) => ({ key: k, similarity: cos(vecs.get(k)!, q) }))
      .sort((a, b) => b.similarity - a.similarity);
    const got = idx.searchAmong(q, among, 3);
    expect(got.map((h) => h.key)).toEqual(want.slice(0, 3).map((h) => h.key));
    got.forEach((h, i) => expect(h.similarity).toBeCloseTo(want[i]!.similarity, 5));
    // A per-search efSearch is accepted and still returns the exact neighbours on a small index.
    expect(idx.search(q, 5, undefined, { efSearch: 10 }).map((h) => h.key)).toEqual(
      [...vecs.entries()].map(([key, v]) => ({ key, s: cos(v, q) })).sort((a, b) => b.s - a.s).slice(0, 5).map((x) => x.key),
    );
  });

  it('search performance - a tag filter ranks the same through the exact path and the filtered walk, and follows tag changes', async () => {
    const topics = Array.from({ length: 40 }, (_, i) =>
      validateTopicDocument({
        name: `topic-${i}`,
        description: `Handles ${['invoices', 'receipts', 'contracts', 'tickets'][i % 4]} for team ${i} with ${['ocr', 'summaries', 'alerts'][i % 3]}`,
        tags: [`group-${i % 5}`, i % 2 ? 'odd' : 'even'],
        skills: [{ id: 's', name: 'Skill', description: `Process ${['invoices', 'receipts'][i % 2]}`, tags: [i % 7 === 0 ? 'Special' : 'plain'] }],
      }),
    );
    const exact = new HybridSearch(new LexicalEmbedder());
    const walk = new HybridSearch(new LexicalEmbedder(), { prefilterMax: 0 });
    await exact.upsertMany(topics);
    await walk.upsertMany(topics);
    for (const filters of [{ tags: ['group-2'] }, { tags: ['GROUP-1', 'odd'] }, { anyTags: ['special', 'group-3'] }, { tags: ['special'], attributes: { missing: 'x' } }]) {
      for (const q of ['process invoices with ocr', 'contracts alerts', 'receipts']) {
        const a = await exact.search(q, { filters, minScore: 0, topK: 10 });
        const b = await walk.search(q, { filters, minScore: 0, topK: 10 });
        expect(a.hits.map((h) => h.name)).toEqual(b.hits.map((h) => h.name));
        // hnswlib computes the cosine in float32, the exact path in float64.
        a.hits.forEach((h, i) => expect(h.score).toBeCloseTo(b.hits[i]!.score, 6));
      }
    }
    expect((await exact.search('invoices', { filters: { tags: ['no-such-tag'] } })).hits).toEqual([]);
    // Hidden topics stay out of both paths (the BM25 rankers take the tag as `only` either way).
    for (const h of [exact, walk]) h.setHidden('topic-2', true);
    for (const h of [exact, walk]) {
      const names = (await h.search('process invoices with ocr', { filters: { tags: ['group-2'] }, minScore: 0, topK: 10 })).hits.map((x) => x.name);
      expect(names.length).toBeGreaterThan(0);
      expect(names).not.toContain('topic-2');
      expect(names.every((n) => Number(n.split('-')[1]) % 5 === 2)).toBe(true);
    }
    // No word matches: the list is filled from the tagged topics' vectors, on both paths.
    for (const h of [exact, walk]) {
      const names = (await h.search('zzqx wvvk', { filters: { tags: ['group-3'] }, minScore: 0, topK: 3 })).hits.map((x) => x.name);
      expect(names).toHaveLength(3);
      expect(names.every((n) => Number(n.split('-')[1]) % 5 === 3)).toBe(true);
    }
    for (const h of [exact, walk]) h.setHidden('topic-2', false);
    // Re-tagging moves the topic between tag sets; removing it takes it out.
    await exact.upsert({ ...topics[0]!, tags: ['moved'] });
    expect((await exact.search('invoices', { filters: { tags: ['moved'] }, minScore: 0 })).hits.map((h) => h.name)).toEqual(['topic-0']);
    expect((await exact.search('invoices', { filters: { tags: ['group-0'] }, minScore: 0 })).hits.map((h) => h.name)).not.toContain('topic-0');
    exact.remove('topic-0');
    expect((await exact.search('invoices', { filters: { tags: ['moved'] }, minScore: 0 })).hits).toEqual([]);
  });

  it('search performance - how many tagged topics take the exact path depends on whether there is an HNSW graph', () => {
    // Lexical family: no graph, so the exact path costs the rankers' per-topic scoring, not vectors.
    expect(new HybridSearch(new LexicalEmbedder()).prefilterMax).toBe(DEFAULT_GRAPHLESS_PREFILTER_MAX);
    // With a graph: bounded by the vector multiply-adds (1,953 topics at 1,024 dimensions).
    expect(new HybridSearch(new LexicalEmbedder(), { vectorGraph: true }).prefilterMax).toBe(Math.floor(DEFAULT_PREFILTER_WORK / 1024));
    expect(new HybridSearch(new LexicalEmbedder(), { prefilterMax: 10 }).prefilterMax).toBe(10);
    expect(() => new HybridSearch(new LexicalEmbedder(), { prefilterMax: -1 })).toThrow(/prefilterMax must be >= 0/);
    expect(() => new HybridSearch(new LexicalEmbedder(), { prefilterMax: Number.NaN })).toThrow(RangeError);
  });
});

describe('hidden topics (how the catalog leaves offline topics out)', () => {
  it('search performance - hiding ranks exactly like the same restriction through accept, and holds across re-indexing', async () => {
    const topics = Array.from({ length: 60 }, (_, i) =>
      validateTopicDocument({
        name: `topic-${i}`,
        description: `Handles ${['invoices', 'receipts', 'contracts', 'tickets'][i % 4]} for team ${i} with ${['ocr', 'summaries', 'alerts'][i % 3]}`,
        tags: [`group-${i % 5}`],
        skills: [{ id: 's', name: 'Skill', description: `Process ${['invoices', 'receipts'][i % 2]} and ${['reminders', 'nudges'][i % 2]}` }],
      }),
    );
    const search = new HybridSearch(new LexicalEmbedder());
    await search.upsertMany(topics);
    const offline = new Set(topics.filter((_, i) => i % 3 !== 0).map((t) => t.name));
    for (const name of offline) search.setHidden(name, true);
    expect(search.isHidden('topic-1')).toBe(true);
    expect(search.isHidden('topic-0')).toBe(false);
    const queries = ['process invoices with ocr', 'contracts alerts', 'send nudges about receipts', 'tickets'];
    const same = async () => {
      for (const q of queries) {
        for (const filters of [undefined, { tags: ['group-2'] }]) {
          const hidden = await search.search(q, { filters, minScore: 0, topK: 10 });
          const accepted = await search.search(q, { filters, minScore: 0, topK: 10, includeHidden: true, accept: (n) => !offline.has(n) });
          expect(hidden.hits.length).toBeGreaterThan(0);
          expect(hidden.hits.map((h) => h.name)).toEqual(accepted.hits.map((h) => h.name));
          hidden.hits.forEach((h, i) => expect(h.score).toBeCloseTo(accepted.hits[i]!.score, 9));
          for (const h of hidden.hits) expect(offline.has(h.name)).toBe(false);
        }
      }
    };
    await same();
    // onlyHidden ranks the hidden topics alone, as the same restriction through accept, on the
    // exact path (few hidden) and through the filtered rankers (prefilterMax 0).
    const walk = new HybridSearch(new LexicalEmbedder(), { prefilterMax: 0 });
    await walk.upsertMany(topics);
    for (const name of offline) walk.setHidden(name, true);
    for (const s of [search, walk]) {
      for (const q of queries) {
        for (const filters of [undefined, { tags: ['group-2'] }]) {
          const onlyHidden = await s.search(q, { filters, minScore: 0, topK: 10, onlyHidden: true });
          const accepted = await s.search(q, { filters, minScore: 0, topK: 10, includeHidden: true, accept: (n) => offline.has(n) });
          expect(onlyHidden.hits.length).toBeGreaterThan(0);
          expect(onlyHidden.hits.map((h) => h.name)).toEqual(accepted.hits.map((h) => h.name));
          onlyHidden.hits.forEach((h, i) => expect(h.score).toBeCloseTo(accepted.hits[i]!.score, 9));
        }
      }
    }
    // includeHidden ranks them again.
    const all = await search.search('process invoices with ocr', { minScore: 0, topK: 60 });
    const withHidden = await search.search('process invoices with ocr', { minScore: 0, topK: 60, includeHidden: true });
    expect(withHidden.hits.some((h) => offline.has(h.name))).toBe(true);
    expect(all.hits.length).toBeLessThan(withHidden.hits.length);
    // Re-indexing a hidden topic keeps it hidden; showing one makes it rank again.
    await search.upsert({ ...topics[1]!, description: 'Handles invoices with ocr, now better' });
    offline.delete('topic-2');
    search.setHidden('topic-2', false);
    await same();
    // Removing a hidden topic forgets the mark: indexed again, it is visible.
    search.remove('topic-1');
    expect(search.isHidden('topic-1')).toBe(false);
    offline.delete('topic-1');
    await search.upsert(topics[1]!);
    await same();
  });

  it('search performance - LexicalIndex.skipHidden leaves hidden documents out; a re-upsert shows them', () => {
    const idx = new LexicalIndex();
    idx.upsert('a', [{ text: 'invoice extraction', weight: 1 }]);
    idx.upsert('b', [{ text: 'invoice summary', weight: 1 }]);
    expect(idx.setHidden('a', true)).toBe(true);
    expect(idx.setHidden('nope', true)).toBe(false);
    const terms = LexicalIndex.queryTerms('invoice');
    expect(idx.search(terms, 10, undefined, { skipHidden: true }).map((h) => h.key)).toEqual(['b']);
    expect(idx.search(terms, 10).map((h) => h.key).sort()).toEqual(['a', 'b']); // not asked to skip
    // Hidden documents still count in document frequencies.
    expect(idx.documentFrequency('invoic')).toBe(2);
    idx.upsert('a', [{ text: 'invoice extraction', weight: 1 }]);
    expect(idx.search(terms, 10, undefined, { skipHidden: true }).map((h) => h.key).sort()).toEqual(['a', 'b']);
    // `only` restricts one search to the listed documents (unknown keys ignored), and only that one.
    idx.upsert('c', [{ text: 'invoice approval', weight: 1 }]);
    expect(idx.search(terms, 10, undefined, { only: ['c', 'a', 'zzz'] }).map((h) => h.key).sort()).toEqual(['a', 'c']);
    expect(idx.search(terms, 10).map((h) => h.key).sort()).toEqual(['a', 'b', 'c']);
    // ...even when `accept` throws half way.
    expect(() =>
      idx.search(terms, 10, () => {
        throw new Error('boom');
      }, { only: ['b'] }),
    ).toThrow('boom');
    expect(idx.search(terms, 10).map((h) => h.key).sort()).toEqual(['a', 'b', 'c']);
    expect(idx.search(terms, 10).every((h) => h.score > 0 && h.score < 10)).toBe(true);
  });

  it('search performance - a short `only` list is scored from the documents\' own term lists, exactly as the postings scan scores it', () => {
    const idx = skewedIndex({ seed: 11, docs: 2000, words: 30, termsPerDoc: 10, fractionalEvery: 4 });
    for (let d = 0; d < 2000; d += 9) idx.remove(`d${d}`);
    idx.setHidden('d5', true);
    const q = ['w0', 'w1', 'w3', 'w17', 'w29', 'nowhere'].map((term) => ({ term, weight: 1 }));
    const exact = new Map(idx.search(q, 2000).map((h) => [h.key, h.score]));
    // 40 documents of ~8 terms read far less than the postings of w0 and w1 (most of the catalog):
    // the forward path. Repeated and unknown keys, and removed documents, are ignored.
    const only = [...Array.from({ length: 40 }, (_, i) => `d${i * 50 + 5}`), 'd5', 'zzz', 'd0'];
    const expected = [...new Set(only)].filter((k) => exact.has(k)).sort((a, b) => exact.get(b)! - exact.get(a)! || (a < b ? -1 : 1));
    const hits = idx.search(q, 100, undefined, { only });
    expect(hits.map((h) => h.key)).toEqual(expected);
    for (const h of hits) expect(h.score).toBeCloseTo(exact.get(h.key)!, 9);
    // Exact whatever the postings budget says, with the limit, hiding and `accept` applied.
    expect(idx.search(q, 5, undefined, { only, maxPostings: 1, rescore: 0 })).toEqual(hits.slice(0, 5));
    const shown = idx.search(q, 100, (k) => k !== 'd55', { only, skipHidden: true }).map((h) => h.key);
    expect(shown).toEqual(expected.filter((k) => k !== 'd5' && k !== 'd55'));
    // A long list goes through the postings: the same ranking.
    const many = Array.from({ length: 2000 }, (_, i) => `d${i}`);
    const viaPostings = idx.search(q, 50, undefined, { only: many });
    expect(viaPostings.map((h) => h.key)).toEqual([...exact.keys()].slice(0, 50));
    // Nothing is left behind for the next search.
    expect(new Map(idx.search(q, 2000).map((h) => [h.key, h.score]))).toEqual(exact);
    expect(idx.search(q, 10, undefined, { maxPostings: 30, rescore: 20 }).every((h) => h.score <= exact.get(h.key)! + 1e-9)).toBe(true);
  });
});

describe('vectors that only feed the score (lexical family)', () => {
  it('search performance - every hit gets its exact cosine, and nearest vectors fill a short list', async () => {
    const embedder = new LexicalEmbedder();
    const topics = ['invoice line items', 'receipt scanning', 'contract clauses', 'meeting notes', 'flight search', 'hotel booking'].map((d, i) =>
      validateTopicDocument({ name: `t${i}`, description: `Handles ${d}` }),
    );
    const search = new HybridSearch(embedder); // lexical family: vector fusion weight 0
    await search.upsertMany(topics);
    // No HNSW graph for vectors that only score: the fill below is an exact scan.
    expect(search.vectors.graph).toBe(false);
    expect(new HybridSearch(embedder, { vectorGraph: true }).vectors.graph).toBe(true);
    const query = 'scan my receipts';
    const r = await search.search(query, { topK: 5, minScore: 0 });
    // One topic matches the words; the other four places come from the vectors.
    expect(r.hits).toHaveLength(5);
    expect(r.hits[0]!.name).toBe('t1');
    expect(r.hits[0]!.signals.lexicalRank).toBe(1);
    const [q] = await embedder.embed([query]);
    const docVectors = await embedder.embed(topics.map(embeddingText));
    for (const h of r.hits) {
      const v = docVectors[Number(h.name.slice(1))]!;
      const cos = v.reduce((s, x, i) => s + x * q![i]!, 0);
      expect(h.signals.cosine).toBeCloseTo(cos, 5);
    }
  });
});
