/**
 * Turns a discovery query written in another language into English search terms, word by word,
 * with bilingual dictionaries (bilingual-dictionary.ts). The catalog is English; an offline
 * ranker matches words, so "Lieferantenrechnungen … auslesen" finds nothing until it reads
 * "supplier invoice … read out". The terms are added to the query, not substituted: product names,
 * acronyms and cognates in the original still match.
 *
 * - The language comes from query-language.ts (script, then function words); English queries and
 *   languages without a dictionary are left alone.
 * - Latin scripts: each word that is not a function word is looked up as written, then without
 *   a common inflection ending, then (German, Dutch) as a compound of two headwords, last part
 *   first. Words in capitals or with digits (CSV, SRT, ISO9001) are names, not translated.
 * - Chinese and Japanese: runs of Han and kana are cut greedily into the longest headwords
 *   (unknown characters and lone kana, mostly particles, are skipped).
 * - A dictionary is read on the first query in its language (German FreeDict ~0.5 s, EDICT
 *   ~1.1 s) and shared by every translator of the process.
 */
import type { Logger } from '../../proto/common/logger.js';
import { dictionaryLabel, type BilingualDictionary, type DictionaryFile } from './bilingual-dictionary.js';
import { detectLanguage, FUNCTION_WORDS, latinWords } from './query-language.js';

/** Glosses taken per translated word (the dictionary's first, most common senses). */
export const GLOSSES_PER_WORD = 3;

/** Endings tried, longest first, when a word is not a headword as written. */
const ENDINGS: Readonly<Record<string, readonly string[]>> = {
  deu: ['ern', 'en', 'er', 'es', 'em', 'n', 'e', 's'],
  nld: ['en', 'e', 's'],
  fra: ['es', 's', 'x', 'e'],
  spa: ['es', 's'],
  ita: ['i', 'e'],
  por: ['es', 's'],
};
/** Linking elements between the parts of a compound ("Lieferant|en|rechnung"). */
const LINKS: Readonly<Record<string, readonly string[]>> = { deu: ['', 's', 'en', 'n', 'es', 'er'], nld: ['', 's', 'en'] };
const MIN_COMPOUND_PART = 4;

export interface QueryTranslation {
  /** ISO 639-3 code of the query's language. */
  language: string;
  /** English terms, in query order. */
  terms: string[];
}

/** Loaded dictionaries, by file path: shared by every translator (and NameServer) of the process. */
const loaded = new Map<string, BilingualDictionary | Error>();

export interface QueryTranslatorOptions {
  /** Dictionary files (findDictionaryFiles); one per language, the first wins. */
  files: readonly DictionaryFile[];
  /** Told when a dictionary is read or fails to read. */
  logger?: Logger;
}

export class QueryTranslator {
  private readonly files = new Map<string, DictionaryFile>();
  private readonly logger: Logger | undefined;

  constructor(options: QueryTranslatorOptions) {
    for (const f of options.files) if (!this.files.has(f.language)) this.files.set(f.language, f);
    this.logger = options.logger;
  }

  /** Languages a dictionary is available for (loaded or not). */
  get languages(): string[] {
    return [...this.files.keys()];
  }

  /** English terms for `query`, or undefined when it is English or its language has no dictionary. */
  translate(query: string): QueryTranslation | undefined {
    const detected = detectLanguage(query);
    if (!detected) return undefined;
    // Han without kana: Chinese when there is a Chinese dictionary, else the Japanese one.
    const language = detected.language === 'zho' && !this.files.has('zho') ? 'jpn' : detected.language;
    const dict = this.dictionary(language);
    if (!dict) return undefined;
    const terms = detected.script === 'cjk' ? cjkTerms(query, dict) : latinTerms(query, dict, language);
    return terms.length > 0 ? { language, terms } : undefined;
  }

  private dictionary(language: string): BilingualDictionary | undefined {
    const file = this.files.get(language);
    if (!file) return undefined;
    let d = loaded.get(file.path);
    if (d === undefined) {
      const t0 = performance.now();
      try {
        d = file.load();
        this.logger?.info(`read the ${dictionaryLabel(file)} dictionary`, { headwords: d.size, ms: Math.round(performance.now() - t0) });
      } catch (err) {
        d = err instanceof Error ? err : new Error(String(err));
        this.logger?.warn(`cannot read the ${dictionaryLabel(file)} dictionary; queries in that language are not translated`, { err: d.message });
      }
      loaded.set(file.path, d);
    }
    return d instanceof Error ? undefined : d;
  }
}

/** The headword `word` is found under: as written, or without a common inflection ending. */
function headwordOf(dict: BilingualDictionary, word: string, language: string): string | undefined {
  if (dict.has(word)) return word;
  for (const end of ENDINGS[language] ?? []) {
    if (word.length - end.length >= 3 && word.endsWith(end) && dict.has(word.slice(0, -end.length))) return word.slice(0, -end.length);
  }
  return undefined;
}

/**
 * A German or Dutch compound as two headwords, longest last part first: the last part's glosses
 * (the compound's head), then the first part's. Only headwords are probed until both parts are
 * found; glosses are read once.
 */
function compoundGlosses(dict: BilingualDictionary, word: string, language: string): string[] | undefined {
  const links = LINKS[language];
  if (!links) return undefined;
  for (let cut = MIN_COMPOUND_PART; cut <= word.length - MIN_COMPOUND_PART; cut++) {
    const tail = headwordOf(dict, word.slice(cut), language);
    if (!tail) continue;
    const headWord = word.slice(0, cut);
    for (const link of links) {
      if (link !== '' && !headWord.endsWith(link)) continue;
      const stem = headWord.slice(0, headWord.length - link.length);
      if (stem.length < MIN_COMPOUND_PART || !dict.has(stem)) continue;
      return [...(dict.lookup(tail) ?? []).slice(0, 2), ...(dict.lookup(stem) ?? []).slice(0, 1)];
    }
  }
  return undefined;
}

function latinTerms(query: string, dict: BilingualDictionary, language: string): string[] {
  const stop = FUNCTION_WORDS[language];
  const terms: string[] = [];
  for (const raw of query.normalize('NFC').match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (/\p{N}/u.test(raw) || (raw.length >= 2 && raw === raw.toUpperCase())) continue; // CSV, SRT, ISO9001
    const word = latinWords(raw)[0];
    if (word === undefined || word.length < 3 || stop?.has(word)) continue;
    const head = headwordOf(dict, word, language);
    const g = head !== undefined ? dict.lookup(head) : compoundGlosses(dict, word, language);
    if (g) terms.push(...g.slice(0, GLOSSES_PER_WORD));
  }
  return terms;
}

const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー々]+/gu;
const SINGLE_KANA = /^[\p{Script=Hiragana}\p{Script=Katakana}ー]$/u;

function cjkTerms(query: string, dict: BilingualDictionary): string[] {
  const terms: string[] = [];
  const maxLen = Math.min(dict.maxHeadwordLength, 12);
  for (const run of query.normalize('NFC').match(CJK_RUN) ?? []) {
    const chars = [...run];
    for (let i = 0; i < chars.length; ) {
      let matched = 0;
      for (let len = Math.min(maxLen, chars.length - i); len >= 1; len--) {
        const piece = chars.slice(i, i + len).join('');
        if (len === 1 && SINGLE_KANA.test(piece)) break;
        const g = dict.lookup(piece);
        if (g) {
          terms.push(...g.slice(0, len === 1 ? 1 : 2));
          matched = len;
          break;
        }
      }
      i += matched || 1;
    }
  }
  return terms;
}
