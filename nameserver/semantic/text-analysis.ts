/**
 * The small text analyser shared by the lexical index (BM25) and the lexical embedder:
 * lowercase, Unicode-normalise and strip accents, split on anything that is not a letter or a
 * digit, drop English stop words, and stem with the Porter algorithm. Runs of CJK characters
 * (which have no spaces) become overlapping character bigrams, the usual trick for indexing
 * Chinese and Japanese without a segmenter.
 *
 * Nothing here is tuned on any data set: the stop-word list is a general English one and the
 * stemmer is Porter's (1980) algorithm.
 */

/** A general English stop-word list (function words, pronouns, auxiliaries, request fillers). */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are aren as at be because been ' +
    'before being below between both but by can cannot could couldn did didn do does doesn ' +
    'doing don down during each either etc every few for from further get gets got had hadn has ' +
    'hasn have haven having he her here hers herself him himself his how i if in into is isn it ' +
    'its itself just let ll me might more most much must my myself neither no nor not now of ' +
    'off on once one only or other ought our ours ourselves out over own per please re same ' +
    'shall she should shouldn so some such than that the their theirs them themselves then ' +
    'there these they this those through to too under until up upon us ve very via was wasn we ' +
    'were weren what when where which while who whom whose why will with within without won ' +
    'would wouldn yes yet you your yours yourself yourselves s t d m'
  ).split(' '),
);

/** True for a character of a script written without spaces (Han, Hiragana, Katakana, Hangul). */
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/u;
const CJK_RUN = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+/gu;
/** Letters and digits of any script, with CJK runs matched separately. */
const WORD = /[\p{L}\p{N}]+/gu;

/** Lowercases, decomposes accents away (é -> e) and applies NFKC for full-width forms. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .normalize('NFKC')
    .toLowerCase();
}

/**
 * Splits `text` into raw words: lowercase, accent-free, split on non-alphanumerics, camelCase and
 * snake_case pulled apart by the split. CJK runs are returned as overlapping bigrams (a single
 * CJK character stays a unigram). Stop words are kept; see {@link analyze}.
 */
export function words(text: string): string[] {
  const out: string[] = [];
  // Split camelCase before lowercasing ("inputSchema" -> "input Schema").
  const spaced = text.replace(/([a-z])([A-Z])/g, '$1 $2');
  const norm = normalizeText(spaced);
  for (const m of norm.matchAll(WORD)) {
    const w = m[0];
    if (!CJK.test(w)) {
      out.push(w);
      continue;
    }
    // Mixed token: Latin/digit parts stay words, CJK runs become bigrams.
    let last = 0;
    for (const run of w.matchAll(CJK_RUN)) {
      const before = w.slice(last, run.index);
      if (before) out.push(before);
      const s = [...run[0]];
      if (s.length === 1) out.push(s[0]!);
      for (let i = 0; i + 1 < s.length; i++) out.push(s[i]! + s[i + 1]!);
      last = run.index + run[0].length;
    }
    const after = w.slice(last);
    if (after) out.push(after);
  }
  return out;
}

/** True when `word` (already lowercased) is an English stop word. */
export function isStopWord(word: string): boolean {
  return STOP_WORDS.has(word);
}

/**
 * The analysed terms of `text`: {@link words} without stop words, each stemmed. Pure digits are
 * kept (a "10-K", "ISO 8601" query needs them), single Latin letters are dropped.
 */
export function analyze(text: string): string[] {
  const out: string[] = [];
  for (const w of words(text)) {
    if (STOP_WORDS.has(w)) continue;
    if (w.length === 1 && /[a-z]/.test(w)) continue;
    out.push(stem(w));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Porter stemmer (M.F. Porter, "An algorithm for suffix stripping", 1980), for ASCII words.
// Words with other characters, digits, or shorter than 3 letters are returned unchanged.
// ---------------------------------------------------------------------------------------------

const stemCache = new Map<string, string>();
const STEM_CACHE_LIMIT = 50_000;

/** Porter stem of a lowercase word; non-ASCII-letter words pass through unchanged. */
export function stem(word: string): string {
  if (word.length < 3 || !/^[a-z]+$/.test(word)) return word;
  const hit = stemCache.get(word);
  if (hit !== undefined) return hit;
  const s = porter(word);
  if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
  stemCache.set(word, s);
  return s;
}

function isConsonant(w: string, i: number): boolean {
  const c = w[i];
  if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
  if (c === 'y') return i === 0 ? true : !isConsonant(w, i - 1);
  return true;
}

/** m(): the number of VC sequences in w[0..end). */
function measure(w: string, end: number): number {
  let n = 0;
  let i = 0;
  while (i < end && isConsonant(w, i)) i++;
  while (i < end) {
    while (i < end && !isConsonant(w, i)) i++;
    if (i >= end) break;
    n++;
    while (i < end && isConsonant(w, i)) i++;
  }
  return n;
}

function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (!isConsonant(w, i)) return true;
  return false;
}

function endsDoubleConsonant(w: string): boolean {
  const n = w.length;
  return n >= 2 && w[n - 1] === w[n - 2] && isConsonant(w, n - 1);
}

/** *o: stem ends cvc, where the second c is not w, x or y. */
function endsCvc(w: string): boolean {
  const n = w.length;
  if (n < 3) return false;
  if (!isConsonant(w, n - 1) || isConsonant(w, n - 2) || !isConsonant(w, n - 3)) return false;
  const c = w[n - 1];
  return c !== 'w' && c !== 'x' && c !== 'y';
}

/** Replaces suffix `s1` by `s2` when the stem before it has measure > `m`. */
function replaceIf(w: string, s1: string, s2: string, m: number): string | undefined {
  if (!w.endsWith(s1)) return undefined;
  const base = w.length - s1.length;
  return measure(w, base) > m ? w.slice(0, base) + s2 : w;
}

const STEP2: ReadonlyArray<[string, string]> = [
  ['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'],
  ['bli', 'ble'], ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'],
  ['ization', 'ize'], ['ation', 'ate'], ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'],
  ['fulness', 'ful'], ['ousness', 'ous'], ['aliti', 'al'], ['iviti', 'ive'], ['biliti', 'ble'],
  ['logi', 'log'],
];
const STEP3: ReadonlyArray<[string, string]> = [
  ['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''],
  ['ness', ''],
];
const STEP4 = [
  'al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou',
  'ism', 'ate', 'iti', 'ous', 'ive', 'ize',
];

function porter(word: string): string {
  let w = word;
  // Step 1a
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies')) w = w.slice(0, -2);
  else if (!w.endsWith('ss') && w.endsWith('s')) w = w.slice(0, -1);
  // Step 1b
  let extra = false;
  if (w.endsWith('eed')) {
    if (measure(w, w.length - 3) > 0) w = w.slice(0, -1);
  } else if (w.endsWith('ed') && hasVowel(w, w.length - 2)) {
    w = w.slice(0, -2);
    extra = true;
  } else if (w.endsWith('ing') && hasVowel(w, w.length - 3)) {
    w = w.slice(0, -3);
    extra = true;
  }
  if (extra) {
    if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w += 'e';
    else if (endsDoubleConsonant(w) && !/[lsz]$/.test(w)) w = w.slice(0, -1);
    else if (measure(w, w.length) === 1 && endsCvc(w)) w += 'e';
  }
  // Step 1c
  if (w.endsWith('y') && hasVowel(w, w.length - 1)) w = w.slice(0, -1) + 'i';
  // Step 2
  for (const [s1, s2] of STEP2) {
    if (w.endsWith(s1)) {
      w = replaceIf(w, s1, s2, 0) ?? w;
      break;
    }
  }
  // Step 3
  for (const [s1, s2] of STEP3) {
    if (w.endsWith(s1)) {
      w = replaceIf(w, s1, s2, 0) ?? w;
      break;
    }
  }
  // Step 4
  for (const s of STEP4) {
    if (!w.endsWith(s)) continue;
    const base = w.length - s.length;
    if (s === 'ion') {
      if (measure(w, base) > 1 && (w[base - 1] === 's' || w[base - 1] === 't')) w = w.slice(0, base);
    } else if (measure(w, base) > 1) {
      w = w.slice(0, base);
    }
    break;
  }
  // Step 5a
  if (w.endsWith('e')) {
    const m = measure(w, w.length - 1);
    if (m > 1 || (m === 1 && !endsCvc(w.slice(0, -1)))) w = w.slice(0, -1);
  }
  // Step 5b
  if (measure(w, w.length) > 1 && endsDoubleConsonant(w) && w.endsWith('l')) w = w.slice(0, -1);
  return w;
}
