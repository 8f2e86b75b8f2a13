/**
 * Capabilities as LLM tools: renders discovered capabilities (semantic topics) as the tool
 * definitions of OpenAI (Chat Completions and Responses API), Anthropic and MCP, and maps the
 * model's tool calls back to a topic and the task payload.
 *
 *   const set = tools(result.hits, { provider: 'openai-chat', strict: true });
 *   // ... hand set.tools to the model; for each tool call it makes:
 *   const { topic, args } = set.parseCall(call.function.name, call.function.arguments);
 *
 * Rules every rendering follows (docs/agent-tools.md):
 * - names: `ToolNameMap` (tool-names.ts), per provider;
 * - parameters: the root is always `type: "object"`. A missing input schema becomes an open
 *   object (`{type:'object', properties:{}, additionalProperties:true}`); an input schema whose
 *   root is not an object (a string, an array, a `oneOf` ...) is wrapped as
 *   `{type:'object', properties:{input: schema}, required:['input']}`, and `parseCall` unwraps
 *   the arguments again, so the agent receives exactly what its schema describes;
 * - OpenAI strict mode (`strict: true`): every object gets `additionalProperties:false` and lists
 *   all its properties in `required`, optional ones made nullable; `parseCall` drops the `null`s
 *   the model then sends for them. Only schemas within the strict subset are made strict; the
 *   others are sent with `strict:false` and `binding.strictProblem` says why;
 * - description: the capability's description, then its skills' names and examples, at most
 *   `maxDescriptionChars` (1024) characters; a pure function of the capability.
 */
import type { TopicDocument } from '../../proto/common/topic-document.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import type { CatalogTopic, DiscoveryHit, DiscoveryResult, JsonSchemaObject } from '../discovery/discovery-types.js';
import { ToolNameMap, type ToolProvider } from './tool-names.js';

export type { ToolProvider } from './tool-names.js';

// ---------------------------------------------------------------------------------------------
// Input: capabilities
// ---------------------------------------------------------------------------------------------

/** A skill of a capability (an A2A `AgentSkill`); only `name` is needed. */
export interface CapabilitySkill {
  id?: string;
  name: string;
  description?: string;
  tags?: string[];
  examples?: string[];
}

/**
 * The minimum `tools()` needs to know about a capability. `discover()` hits, catalog topics and
 * topic documents are accepted as they are (see `CapabilityLike`) and read into this shape.
 */
export interface Capability {
  /** The semantic topic tasks are sent to; the tool name is derived from it. */
  topic: string;
  /** Display name (MCP `title`); when absent or equal to the tool name, no title is sent. */
  name?: string;
  /** What the capability does, in natural language. */
  description: string;
  skills?: CapabilitySkill[];
  /** JSON Schema of the task payload. */
  inputSchema?: JsonSchemaObject;
  /** JSON Schema of the result (MCP `outputSchema`). */
  outputSchema?: JsonSchemaObject;
}

/** Anything `tools()` accepts as one capability. */
export type CapabilityLike = Capability | DiscoveryHit | CatalogTopic | TopicDocument;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A schema as given, or undefined when it is missing or is not a schema object. */
function schemaOf(v: unknown): JsonSchemaObject | undefined {
  if (!isPlainObject(v) || '__invalidJson' in v) return undefined;
  return v;
}

/** Reads a `CapabilityLike` into a `Capability` (schemas are not copied here). */
export function toCapability(x: CapabilityLike): Capability {
  if (!isPlainObject(x)) throw InvalidArgumentError.format('capability', `must be an object (got ${x === null ? 'null' : typeof x})`);
  const o = x as Record<string, unknown>;
  if (typeof o.topic === 'string') return x as Capability; // Capability
  if (isPlainObject(o.topic)) return toCapability(o.topic as unknown as CatalogTopic); // DiscoveryHit
  if (typeof o.name !== 'string' || o.name === '') {
    throw InvalidArgumentError.format('capability', 'must have a topic (Capability.topic, DiscoveryHit.topic.name, CatalogTopic.name or TopicDocument.name)');
  }
  const meta = (isPlainObject(o.metadata) ? o.metadata : o) as Partial<TopicDocument>; // CatalogTopic | TopicDocument
  return {
    topic: o.name,
    description: typeof meta.description === 'string' ? meta.description : '',
    skills: Array.isArray(meta.skills) ? meta.skills : [],
    inputSchema: schemaOf(meta.inputSchema),
    outputSchema: schemaOf(meta.outputSchema),
  };
}

// ---------------------------------------------------------------------------------------------
// Output: provider tool shapes
// ---------------------------------------------------------------------------------------------

/** A JSON Schema whose root is an object, as every provider wants for parameters. */
export type ObjectSchema = { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [key: string]: unknown };

/** OpenAI Chat Completions `ChatCompletionFunctionTool`. */
export interface OpenAIChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: ObjectSchema; strict?: boolean };
}

/** OpenAI Responses API `FunctionTool` (flat; `strict` always sent, as the API defaults it to true). */
export interface OpenAIResponsesTool {
  type: 'function';
  name: string;
  description?: string;
  parameters: ObjectSchema;
  strict: boolean;
}

/** Anthropic Messages API custom tool. */
export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: ObjectSchema;
}

/** MCP `Tool` (as in tools/list). `_meta["dev.agentmq/topic"]` names the topic. */
export interface McpTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: ObjectSchema;
  outputSchema?: ObjectSchema;
  _meta?: Record<string, unknown>;
}

export interface ProviderTools {
  'openai-chat': OpenAIChatTool;
  'openai-responses': OpenAIResponsesTool;
  anthropic: AnthropicTool;
  mcp: McpTool;
}

/** `_meta` key of MCP tools holding the topic (our reverse-DNS prefix is `dev.agentmq/`). */
export const MCP_TOPIC_META_KEY = 'dev.agentmq/topic';
/** Property a non-object input schema is wrapped in. */
export const WRAPPED_INPUT_PROPERTY = 'input';
/** Property a non-object output schema is wrapped in (MCP `structuredContent` must be an object). */
export const WRAPPED_OUTPUT_PROPERTY = 'result';
export const DEFAULT_MAX_DESCRIPTION_CHARS = 1024;

export interface ToolsOptions<P extends ToolProvider = ToolProvider> {
  provider: P;
  /**
   * OpenAI strict mode (Structured Outputs for function calls). Ignored for Anthropic and MCP.
   * Chat Completions: `true`/`false` is sent as given (made `false` for a schema that cannot be
   * strict), absent is not sent. Responses API: always sent, `false` unless this is `true`.
   */
  strict?: boolean;
  /** @default 1024 */
  maxDescriptionChars?: number;
}

/** How one tool relates to its capability. */
export interface ToolBinding {
  toolName: string;
  topic: string;
  capability: Capability;
  /** The input schema's root was not an object: arguments arrive as `{input: ...}`. */
  inputWrapped: boolean;
  /** The output schema's root was not an object: `wrapResult` gives `{result: ...}`. */
  outputWrapped: boolean;
  /** The tool was rendered in OpenAI strict mode. */
  strict: boolean;
  /** Why strict mode was asked for but not applied. */
  strictProblem?: string;
  /** The (object-rooted) parameters schema before the strict transformation. */
  parameters: ObjectSchema;
}

/** A tool call mapped back to AgentMQ. */
export interface ToolCall {
  toolName: string;
  topic: string;
  /** The task payload, unwrapped and with strict-mode `null`s removed. */
  args: unknown;
}

export interface ToolSet<T> {
  provider: ToolProvider;
  /** One per capability (duplicates of a topic dropped), in the order given. */
  tools: T[];
  names: ToolNameMap;
  /** Same order as `tools`. */
  bindings: ToolBinding[];
  /** The binding of a tool name (or of a topic); undefined when there is none. */
  binding(toolNameOrTopic: string): ToolBinding | undefined;
  /**
   * Maps a model's tool call back: `args` may be the JSON string OpenAI returns, an object
   * (Anthropic `input`, MCP `arguments`), or empty. Throws `InvalidArgumentError` for an unknown
   * tool, arguments that are not a JSON object, or a wrapped call without `input`.
   */
  parseCall(toolName: string, args: unknown): ToolCall;
  /** A task result as a JSON object (MCP `structuredContent`): `{result: value}` when the output schema was wrapped. */
  wrapResult(toolNameOrTopic: string, value: unknown): Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// tools()
// ---------------------------------------------------------------------------------------------

/** Renders capabilities as the tools of `options.provider`. */
export function tools<P extends ToolProvider>(
  capabilities: Iterable<CapabilityLike> | DiscoveryResult,
  options: ToolsOptions<P>,
): ToolSet<ProviderTools[P]> {
  const provider = options.provider;
  const maxDescriptionChars = options.maxDescriptionChars ?? DEFAULT_MAX_DESCRIPTION_CHARS;
  if (!Number.isInteger(maxDescriptionChars) || maxDescriptionChars < 16) {
    throw InvalidArgumentError.format('maxDescriptionChars', `must be an integer >= 16 (got ${maxDescriptionChars})`);
  }
  const source: Iterable<CapabilityLike> = isDiscoveryResult(capabilities) ? capabilities.hits : capabilities;
  const caps: Capability[] = [];
  const seen = new Set<string>();
  for (const c of source) {
    const cap = toCapability(c);
    if (seen.has(cap.topic)) continue;
    seen.add(cap.topic);
    caps.push(cap);
  }
  const names = new ToolNameMap(caps.map((c) => c.topic), { provider }); // validates provider and topics
  const openai = provider === 'openai-chat' || provider === 'openai-responses';

  const bindings: ToolBinding[] = [];
  const rendered: unknown[] = [];
  for (const cap of caps) {
    const toolName = names.toolName(cap.topic);
    const description = toolDescription(cap, maxDescriptionChars);
    const input = objectRootSchema(schemaOf(cap.inputSchema), WRAPPED_INPUT_PROPERTY);
    const binding: ToolBinding = {
      toolName,
      topic: cap.topic,
      capability: cap,
      inputWrapped: input.wrapped,
      outputWrapped: false,
      strict: false,
      parameters: clone(input.schema),
    };
    let parameters = input.schema;
    if (openai && options.strict === true) {
      const s = strictSchema(input.schema, input.open);
      if ('schema' in s) {
        parameters = s.schema;
        binding.strict = true;
      } else binding.strictProblem = s.problem;
    }
    switch (provider) {
      case 'openai-chat': {
        const fn: OpenAIChatTool['function'] = { name: toolName, description, parameters };
        if (options.strict !== undefined) fn.strict = binding.strict;
        rendered.push({ type: 'function', function: fn } satisfies OpenAIChatTool);
        break;
      }
      case 'openai-responses':
        rendered.push({ type: 'function', name: toolName, description, parameters, strict: binding.strict } satisfies OpenAIResponsesTool);
        break;
      case 'anthropic':
        rendered.push({ name: toolName, description, input_schema: parameters } satisfies AnthropicTool);
        break;
      case 'mcp': {
        const tool: McpTool = { name: toolName, ...(cap.name && cap.name !== toolName ? { title: cap.name } : {}), description, inputSchema: parameters };
        const output = schemaOf(cap.outputSchema);
        if (output) {
          const o = objectRootSchema(output, WRAPPED_OUTPUT_PROPERTY);
          tool.outputSchema = o.schema;
          binding.outputWrapped = o.wrapped;
        }
        tool._meta = { [MCP_TOPIC_META_KEY]: cap.topic };
        rendered.push(tool);
        break;
      }
    }
    if (provider !== 'mcp') binding.outputWrapped = outputNeedsWrapping(schemaOf(cap.outputSchema));
    bindings.push(binding);
  }

  const byTool = new Map(bindings.map((b) => [b.toolName, b]));
  const byTopic = new Map(bindings.map((b) => [b.topic, b]));
  const binding = (key: string) => byTool.get(key) ?? byTopic.get(key);

  return {
    provider,
    tools: rendered as ProviderTools[P][],
    names,
    bindings,
    binding,
    parseCall(toolName: string, args: unknown): ToolCall {
      const b = binding(toolName);
      if (!b) throw InvalidArgumentError.format('toolName', `is not one of the tools offered (got ${JSON.stringify(toolName)})`);
      let obj = parseArguments(args, b.toolName);
      if (b.strict) obj = stripStrictNulls(obj, b.parameters, b.parameters) as Record<string, unknown>;
      if (!b.inputWrapped) return { toolName: b.toolName, topic: b.topic, args: obj };
      if (!(WRAPPED_INPUT_PROPERTY in obj)) {
        throw InvalidArgumentError.format('arguments', `of tool ${b.toolName} must have the property "${WRAPPED_INPUT_PROPERTY}"`);
      }
      return { toolName: b.toolName, topic: b.topic, args: obj[WRAPPED_INPUT_PROPERTY] };
    },
    wrapResult(toolNameOrTopic: string, value: unknown): Record<string, unknown> {
      const b = binding(toolNameOrTopic);
      if (!b) throw InvalidArgumentError.format('toolName', `is not one of the tools offered (got ${JSON.stringify(toolNameOrTopic)})`);
      if (!b.outputWrapped && isPlainObject(value)) return value;
      return { [WRAPPED_OUTPUT_PROPERTY]: value };
    },
  };
}

function isDiscoveryResult(x: unknown): x is DiscoveryResult {
  return isPlainObject(x) && Array.isArray(x.hits);
}

/** Tool-call arguments as a fresh plain object. */
function parseArguments(args: unknown, toolName: string): Record<string, unknown> {
  let value: unknown = args;
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      value = JSON.parse(value) as unknown;
    } catch (err) {
      throw InvalidArgumentError.format('arguments', `of tool ${toolName} are not valid JSON (${(err as Error).message})`);
    }
  } else {
    value = structuredClone(value);
  }
  if (!isPlainObject(value)) {
    throw InvalidArgumentError.format('arguments', `of tool ${toolName} must be a JSON object (got ${Array.isArray(value) ? 'array' : typeof value})`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Descriptions
// ---------------------------------------------------------------------------------------------

/** Longest example quoted in a description. */
const MAX_EXAMPLE_CHARS = 200;

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/**
 * The tool description of a capability, at most `maxChars` characters:
 *
 *     <description>
 *     Skills: <name>: <description>; <name>: <description>
 *     Examples: "<example>"; "<example>"
 *
 * Skills lose their descriptions, then trailing skills, when the line does not fit; examples are
 * taken round-robin across skills (first of each skill, then second ...) while they fit.
 */
export function toolDescription(cap: Capability, maxChars = DEFAULT_MAX_DESCRIPTION_CHARS): string {
  const description = (cap.description ?? '').trim();
  let out = clip(description, maxChars);
  const room = () => maxChars - out.length - (out === '' ? 0 : 1);
  const add = (line: string) => {
    out = out === '' ? line : `${out}\n${line}`;
  };
  const skills = (cap.skills ?? []).filter((s) => isPlainObject(s) && typeof s.name === 'string' && s.name.trim() !== '');

  if (skills.length > 0) {
    const full = `Skills: ${skills
      .map((s) => {
        const d = (s.description ?? '').trim().replace(/[\s.;]+$/, '');
        return d && d !== description.replace(/[\s.;]+$/, '') ? `${s.name.trim()}: ${d}` : s.name.trim();
      })
      .join('; ')}`;
    const namesOnly = `Skills: ${skills.map((s) => s.name.trim()).join('; ')}`;
    if (full.length <= room()) add(full);
    else if (namesOnly.length <= room()) add(namesOnly);
    else {
      let line = 'Skills:';
      for (const s of skills) {
        const next = `${line}${line === 'Skills:' ? ' ' : '; '}${s.name.trim()}`;
        if (next.length > room()) break;
        line = next;
      }
      if (line !== 'Skills:') add(line);
    }
  }

  const queues = skills.map((s) => (s.examples ?? []).filter((e) => typeof e === 'string' && e.trim() !== ''));
  const examples: string[] = [];
  for (let i = 0; queues.some((q) => i < q.length); i++) {
    for (const q of queues) if (i < q.length) examples.push(`"${clip(q[i]!.replace(/\s+/g, ' ').trim(), MAX_EXAMPLE_CHARS)}"`);
  }
  if (examples.length > 0) {
    let line = '';
    for (const e of examples) {
      const next = line === '' ? `Examples: ${e}` : `${line}; ${e}`;
      if (next.length > room()) break;
      line = next;
    }
    if (line !== '') add(line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schemas: object root
// ---------------------------------------------------------------------------------------------

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Keywords that make a type-less schema an object schema. */
const OBJECT_KEYWORDS = ['properties', 'required', 'additionalProperties', 'patternProperties', 'propertyNames', 'minProperties', 'maxProperties'];
/** Keywords that may let a type-less schema accept non-objects. */
const COMPOSITION_KEYWORDS = ['anyOf', 'oneOf', 'allOf', 'not', '$ref', 'enum', 'const', 'if'];

/** Whether the root of `schema` is (or can be read as) an object schema. */
function isObjectRooted(schema: JsonSchemaObject): boolean {
  const t = schema.type;
  if (t === 'object') return true;
  if (Array.isArray(t)) return t.includes('object') && t.every((x) => x === 'object' || x === 'null');
  if (t === undefined) return OBJECT_KEYWORDS.some((k) => k in schema) && !COMPOSITION_KEYWORDS.some((k) => k in schema);
  return false;
}

function outputNeedsWrapping(schema: JsonSchemaObject | undefined): boolean {
  return schema !== undefined && !isObjectRooted(schema);
}

/**
 * `schema` with an object root (a copy): as it is when it has one (`type` set to `"object"`,
 * `properties` added if absent), an open object when it is missing, else wrapped as
 * `{type:'object', properties:{[key]: schema}, required:[key]}` with `$defs`/`definitions` and
 * `$schema` moved to the new root and local `$ref`s rewritten to still point where they did.
 */
export function objectRootSchema(
  schema: JsonSchemaObject | undefined,
  key: string = WRAPPED_INPUT_PROPERTY,
): { schema: ObjectSchema; wrapped: boolean; open: boolean } {
  if (schema === undefined) return { schema: { type: 'object', properties: {}, additionalProperties: true }, wrapped: false, open: true };
  const s = clone(schema);
  if (isObjectRooted(s)) {
    s.type = 'object';
    if (!isPlainObject(s.properties)) s.properties = {};
    return { schema: s as ObjectSchema, wrapped: false, open: false };
  }
  const prefix = `#/properties/${key}`;
  const rewrite = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(rewrite);
    else if (isPlainObject(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') {
          if (v === '#') node[k] = prefix;
          else if (v.startsWith('#/') && !v.startsWith('#/$defs/') && !v.startsWith('#/definitions/')) node[k] = prefix + v.slice(1);
        } else rewrite(v);
      }
    }
  };
  rewrite(s);
  const root: ObjectSchema = { type: 'object', properties: {}, required: [key] };
  for (const k of ['$schema', '$id'] as const) {
    if (k in s) {
      root[k] = s[k];
      delete s[k];
    }
  }
  for (const k of ['$defs', 'definitions'] as const) {
    if (isPlainObject(s[k])) {
      root[k] = s[k];
      delete s[k];
    }
  }
  root.properties = { [key]: s };
  return { schema: root, wrapped: true, open: false };
}

// ---------------------------------------------------------------------------------------------
// Schemas: OpenAI strict mode
// ---------------------------------------------------------------------------------------------

/** Limits of OpenAI Structured Outputs (object nesting, properties, enum values). */
export const STRICT_LIMITS = { depth: 10, properties: 5000, enumValues: 1000 } as const;

/** `format` values OpenAI strict mode supports. */
const STRICT_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);
/** Annotations kept in strict mode. */
const STRICT_KEPT_ANNOTATIONS = new Set(['title', 'description']);
/** Annotations dropped in strict mode (they do not constrain anything). */
const STRICT_DROPPED_ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly']);
const STRICT_KEYWORDS: Record<string, ReadonlySet<string>> = {
  any: new Set(['type', 'enum', 'const', 'anyOf', '$ref']),
  string: new Set(['pattern', 'format']),
  number: new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']),
  integer: new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']),
  array: new Set(['items', 'minItems', 'maxItems']),
  object: new Set(['properties', 'required', 'additionalProperties']),
  boolean: new Set(),
  null: new Set(),
};

class StrictProblem extends Error {}

/**
 * The OpenAI strict-mode form of an object-rooted schema, or why it has none. Every object gets
 * `additionalProperties:false` and all its properties in `required`; an optional property's
 * schema is made nullable (`type: [T, "null"]`, `null` added to an `enum`, or
 * `anyOf: [schema, {type:"null"}]`). Refused: open objects (no properties, or
 * `additionalProperties` other than false), keywords outside the strict subset (`oneOf`,
 * `allOf`, `not`, `minLength`, `patternProperties`, ...), non-local `$ref`s, `$defs` below the
 * root, and schemas over `STRICT_LIMITS`.
 */
export function strictSchema(schema: ObjectSchema, open = false): { schema: ObjectSchema } | { problem: string } {
  if (open) return { problem: 'the capability has no input schema (any object is accepted), which strict mode cannot express' };
  const counts = { properties: 0, enumValues: 0 };
  try {
    const out = strictNode(schema, '#', 1, counts, true) as ObjectSchema;
    if (counts.properties > STRICT_LIMITS.properties) throw new StrictProblem(`more than ${STRICT_LIMITS.properties} properties`);
    if (counts.enumValues > STRICT_LIMITS.enumValues) throw new StrictProblem(`more than ${STRICT_LIMITS.enumValues} enum values`);
    return { schema: out };
  } catch (err) {
    if (err instanceof StrictProblem) return { problem: err.message };
    throw err;
  }
}

function typesOf(node: Record<string, unknown>): string[] {
  const t = node.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return [];
}

function strictNode(node: unknown, path: string, depth: number, counts: { properties: number; enumValues: number }, root = false): Record<string, unknown> {
  if (!isPlainObject(node)) throw new StrictProblem(`${path} is not a schema object`);
  const types = typesOf(node);
  const nonNull = types.filter((t) => t !== 'null');
  if (nonNull.length > 1) throw new StrictProblem(`${path} has several types (${types.join(', ')}); use anyOf`);
  const allowed = new Set<string>([...STRICT_KEYWORDS.any!, ...(STRICT_KEYWORDS[nonNull[0] ?? 'null'] ?? [])]);
  if (root) {
    allowed.add('$defs');
    allowed.add('definitions');
  }

  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (STRICT_DROPPED_ANNOTATIONS.has(k)) continue;
    if (STRICT_KEPT_ANNOTATIONS.has(k)) {
      out[k] = v;
      continue;
    }
    if (!allowed.has(k)) throw new StrictProblem(`${path} uses "${k}", which strict mode does not support`);
    switch (k) {
      case 'format':
        if (typeof v !== 'string' || !STRICT_FORMATS.has(v)) throw new StrictProblem(`${path} uses format ${JSON.stringify(v)}, which strict mode does not support`);
        out[k] = v;
        break;
      case '$ref':
        if (typeof v !== 'string' || !(v === '#' || v.startsWith('#/'))) throw new StrictProblem(`${path} has a non-local $ref ${JSON.stringify(v)}`);
        out[k] = v;
        break;
      case 'enum':
        if (!Array.isArray(v)) throw new StrictProblem(`${path}.enum is not an array`);
        counts.enumValues += v.length;
        out[k] = v;
        break;
      case 'anyOf':
        if (!Array.isArray(v) || v.length === 0) throw new StrictProblem(`${path}.anyOf is not a non-empty array`);
        if (root) throw new StrictProblem('the root of the parameters schema must not be anyOf');
        out[k] = v.map((b, i) => strictNode(b, `${path}/anyOf/${i}`, depth, counts));
        break;
      case 'items':
        out[k] = strictNode(v, `${path}/items`, depth + 1, counts);
        break;
      case '$defs':
      case 'definitions': {
        if (!isPlainObject(v)) throw new StrictProblem(`${path}/${k} is not an object`);
        const defs: Record<string, unknown> = {};
        for (const [name, def] of Object.entries(v)) defs[name] = strictNode(def, `${path}/${k}/${name}`, 1, counts);
        out[k] = defs;
        break;
      }
      case 'properties':
      case 'required':
      case 'additionalProperties':
        break; // below
      default:
        out[k] = v;
    }
  }

  const hasShape = types.length > 0 || 'anyOf' in node || '$ref' in node || 'enum' in node || 'const' in node;
  if (!hasShape) throw new StrictProblem(`${path} has no type`);
  if (nonNull[0] === 'object') {
    if (depth > STRICT_LIMITS.depth) throw new StrictProblem(`${path} is nested more than ${STRICT_LIMITS.depth} objects deep`);
    const props = node.properties;
    if ('additionalProperties' in node && node.additionalProperties !== false) {
      throw new StrictProblem(`${path} allows additional properties, which strict mode cannot express`);
    }
    if (props !== undefined && !isPlainObject(props)) throw new StrictProblem(`${path}.properties is not an object`);
    const names = Object.keys(props ?? {});
    if (names.length === 0 && node.additionalProperties !== false) {
      throw new StrictProblem(`${path} is an open object (no properties), which strict mode cannot express`);
    }
    const required = Array.isArray(node.required) ? node.required.filter((r): r is string => typeof r === 'string') : [];
    const stray = required.filter((r) => !names.includes(r));
    if (stray.length > 0) throw new StrictProblem(`${path} requires properties it does not define (${stray.join(', ')})`);
    counts.properties += names.length;
    const outProps: Record<string, unknown> = {};
    for (const name of names) {
      const child = strictNode((props as Record<string, unknown>)[name], `${path}/properties/${name}`, depth + 1, counts);
      outProps[name] = required.includes(name) ? child : nullable(child);
    }
    out.properties = outProps;
    out.required = names;
    out.additionalProperties = false;
  }
  return out;
}

/** A strict-mode schema that also accepts null. */
function nullable(s: Record<string, unknown>): Record<string, unknown> {
  if (allowsNull(s, undefined)) return s;
  if ('$ref' in s || 'const' in s) return { anyOf: [s, { type: 'null' }] };
  if (Array.isArray(s.anyOf)) return { ...s, anyOf: [...s.anyOf, { type: 'null' }] };
  const out = { ...s };
  if (typeof s.type === 'string') out.type = [s.type, 'null'];
  else if (Array.isArray(s.type)) out.type = [...s.type, 'null'];
  if (Array.isArray(s.enum)) out.enum = [...s.enum, null];
  return out;
}

/** Follows local `$ref`s (a few hops) to the schema they point at. */
function resolveRef(s: unknown, root: unknown): unknown {
  for (let hops = 0; hops < 8 && isPlainObject(s) && typeof s.$ref === 'string' && root !== undefined; hops++) {
    const ref = s.$ref;
    if (ref !== '#' && !ref.startsWith('#/')) return s;
    let target: unknown = root;
    for (const part of ref === '#' ? [] : ref.slice(2).split('/')) {
      const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
      target = isPlainObject(target) ? target[key] : undefined;
    }
    if (target === undefined) return s;
    s = target;
  }
  return s;
}

/** Whether a schema accepts `null` (true for schemas that do not restrict the type). */
function allowsNull(schema: unknown, root: unknown): boolean {
  const s = resolveRef(schema, root);
  if (!isPlainObject(s)) return s !== false;
  if ('const' in s) return s.const === null;
  if (Array.isArray(s.enum)) return s.enum.includes(null);
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return [...((s.anyOf as unknown[]) ?? []), ...((s.oneOf as unknown[]) ?? [])].some((b) => allowsNull(b, root));
  if ('$ref' in s) return false;
  const types = typesOf(s);
  return types.length === 0 ? true : types.includes('null');
}

/**
 * Removes the `null`s a strict-mode model sends for optional properties whose original schema
 * does not accept null (strict mode makes the model send every property). Walks `value` along
 * the original (non-strict) schema; mutates and returns `value`.
 */
export function stripStrictNulls(value: unknown, schema: unknown, root: unknown): unknown {
  const s = resolveRef(schema, root);
  if (!isPlainObject(s)) return value;
  if (Array.isArray(value)) {
    if (s.items !== undefined) for (let i = 0; i < value.length; i++) value[i] = stripStrictNulls(value[i], s.items, root);
    return value;
  }
  if (!isPlainObject(value)) return value;
  let objectSchema: Record<string, unknown> | undefined = isPlainObject(s.properties) ? s : undefined;
  if (!objectSchema && Array.isArray(s.anyOf)) {
    // The first object branch that defines every key present.
    for (const b of s.anyOf) {
      const r = resolveRef(b, root);
      if (isPlainObject(r) && isPlainObject(r.properties) && Object.keys(value).every((k) => k in (r.properties as object))) {
        objectSchema = r;
        break;
      }
    }
  }
  if (!objectSchema) return value;
  const props = objectSchema.properties as Record<string, unknown>;
  const required = new Set(Array.isArray(objectSchema.required) ? objectSchema.required : []);
  for (const k of Object.keys(value)) {
    if (!(k in props)) continue;
    if (value[k] === null && !required.has(k) && !allowsNull(props[k], root)) delete value[k];
    else value[k] = stripStrictNulls(value[k], props[k], root);
  }
  return value;
}
