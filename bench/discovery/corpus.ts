/**
 * Synthetic topic catalogs for the discovery benchmark: documents, queries and vectors, all
 * deterministic functions of a seed and an index (nothing is downloaded or read from disk, and
 * document i is the same at every catalog size, so a 1k catalog is a prefix of a 1M one).
 *
 * Text. A generated word list of pronounceable pseudo-words (two syllables and an ending):
 * `generalWords` words shared by every domain plus `domainWords` words for each of `domains`
 * capability domains ("invoices", "contracts", ... in a real catalog). Words are drawn Zipf-
 * distributed (a few frequent words, a long tail), half from the topic's domain and half from the
 * general list, which gives BM25 the skewed posting lengths of real text. A document has the
 * shape of the dev set's topics (test/fixtures/discovery-dev): a name of three domain words, a
 * 15–30 word description, 2–4 tags from its domain's tag list, 1–2 skills (name, 8–15 word
 * description, 1–3 tags, two 6–10 word examples), an owner and a `region` attribute; about 55
 * content words, like the dev set's 52.
 *
 * Queries. A query targets one document: 4–9 words, about 70% sampled from the target's own
 * words and the rest from its domain and the general list (a keyword-style request).
 *
 * Vectors ("bow" family). A stand-in for a sentence-transformer of `dimensions` (384 = MiniLM)
 * that needs no model: every word gets a fixed random unit vector, pulled towards its domain's
 * direction (domain words share a topic) and towards one global direction (real sentence
 * embeddings are anisotropic: unrelated texts still have cosine ~0.1); a text's vector is the
 * normalised mean of its words' vectors. This is exactly what the tiny transformers model of
 * the tests computes (mean pooling of token vectors), so neighbours are texts sharing words and
 * domain, with real gaps between near and far, rather than uniform random points (the worst
 * case for HNSW, and unlike any text embedding).
 */

/** A small, fast, seedable PRNG (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** Standard normal (Box–Muller). */
  gauss(): number {
    const u = this.next() || 1e-12;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Mixes two integers into a 32-bit seed (so document i's generator does not depend on i-1). */
export function mixSeed(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const ONSETS = 'b c d f g h j k l m n p r s t v w z bl br ch cl cr dr fl fr gl gr pl pr sc sh sk sl sp st sw th tr'.split(' ');
const NUCLEI = 'a e i o u ai au ea ee io oo ou'.split(' ');
/** Word endings (no "s", "ed" or "ing": the Porter stemmer would fold those into other words). */
const CODAS = ['', 'n', 'r', 't', 'l', 'm', 'nd', 'ck', 'x', 'p'];
const SYLLABLES: string[] = [];
for (const o of ONSETS) for (const n of NUCLEI) SYLLABLES.push(o + n);
const WORD_SPACE = SYLLABLES.length * SYLLABLES.length * CODAS.length;
/** A multiplier coprime with WORD_SPACE: i -> i * P mod WORD_SPACE is a bijection. */
const WORD_STRIDE = 1_000_003;

/**
 * The i-th pseudo-word (i < ~2M): two syllables (onset + vowel, 444 of them) and an ending, e.g.
 * "brouvan", "skeatick". Distinct i give distinct words; the stride spreads neighbouring ids
 * over different syllables, so character n-grams are shared the way they are between real words
 * (many words share a few n-grams) rather than in blocks.
 */
export function pseudoWord(i: number): string {
  const n = SYLLABLES.length;
  const j = Number((BigInt(i) * BigInt(WORD_STRIDE)) % BigInt(WORD_SPACE));
  return SYLLABLES[j % n]! + SYLLABLES[Math.floor(j / n) % n]! + CODAS[Math.floor(j / (n * n))]!;
}

/** Cumulative Zipf–Mandelbrot distribution over ranks 1..n: p(r) ∝ 1 / (r + q)^s. */
function zipfCdf(n: number, s: number, q = 0): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 1; r <= n; r++) cdf[r - 1] = sum += 1 / (r + q) ** s;
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return cdf;
}

function sampleCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The word strings of a corpus: generated pseudo-words, or English (see `CorpusOptions.words`). */
export type CorpusWords = 'pseudo' | 'english';

export interface CorpusOptions {
  seed: number;
  /**
   * 'pseudo': generated pseudo-words no dictionary knows. 'english': the bundled thesaurus's
   * terms (English stems, ~41k), shuffled over the word ids and reused when the vocabulary is
   * larger, so catalogs read like English to the analyser and the thesaurus ranker has work.
   * @default 'pseudo'
   */
  words?: CorpusWords;
  /** The English word list ('english' only). */
  englishWords?: readonly string[];
  /** Capability domains. @default 200 */
  domains?: number;
  /** Words specific to each domain. @default 400 */
  domainWords?: number;
  /** Words shared by all domains. @default 20000 */
  generalWords?: number;
}

/** A generated topic: the registration input and the word ids its text is made of. */
export interface SyntheticTopic {
  /** What `TopicCatalog.upsert` / `validateTopicDocument` accept. */
  input: {
    name: string;
    description: string;
    tags: string[];
    skills: Array<{ id: string; name: string; description: string; tags: string[]; examples: string[] }>;
    owner: string;
    attributes: Record<string, string>;
  };
  domain: number;
  /** Every word of the embedding text, with repetitions (for the bag-of-word-vectors). */
  words: number[];
}

export interface SyntheticQuery {
  text: string;
  /** The document the query was written from. */
  target: number;
  words: number[];
}

export const REGIONS = ['eu', 'us', 'apac', 'latam'] as const;

export class Corpus {
  readonly seed: number;
  readonly domains: number;
  readonly domainWords: number;
  readonly generalWords: number;
  readonly vocabulary: number;
  readonly #general: Float64Array;
  readonly #domain: Float64Array;
  readonly #domainPick: Float64Array;
  readonly #words: string[];

  constructor(options: CorpusOptions) {
    this.seed = options.seed;
    this.domains = options.domains ?? 200;
    this.domainWords = options.domainWords ?? 400;
    this.generalWords = options.generalWords ?? 20_000;
    this.vocabulary = this.generalWords + this.domains * this.domainWords;
    this.#general = zipfCdf(this.generalWords, 1.0, 5);
    this.#domain = zipfCdf(this.domainWords, 0.9, 1);
    this.#domainPick = zipfCdf(this.domains, 0.5);
    // Shuffle word strings over ids so that frequent words are not all "ba…" words.
    const perm = Array.from({ length: this.vocabulary }, (_, i) => i);
    const rng = new Rng(mixSeed(this.seed, 0xc0ffee));
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const english = options.words === 'english' ? options.englishWords : undefined;
    if (options.words === 'english' && !english?.length) throw new Error('words: english needs englishWords');
    this.#words = english ? perm.map((p) => english[p % english.length]!) : perm.map((p) => pseudoWord(p));
  }

  word(id: number): string {
    return this.#words[id]!;
  }

  /** Id of the domain word of rank r (0-based) in domain d. */
  domainWord(d: number, r: number): number {
    return this.generalWords + d * this.domainWords + r;
  }

  /** Domain of a word id, or -1 for a general word. */
  domainOf(id: number): number {
    return id < this.generalWords ? -1 : Math.floor((id - this.generalWords) / this.domainWords);
  }

  /** The tags of domain d: its 20 most frequent words. */
  domainTag(d: number, k: number): string {
    return this.word(this.domainWord(d, k % 20));
  }

  #draw(rng: Rng, d: number, domainShare: number): number {
    return rng.next() < domainShare ? this.domainWord(d, sampleCdf(this.#domain, rng.next())) : sampleCdf(this.#general, rng.next());
  }

  #phrase(rng: Rng, d: number, min: number, max: number, into: number[], domainShare = 0.5): string {
    const n = rng.int(min, max);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.#draw(rng, d, domainShare);
      into.push(id);
      out.push(this.word(id));
    }
    return out.join(' ');
  }

  /** Document i. Names are unique across i (the index is part of the name). */
  topic(i: number): SyntheticTopic {
    const rng = new Rng(mixSeed(this.seed, i + 1));
    const d = sampleCdf(this.#domainPick, rng.next());
    const words: number[] = [];
    // "<domain>_<word>-<word>-<index in base 36>": topic names are [%a-zA-Z0-9_-], the index keeps them unique.
    const nameIds = [this.domainWord(d, 0), ...[0, 1].map(() => this.domainWord(d, sampleCdf(this.#domain, rng.next())))];
    words.push(...nameIds);
    const name = `${this.word(nameIds[0]!)}_${this.word(nameIds[1]!)}-${this.word(nameIds[2]!)}-${i.toString(36)}`;
    const description = this.#phrase(rng, d, 10, 20, words);
    const tagIds = [...new Set(Array.from({ length: rng.int(2, 4) }, () => this.domainWord(d, rng.int(0, 19))))];
    words.push(...tagIds);
    const tags = tagIds.map((w) => this.word(w));
    const skills: SyntheticTopic['input']['skills'] = [];
    const nSkills = rng.next() < 0.7 ? 1 : 2;
    for (let s = 0; s < nSkills; s++) {
      const skillName = this.#phrase(rng, d, 2, 3, words, 0.7);
      const skillDescription = this.#phrase(rng, d, 5, 10, words);
      const skillTagIds = [...new Set(Array.from({ length: rng.int(1, 2) }, () => this.domainWord(d, rng.int(0, 19))))];
      words.push(...skillTagIds);
      const skillTags = skillTagIds.map((w) => this.word(w));
      const examples = [this.#phrase(rng, d, 4, 7, words), this.#phrase(rng, d, 4, 7, words)];
      skills.push({ id: `skill-${s}`, name: skillName, description: skillDescription, tags: skillTags, examples });
    }
    return {
      input: {
        name,
        description,
        tags,
        skills,
        owner: `team-${rng.int(0, 499)}`,
        attributes: { region: REGIONS[rng.int(0, REGIONS.length - 1)]! },
      },
      domain: d,
      words,
    };
  }

  /** Query q, written from a document among the first `size`. */
  query(q: number, size: number): SyntheticQuery {
    const rng = new Rng(mixSeed(this.seed ^ 0x5eed, q + 1));
    const target = rng.int(0, size - 1);
    const doc = this.topic(target);
    const n = rng.int(5, 12);
    const words: number[] = [];
    for (let i = 0; i < n; i++) {
      words.push(rng.next() < 0.6 ? doc.words[rng.int(0, doc.words.length - 1)]! : this.#draw(rng, doc.domain, 0.5));
    }
    return { text: words.map((w) => this.word(w)).join(' '), target, words };
  }
}

/**
 * The "bow" vector family: a fixed random vector per word (see the file comment), a text's
 * vector is the normalised mean of its words' vectors.
 */
/** Per-word weight of the shared global direction (anisotropy). */
export const BOW_GLOBAL_WEIGHT = 0.06;
/** Per-word weight of the word's domain direction (domain words only). */
export const BOW_DOMAIN_WEIGHT = 0.2;

export class BagOfWordVectors {
  readonly dimensions: number;
  readonly #table: Float32Array;

  constructor(corpus: Corpus, dimensions: number, seed: number, options: { globalWeight?: number; domainWeight?: number } = {}) {
    this.dimensions = dimensions;
    const dim = dimensions;
    const gw = options.globalWeight ?? BOW_GLOBAL_WEIGHT;
    const dw = options.domainWeight ?? BOW_DOMAIN_WEIGHT;
    const rng = new Rng(mixSeed(seed, 0xbeef));
    const unit = (): Float32Array => {
      const v = new Float32Array(dim);
      let s = 0;
      for (let i = 0; i < dim; i++) s += (v[i] = rng.gauss()) ** 2;
      const n = Math.sqrt(s);
      for (let i = 0; i < dim; i++) v[i]! /= n;
      return v;
    };
    const global = unit();
    const domainDirs = Array.from({ length: corpus.domains }, unit);
    this.#table = new Float32Array(corpus.vocabulary * dim);
    // Word = its own random direction + gw * global + dw * its domain's direction (domain words).
    for (let w = 0; w < corpus.vocabulary; w++) {
      const own = unit();
      const d = corpus.domainOf(w);
      const row = this.#table.subarray(w * dim, (w + 1) * dim);
      for (let i = 0; i < dim; i++) row[i] = own[i]! + gw * global[i]! + (d >= 0 ? dw * domainDirs[d]![i]! : 0);
    }
  }

  /** The (unnormalised) vector of word `id`, as a view into the table. */
  wordVector(id: number): Float32Array {
    return this.#table.subarray(id * this.dimensions, (id + 1) * this.dimensions);
  }

  /** Normalised mean of the words' vectors. */
  embed(words: readonly number[]): Float32Array {
    const dim = this.dimensions;
    const v = new Float32Array(dim);
    for (const w of words) {
      const off = w * dim;
      for (let i = 0; i < dim; i++) v[i]! += this.#table[off + i]!;
    }
    let s = 0;
    for (let i = 0; i < dim; i++) s += v[i]! * v[i]!;
    const n = Math.sqrt(s) || 1;
    for (let i = 0; i < dim; i++) v[i]! /= n;
    return v;
  }
}
