/**
 * Capabilities as LLM tools: provider-safe names (valid, unique, order-independent, reversible),
 * each provider's tool shape (MCP checked against the MCP SDK's own Tool schema), object-rooted
 * parameters (open objects, wrapped non-object inputs), OpenAI strict mode, descriptions, and
 * parseCall mapping a model's call back to a topic and payload.
 */
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ListToolsResultSchema, ToolSchema } from '@modelcontextprotocol/sdk/types.js';
import { MqError } from '../../proto/common/errors.js';
import { validateTopicDocument } from '../../proto/common/topic-document.js';
import type { CatalogTopic, DiscoveryHit, DiscoveryResult } from '../../client/discovery/discovery-types.js';
import type { DiscoveredCapability } from '../../client/agent/capability.js';
import {
  MCP_TOOL_NAME_RULE,
  OPENAI_TOOL_NAME_RULE,
  ToolNameMap,
  baseToolName,
  shortHash,
  type ToolProvider,
} from '../../client/agent/tool-names.js';
import {
  MCP_TOPIC_META_KEY,
  objectRootSchema,
  strictSchema,
  toolDescription,
  tools,
  type Capability,
} from '../../client/agent/tools.js';

const OPENAI_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MCP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const PROVIDERS: ToolProvider[] = ['openai-chat', 'openai-responses', 'anthropic', 'mcp'];

/** Small seeded PRNG (mulberry32), so the random cases are the same every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const ALPHABET = ['a', 'B', 'z', '0', '9', '_', '-', '.', ' ', '/', ':', '%', 'é', 'ü', '日', '本', '😀', 'Ω', '\t', '@'];

function randomNames(n: number, seed: number): string[] {
  const rand = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(rand() * (rand() < 0.1 ? 200 : 24));
    let s = '';
    for (let k = 0; k < len; k++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
    out.push(s);
  }
  return out;
}

function errorOf(fn: () => unknown): MqError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MqError);
    return err as MqError;
  }
  throw new Error('expected an error');
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every object schema in `s` is strict: additionalProperties false and every property required. */
function expectStrictEverywhere(s: unknown, path = '#'): void {
  if (Array.isArray(s)) return s.forEach((x, i) => expectStrictEverywhere(x, `${path}/${i}`));
  if (!isObj(s)) return;
  const types = typeof s.type === 'string' ? [s.type] : Array.isArray(s.type) ? s.type : [];
  if (types.includes('object')) {
    expect(s.additionalProperties, `${path}.additionalProperties`).toBe(false);
    expect(s.required, `${path}.required`).toEqual(Object.keys(s.properties as object));
  }
  for (const [k, v] of Object.entries(s)) expectStrictEverywhere(v, `${path}/${k}`);
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
function valid(schema: unknown, value: unknown): boolean {
  return ajv.validate(schema as object, value) as boolean;
}

// ---------------------------------------------------------------------------------------------

describe('tool names', () => {
  it('tool names - many random and edge names are valid, unique and reversible for every provider', () => {
    const edge = [
      'finance.invoice-extraction',
      'finance_invoice-extraction',
      'Finance.Invoice-Extraction',
      'café-agent',
      'cafe-agent',
      '日本語エージェント',
      '😀',
      '...',
      '-lead-dash',
      'trail.dot.',
      '%RETRY%group',
      'a'.repeat(200),
      `${'a'.repeat(100)}b${'c'.repeat(99)}`,
      `${'a'.repeat(100)}c${'c'.repeat(99)}`,
      'x'.repeat(64),
      'x'.repeat(65),
      'y'.repeat(128),
      'y'.repeat(129),
      'with space',
      'with/slash',
      'with:colon',
    ];
    const topics = [...edge, ...randomNames(600, 42)];
    for (const provider of PROVIDERS) {
      const map = new ToolNameMap(topics, { provider });
      const pattern = provider === 'mcp' ? MCP_NAME : OPENAI_NAME;
      const distinct = new Set(topics);
      expect(map.size).toBe(distinct.size);
      const lower = new Set<string>();
      for (const topic of distinct) {
        const name = map.toolName(topic);
        expect(name, JSON.stringify(topic)).toMatch(pattern);
        expect(lower.has(name.toLowerCase()), `duplicate ${name}`).toBe(false);
        lower.add(name.toLowerCase());
        expect(map.topicOf(name)).toBe(topic);
        expect(map.hasTool(name)).toBe(true);
      }
    }
  });

  it('tool names - the same set of topics gives the same names in any input order', () => {
    const topics = [...randomNames(300, 7), 'a.b', 'a b', 'a_b', 'A_B', 'a/b', 'Foo', 'foo', 'x'.repeat(200), `${'x'.repeat(199)}y`];
    const rand = rng(99);
    for (const provider of ['openai-chat', 'mcp'] as const) {
      const expected = new ToolNameMap(topics, { provider }).toJSON();
      for (let i = 0; i < 10; i++) {
        const shuffled = shuffle(topics, rand);
        // duplicates in the input change nothing either
        const withDuplicates = [...shuffled, ...shuffled.slice(0, 20)];
        expect(new ToolNameMap(withDuplicates, { provider }).toJSON()).toEqual(expected);
      }
    }
  });

  it('tool names - valid names stay, invalid characters are replaced, per provider', () => {
    expect(new ToolNameMap(['invoice-extractor']).toolName('invoice-extractor')).toBe('invoice-extractor');
    expect(new ToolNameMap(['finance.invoice']).toolName('finance.invoice')).toBe('finance_invoice');
    expect(new ToolNameMap(['finance.invoice'], { provider: 'mcp' }).toolName('finance.invoice')).toBe('finance.invoice');
    expect(new ToolNameMap(['café agent']).toolName('café agent')).toBe('cafe_agent');
    expect(new ToolNameMap(['a  //  b']).toolName('a  //  b')).toBe('a_b');
    expect(new ToolNameMap(['.hidden.'], { provider: 'anthropic' }).toolName('.hidden.')).toBe('hidden');
    expect(new ToolNameMap(['日本語']).toolName('日本語')).toBe(`tool_${shortHash('日本語')}`);
    expect(new ToolNameMap(['%RETRY%g']).toolName('%RETRY%g')).toBe('RETRY_g');
  });

  it('tool names - long names are cut and end in a stable hash of the topic', () => {
    const long = `${'a'.repeat(100)}.${'b'.repeat(99)}`;
    const openai = new ToolNameMap([long]).toolName(long);
    expect(openai).toHaveLength(64);
    expect(openai.endsWith(`_${shortHash(long)}`)).toBe(true);
    const mcp = new ToolNameMap([long], { provider: 'mcp' }).toolName(long);
    expect(mcp).toHaveLength(128);
    expect(mcp.startsWith(`${'a'.repeat(100)}.b`)).toBe(true);
    expect(mcp.endsWith(`_${shortHash(long)}`)).toBe(true);
    // exactly at the limit: kept
    expect(new ToolNameMap(['x'.repeat(64)]).toolName('x'.repeat(64))).toBe('x'.repeat(64));
    expect(new ToolNameMap(['x'.repeat(65)]).toolName('x'.repeat(65))).toMatch(/^x{55}_[0-9a-f]{8}$/);
    // two long names with the same first 64 characters differ
    const a = `${'p'.repeat(70)}a`;
    const b = `${'p'.repeat(70)}b`;
    const m = new ToolNameMap([a, b]);
    expect(m.toolName(a)).not.toBe(m.toolName(b));
  });

  it('tool names - collisions: an unchanged name keeps it, the others get their hash suffix', () => {
    const m = new ToolNameMap(['a.b', 'a b', 'a_b']);
    expect(m.toolName('a_b')).toBe('a_b');
    expect(m.toolName('a.b')).toBe(`a_b_${shortHash('a.b')}`);
    expect(m.toolName('a b')).toBe(`a_b_${shortHash('a b')}`);
    // none unchanged: all suffixed, none gets the bare name
    const n = new ToolNameMap(['a.b', 'a b']);
    expect(n.toolName('a.b')).toBe(`a_b_${shortHash('a.b')}`);
    expect(n.toolName('a b')).toBe(`a_b_${shortHash('a b')}`);
    // alone, a changed name needs no suffix
    expect(new ToolNameMap(['a.b']).toolName('a.b')).toBe('a_b');
    // case-insensitive collisions: the first in code-unit order keeps the name
    const c = new ToolNameMap(['foo', 'Foo']);
    expect(c.toolName('Foo')).toBe('Foo');
    expect(c.toolName('foo')).toBe(`foo_${shortHash('foo')}`);
    // MCP keeps dots, so there is no collision there
    const mcp = new ToolNameMap(['a.b', 'a_b'], { provider: 'mcp' });
    expect(mcp.toJSON()).toEqual({ 'a.b': 'a.b', a_b: 'a_b' });
  });

  it('tool names - the reverse map and errors', () => {
    const m = new ToolNameMap(['finance.invoice', 'hr.onboarding']);
    expect(m.topicOf('finance_invoice')).toBe('finance.invoice');
    expect(m.topicOf('finance.invoice')).toBeUndefined();
    expect(m.topicOf('nope')).toBeUndefined();
    expect(m.entries()).toEqual([
      { topic: 'finance.invoice', toolName: 'finance_invoice' },
      { topic: 'hr.onboarding', toolName: 'hr_onboarding' },
    ]);
    expect(errorOf(() => m.toolName('unknown')).message).toMatch(/not one of the mapped topics/);
    expect(errorOf(() => new ToolNameMap([''])).message).toMatch(/non-empty/);
    expect(errorOf(() => new ToolNameMap(['a'], { provider: 'gemini' as ToolProvider })).message).toMatch(/provider/);
  });

  it('tool names - base names follow the rules on their own', () => {
    expect(baseToolName('ok_name', OPENAI_TOOL_NAME_RULE)).toEqual({ name: 'ok_name', exact: true });
    expect(baseToolName('ok.name', OPENAI_TOOL_NAME_RULE)).toEqual({ name: 'ok_name', exact: false });
    expect(baseToolName('ok.name', MCP_TOOL_NAME_RULE)).toEqual({ name: 'ok.name', exact: true });
  });
});

// ---------------------------------------------------------------------------------------------

const invoiceSchema = {
  type: 'object',
  properties: {
    documentUrl: { type: 'string', format: 'uuid', description: 'Where the invoice is' },
    currency: { type: 'string', enum: ['EUR', 'USD'] },
    pages: { type: 'integer', minimum: 1 },
    note: { type: ['string', 'null'] },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        properties: { sku: { type: 'string' }, qty: { type: 'number' }, memo: { type: 'string' } },
        required: ['sku', 'qty'],
      },
    },
    options: { $ref: '#/$defs/options' },
  },
  required: ['documentUrl'],
  $defs: {
    options: { type: 'object', properties: { ocr: { type: 'boolean' }, language: { type: 'string' } }, required: ['ocr'] },
  },
};

const capabilities: Capability[] = [
  {
    topic: 'finance.invoice-extraction',
    name: 'Invoice extraction',
    description: 'Extracts structured data from invoices.',
    skills: [
      { id: 'extract', name: 'Extract invoice data', description: 'Pulls the line items out of an invoice', examples: ['Extract the line items from invoice 42'] },
      { id: 'totals', name: 'Check totals', examples: ['Do the totals of this invoice add up?', 'Sum the VAT'] },
    ],
    inputSchema: invoiceSchema,
    outputSchema: { type: 'object', properties: { total: { type: 'number' } } },
  },
  { topic: 'translate', description: 'Translates text.', inputSchema: { type: 'string' }, outputSchema: { type: 'string' } },
  { topic: 'free-form', description: 'Takes anything.' },
];

describe('tools: provider shapes', () => {
  it('tools - OpenAI Chat Completions: {type:function, function:{name, description, parameters}}', () => {
    const set = tools(capabilities, { provider: 'openai-chat' });
    expect(set.tools).toHaveLength(3);
    for (const t of set.tools) {
      expect(Object.keys(t).sort()).toEqual(['function', 'type']);
      expect(t.type).toBe('function');
      expect(Object.keys(t.function).sort()).toEqual(['description', 'name', 'parameters']); // no strict unless asked
      expect(t.function.name).toMatch(OPENAI_NAME);
      expect(t.function.parameters.type).toBe('object');
      expect(typeof t.function.description).toBe('string');
      expect(ajv.validateSchema(t.function.parameters)).toBe(true);
    }
    expect(set.tools.map((t) => t.function.name)).toEqual(['finance_invoice-extraction', 'translate', 'free-form']);
    expect(set.tools[2]!.function.parameters).toEqual({ type: 'object', properties: {}, additionalProperties: true });
  });

  it('tools - OpenAI Responses API: flat, strict always present', () => {
    const set = tools(capabilities, { provider: 'openai-responses' });
    for (const t of set.tools) {
      expect(Object.keys(t).sort()).toEqual(['description', 'name', 'parameters', 'strict', 'type']);
      expect(t.type).toBe('function');
      expect(t.strict).toBe(false);
      expect(t.name).toMatch(OPENAI_NAME);
      expect(t.parameters.type).toBe('object');
    }
    const strict = tools(capabilities, { provider: 'openai-responses', strict: true });
    expect(strict.tools.map((t) => t.strict)).toEqual([true, true, false]);
  });

  it('tools - Anthropic: {name, description, input_schema}', () => {
    const set = tools(capabilities, { provider: 'anthropic', strict: true /* ignored */ });
    for (const t of set.tools) {
      expect(Object.keys(t).sort()).toEqual(['description', 'input_schema', 'name']);
      expect(t.name).toMatch(OPENAI_NAME);
      expect(t.input_schema.type).toBe('object');
      expect(ajv.validateSchema(t.input_schema)).toBe(true);
    }
    expect(set.tools[0]!.input_schema).toEqual(invoiceSchema); // not made strict
    expect(set.bindings.every((b) => !b.strict)).toBe(true);
  });

  it('tools - MCP: valid per the MCP SDK Tool schema, title, outputSchema, topic in _meta', () => {
    const set = tools(capabilities, { provider: 'mcp' });
    for (const t of set.tools) {
      const parsed = ToolSchema.safeParse(t);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      expect(t.name).toMatch(MCP_NAME);
    }
    expect(ListToolsResultSchema.safeParse({ tools: set.tools }).success).toBe(true);
    const [invoice, translate, free] = set.tools;
    expect(invoice!.name).toBe('finance.invoice-extraction');
    expect(invoice!.title).toBe('Invoice extraction');
    expect(invoice!.outputSchema).toEqual({ type: 'object', properties: { total: { type: 'number' } } });
    expect(invoice!._meta).toEqual({ [MCP_TOPIC_META_KEY]: 'finance.invoice-extraction' });
    expect(translate!.title).toBeUndefined();
    expect(translate!.outputSchema).toEqual({ type: 'object', properties: { result: { type: 'string' } }, required: ['result'] });
    expect(free!.outputSchema).toBeUndefined();
    expect(set.binding('translate')!.outputWrapped).toBe(true);
    expect(set.wrapResult('translate', 'hallo')).toEqual({ result: 'hallo' });
    expect(set.wrapResult('finance.invoice-extraction', { total: 3 })).toEqual({ total: 3 });
  });

  it('tools - accepts discovery hits, catalog topics, topic documents and a discovery result; drops duplicate topics', () => {
    const doc = validateTopicDocument({
      name: 'summarize',
      description: 'Summarizes documents.',
      skills: [{ id: 's', name: 'Summarize', tags: ['text'], examples: ['Summarize this'] }],
      inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    });
    const catalog: CatalogTopic = {
      name: 'classify',
      metadata: { description: 'Classifies tickets.', tags: [], skills: [], attributes: {}, inputSchema: { type: 'string' } },
      live: true,
      routes: [{ broker: 'b1', endpoint: '127.0.0.1:8081', queueCount: 4 }],
      updatedAtMs: 1,
    };
    const hit: DiscoveryHit = { topic: { ...catalog, name: 'route' }, score: 0.9, vectorScore: 0.9, lexicalScore: 0.5 };
    const result: DiscoveryResult = { hits: [hit], noMatch: false, noMatchReason: '', bestScore: 0.9, threshold: 0.265, offlineFits: 0, embedder: 'test' };

    const set = tools([doc, catalog, hit, doc], { provider: 'anthropic' });
    expect(set.tools.map((t) => t.name)).toEqual(['summarize', 'classify', 'route']);
    expect(set.tools[0]!.input_schema).toEqual(doc.inputSchema);
    expect(set.tools[0]!.description).toBe('Summarizes documents.\nSkills: Summarize\nExamples: "Summarize this"');
    expect(set.binding('classify')!.inputWrapped).toBe(true);
    expect(tools(result, { provider: 'mcp' }).tools.map((t) => t.name)).toEqual(['route']);
    expect(errorOf(() => tools([{ description: 'no name' } as unknown as Capability], { provider: 'mcp' })).message).toMatch(/must have a topic/);
  });

  it('tools - renders what Supervisor.discover() returns as it is', () => {
    const discovered: DiscoveredCapability[] = [
      {
        topic: 'finance.invoice-extraction',
        name: 'Invoice Extractor',
        description: 'Extracts invoices.',
        tags: ['finance'],
        skills: [{ id: 'x', name: 'Extract', description: '', tags: [], examples: ['Extract invoice 7'] }],
        inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
        attributes: {},
        score: 0.8,
        live: true,
      },
    ];
    const mcp = tools(discovered, { provider: 'mcp' });
    expect(mcp.tools[0]).toMatchObject({ name: 'finance.invoice-extraction', title: 'Invoice Extractor', description: 'Extracts invoices.\nSkills: Extract\nExamples: "Extract invoice 7"' });
    const openai = tools(discovered, { provider: 'openai-chat', strict: true });
    expect(openai.tools[0]!.function.name).toBe('finance_invoice-extraction');
    expect(openai.parseCall('finance_invoice-extraction', '{"url":"u"}')).toEqual({ toolName: 'finance_invoice-extraction', topic: 'finance.invoice-extraction', args: { url: 'u' } });
  });

  it('tools - does not change the capabilities it is given', () => {
    const copy = JSON.parse(JSON.stringify(capabilities)) as Capability[];
    const set = tools(capabilities, { provider: 'openai-chat', strict: true });
    expect(capabilities).toEqual(copy);
    (set.tools[0]!.function.parameters.properties as Record<string, unknown>).injected = true;
    expect(tools(capabilities, { provider: 'openai-chat' }).tools[0]!.function.parameters).toEqual(invoiceSchema);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tools: object roots and wrapping', () => {
  it('tools - a missing schema becomes an open object; a type-less object schema gets type object', () => {
    expect(objectRootSchema(undefined)).toEqual({ schema: { type: 'object', properties: {}, additionalProperties: true }, wrapped: false, open: true });
    expect(objectRootSchema({ properties: { a: { type: 'string' } } }).schema).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
    expect(objectRootSchema({ type: ['object', 'null'], properties: {} }).schema.type).toBe('object');
    expect(objectRootSchema({ type: 'object' }).schema).toEqual({ type: 'object', properties: {} });
    const composed = { type: 'object', properties: { a: { type: 'string' } }, allOf: [{ required: ['a'] }] };
    expect(objectRootSchema(composed)).toMatchObject({ schema: composed, wrapped: false });
    expect(objectRootSchema({ properties: {}, anyOf: [{ type: 'string' }, { type: 'object' }] }).wrapped).toBe(true);
  });

  it('tools - non-object inputs are wrapped in {input}, and parseCall unwraps the arguments', () => {
    const inputs: [unknown, unknown][] = [
      [{ type: 'string' }, 'bonjour'],
      [{ type: 'array', items: { type: 'number' } }, [1, 2, 3]],
      [{ oneOf: [{ type: 'string' }, { type: 'object', properties: { text: { type: 'string' } } }] }, { text: 'x' }],
      [{ type: 'integer', minimum: 0 }, 0],
      [{ enum: ['a', 'b'] }, 'b'],
    ];
    for (const [schema, value] of inputs) {
      const set = tools([{ topic: 't', description: 'd', inputSchema: schema as Record<string, unknown> }], { provider: 'openai-chat' });
      const params = set.tools[0]!.function.parameters;
      expect(params).toEqual({ type: 'object', properties: { input: schema }, required: ['input'] });
      expect(set.binding('t')!.inputWrapped).toBe(true);
      const call = set.parseCall('t', JSON.stringify({ input: value }));
      expect(call).toEqual({ toolName: 't', topic: 't', args: value });
      expect(valid(schema, call.args)).toBe(true);
    }
  });

  it('tools - wrapping moves $defs to the root and rewrites local $refs', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'array',
      items: { $ref: '#/$defs/item' },
      $defs: { item: { type: 'object', properties: { name: { type: 'string' }, children: { $ref: '#' } }, required: ['name'] } },
      prefixItems: [{ $ref: '#/items' }],
    };
    const { schema: wrapped, wrapped: isWrapped } = objectRootSchema(schema);
    expect(isWrapped).toBe(true);
    expect(wrapped.$schema).toBe(schema.$schema);
    expect(wrapped.$defs).toEqual({
      item: { type: 'object', properties: { name: { type: 'string' }, children: { $ref: '#/properties/input' } }, required: ['name'] },
    });
    const inner = (wrapped.properties as Record<string, Record<string, unknown>>).input!;
    expect(inner.$defs).toBeUndefined();
    expect(inner.items).toEqual({ $ref: '#/$defs/item' });
    expect(inner.prefixItems).toEqual([{ $ref: '#/properties/input/items' }]);
    const value = [{ name: 'a', children: [{ name: 'b' }] }];
    expect(valid(schema, value)).toBe(true);
    expect(valid(wrapped, { input: value })).toBe(true);
    expect(valid(wrapped, { input: [{ name: 'a', children: [{ nom: 'b' }] }] })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tools: OpenAI strict mode', () => {
  it('tools - strict: additionalProperties false everywhere, all properties required, optional ones nullable', () => {
    const set = tools(capabilities, { provider: 'openai-chat', strict: true });
    const t = set.tools[0]!.function;
    expect(t.strict).toBe(true);
    expectStrictEverywhere(t.parameters);
    const props = t.parameters.properties as Record<string, Record<string, unknown>>;
    expect(props.documentUrl).toEqual({ type: 'string', format: 'uuid', description: 'Where the invoice is' }); // required: unchanged
    expect(props.currency).toEqual({ type: ['string', 'null'], enum: ['EUR', 'USD', null] });
    expect(props.pages).toEqual({ type: ['integer', 'null'], minimum: 1 });
    expect(props.note).toEqual({ type: ['string', 'null'] }); // already nullable
    expect(props.options).toEqual({ anyOf: [{ $ref: '#/$defs/options' }, { type: 'null' }] });
    const line = (props.lines!.items as Record<string, unknown>).properties as Record<string, unknown>;
    expect(line.memo).toEqual({ type: ['string', 'null'] });
    expect(line.sku).toEqual({ type: 'string' });
    expect(ajv.validateSchema(t.parameters)).toBe(true);
    // the wrapped string input is strict too; the open one is not
    expect(set.tools[1]!.function).toMatchObject({ strict: true, parameters: { additionalProperties: false, required: ['input'] } });
    expect(set.tools[2]!.function.strict).toBe(false);
    expect(set.binding('free-form')!.strictProblem).toMatch(/no input schema/);
  });

  it('tools - strict: parseCall drops the nulls sent for optional properties, keeps the others', () => {
    const set = tools(capabilities, { provider: 'openai-chat', strict: true });
    const modelArgs = {
      documentUrl: '3f1c0d8e-9b7a-4c1e-8f00-000000000000',
      currency: null,
      pages: null,
      note: null, // the schema allows null: kept
      lines: [{ sku: 'A', qty: 2, memo: null }],
      options: { ocr: true, language: null },
    };
    const strictParams = set.tools[0]!.function.parameters;
    expect(valid(strictParams, modelArgs)).toBe(true);
    expect(valid(invoiceSchema, modelArgs)).toBe(false);
    const call = set.parseCall('finance_invoice-extraction', JSON.stringify(modelArgs));
    expect(call.topic).toBe('finance.invoice-extraction');
    expect(call.args).toEqual({
      documentUrl: '3f1c0d8e-9b7a-4c1e-8f00-000000000000',
      note: null,
      lines: [{ sku: 'A', qty: 2 }],
      options: { ocr: true },
    });
    expect(valid(invoiceSchema, call.args)).toBe(true);
    // without strict mode nulls are the model's business
    const loose = tools(capabilities, { provider: 'openai-chat' });
    expect(loose.parseCall('finance_invoice-extraction', modelArgs).args).toEqual(modelArgs);
  });

  it('tools - strict is refused, and strict:false sent, for schemas outside the strict subset', () => {
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ type: 'object', properties: { a: { oneOf: [{ type: 'string' }, { type: 'number' }] } } }, /"oneOf"/],
      [{ type: 'object', properties: { a: { type: 'string', minLength: 2 } } }, /"minLength"/],
      [{ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true }, /additional properties/],
      [{ type: 'object', properties: { a: { type: 'object' } } }, /open object/],
      [{ type: 'object', properties: {} }, /open object/],
      [{ type: 'object', properties: { a: { type: 'string', format: 'uri' } } }, /format "uri"/],
      [{ type: 'object', properties: { a: { description: 'anything' } } }, /no type/],
      [{ type: 'object', properties: { a: { type: ['string', 'number'] } } }, /several types/],
      [{ type: 'object', properties: { a: { $ref: 'https://example.com/s.json' } } }, /non-local \$ref/],
      [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'b'] }, /does not define \(b\)/],
      [{ type: 'object', properties: { a: { type: 'string', enum: Array.from({ length: 1001 }, (_, i) => `v${i}`) } } }, /enum values/],
    ];
    let nested: Record<string, unknown> = { type: 'object', properties: { leaf: { type: 'string' } }, required: ['leaf'] };
    for (let i = 0; i < 11; i++) nested = { type: 'object', properties: { n: nested }, required: ['n'] };
    refused.push([nested, /nested more than 10/]);

    for (const [schema, why] of refused) {
      const set = tools([{ topic: 't', description: 'd', inputSchema: schema }], { provider: 'openai-chat', strict: true });
      expect(set.tools[0]!.function.strict, JSON.stringify(schema).slice(0, 80)).toBe(false);
      expect(set.tools[0]!.function.parameters).toEqual(objectRootSchema(schema).schema); // sent as it is
      expect(set.binding('t')!.strictProblem).toMatch(why);
    }
    // explicit strict:false is sent as false; absent is not sent
    expect(tools(capabilities, { provider: 'openai-chat', strict: false }).tools[0]!.function.strict).toBe(false);
  });

  it('tools - strict keeps anyOf, const, recursion through $defs, and drops annotations it does not support', () => {
    const schema = {
      type: 'object',
      properties: {
        shape: { anyOf: [{ type: 'object', properties: { r: { type: 'number' } }, required: ['r'] }, { type: 'string' }] },
        kind: { const: 'v1' },
        tree: { $ref: '#/$defs/node' },
        tagged: { type: 'string', default: 'x', examples: ['y'] },
      },
      required: ['shape'],
      $defs: { node: { type: 'object', properties: { value: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
    };
    const r = strictSchema(objectRootSchema(schema).schema);
    expect('schema' in r).toBe(true);
    if (!('schema' in r)) return;
    expectStrictEverywhere(r.schema);
    const props = r.schema.properties as Record<string, unknown>;
    expect(props.kind).toEqual({ anyOf: [{ const: 'v1' }, { type: 'null' }] });
    expect(props.tagged).toEqual({ type: ['string', 'null'] });
    expect(props.shape).toEqual({
      anyOf: [{ type: 'object', properties: { r: { type: 'number' } }, required: ['r'], additionalProperties: false }, { type: 'string' }],
    });
    expect((r.schema.$defs as Record<string, Record<string, unknown>>).node!.required).toEqual(['value', 'children']);
    expect(ajv.validateSchema(r.schema)).toBe(true);

    const set = tools([{ topic: 't', description: 'd', inputSchema: schema }], { provider: 'openai-responses', strict: true });
    expect(set.tools[0]!.strict).toBe(true);
    const args = { shape: { r: 1 }, kind: null, tree: { value: 'a', children: [{ value: null, children: null }] }, tagged: null };
    expect(valid(set.tools[0]!.parameters, args)).toBe(true);
    const call = set.parseCall('t', args);
    expect(call.args).toEqual({ shape: { r: 1 }, tree: { value: 'a', children: [{}] } });
    expect(valid(schema, call.args)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tools: parseCall and descriptions', () => {
  it('tools - parseCall accepts JSON strings, objects, empty arguments, and the topic itself', () => {
    const set = tools(capabilities, { provider: 'openai-chat' });
    expect(set.parseCall('free-form', '{"a":1}')).toEqual({ toolName: 'free-form', topic: 'free-form', args: { a: 1 } });
    expect(set.parseCall('free-form', { a: 1 }).args).toEqual({ a: 1 });
    expect(set.parseCall('free-form', '').args).toEqual({});
    expect(set.parseCall('free-form', undefined).args).toEqual({});
    expect(set.parseCall('finance.invoice-extraction', {}).toolName).toBe('finance_invoice-extraction');
    const given = { a: { b: 1 } };
    const parsed = set.parseCall('free-form', given).args as typeof given;
    parsed.a.b = 2;
    expect(given.a.b).toBe(1); // a copy
  });

  it('tools - parseCall errors name the problem', () => {
    const set = tools(capabilities, { provider: 'openai-chat' });
    expect(errorOf(() => set.parseCall('nope', '{}')).message).toMatch(/toolName is not one of the tools offered/);
    expect(errorOf(() => set.parseCall('free-form', '{oops')).message).toMatch(/not valid JSON/);
    expect(errorOf(() => set.parseCall('free-form', '[1]')).message).toMatch(/must be a JSON object \(got array\)/);
    expect(errorOf(() => set.parseCall('translate', '{"text":"x"}')).message).toMatch(/must have the property "input"/);
  });

  it('tools - descriptions: description, skills and examples, bounded and deterministic', () => {
    const d = toolDescription(capabilities[0]!);
    expect(d).toBe(
      'Extracts structured data from invoices.\n' +
        'Skills: Extract invoice data: Pulls the line items out of an invoice; Check totals\n' +
        'Examples: "Extract the line items from invoice 42"; "Do the totals of this invoice add up?"; "Sum the VAT"',
    );
    const big: Capability = {
      topic: 'big',
      description: 'word '.repeat(1000),
      skills: Array.from({ length: 40 }, (_, i) => ({ name: `skill ${i}`, description: 'x'.repeat(100), examples: ['e'.repeat(300)] })),
    };
    const long = toolDescription(big);
    expect(long.length).toBeLessThanOrEqual(1024);
    expect(long.endsWith('…')).toBe(true);
    const small: Capability = { ...big, description: 'Short.' };
    const s = toolDescription(small, 300);
    expect(s.length).toBeLessThanOrEqual(300);
    expect(s.startsWith('Short.\nSkills: skill 0; skill 1;')).toBe(true); // descriptions dropped, names kept while they fit
    expect(toolDescription(small, 300)).toBe(s);
    for (const provider of PROVIDERS) {
      const set = tools([big], { provider, maxDescriptionChars: 500 });
      expect(JSON.stringify(set.tools[0]).length).toBeLessThan(1500);
    }
  });
});
