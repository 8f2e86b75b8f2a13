import { describe, expect, it } from 'vitest';
import { LexicalEmbedder } from '../../../nameserver/semantic/embedder.js';
import { HybridSearch } from '../../../nameserver/semantic/hybrid-search.js';
import { analyze } from '../../../nameserver/semantic/text-analysis.js';
import { THESAURUS_HEADER, Thesaurus, bundledThesaurus } from '../../../nameserver/semantic/thesaurus.js';
import { ThesaurusRanker } from '../../../nameserver/semantic/thesaurus-ranker.js';
import { validateTopicDocument } from '../../../nameserver/semantic/topic-document.js';

const one = (word: string): string => {
  const t = analyze(word);
  expect(t).toHaveLength(1);
  return t[0]!;
};

/** Term frequencies of a text, as the hybrid search builds them. */
function tf(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of analyze(text)) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}


describe('thesaurus', () => {
  it('thesaurus - parse makes links symmetric, drops duplicates and self links, checks the header', () => {
    const t = Thesaurus.parse(`${THESAURUS_HEADER}\nremind,nudg,prompt,nudg,remind\nnudg,push\n`);
    expect(t.size).toBe(4);
    expect(t.related('remind').sort()).toEqual(['nudg', 'prompt']);
    expect(t.related('nudg').sort()).toEqual(['push', 'remind']);
    expect(t.related('prompt')).toEqual(['remind']);
    expect(t.related('push')).toEqual(['nudg']);
    expect(t.related('unknown')).toEqual([]);
    expect(t.links).toBe(6);
    expect(t.degree(t.id('nudg')!)).toBe(2);
    expect(() => Thesaurus.parse('remind,nudg\n')).toThrow(/not a thesaurus of this version/);
  });

  it('thesaurus - the bundled (binary) form round-trips and rejects a wrong or truncated buffer', () => {
    const t = Thesaurus.parse(`${THESAURUS_HEADER}\na,b,c,d\nb,a\nx,c,d\ny,d\n`);
    const bin = t.toBinary();
    const back = Thesaurus.fromBinary(bin);
    expect(back.size).toBe(t.size);
    expect(back.links).toBe(t.links);
    for (const term of ['a', 'b', 'c', 'd', 'x', 'y']) expect(back.related(term)).toEqual(t.related(term));
    expect(() => Thesaurus.fromBinary(bin.subarray(0, bin.length - 2))).toThrow(/truncated/);
    expect(() => Thesaurus.fromBinary(Buffer.from('a,b\n'))).toThrow(/not a thesaurus of this version/);
    const empty = Thesaurus.fromBinary(Thesaurus.parse(`${THESAURUS_HEADER}\n`).toBinary());
    expect(empty.size).toBe(0);
  });

  it('thesaurus - a row lists the links both roots name first, then the least connected terms', () => {
    // a names b, c, d; b names a back (a mutual link); c and d are named by other roots too.
    const t = Thesaurus.parse(`${THESAURUS_HEADER}\na,b,c,d\nb,a\nx,c,d\ny,d\n`);
    expect(t.related('a')).toEqual(['b', 'c', 'd']);
    expect(t.related('d')).toEqual(['y', 'x', 'a']); // degrees 1, 2, 3
  });

  it('thesaurus - the bundled thesaurus loads and speaks the analyser of the BM25 index', () => {
    const t = bundledThesaurus();
    expect(bundledThesaurus()).toBe(t); // loaded once per process
    expect(t.size).toBeGreaterThan(30_000);
    expect(t.links).toBeGreaterThan(1_000_000);
    // Pairs a paraphrase needs; each side is the analysed form, so a stemmer change that the file
    // was not rebuilt for shows up here.
    for (const [a, b] of [
      ['nudge', 'remind'],
      ['furious', 'angry'],
      ['supermarket', 'store'],
      ['reminders', 'prompt'],
      ['translate', 'interpret'],
    ] as const) {
      expect(t.related(one(a)), `${a} ~ ${b}`).toContain(one(b));
      expect(t.related(one(b)), `${b} ~ ${a}`).toContain(one(a));
    }
  });
});

describe('thesaurus ranker', () => {
  const thesaurus = Thesaurus.parse(`${THESAURUS_HEADER}\nremind,nudg,prompt\nstore,supermarket,shop\nforecast,predict\n`);
  const topics: Record<string, string> = {
    reminders: 'Remind the user of a task when they reach a store or at a given time.',
    weather: 'Forecast of rain and temperature for a city.',
    translation: 'Translate text between languages.',
  };
  const ranker = (options = {}) => {
    const r = new ThesaurusRanker(thesaurus, options);
    for (const [k, text] of Object.entries(topics)) r.upsert(k, tf(text));
    return r;
  };

  it('thesaurus ranker - a paraphrase with no word in common finds the topic through related terms', () => {
    const q = analyze('nudge me at the supermarket');
    const { hits, known } = ranker().search(q, 10, []);
    expect(hits.map((h) => h.key)).toEqual(['reminders']);
    expect(hits[0]!.similarity).toBeGreaterThan(0);
    expect(hits[0]!.similarity).toBeLessThanOrEqual(1);
    expect(known).toBe(1);
    // With related terms switched off, only shared words count: nothing is shared.
    expect(ranker({ relatedWeight: 0 }).search(q, 10, []).hits).toEqual([]);
  });

  it('thesaurus ranker - the known share measures how much of the query the thesaurus speaks', () => {
    const { known } = ranker().search(analyze('recuérdame supermarket'), 10, []);
    expect(known).toBeCloseTo(0.5, 5);
    expect(ranker().search(analyze('recuérdame comprar café'), 10, []).known).toBe(0);
  });

  it('thesaurus ranker - filters, limits, removal, and candidates above the full-scan size', () => {
    const r = ranker();
    const q = analyze('predict the weather at the shop and remind me');
    expect(r.search(q, 10, []).hits.map((h) => h.key).sort()).toEqual(['reminders', 'weather']);
    expect(r.search(q, 1, []).hits).toHaveLength(1);
    expect(r.search(q, 10, [], (k) => k !== 'weather').hits.map((h) => h.key)).toEqual(['reminders']);
    const big = ranker({ fullScanMax: 1 });
    expect(big.scansAll).toBe(false);
    expect(big.search(q, 10, []).hits).toEqual([]);
    expect(big.search(q, 10, ['weather', 'missing']).hits.map((h) => h.key)).toEqual(['weather']);
    expect(r.remove('weather')).toBe(true);
    expect(r.remove('weather')).toBe(false);
    expect(r.search(q, 10, []).hits.map((h) => h.key)).toEqual(['reminders']);
    // Re-indexing a topic replaces it (its document frequencies are not counted twice).
    const before = r.search(q, 10, []).hits;
    r.upsert('reminders', tf(topics.reminders!));
    expect(r.search(q, 10, []).hits).toEqual(before);
    // The query vector is reset between searches: the same query scores the same.
    const a = r.search(q, 10, []).hits[0]!.similarity;
    r.search(analyze('forecast'), 10, []);
    expect(r.search(q, 10, []).hits[0]!.similarity).toBe(a);
    expect(() => new ThesaurusRanker(thesaurus, { relatedWeight: -1 })).toThrow(/relatedWeight/);
    expect(() => new ThesaurusRanker(thesaurus, { maxRelated: -1 })).toThrow(/maxRelated/);
    // maxRelated 0: a term stands only for itself.
    expect(ranker({ maxRelated: 0 }).search(analyze('nudge me at the supermarket'), 10, []).hits).toEqual([]);
  });

  it('thesaurus ranker - in the hybrid search it finds what a paraphrase means (bundled thesaurus)', async () => {
    const docs = [
      { name: 'escalation-detector', description: 'Flags messages from angry customers who threaten to leave.', tags: ['support'] },
      { name: 'order-tracking', description: 'Tracks the delivery status of an order.', tags: ['orders'] },
      { name: 'refunds', description: 'Decides whether a customer purchase can be refunded.', tags: ['refunds'] },
      { name: 'reminders', description: 'Sets reminders that fire at a time or when the user arrives at a place.', tags: ['reminders'] },
    ].map((d) => validateTopicDocument(d));
    const embedder = new LexicalEmbedder();
    const withIt = new HybridSearch(embedder);
    const without = new HybridSearch(embedder, { weights: { thesaurus: 0 } });
    await withIt.upsertMany(docs);
    await without.upsertMany(docs);
    // Weight 0: the ranker does not vote on the order, but it still feeds the default score.
    expect(without.thesaurus).toBeDefined();
    expect(new HybridSearch(embedder, { weights: { thesaurus: 0 }, calibration: { intercept: -1.74, vector: 4.3, lexical: 2.66 } }).thesaurus).toBeUndefined();
    for (const [query, want] of [
      ['alert me when a buyer is furious', 'escalation-detector'],
      ['nudge me to pick up milk once I get to the shop', 'reminders'],
    ] as const) {
      // No analysed word of the query is in any topic: BM25 finds nothing, the order without the
      // thesaurus is only the weak lexical-vector fill.
      const b = await without.search(query);
      expect(b.hits.every((h) => h.signals.lexicalRank === undefined && h.signals.thesaurusRank === undefined)).toBe(true);
      const a = await withIt.search(query);
      expect(a.hits[0]!.name, query).toBe(want);
      expect(a.hits[0]!.signals.thesaurusRank).toBe(1);
      expect(a.hits[0]!.signals.thesaurusSimilarity).toBeGreaterThan(0);
      expect(a.hits[0]!.signals.thesaurusSimilarity).toBeLessThan(1);
    }
    // A tag filter holds for the thesaurus ranking too.
    const filtered = await withIt.search('alert me when a buyer is furious', { filters: { tags: ['refunds'] } });
    expect(filtered.hits.map((h) => h.name)).toEqual(['refunds']);
  });

  it('thesaurus ranker - above the full-scan size, a topic that shares no word with the query is still found', async () => {
    // 40 topics about other things (they share words with the query: "me", "when", "someone"
    // are stop words, "message" and "writes" are not), and the one that fits, which shares none.
    const filler = Array.from({ length: 40 }, (_, i) =>
      validateTopicDocument({ name: `filler-${i}`, description: `Writes message number ${i} about topic ${i} for someone who asks for it.`, tags: [`t${i}`] }),
    );
    const target = validateTopicDocument({ name: 'escalation-detector', description: 'Flags angry customers who threaten to leave.', tags: ['support'] });
    const embedder = new LexicalEmbedder();
    const small = new HybridSearch(embedder, { thesaurusRanker: { fullScanMax: 1_000 } });
    const large = new HybridSearch(embedder, { thesaurusRanker: { fullScanMax: 5 } });
    const none = new HybridSearch(embedder, { weights: { thesaurus: 0 } });
    for (const h of [small, large, none]) await h.upsertMany([...filler, target]);
    expect(small.thesaurus!.scansAll).toBe(true);
    expect(large.thesaurus!.scansAll).toBe(false);
    const query = 'alert me when a furious buyer writes a message';
    const hit = async (h: HybridSearch) => (await h.search(query, { topK: 50 })).hits.find((x) => x.name === 'escalation-detector');
    // BM25 and the n-grams do not find it (they find the fillers' "writes" and "message").
    expect((await hit(none))?.signals.lexicalRank).toBeUndefined();
    // The thesaurus ranks it first, scoring every topic of the small catalog ...
    expect((await hit(small))?.signals.thesaurusRank).toBe(1);
    // ... and on the large one, where it scores only candidates: this one came from the BM25
    // search over the query's relatives ("angry", "customer").
    const found = await hit(large);
    expect(found?.signals.lexicalRank).toBeUndefined();
    expect(found?.signals.thesaurusRank).toBe(1);
  });
});
