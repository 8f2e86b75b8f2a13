/**
 * The embedder the benchmark gives `HybridSearch` / `TopicCatalog`: vectors are computed by the
 * harness beforehand and handed over in order, so index build and search times exclude embedding.
 * With `delegate` set, `embed` calls a real embedder instead (search latency including query
 * embedding).
 */
import type { Embedder } from '../../nameserver/semantic/embedder.js';

export class PrecomputedEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  /** When set, `embed` embeds with it instead of handing out queued vectors. */
  delegate: Embedder | undefined;
  #queue: Float32Array[] = [];
  #head = 0;

  /**
   * `id` decides the embedder family of `HybridSearch` (ranker weights, calibration): an id
   * starting with `lexical` is the lexical family, anything else the transformers family.
   */
  constructor(id: string, dimensions: number) {
    this.id = id;
    this.dimensions = dimensions;
  }

  /** Queues the vectors the next `embed` calls return, in order. */
  push(...vectors: Float32Array[]): void {
    for (const v of vectors) this.#queue.push(v);
  }

  /** Vectors queued and not yet handed out. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.delegate) return this.delegate.embed(texts);
    if (this.pending < texts.length) throw new Error(`PrecomputedEmbedder: ${texts.length} texts to embed, ${this.pending} vectors queued`);
    const out = this.#queue.slice(this.#head, this.#head + texts.length);
    this.#head += texts.length;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return out;
  }
}
