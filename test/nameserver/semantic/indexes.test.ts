import { describe, expect, it } from 'vitest';
import { LexicalIndex } from '../../../nameserver/semantic/lexical-index.js';
import { analyze, stem, words } from '../../../nameserver/semantic/text-analysis.js';
import { VectorIndex } from '../../../nameserver/semantic/vector-index.js';

function unit(...xs: number[]): number[] {
  const n = Math.sqrt(xs.reduce((s, x) => s + x * x, 0));
  return xs.map((x) => x / n);
}

describe('text analysis', () => {
  it('text analysis - lowercases, strips accents, splits camelCase and snake_case, drops stop words, stems', () => {
    expect(words('inputSchema file_url São-Paulo')).toEqual(['input', 'schema', 'file', 'url', 'sao', 'paulo']);
    expect(analyze('I need the invoices of these vendors summarized')).toEqual(['need', 'invoic', 'vendor', 'summar']);
    expect(['caresses', 'ponies', 'relational', 'hopping', 'generalization'].map(stem)).toEqual(['caress', 'poni', 'relat', 'hop', 'gener']);
  });

  it('text analysis - CJK runs become overlapping bigrams, Latin words inside stay words', () => {
    expect(words('把CSV转成图表')).toEqual(['把', 'csv', '转成', '成图', '图表']);
  });
});

describe('lexical index (BM25)', () => {
  function index(): LexicalIndex {
    const idx = new LexicalIndex();
    idx.upsert('invoices', [{ text: 'Extract line items and totals from supplier invoices', weight: 1 }]);
    idx.upsert('receipts', [{ text: 'Scan receipts photographed with a phone and extract totals', weight: 1 }]);
    idx.upsert('translate', [{ text: 'Translate text between languages', weight: 1 }]);
    idx.upsert('long', [{ text: `invoices ${'filler words about many unrelated things '.repeat(20)}`, weight: 1 }]);
    return idx;
  }

  it('BM25 - ranks the document matching more and rarer query terms first', () => {
    const hits = index().search('extract the line items from my invoices');
    // "long" mentions invoices once in a long text; "receipts" shares "extract" in a short one.
    expect(hits.map((h) => h.key)).toEqual(['invoices', 'receipts', 'long']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('BM25 - a rare term outweighs a common one; length normalisation favours the short document', () => {
    const idx = index();
    expect(idx.idf('receipt')).toBeGreaterThan(idx.idf('extract'));
    const hits = idx.search('invoices');
    expect(hits.map((h) => h.key)).toEqual(['invoices', 'long']);
  });

  it('BM25 - section weights count (a word in a weight-3 section beats the same word at weight 1)', () => {
    const idx = new LexicalIndex();
    idx.upsert('a', [{ text: 'reconciliation', weight: 3 }, { text: 'bank statements ledger', weight: 1 }]);
    idx.upsert('b', [{ text: 'reconciliation', weight: 1 }, { text: 'bank statements ledger', weight: 1 }]);
    expect(idx.search('reconciliation')[0]!.key).toBe('a');
  });

  it('BM25 - update replaces the old text; remove forgets the document; ties break by key', () => {
    const idx = index();
    idx.upsert('translate', [{ text: 'Summarise meeting transcripts', weight: 1 }]);
    expect(idx.search('translate')).toEqual([]);
    expect(idx.search('meeting')[0]!.key).toBe('translate');
    expect(idx.remove('translate')).toBe(true);
    expect(idx.remove('translate')).toBe(false);
    expect(idx.search('meeting')).toEqual([]);
    expect(idx.size).toBe(3);
    const tie = new LexicalIndex();
    tie.upsert('b', [{ text: 'twin words', weight: 1 }]);
    tie.upsert('a', [{ text: 'twin words', weight: 1 }]);
    expect(tie.search('twin').map((h) => h.key)).toEqual(['a', 'b']);
  });

  it('BM25 - accept() restricts the candidates', () => {
    expect(index().search('extract totals', 10, (k) => k !== 'invoices').map((h) => h.key)).toEqual(['receipts']);
  });
});

describe('vector index (hnswlib)', () => {
  it('vector index - add, search by cosine, update in place, delete', () => {
    const idx = new VectorIndex({ dimensions: 3, initialCapacity: 8 });
    idx.upsert('x', unit(1, 0, 0));
    idx.upsert('y', unit(0, 1, 0));
    idx.upsert('xy', unit(1, 1, 0));
    let hits = idx.search(unit(1, 0.1, 0), 3);
    expect(hits.map((h) => h.key)).toEqual(['x', 'xy', 'y']);
    expect(hits[0]!.similarity).toBeCloseTo(0.995, 2);

    idx.upsert('x', unit(0, 0, 1)); // update: same key, new vector
    hits = idx.search(unit(1, 0.1, 0), 3);
    expect(hits[0]!.key).toBe('xy');
    expect(idx.search(unit(0, 0, 1), 1)[0]!.key).toBe('x');
    expect(idx.size).toBe(3);

    expect(idx.remove('xy')).toBe(true);
    expect(idx.remove('xy')).toBe(false);
    expect(idx.search(unit(1, 1, 0), 3).map((h) => h.key)).not.toContain('xy');
    expect(idx.size).toBe(2);
  });

  it('vector index - grows past its capacity and reuses deleted slots', () => {
    const idx = new VectorIndex({ dimensions: 4, initialCapacity: 2 });
    for (let i = 0; i < 10; i++) idx.upsert(`t${i}`, unit(1, i, i % 3, 1));
    expect(idx.size).toBe(10);
    expect(idx.capacity).toBeGreaterThanOrEqual(10);
    const capacity = idx.capacity;
    for (let i = 0; i < 5; i++) idx.remove(`t${i}`);
    for (let i = 10; i < 15; i++) idx.upsert(`t${i}`, unit(1, i, i % 3, 1));
    expect(idx.capacity).toBe(capacity); // deleted slots were reused
    expect(idx.size).toBe(10);
    const all = idx.search(unit(1, 12, 0, 1), 20).map((h) => h.key);
    expect(all).toHaveLength(10);
    expect(all).not.toContain('t0');
    expect(all[0]).toBe('t12');
  });

  it('vector index - filters inside the search and rejects wrong dimensions', () => {
    const idx = new VectorIndex({ dimensions: 2 });
    idx.upsert('a', unit(1, 0));
    idx.upsert('b', unit(0.9, 0.1));
    idx.upsert('c', unit(0, 1));
    expect(idx.search(unit(1, 0), 1, (k) => k !== 'a').map((h) => h.key)).toEqual(['b']);
    expect(() => idx.upsert('d', [1, 2, 3])).toThrow(/dimensions/);
    expect(() => idx.search([1], 1)).toThrow(/dimensions/);
    expect(new VectorIndex({ dimensions: 2 }).search(unit(1, 0), 5)).toEqual([]);
  });

  it('vector index - without a graph: exact search, filters, scan limit, update and delete; sparse vectors stored exactly', () => {
    const exact = new VectorIndex({ dimensions: 64, graph: false });
    const hnsw = new VectorIndex({ dimensions: 64 });
    expect(exact.graph).toBe(false);
    expect(hnsw.graph).toBe(true);
    // Sparse (4 of 64 dimensions set) and dense vectors, deterministic.
    const vec = (i: number, dense: boolean) => Array.from({ length: 64 }, (_, d) => (dense || d % 16 === i % 16 ? ((i * 31 + d * 17) % 23) / 23 + 0.01 : 0));
    for (let i = 0; i < 200; i++) {
      exact.upsert(`t${i}`, vec(i, i % 2 === 0));
      hnsw.upsert(`t${i}`, vec(i, i % 2 === 0));
    }
    expect(exact.size).toBe(200);
    expect(exact.capacity).toBe(200);
    const q = vec(7, false);
    const all = [...Array(200).keys()].map((i) => `t${i}`);
    const brute = hnsw.searchAmong(q, all, 10);
    expect(exact.search(q, 10)).toEqual(brute);
    expect(exact.searchAmong(q, all, 10)).toEqual(brute);
    // Filter, scan limit (the oldest 50 only), update in place, delete.
    expect(exact.search(q, 5, (k) => k !== brute[0]!.key).map((h) => h.key)).toEqual(brute.slice(1, 6).map((h) => h.key));
    const firstFifty = hnsw.searchAmong(q, all.slice(0, 50), 3);
    expect(exact.search(q, 3, undefined, { scanLimit: 50 })).toEqual(firstFifty);
    exact.upsert('t150', q);
    expect(exact.search(q, 1)[0]).toMatchObject({ key: 't150' });
    expect(exact.search(q, 1)[0]!.similarity).toBeCloseTo(1, 6);
    expect(exact.remove('t150')).toBe(true);
    expect(exact.search(q, 200).map((h) => h.key)).not.toContain('t150');
    expect(exact.size).toBe(199);
    expect(() => exact.search([1, 2], 1)).toThrow(/dimensions/);
  });

  it('vector index - HNSW parameters are validated, reported, and change recall', () => {
    expect(new VectorIndex({ dimensions: 2 }).parameters).toEqual({ m: 16, efConstruction: 200, efSearch: 300 });
    expect(() => new VectorIndex({ dimensions: 2, m: 1 })).toThrow(/m must be an integer from 2 to 100/);
    expect(() => new VectorIndex({ dimensions: 2, m: 101 })).toThrow(/m must be/);
    expect(() => new VectorIndex({ dimensions: 2, efConstruction: 0 })).toThrow(/efConstruction/);
    expect(() => new VectorIndex({ dimensions: 2, efSearch: 2.5 })).toThrow(/efSearch/);
    // Deterministic pseudo-random vectors (mulberry32), so both graphs see the same data.
    let seed = 42;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
    };
    const dims = 24;
    const data = Array.from({ length: 3000 }, () => unit(...Array.from({ length: dims }, rand)));
    const queries = Array.from({ length: 50 }, () => unit(...Array.from({ length: dims }, rand)));
    const sparse = new VectorIndex({ dimensions: dims, m: 2, efConstruction: 10, efSearch: 10 });
    const dense = new VectorIndex({ dimensions: dims, m: 24, efConstruction: 200, efSearch: 300 });
    expect(sparse.parameters).toEqual({ m: 2, efConstruction: 10, efSearch: 10 });
    data.forEach((v, i) => {
      sparse.upsert(`v${i}`, v);
      dense.upsert(`v${i}`, v);
    });
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const recall = (idx: VectorIndex) => {
      let found = 0;
      for (const q of queries) {
        const exact = new Set(data.map((v, i) => ({ i, s: dot(q, v) })).sort((a, b) => b.s - a.s).slice(0, 10).map((h) => `v${h.i}`));
        found += idx.search(q, 10).filter((h) => exact.has(h.key)).length;
      }
      return found / (queries.length * 10);
    };
    const r = { sparse: recall(sparse), dense: recall(dense) };
    expect(r.dense).toBeGreaterThanOrEqual(0.95);
    expect(r.sparse).toBeLessThan(r.dense - 0.1);
  });
});
