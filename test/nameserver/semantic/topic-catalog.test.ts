import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddingCache, withEmbeddingCache } from '../../../nameserver/semantic/embedding-cache.js';
import { LexicalEmbedder } from '../../../nameserver/semantic/embedder.js';
import type { Embedder } from '../../../nameserver/semantic/embedder.js';
import { HybridSearch, MIN_READ_SHARE, matchesFilters } from '../../../nameserver/semantic/hybrid-search.js';
import type { HybridSearchOptions } from '../../../nameserver/semantic/hybrid-search.js';
import { TopicCatalog } from '../../../nameserver/semantic/topic-catalog.js';
import type { CatalogEvent } from '../../../nameserver/semantic/topic-catalog.js';
import { TopicDocumentError, validateTopicDocument } from '../../../nameserver/semantic/topic-document.js';

const topics = [
  {
    name: 'invoice-extraction',
    description: 'Extracts header fields and line items from supplier invoices into structured JSON.',
    tags: ['invoices', 'extraction', 'accounts-payable'],
    skills: [{ id: 'extract', name: 'Extract invoice data', examples: ['Extract the line items from these vendor invoices'] }],
    attributes: { domain: 'finance', region: 'eu' },
    owner: 'ap-team',
  },
  {
    name: 'receipt-scanner',
    description: 'Reads photographed shop receipts and returns merchant, date, tax and total.',
    tags: ['receipts', 'expenses', 'ocr'],
    attributes: { domain: 'finance', region: 'us' },
  },
  {
    name: 'text-translation',
    description: 'Translates documents and messages between more than 100 languages, keeping formatting.',
    tags: ['translation', 'languages'],
    attributes: { domain: 'language', region: 'eu' },
  },
  {
    name: 'meeting-notes',
    description: 'Turns a meeting recording or transcript into minutes with decisions and action items.',
    tags: ['meetings', 'minutes', 'summarization'],
    attributes: { domain: 'productivity', region: 'eu' },
  },
];

/** Counts the texts that reach the wrapped embedder. */
function counting(inner: Embedder): Embedder & { calls: number; texts: number } {
  const e = {
    id: inner.id,
    dimensions: inner.dimensions,
    calls: 0,
    texts: 0,
    async embed(texts: readonly string[]) {
      e.calls++;
      e.texts += texts.length;
      return inner.embed(texts);
    },
  };
  return e;
}

async function catalogWith(embedder: Embedder = new LexicalEmbedder(), search?: HybridSearchOptions): Promise<TopicCatalog> {
  const catalog = new TopicCatalog({ embedder, ...(search ? { search } : {}) });
  for (const t of topics) await catalog.upsert(t, { broker: 'broker-a' });
  return catalog;
}

describe('hybrid search', () => {
  it('hybrid search - keyword query ranks the right topic first with a high score', async () => {
    const catalog = await catalogWith();
    const r = await catalog.search('extract line items from supplier invoices');
    expect(r.hits[0]!.name).toBe('invoice-extraction');
    expect(r.noMatch).toBe(false);
    expect(r.bestScore).toBeGreaterThan(0.8);
    expect(r.bestScore).toBe(r.hits[0]!.score); // the first hit is the closest topic here
    expect(r.hits[0]!.signals).toMatchObject({ lexicalRank: 1, vectorRank: 1 });
    expect(r.hits[0]!.signals.fused).toBeCloseTo(1, 9);
    expect(r.hits[0]!.document.owner).toBe('ap-team');
    expect(r.hits[0]!.brokers).toEqual(['broker-a']);
    // Scores lie in [0, 1] and never increase down the list.
    for (let i = 1; i < r.hits.length; i++) expect(r.hits[i]!.score).toBeLessThanOrEqual(r.hits[i - 1]!.score);
    for (const h of r.hits) expect(h.score).toBeGreaterThanOrEqual(0);
  });

  it('hybrid search - a request no topic serves is "no match"; minScore moves the decision', async () => {
    const catalog = await catalogWith();
    const r = await catalog.search('book a table for two at an italian restaurant tonight');
    expect(r.noMatch).toBe(true);
    expect(r.bestScore).toBeLessThan(r.minScore);
    const lenient = await catalog.search('book a table for two at an italian restaurant tonight', { minScore: 0 });
    expect(lenient.noMatch).toBe(false);
    const strict = await catalog.search('extract line items from supplier invoices', { minScore: 0.9999 });
    expect(strict.noMatch).toBe(true);
    expect(strict.hits[0]!.name).toBe('invoice-extraction'); // hits are returned either way
  });

  it('hybrid search - "no match" is decided by the closest topic, and only for a query the score can read', async () => {
    const search = new HybridSearch(new LexicalEmbedder());
    await search.upsertMany(topics.map((t) => validateTopicDocument(t)));
    for (const q of ['extract line items from supplier invoices', 'translate this into German', 'book a table for two tonight']) {
      const r = await search.search(q, { topK: 2 });
      // bestScore is the best calibrated score of any candidate, not only of the hits returned.
      expect(r.bestScore).toBeGreaterThanOrEqual(r.hits[0]!.score);
      expect(r.best!.rawScore).toBe(r.bestScore);
      expect(r.readShare).toBeGreaterThanOrEqual(MIN_READ_SHARE);
    }
    // English the thesaurus reads: judged, so an unreachable threshold declares "no match".
    expect((await search.search('extract line items from supplier invoices', { minScore: 0.999 })).noMatch).toBe(true);
    // German without a dictionary: the score cannot judge it, so it is never "no match".
    const german = await search.search('Bitte die Positionen aus diesen Lieferantenrechnungen auslesen', { minScore: 0.999 });
    expect(german.readShare).toBeLessThan(MIN_READ_SHARE);
    expect(german.noMatch).toBe(false);
  });

  it('hybrid search - filters on tags (all / any, case-insensitive) and attributes (value or one of values)', async () => {
    const catalog = await catalogWith();
    const q = 'extract totals from documents';
    expect((await catalog.search(q, { filters: { tags: ['OCR'] } })).hits.map((h) => h.name)).toEqual(['receipt-scanner']);
    expect((await catalog.search(q, { filters: { anyTags: ['ocr', 'translation'] } })).hits.map((h) => h.name).sort()).toEqual([
      'receipt-scanner',
      'text-translation',
    ]);
    const eu = await catalog.search(q, { filters: { attributes: { domain: 'finance', region: ['eu', 'apac'] } } });
    expect(eu.hits.map((h) => h.name)).toEqual(['invoice-extraction']);
    expect((await catalog.search(q, { filters: { attributes: { owner: 'ap-team' } } })).hits.map((h) => h.name)).toEqual(['invoice-extraction']);
    expect((await catalog.search(q, { filters: { attributes: { missing: 'x' } } })).hits).toEqual([]);
    const doc = validateTopicDocument(topics[0]);
    expect(matchesFilters(doc, { tags: ['invoices', 'extraction'] })).toBe(true);
    expect(matchesFilters(doc, { tags: ['invoices', 'ocr'] })).toBe(false);
  });

  it('hybrid search - fusion weights: a zero weight removes a ranker from the ordering', async () => {
    const embedder = new LexicalEmbedder();
    const lexOnly = new HybridSearch(embedder, { weights: { lexical: 1, vector: 0 } });
    const vecOnly = new HybridSearch(embedder, { weights: { lexical: 0, vector: 1, charNgram: 0, thesaurus: 0 } });
    const docs = topics.map((t) => validateTopicDocument(t));
    await lexOnly.upsertMany(docs);
    await vecOnly.upsertMany(docs);
    const a = await lexOnly.search('translate my messages');
    const b = await vecOnly.search('translate my messages');
    expect(a.hits[0]!.name).toBe('text-translation');
    expect(b.hits[0]!.name).toBe('text-translation');
    expect(a.hits[0]!.signals.fused).toBeCloseTo(1, 5);
    expect(() => new HybridSearch(embedder, { weights: { lexical: 0, vector: 0, charNgram: 0, thesaurus: 0 } })).toThrow(/at least one ranker/);
    expect(() => new HybridSearch(embedder, { weights: { lexical: -1 } })).toThrow(/weights.lexical/);
  });

  it('hybrid search - topK bounds the hits; an empty catalog answers no match', async () => {
    const catalog = await catalogWith();
    expect((await catalog.search('documents', { topK: 2, minScore: 0 })).hits.length).toBeLessThanOrEqual(2);
    const empty = new TopicCatalog({ embedder: new LexicalEmbedder() });
    expect(await empty.search('anything')).toMatchObject({ hits: [], bestScore: 0, noMatch: true });
  });
});

describe('topic catalog', () => {
  it('catalog - invalid documents are rejected before anything changes', async () => {
    const catalog = await catalogWith();
    await expect(catalog.upsert({ name: 'bad.name', description: 'x' })).rejects.toBeInstanceOf(TopicDocumentError);
    expect(catalog.size).toBe(topics.length);
  });

  it('catalog - update re-indexes, remove forgets, events tell a watcher what changed', async () => {
    const catalog = await catalogWith();
    const events: CatalogEvent[] = [];
    const off = catalog.onChange((e) => events.push(e));
    await catalog.upsert({ ...topics[2], description: 'Writes weather forecasts for any city.', tags: ['weather'] }, { broker: 'broker-a' });
    expect((await catalog.search('weather forecast')).hits[0]!.name).toBe('text-translation');
    const old = await catalog.search('more than 100 languages, keeping formatting', { minScore: 0 });
    // The old description's words no longer reach it through BM25 (the vector ranking lists everything).
    expect(old.hits.find((h) => h.name === 'text-translation')?.signals.lexicalRank).toBeUndefined();
    expect(await catalog.remove('text-translation')).toBe(true);
    expect(await catalog.remove('text-translation')).toBe(false);
    expect((await catalog.search('weather forecast', { minScore: 0 })).hits.map((h) => h.name)).not.toContain('text-translation');
    off();
    await catalog.upsert({ name: 'after-unsubscribe', description: 'not seen by the listener' });
    expect(events.map((e) => e.type)).toEqual(['updated', 'removed']);
    const revisions = events.map((e) => (e.type === 'removed' ? e.revision : e.entry.revision));
    expect(revisions[1]!).toBeGreaterThan(revisions[0]!);
  });

  it('catalog - liveness: offline topics are hidden unless includeOffline; flips are announced', async () => {
    const catalog = await catalogWith();
    const events: CatalogEvent[] = [];
    catalog.onChange((e) => events.push(e));
    await catalog.setLiveness('invoice-extraction', 'broker-a', false);
    const q = 'extract line items from supplier invoices';
    expect((await catalog.search(q, { minScore: 0 })).hits.map((h) => h.name)).not.toContain('invoice-extraction');
    const all = await catalog.search(q, { includeOffline: true });
    expect(all.hits[0]).toMatchObject({ name: 'invoice-extraction', live: false });
    expect(all.offlineFits).toBeUndefined();
    // Live only: "no match", and the offline topic that would fit is counted.
    expect(await catalog.search(q)).toMatchObject({ noMatch: true, offlineFits: 1 });
    // A threshold nothing reaches: nothing fits, offline or not.
    expect(await catalog.search(q, { minScore: 0.999 })).toMatchObject({ noMatch: true, offlineFits: 0 });
    // A live topic that fits: no second search, no count.
    expect((await catalog.search('translate text into French')).offlineFits).toBeUndefined();
    // More offline topics than prefilterMax: counted from a search of the whole catalog instead.
    const wide = await catalogWith(new LexicalEmbedder(), { prefilterMax: 0 });
    await wide.setLiveness('invoice-extraction', 'broker-a', false);
    expect(await wide.search(q)).toMatchObject({ noMatch: true, offlineFits: 1 });
    expect(await wide.search(q, { minScore: 0.999 })).toMatchObject({ noMatch: true, offlineFits: 0 });
    expect((await wide.search('bake a sourdough loaf at home')).offlineFits).toBe(0);
    // A second broker serving it live brings it back.
    await catalog.upsert(topics[0], { broker: 'broker-b', live: true });
    expect((await catalog.search(q)).hits[0]).toMatchObject({ name: 'invoice-extraction', live: true, brokers: ['broker-a', 'broker-b'] });
    // The broker expires: its topics lose it.
    await catalog.removeBroker('broker-b');
    expect(catalog.get('invoice-extraction')).toMatchObject({ live: false, brokers: [{ broker: 'broker-a', live: false }] });
    expect(events.map((e) => e.type)).toEqual(['liveness', 'liveness', 'liveness']);
    expect(catalog.list({ includeOffline: false }).map((e) => e.document.name)).toEqual(['meeting-notes', 'receipt-scanner', 'text-translation']);
    expect(await catalog.setLiveness('nope', 'broker-a', true)).toBe(false);
  });

  it('catalog - re-registering an identical document does not re-embed', async () => {
    const embedder = counting(new LexicalEmbedder());
    const catalog = await catalogWith(embedder);
    const before = embedder.texts;
    await catalog.upsert(topics[1], { broker: 'broker-a' });
    expect(embedder.texts).toBe(before);
    await catalog.upsert({ ...topics[1], description: 'changed' }, { broker: 'broker-a' });
    expect(embedder.texts).toBe(before + 1);
  });
});

describe('embedding cache', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('embedding cache - vectors survive a reopen, so a rebuilt catalog embeds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmq-embcache-'));
    dirs.push(dir);
    const texts = topics.map((t) => t.description);

    const first = counting(new LexicalEmbedder());
    let cache = await EmbeddingCache.open(dir);
    const v1 = await withEmbeddingCache(first, cache).embed([...texts, texts[0]!]);
    expect(first.texts).toBe(texts.length); // the duplicate was embedded once
    expect(cache.stats.writes).toBe(texts.length);
    await cache.close();
    await cache.close(); // idempotent

    const second = counting(new LexicalEmbedder());
    cache = await EmbeddingCache.open(dir);
    const cached = withEmbeddingCache(second, cache);
    const v2 = await cached.embed(texts);
    expect(second.calls).toBe(0);
    expect(cache.stats.hits).toBe(texts.length);
    v2.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(v1[i]!)));

    // A whole catalog rebuilt on the cached embedder: only the query is new.
    const catalog = new TopicCatalog({ embedder: cached });
    for (const t of topics) await catalog.upsert(t, { broker: 'broker-a' });
    expect(second.texts).toBe(topics.length); // embedding texts differ from bare descriptions
    const third = counting(new LexicalEmbedder());
    const rebuilt = new TopicCatalog({ embedder: withEmbeddingCache(third, cache) });
    for (const t of topics) await rebuilt.upsert(t, { broker: 'broker-a' });
    expect(third.texts).toBe(0);
    await cache.close();
    expect(() => cache.putMany('x', [])).toThrow(/closed/);
  });

  it('embedding cache - keyed by embedder id: another model misses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentmq-embcache-'));
    dirs.push(dir);
    const cache = await EmbeddingCache.open(dir);
    await withEmbeddingCache(new LexicalEmbedder(), cache).embed(['hello world']);
    const other = counting(new LexicalEmbedder({ dimensions: 512 }));
    await withEmbeddingCache(other, cache).embed(['hello world']);
    expect(other.texts).toBe(1);
    expect(await cache.get('lexical-unknown', 1024, 'hello world')).toBeUndefined();
    await cache.close();
  });
});
