/**
 * Text embedders behind one interface.
 *
 * - `TransformersEmbedder`: the transformers.js feature-extraction pipeline (mean pooling, L2
 *   normalised), default model `Xenova/all-MiniLM-L6-v2`, loaded from a local model directory.
 *   Remote downloads happen only when `allowRemoteModels` is set.
 * - `LexicalEmbedder`: needs no model. Signed feature hashing of stemmed words, word bigrams and
 *   character n-grams, L2 normalised. Deterministic, so tests and machines without model files
 *   get the same vectors everywhere.
 * - `createEmbedder(options)`: picks one and logs which is active; in `auto` mode a model that
 *   cannot be loaded falls back to the lexical embedder with a warning that says why.
 *
 * `@xenova/transformers` is imported lazily, so nothing pays for onnxruntime unless a model is
 * actually used.
 */
import { silentLogger } from '../../proto/common/logger.js';
import type { Logger } from '../../proto/common/logger.js';
import { analyze, words } from './text-analysis.js';

/** Turns texts into fixed-size vectors; texts with similar meaning should get close vectors. */
export interface Embedder {
  /**
   * Identifies the model and its settings; vectors from different ids are not comparable. Used
   * as part of the embedding-cache key, so it changes whenever the vectors would.
   */
  readonly id: string;
  /** Length of every vector `embed` returns. */
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Releases native resources (model sessions). Idempotent. */
  close?(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Lexical embedder
// ---------------------------------------------------------------------------------------------

export const DEFAULT_LEXICAL_DIMENSIONS = 1024;

export interface LexicalEmbedderOptions {
  /**
   * Vector length. Larger means fewer hash collisions; 1024 keeps an HNSW index of a million
   * topics at about 4 GiB.
   * @default 1024
   */
  dimensions?: number;
  /** Weight of each stemmed word (log-scaled term frequency). @default 1 */
  wordWeight?: number;
  /** Weight of each pair of consecutive stemmed words. @default 0.5 */
  bigramWeight?: number;
  /**
   * Total weight of a word's character n-grams (3 to 5 characters of `<word>`), spread evenly
   * over them; these match inflections, compounds and cognates ("document"/"documento").
   * @default 0.6
   */
  charNgramWeight?: number;
}

/** Bumped whenever the features change, so cached vectors of an older scheme are not reused. */
const LEXICAL_SCHEME = 'lexical-v1';

/** 32-bit FNV-1a over the UTF-16 code units of `s`. */
function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A model-free embedder: the "hashing trick" over lexical features. Two texts score high when
 * they share stems, word pairs or character n-grams. It knows no synonyms: paraphrases that
 * share no word with a description are what the transformers embedder is for.
 */
export class LexicalEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  readonly #wordWeight: number;
  readonly #bigramWeight: number;
  readonly #charWeight: number;

  constructor(options: LexicalEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? DEFAULT_LEXICAL_DIMENSIONS;
    if (!Number.isInteger(dimensions) || dimensions < 16 || dimensions > 65536) {
      throw new RangeError(`dimensions must be an integer between 16 and 65536 (got ${String(dimensions)})`);
    }
    this.dimensions = dimensions;
    this.#wordWeight = options.wordWeight ?? 1;
    this.#bigramWeight = options.bigramWeight ?? 0.5;
    this.#charWeight = options.charNgramWeight ?? 0.6;
    this.id = `${LEXICAL_SCHEME}:d${dimensions}:w${this.#wordWeight}:b${this.#bigramWeight}:c${this.#charWeight}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  /** Synchronous form of `embed` for one text. */
  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimensions);
    const add = (feature: string, weight: number) => {
      const h = fnv1a(feature);
      // Low bits pick the slot, the top bit the sign: colliding features cancel on average.
      v[h % this.dimensions]! += h & 0x80000000 ? -weight : weight;
    };
    const terms = analyze(text);
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) add(`w:${t}`, this.#wordWeight * (1 + Math.log(n)));
    if (this.#bigramWeight > 0) {
      for (let i = 0; i + 1 < terms.length; i++) add(`b:${terms[i]} ${terms[i + 1]}`, this.#bigramWeight);
    }
    if (this.#charWeight > 0) {
      const seen = new Set<string>();
      for (const w of words(text)) {
        if (seen.has(w) || w.length < 3 || /^\d+$/.test(w)) continue;
        seen.add(w);
        const grams = charNgrams(`<${w}>`, 3, 5);
        const each = this.#charWeight / grams.length;
        for (const g of grams) add(`c:${g}`, each);
      }
    }
    // A small constant feature: an empty text still gets a unit vector (cosine needs one).
    add('bias', 1e-3);
    normalize(v);
    return v;
  }
}

function charNgrams(s: string, min: number, max: number): string[] {
  const out: string[] = [];
  for (let n = min; n <= max; n++) for (let i = 0; i + n <= s.length; i++) out.push(s.slice(i, i + n));
  return out.length > 0 ? out : [s];
}

/** Scales `v` to unit length in place (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** Dot product; the cosine similarity of two normalised vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

// ---------------------------------------------------------------------------------------------
// transformers.js embedder
// ---------------------------------------------------------------------------------------------

export const DEFAULT_TRANSFORMERS_MODEL = 'Xenova/all-MiniLM-L6-v2';
export const DEFAULT_EMBED_BATCH_SIZE = 32;

export interface TransformersEmbedderOptions {
  /**
   * Model id: a Hugging Face style id resolved under `localModelPath` (its `config.json`,
   * `tokenizer.json`, `tokenizer_config.json` and `onnx/model[_quantized].onnx`).
   * @default 'Xenova/all-MiniLM-L6-v2'
   */
  model?: string;
  /**
   * Directory holding model directories. An absolute model directory can be used by passing
   * `localModelPath: '/'` and the directory as `model`.
   * @default transformers.js's own default (`<package>/models/`)
   */
  localModelPath?: string;
  /**
   * Allow downloading the model from the Hugging Face hub when it is not found locally.
   * Off by default: a NameServer must not reach out to the internet unless told to.
   * @default false
   */
  allowRemoteModels?: boolean;
  /** Use `onnx/model_quantized.onnx` (true) or `onnx/model.onnx` (false). @default true */
  quantized?: boolean;
  /** Texts per forward pass. @default 32 */
  batchSize?: number;
  /** @default silentLogger */
  logger?: Logger;
}

/** The part of a transformers.js feature-extraction pipeline this file uses. */
type FeatureExtractor = ((
  texts: string[],
  options: { pooling: 'mean'; normalize: boolean },
) => Promise<{ data: Float32Array; dims: number[] }>) & { dispose?: () => Promise<void> };

/**
 * transformers.js keeps its settings in one process-wide `env` object; loads are serialised so
 * two embedders with different directories do not see each other's settings mid-load.
 */
let loadChain: Promise<unknown> = Promise.resolve();

export class TransformersEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  readonly model: string;
  readonly #extractor: FeatureExtractor;
  readonly #batchSize: number;
  #closed = false;

  private constructor(model: string, quantized: boolean, dimensions: number, extractor: FeatureExtractor, batchSize: number) {
    this.model = model;
    this.id = `transformers:${model}:${quantized ? 'q' : 'fp'}:mean-norm`;
    this.dimensions = dimensions;
    this.#extractor = extractor;
    this.#batchSize = batchSize;
  }

  /**
   * Loads the model (local files only unless `allowRemoteModels`) and embeds a probe text to
   * learn the vector size. Rejects with transformers.js's error when the files are missing or
   * the model is corrupt; `createEmbedder` catches that to fall back.
   */
  static async load(options: TransformersEmbedderOptions = {}): Promise<TransformersEmbedder> {
    const model = options.model ?? DEFAULT_TRANSFORMERS_MODEL;
    const quantized = options.quantized ?? true;
    const batchSize = options.batchSize ?? DEFAULT_EMBED_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${String(batchSize)})`);
    const run = async () => {
      const transformers = await import('@xenova/transformers');
      const env = transformers.env;
      env.allowLocalModels = true;
      env.allowRemoteModels = options.allowRemoteModels ?? false;
      // The file cache is read before local files; only use it when downloads are allowed.
      env.useFSCache = options.allowRemoteModels ?? false;
      if (options.localModelPath !== undefined) env.localModelPath = options.localModelPath;
      const extractor = (await transformers.pipeline('feature-extraction', model, { quantized })) as unknown as FeatureExtractor;
      const probe = await extractor(['dimension probe'], { pooling: 'mean', normalize: true });
      const dimensions = probe.dims[probe.dims.length - 1] ?? 0;
      if (!(dimensions > 0)) throw new Error(`model ${model} produced no embedding dimensions (dims ${JSON.stringify(probe.dims)})`);
      return new TransformersEmbedder(model, quantized, dimensions, extractor, batchSize);
    };
    const next = loadChain.then(run, run);
    loadChain = next.catch(() => undefined);
    const embedder = await next;
    options.logger?.info('transformers embedder loaded', { model, dimensions: embedder.dimensions, quantized });
    return embedder;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closed) throw new Error(`embedder ${this.id} is closed`);
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.#batchSize) {
      const batch = texts.slice(i, i + this.#batchSize);
      const t = await this.#extractor(batch, { pooling: 'mean', normalize: true });
      const d = this.dimensions;
      for (let j = 0; j < batch.length; j++) out.push(Float32Array.from(t.data.subarray(j * d, (j + 1) * d)));
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#extractor.dispose?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Factory
// ---------------------------------------------------------------------------------------------

/**
 * - `auto`: the transformers model if it loads, else the lexical embedder (with a warning).
 * - `transformers`: the model or an error.
 * - `lexical`: the model-free embedder.
 */
export type EmbedderKind = 'auto' | 'transformers' | 'lexical';

export interface EmbedderOptions {
  /** @default 'auto' */
  kind?: EmbedderKind;
  /** Options of the transformers embedder (model id, local directory, remote downloads). */
  transformers?: Omit<TransformersEmbedderOptions, 'logger'>;
  /** Options of the lexical embedder. */
  lexical?: LexicalEmbedderOptions;
  /** Receives one line saying which embedder is active, and the fallback warning. @default silentLogger */
  logger?: Logger;
}

/** Builds the embedder `options` ask for; see {@link EmbedderKind}. */
export async function createEmbedder(options: EmbedderOptions = {}): Promise<Embedder> {
  const logger = options.logger ?? silentLogger;
  const kind = options.kind ?? 'auto';
  if (kind === 'lexical') return activeLexical(options, logger, 'configured');
  try {
    const embedder = await TransformersEmbedder.load({ ...options.transformers, logger });
    logger.info('embedder active', { embedder: embedder.id, dimensions: embedder.dimensions });
    return embedder;
  } catch (err) {
    if (kind === 'transformers') throw err;
    const model = options.transformers?.model ?? DEFAULT_TRANSFORMERS_MODEL;
    logger.warn('transformers model could not be loaded; falling back to the offline lexical embedder (synonyms from the bundled thesaurus only, no paraphrase or cross-language understanding)', {
      model,
      localModelPath: options.transformers?.localModelPath,
      error: (err as Error).message,
    });
    return activeLexical(options, logger, 'fallback');
  }
}

function activeLexical(options: EmbedderOptions, logger: Logger, why: string): Embedder {
  const embedder = new LexicalEmbedder(options.lexical);
  logger.info('embedder active', { embedder: embedder.id, dimensions: embedder.dimensions, reason: why });
  return embedder;
}
