/**
 * The semantic metadata of a topic: what the agent behind it does, in words (description, tags,
 * A2A-style skills with example requests), the JSON Schemas of the payloads it takes and
 * returns, who owns it, its version, and free-form attributes. This is what discovery indexes.
 *
 * - `validateTopicDocument(input)` is the one gate: it normalises a loosely typed input (plain
 *   fields from the CLI or the wire) into a `TopicDocument`, or throws a `TopicDocumentError`
 *   that lists every problem with the field it concerns.
 * - `topicDocumentFromAgentCard(card)` imports an A2A AgentCard, v1.0 or v0.3.
 *
 * Shared by the broker (which validates a registration, as the source of truth) and the
 * NameServer (nameserver/semantic/topic-document.ts adds the texts the indexes see).
 */
import { Code } from './codes.js';
import { InvalidArgumentError } from './errors.js';
import { MAX_TAG_LENGTH, nameProblem, tagProblem } from './names.js';

/** A JSON Schema, kept as the plain object it was given as. */
export type JsonSchemaObject = { [key: string]: unknown };

/** One capability of the agent, shaped like an A2A `AgentSkill`. */
export interface TopicSkill {
  /** Stable identifier, unique within the topic. */
  id: string;
  /** Human-readable name ("Extract invoice data"). */
  name: string;
  /** What the skill does, in a sentence or two. */
  description: string;
  /** Keywords. */
  tags: string[];
  /** Sample requests the skill handles ("Extract the line items from these invoices"). */
  examples: string[];
}

/** The validated semantic metadata of one topic. */
export interface TopicDocument {
  /** The topic name (proto/common/names.ts rules). */
  name: string;
  /** What the agent serving this topic does, in natural language. */
  description: string;
  /** Free-form keywords; used by filters and by the lexical index. */
  tags: string[];
  skills: TopicSkill[];
  /** JSON Schema of the task payload the agent accepts. */
  inputSchema?: JsonSchemaObject;
  /** JSON Schema of the result the agent produces. */
  outputSchema?: JsonSchemaObject;
  /** Team or organisation that owns the agent. */
  owner?: string;
  /** The agent's own version string. */
  version?: string;
  /** Free-form string attributes (e.g. `domain`, `region`, `a2a.url`); filters match on them. */
  attributes: Record<string, string>;
}

/** What callers may pass in: every field loosely typed; `validateTopicDocument` checks it. */
export interface TopicDocumentInput {
  name?: unknown;
  description?: unknown;
  tags?: unknown;
  skills?: unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  owner?: unknown;
  version?: unknown;
  attributes?: unknown;
}

/** Size limits. They keep one registration small enough to ship in every broker heartbeat. */
export const TOPIC_DOCUMENT_LIMITS = {
  descriptionChars: 4096,
  tags: 32,
  tagChars: MAX_TAG_LENGTH,
  skills: 32,
  skillIdChars: 128,
  skillNameChars: 256,
  skillDescriptionChars: 2048,
  skillTags: 32,
  examplesPerSkill: 16,
  exampleChars: 1024,
  /** Serialised JSON size of each schema. */
  schemaBytes: 16 * 1024,
  /** Nesting depth of each schema. */
  schemaDepth: 32,
  ownerChars: 256,
  versionChars: 64,
  attributes: 64,
  attributeKeyChars: 128,
  attributeValueChars: 1024,
  /** Serialised JSON size of the whole document. */
  totalBytes: 64 * 1024,
} as const;

/** JSON Schema keywords any one of which makes an object recognisable as a schema. */
const SCHEMA_KEYWORDS = ['type', 'properties', '$ref', 'oneOf', 'anyOf', 'allOf'] as const;

export interface TopicDocumentProblem {
  /** Path of the offending field, e.g. `skills[1].examples[0]`. */
  field: string;
  problem: string;
}

/** Validation failed; `problems` lists each one, and the message names them all. */
export class TopicDocumentError extends InvalidArgumentError {
  override name = 'TopicDocumentError';
  readonly problems: readonly TopicDocumentProblem[];
  constructor(problems: readonly TopicDocumentProblem[], topic?: string) {
    const text = problems.map((p) => `${p.field} ${p.problem}`).join('; ');
    super(Code.BAD_REQUEST, `invalid topic document${topic ? ` for ${JSON.stringify(topic)}` : ''}: ${text}`, {
      field: problems[0]?.field,
      topic,
    });
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** Collects problems while a document is read. */
class Checker {
  readonly problems: TopicDocumentProblem[] = [];
  add(field: string, problem: string): void {
    this.problems.push({ field, problem });
  }

  /** A trimmed string no longer than `max`; `undefined` when absent (and not required). */
  string(field: string, value: unknown, max: number, required: boolean): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.add(field, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add(field, `must be a string (got ${typeOf(value)})`);
      return undefined;
    }
    const s = value.trim();
    if (required && s === '') {
      this.add(field, 'must not be blank');
      return undefined;
    }
    if (s.length > max) {
      this.add(field, `must be at most ${max} characters (got ${s.length})`);
      return undefined;
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s)) {
      this.add(field, 'must not contain control characters');
      return undefined;
    }
    return s;
  }

  /** An array of strings (or absent → []), each checked by `each`, at most `maxItems` long. */
  strings(field: string, value: unknown, maxItems: number, each: (f: string, v: unknown) => string | undefined): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.add(field, `must be an array of strings (got ${typeOf(value)})`);
      return [];
    }
    if (value.length > maxItems) {
      this.add(field, `must have at most ${maxItems} entries (got ${value.length})`);
      return [];
    }
    const out: string[] = [];
    value.forEach((v, i) => {
      const s = each(`${field}[${i}]`, v);
      if (s !== undefined && !out.includes(s)) out.push(s);
    });
    return out;
  }

  tag(field: string, value: unknown): string | undefined {
    const s = this.string(field, value, TOPIC_DOCUMENT_LIMITS.tagChars, true);
    if (s === undefined) return undefined;
    const problem = tagProblem(s);
    if (problem) {
      this.add(field, problem);
      return undefined;
    }
    return s;
  }

  schema(field: string, value: unknown): JsonSchemaObject | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') {
      // Accept a JSON text (what a CLI flag or a wire `string` field carries).
      try {
        value = JSON.parse(value) as unknown;
      } catch (err) {
        this.add(field, `must be a JSON Schema object; the string given is not JSON (${(err as Error).message})`);
        return undefined;
      }
    }
    if (!isPlainObject(value)) {
      this.add(field, `must be a JSON Schema object (got ${typeOf(value)})`);
      return undefined;
    }
    if (!SCHEMA_KEYWORDS.some((k) => k in value)) {
      this.add(field, `must be a JSON Schema object with at least one of ${SCHEMA_KEYWORDS.join(', ')}`);
      return undefined;
    }
    if ('type' in value && !validSchemaType(value.type)) {
      this.add(`${field}.type`, `must be a JSON Schema type name or an array of them (got ${JSON.stringify(value.type)})`);
      return undefined;
    }
    if ('properties' in value && !isPlainObject(value.properties)) {
      this.add(`${field}.properties`, `must be an object mapping property names to schemas (got ${typeOf(value.properties)})`);
      return undefined;
    }
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      this.add(field, `must be JSON-serialisable (${(err as Error).message})`);
      return undefined;
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > TOPIC_DOCUMENT_LIMITS.schemaBytes) {
      this.add(field, `must be at most ${TOPIC_DOCUMENT_LIMITS.schemaBytes} bytes as JSON (got ${bytes})`);
      return undefined;
    }
    const depth = jsonDepth(value);
    if (depth > TOPIC_DOCUMENT_LIMITS.schemaDepth) {
      this.add(field, `must be nested at most ${TOPIC_DOCUMENT_LIMITS.schemaDepth} levels deep (got ${depth})`);
      return undefined;
    }
    // A deep copy through JSON: the document owns its schema and holds only JSON values.
    return JSON.parse(json) as JsonSchemaObject;
  }
}

const SCHEMA_TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);

function validSchemaType(t: unknown): boolean {
  if (typeof t === 'string') return SCHEMA_TYPES.has(t);
  return Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === 'string' && SCHEMA_TYPES.has(x));
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function jsonDepth(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let max = 0;
  for (const child of Object.values(v)) max = Math.max(max, jsonDepth(child));
  return max + 1;
}

/**
 * Checks and normalises `input` into a `TopicDocument`: strings are trimmed, absent lists become
 * empty, duplicate tags and examples are dropped, schemas given as JSON text are parsed.
 * Throws a `TopicDocumentError` listing every problem found (not just the first).
 */
export function validateTopicDocument(input: unknown): TopicDocument {
  const c = new Checker();
  if (!isPlainObject(input)) {
    throw new TopicDocumentError([{ field: 'document', problem: `must be an object (got ${typeOf(input)})` }]);
  }
  const raw = input as TopicDocumentInput;
  const L = TOPIC_DOCUMENT_LIMITS;

  let name: string | undefined;
  if (typeof raw.name === 'string' || raw.name === undefined || raw.name === null) {
    const problem = nameProblem((raw.name as string | undefined) ?? undefined);
    if (problem) c.add('name', problem);
    else name = raw.name as string;
  } else {
    c.add('name', `must be a string (got ${typeOf(raw.name)})`);
  }

  const description = c.string('description', raw.description, L.descriptionChars, true) ?? '';
  const tags = c.strings('tags', raw.tags, L.tags, (f, v) => c.tag(f, v));

  const skills: TopicSkill[] = [];
  if (raw.skills !== undefined && raw.skills !== null) {
    if (!Array.isArray(raw.skills)) c.add('skills', `must be an array (got ${typeOf(raw.skills)})`);
    else if (raw.skills.length > L.skills) c.add('skills', `must have at most ${L.skills} entries (got ${raw.skills.length})`);
    else {
      const ids = new Set<string>();
      raw.skills.forEach((s: unknown, i: number) => {
        const f = `skills[${i}]`;
        if (!isPlainObject(s)) {
          c.add(f, `must be an object (got ${typeOf(s)})`);
          return;
        }
        const id = c.string(`${f}.id`, s.id, L.skillIdChars, true);
        const skillName = c.string(`${f}.name`, s.name, L.skillNameChars, true);
        const skillDescription = c.string(`${f}.description`, s.description, L.skillDescriptionChars, false) ?? '';
        const skillTags = c.strings(`${f}.tags`, s.tags, L.skillTags, (ff, v) => c.tag(ff, v));
        const examples = c.strings(`${f}.examples`, s.examples, L.examplesPerSkill, (ff, v) =>
          c.string(ff, v, L.exampleChars, true),
        );
        if (id !== undefined && ids.has(id)) c.add(`${f}.id`, `duplicates the id of an earlier skill (${JSON.stringify(id)})`);
        if (id !== undefined) ids.add(id);
        if (id !== undefined && skillName !== undefined) {
          skills.push({ id, name: skillName, description: skillDescription, tags: skillTags, examples });
        }
      });
    }
  }

  const inputSchema = c.schema('inputSchema', raw.inputSchema);
  const outputSchema = c.schema('outputSchema', raw.outputSchema);
  const owner = c.string('owner', raw.owner, L.ownerChars, false) || undefined;
  const version = c.string('version', raw.version, L.versionChars, false) || undefined;

  const attributes: Record<string, string> = {};
  if (raw.attributes !== undefined && raw.attributes !== null) {
    if (!isPlainObject(raw.attributes)) c.add('attributes', `must be an object of string values (got ${typeOf(raw.attributes)})`);
    else {
      const entries = Object.entries(raw.attributes);
      if (entries.length > L.attributes) c.add('attributes', `must have at most ${L.attributes} entries (got ${entries.length})`);
      else {
        for (const [k, v] of entries) {
          const f = `attributes[${JSON.stringify(k)}]`;
          if (k.trim() === '' || k.length > L.attributeKeyChars) {
            c.add(f, `key must be 1 to ${L.attributeKeyChars} characters`);
            continue;
          }
          const value =
            typeof v === 'number' || typeof v === 'boolean' ? String(v) : c.string(f, v, L.attributeValueChars, false);
          if (value !== undefined) attributes[k] = value;
        }
      }
    }
  }

  const doc: TopicDocument = { name: name ?? '', description, tags, skills, attributes };
  if (inputSchema) doc.inputSchema = inputSchema;
  if (outputSchema) doc.outputSchema = outputSchema;
  if (owner) doc.owner = owner;
  if (version) doc.version = version;

  if (c.problems.length === 0) {
    const bytes = Buffer.byteLength(JSON.stringify(doc));
    if (bytes > L.totalBytes) c.add('document', `must be at most ${L.totalBytes} bytes as JSON (got ${bytes})`);
  }
  if (c.problems.length > 0) throw new TopicDocumentError(c.problems, name);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// A2A AgentCard import
// ---------------------------------------------------------------------------------------------

export interface AgentCardImportOptions {
  /**
   * Topic name to register under. When absent it is derived from the card's `name`
   * ("GeoSpatial Route Planner Agent" -> "geospatial-route-planner-agent").
   */
  topic?: string;
  /** Extra attributes merged over the ones taken from the card. */
  attributes?: Record<string, string>;
}

/** Which AgentCard wire version a card looks like. */
export type AgentCardVersion = '1.0' | '0.3';

/**
 * Detects the AgentCard version: v1.0 cards carry `supportedInterfaces[]`; v0.3 cards carry a
 * top-level `url` / `preferredTransport` / `protocolVersion` / `additionalInterfaces`.
 */
export function agentCardVersion(card: Record<string, unknown>): AgentCardVersion {
  if (Array.isArray(card.supportedInterfaces)) return '1.0';
  return '0.3';
}

/**
 * Converts an A2A AgentCard (v1.0 ProtoJSON, or v0.3) into a validated `TopicDocument`:
 * description and skills carry over as they are, the topic's tags are the union of the skills'
 * tags, `provider.organization` becomes the owner, the card's `version` the version, and the
 * rest that a supervisor may want to filter on becomes attributes (`a2a.version`, `a2a.url`,
 * `a2a.protocolBinding`, `a2a.inputModes`, `a2a.outputModes`, `a2a.streaming`, ...).
 * Throws `TopicDocumentError` when the card lacks what a topic needs (name, description).
 */
export function topicDocumentFromAgentCard(card: unknown, options: AgentCardImportOptions = {}): TopicDocument {
  if (!isPlainObject(card)) {
    throw new TopicDocumentError([{ field: 'agentCard', problem: `must be a JSON object (got ${typeOf(card)})` }]);
  }
  const version = agentCardVersion(card);
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

  const attributes: Record<string, string> = { 'a2a.version': version };
  const setAttr = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== '') attributes[k] = v;
  };
  if (version === '1.0') {
    const first = (card.supportedInterfaces as unknown[]).find(isPlainObject);
    if (first) {
      setAttr('a2a.url', str(first.url));
      setAttr('a2a.protocolBinding', str(first.protocolBinding));
      setAttr('a2a.protocolVersion', str(first.protocolVersion));
    }
  } else {
    setAttr('a2a.url', str(card.url));
    setAttr('a2a.protocolBinding', str(card.preferredTransport) ?? 'JSONRPC');
    setAttr('a2a.protocolVersion', str(card.protocolVersion));
  }
  setAttr('a2a.documentationUrl', str(card.documentationUrl));
  if (isPlainObject(card.provider)) setAttr('a2a.providerUrl', str(card.provider.url));
  setAttr('a2a.inputModes', strList(card.defaultInputModes).join(',') || undefined);
  setAttr('a2a.outputModes', strList(card.defaultOutputModes).join(',') || undefined);
  if (isPlainObject(card.capabilities)) {
    for (const k of ['streaming', 'pushNotifications'] as const) {
      if (typeof card.capabilities[k] === 'boolean') attributes[`a2a.${k}`] = String(card.capabilities[k]);
    }
  }
  Object.assign(attributes, options.attributes ?? {});

  const skills = Array.isArray(card.skills)
    ? card.skills.map((s: unknown) =>
        isPlainObject(s)
          ? { id: s.id, name: s.name ?? s.id, description: s.description, tags: s.tags, examples: s.examples }
          : s,
      )
    : card.skills;
  const tags: string[] = [];
  if (Array.isArray(card.skills)) {
    for (const s of card.skills) {
      if (!isPlainObject(s)) continue;
      for (const t of strList(s.tags)) if (!tags.includes(t) && tags.length < TOPIC_DOCUMENT_LIMITS.tags) tags.push(t);
    }
  }
  const name = options.topic ?? (typeof card.name === 'string' ? topicNameFromTitle(card.name) : card.name);
  const provider = isPlainObject(card.provider) ? card.provider.organization : undefined;
  return validateTopicDocument({
    name,
    description: card.description,
    tags,
    skills,
    owner: provider,
    version: card.version,
    attributes,
  });
}

/** "GeoSpatial Route Planner Agent" -> "geospatial-route-planner-agent" (a legal topic name). */
export function topicNameFromTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 127);
}

// ---------------------------------------------------------------------------------------------
// Text for the indexes
// ---------------------------------------------------------------------------------------------

/** "finance.invoice-extraction" / "invoice_extraction" -> "invoice extraction" words. */
