import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../../proto/common/logger.js';
import { LexicalEmbedder, TransformersEmbedder, createEmbedder, dot } from '../../../nameserver/semantic/embedder.js';
import { TopicCatalog } from '../../../nameserver/semantic/topic-catalog.js';
import { buildTinyModel, expectedEmbedding } from './tiny-model.js';
import type { TinyModel } from './tiny-model.js';

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger = { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => logger };
  return logger;
}

const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

describe('lexical embedder', () => {
  it('lexical embedder - deterministic, normalised, fixed size', async () => {
    const a = new LexicalEmbedder();
    const b = new LexicalEmbedder();
    const texts = ['Extract line items from supplier invoices', '', '帮我找几篇论文'];
    const [va, vb] = [await a.embed(texts), await b.embed(texts)];
    expect(a.id).toBe(b.id);
    expect(a.dimensions).toBe(1024);
    for (let i = 0; i < texts.length; i++) {
      expect(va[i]!.length).toBe(1024);
      expect(Array.from(va[i]!)).toEqual(Array.from(vb[i]!));
      expect(norm(va[i]!)).toBeCloseTo(1, 5);
    }
  });

  it('lexical embedder - shared words and inflections bring texts closer', () => {
    const e = new LexicalEmbedder({ dimensions: 2048 });
    const q = e.embedOne('summarise PDF contracts');
    const near = e.embedOne('Summarizes long PDF documents such as reports and contracts');
    const far = e.embedOne('Converts amounts between currencies at live exchange rates');
    expect(dot(q, near)).toBeGreaterThan(dot(q, far) + 0.2);
    // Cognates share character n-grams: Spanish "documentos" is closer to "documents" than to "currencies".
    const es = e.embedOne('documentos');
    expect(dot(es, e.embedOne('documents'))).toBeGreaterThan(dot(es, e.embedOne('currencies')));
  });

  it('lexical embedder - options change the id (so cached vectors are not mixed)', () => {
    expect(new LexicalEmbedder({ dimensions: 512 }).id).not.toBe(new LexicalEmbedder().id);
    expect(() => new LexicalEmbedder({ dimensions: 3 })).toThrow(/dimensions/);
  });
});

describe('transformers embedder on a tiny self-built model', () => {
  let root: string;
  let model: TinyModel;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'agentmq-tiny-model-'));
    // Four "meanings": invoices (bill = invoice), translation, summaries, weather.
    model = buildTinyModel(join(root, 'tiny-bert'), {
      dimensions: 4,
      vectors: {
        invoice: [1, 0, 0, 0],
        invoices: [1, 0, 0, 0],
        bill: [1, 0, 0, 0],
        bills: [1, 0, 0, 0],
        translate: [0, 1, 0, 0],
        translation: [0, 1, 0, 0],
        summarize: [0, 0, 1, 0],
        summary: [0, 0, 1, 0],
        weather: [0, 0, 0, 1],
        forecast: [0, 0, 0, 1],
      },
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('transformers - the real pipeline returns the mean-pooled, normalised vectors', async () => {
    const logger = capturingLogger();
    const embedder = await TransformersEmbedder.load({ localModelPath: root, model: 'tiny-bert', quantized: false, logger });
    expect(embedder.dimensions).toBe(4);
    expect(embedder.id).toBe('transformers:tiny-bert:fp:mean-norm');
    expect(logger.lines.some((l) => l.startsWith('info transformers embedder loaded'))).toBe(true);
    const texts = ['extract invoice', 'translate this text please', 'summary'];
    const vectors = await embedder.embed(texts);
    texts.forEach((t, i) => {
      const want = expectedEmbedding(model, t);
      Array.from(vectors[i]!).forEach((x, j) => expect(x).toBeCloseTo(want[j]!, 5));
    });
    await embedder.close();
    await expect(embedder.embed(['x'])).rejects.toThrow(/closed/);
  });

  it('transformers - batches of different lengths and more texts than one batch', async () => {
    const embedder = await TransformersEmbedder.load({ localModelPath: root, model: 'tiny-bert', batchSize: 2 });
    const texts = ['bill', 'weather forecast for tomorrow in the mountains', 'translate', 'summarize the bills', 'x'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(5);
    texts.forEach((t, i) => {
      const want = expectedEmbedding(model, t);
      Array.from(vectors[i]!).forEach((x, j) => expect(x).toBeCloseTo(want[j]!, 5));
    });
    await embedder.close();
  });

  it('transformers - retrieval follows the model: "bills" finds the invoice topic with no shared word', async () => {
    const embedder = await TransformersEmbedder.load({ localModelPath: root, model: 'tiny-bert' });
    const catalog = new TopicCatalog({ embedder, search: { weights: { lexical: 0, vector: 1 } } });
    await catalog.upsert({ name: 'invoice-reader', description: 'invoice' }, { broker: 'b1' });
    await catalog.upsert({ name: 'translator', description: 'translation' }, { broker: 'b1' });
    await catalog.upsert({ name: 'weather', description: 'weather forecast' }, { broker: 'b1' });
    const result = await catalog.search('bills');
    expect(result.hits[0]!.name).toBe('invoice-reader');
    expect(result.hits[0]!.signals.cosine).toBeCloseTo(1, 1);
    await embedder.close();
  });

  it('createEmbedder - uses the model when it loads and says so', async () => {
    const logger = capturingLogger();
    const embedder = await createEmbedder({ transformers: { localModelPath: root, model: 'tiny-bert' }, logger });
    expect(embedder.id).toMatch(/^transformers:tiny-bert/);
    expect(logger.lines.some((l) => l.startsWith('info embedder active') && l.includes('transformers:tiny-bert'))).toBe(true);
    await embedder.close?.();
  });

  it('createEmbedder - falls back to the lexical embedder with a clear warning when the model is missing', async () => {
    const logger = capturingLogger();
    const embedder = await createEmbedder({ transformers: { localModelPath: root, model: 'no-such-model' }, logger });
    expect(embedder.id).toMatch(/^lexical/);
    const warn = logger.lines.find((l) => l.startsWith('warn'))!;
    expect(warn).toMatch(/falling back to the offline lexical embedder/);
    expect(warn).toMatch(/no-such-model/);
    expect(logger.lines.some((l) => l.startsWith('info embedder active') && l.includes('fallback'))).toBe(true);
  });

  it('createEmbedder - kind "transformers" fails instead of falling back; kind "lexical" never loads a model', async () => {
    await expect(createEmbedder({ kind: 'transformers', transformers: { localModelPath: root, model: 'no-such-model' } })).rejects.toThrow(
      /not found locally|was not found/,
    );
    const lexical = await createEmbedder({ kind: 'lexical', lexical: { dimensions: 256 } });
    expect(lexical.dimensions).toBe(256);
  });
});
