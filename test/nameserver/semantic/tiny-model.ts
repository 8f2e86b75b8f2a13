/**
 * Builds a tiny BERT-style feature-extraction model on disk, in a few milliseconds, so the real
 * transformers.js pipeline (tokenizer -> onnxruntime session -> mean pooling -> normalisation)
 * runs in tests without downloading anything (see ../shared/reference/transformers-offline-notes.md).
 *
 * The "model" is an embedding lookup: last_hidden_state = Gather(table, input_ids) * mask.
 * Each vocabulary word has a vector chosen by the test, so a test can give two different words
 * the same meaning ("bill" = "invoice") and check that retrieval follows the model, not the
 * spelling. Files: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx and
 * onnx/model_quantized.onnx (the same float graph under both names).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as typeof import('onnx-proto');

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'] as const;

export interface TinyModelSpec {
  /** Vector size. */
  dimensions: number;
  /** Word -> its vector (length `dimensions`). Words are lowercase. */
  vectors: Record<string, number[]>;
  /** Vector of [CLS] and [SEP] (non-zero, or an empty text normalises to NaN). */
  specialVector?: number[];
  /** Vector of [UNK]. */
  unknownVector?: number[];
}

export interface TinyModel {
  /** Directory of the model (pass `localModelPath: dir's parent, model: basename`). */
  dir: string;
  vocab: string[];
  /** Token vector by token string, as stored in the table. */
  tableRow(token: string): number[];
}

/** Writes the model into `dir` (created if missing). */
export function buildTinyModel(dir: string, spec: TinyModelSpec): TinyModel {
  const d = spec.dimensions;
  const vocab = [...SPECIAL_TOKENS, ...Object.keys(spec.vectors)];
  const special = spec.specialVector ?? Array.from({ length: d }, (_, i) => (i === 0 ? 0.01 : 0));
  const rows = new Map<string, number[]>([
    ['[PAD]', new Array<number>(d).fill(0)],
    ['[UNK]', spec.unknownVector ?? Array.from({ length: d }, (_, i) => (i === d - 1 ? 0.05 : 0))],
    ['[CLS]', special],
    ['[SEP]', special],
    ...Object.entries(spec.vectors),
  ]);
  for (const [w, v] of rows) if (v.length !== d) throw new Error(`vector of ${w} has ${v.length} dimensions, expected ${d}`);
  const table = vocab.flatMap((w) => rows.get(w)!);

  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: d }));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'BertTokenizer',
      model_max_length: 512,
      do_lower_case: true,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
    }),
  );
  const special_ = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: SPECIAL_TOKENS.map((t, i) => special_(t, i)),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: '[SEP]', type_id: 1 } },
        ],
        special_tokens: {
          '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
          '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
        },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab: Object.fromEntries(vocab.map((w, i) => [w, i])),
      },
    }),
  );

  const T = onnx.TensorProto.DataType;
  const dim = (v: string | number) => (typeof v === 'string' ? { dimParam: v } : { dimValue: v });
  const valueInfo = (name: string, elemType: number, dims: Array<string | number>) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map(dim) } } },
  });
  const graph = {
    name: 'tiny-embedding',
    node: [
      { opType: 'Gather', input: ['table', 'input_ids'], output: ['embedded'], name: 'lookup' },
      { opType: 'Cast', input: ['attention_mask'], output: ['mask_f'], name: 'cast', attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }] },
      { opType: 'Unsqueeze', input: ['mask_f', 'axes'], output: ['mask_3d'], name: 'unsqueeze' },
      { opType: 'Mul', input: ['embedded', 'mask_3d'], output: ['last_hidden_state'], name: 'mask' },
    ],
    initializer: [
      { name: 'table', dataType: T.FLOAT, dims: [vocab.length, d], floatData: table },
      { name: 'axes', dataType: T.INT64, dims: [1], int64Data: [2] },
    ],
    input: [valueInfo('input_ids', T.INT64, ['batch', 'sequence']), valueInfo('attention_mask', T.INT64, ['batch', 'sequence'])],
    output: [valueInfo('last_hidden_state', T.FLOAT, ['batch', 'sequence', d])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'agentmq-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: graph as unknown as import('onnx-proto').onnx.IGraphProto,
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  writeFileSync(join(dir, 'onnx', 'model.onnx'), bytes);
  writeFileSync(join(dir, 'onnx', 'model_quantized.onnx'), bytes);
  return { dir, vocab, tableRow: (token) => rows.get(token) ?? rows.get('[UNK]')! };
}

/**
 * What the pipeline should return for `text` with this model: the mean of the token vectors of
 * [CLS] + WordPiece tokens + [SEP] (whole words here; unknown words are [UNK]), normalised.
 */
export function expectedEmbedding(model: TinyModel, text: string): number[] {
  const tokens = ['[CLS]', ...text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean), '[SEP]'];
  const rows = tokens.map((t) => model.tableRow(t));
  const d = rows[0]!.length;
  const mean = Array.from({ length: d }, (_, i) => rows.reduce((s, r) => s + r[i]!, 0) / rows.length);
  const norm = Math.sqrt(mean.reduce((s, x) => s + x * x, 0));
  return mean.map((x) => x / norm);
}
