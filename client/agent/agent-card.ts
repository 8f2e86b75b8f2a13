/**
 * A2A interop, outbound: a registered capability (its `TopicDocument`) exported as an A2A v1.0
 * AgentCard whose `supportedInterfaces` names the AgentMQ binding, so A2A tooling can list,
 * index and pick it; and the AgentMQ-aware import of such a card.
 *
 * The binding: `protocolBinding` is the URI `https://agentmq.dev/bindings/rocketmq/v1` (A2A
 * custom bindings are identified by a URI, spec §5.8), the interface `url` is
 * `agentmq://<nameserver host:port>/<topic>` and `protocolVersion` is `"1.0"`. A task is sent by
 * producing to that topic through any broker the NameServer routes to, and its updates come back
 * on the task's reply lite topic (docs/agent-tools.md).
 *
 * What A2A has no field for (the topic name, topic-level tags, input and output JSON Schemas,
 * attributes) travels in the AgentMQ extension, `capabilities.extensions[]` with uri
 * `https://agentmq.dev/extensions/topic/v1` and `required: false`, so plain A2A clients ignore it.
 *
 * Round trip, with the existing `topicDocumentFromAgentCard` (proto/common/topic-document.ts):
 * import(card) -> export -> import gives the same document. To make that hold, the interface the
 * imported card declared first (`a2a.url`, `a2a.protocolBinding`, `a2a.protocolVersion`
 * attributes) stays first and the AgentMQ one follows it (`interfaceOrder: 'agentmq-first'`
 * turns that around); every other field maps one to one. A document that did not come from a
 * card comes back with what the card had to add (the `a2a.*` attributes; a version, skill
 * descriptions, tags or a skill where it had none) unless it is read with
 * `topicDocumentFromAgentMqCard`, which restores it exactly from the extension.
 */
import { formatHostPort, parseHostPort, type HostPort } from '../../proto/common/endpoints.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import {
  isPlainObject,
  topicDocumentFromAgentCard,
  validateTopicDocument,
  type AgentCardImportOptions,
  type JsonSchemaObject,
  type TopicDocument,
  type TopicSkill,
} from '../../proto/common/topic-document.js';
import type { CatalogTopic } from '../discovery/discovery-types.js';
import { DEFAULT_NAMESERVER_PORT } from '../options.js';

/** `AgentInterface.protocolBinding` of AgentMQ (a custom A2A binding, identified by URI). */
export const AGENTMQ_PROTOCOL_BINDING = 'https://agentmq.dev/bindings/rocketmq/v1';
/** URI of the AgentMQ AgentCard extension carrying the topic's own fields. */
export const AGENTMQ_TOPIC_EXTENSION_URI = 'https://agentmq.dev/extensions/topic/v1';
/** Scheme of AgentMQ interface URLs: `agentmq://host:port/topic`. */
export const AGENTMQ_URL_SCHEME = 'agentmq:';
/** The A2A version the exported cards and the AgentMQ binding follow. */
export const A2A_PROTOCOL_VERSION = '1.0';
/** `version` of a card whose document has none (A2A requires one). */
export const UNVERSIONED = '0.0.0';
/** Media types of a capability whose document does not say (tasks are JSON). */
export const DEFAULT_CARD_MODES: readonly string[] = ['application/json'];

// ---------------------------------------------------------------------------------------------
// A2A v1.0 AgentCard (ProtoJSON, the fields we read or write; spec §8, a2a.proto)
// ---------------------------------------------------------------------------------------------

export interface AgentInterface {
  url: string;
  protocolBinding: string;
  protocolVersion: string;
  tenant?: string;
}

export interface AgentProvider {
  url: string;
  organization: string;
}

export interface AgentExtension {
  uri: string;
  description?: string;
  required?: boolean;
  params?: Record<string, unknown>;
}

export interface AgentCapabilities {
  streaming?: boolean;
  pushNotifications?: boolean;
  extensions?: AgentExtension[];
  extendedAgentCard?: boolean;
}

export interface AgentSkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples?: string[];
  inputModes?: string[];
  outputModes?: string[];
}

export interface AgentCard {
  name: string;
  description: string;
  supportedInterfaces: AgentInterface[];
  provider?: AgentProvider;
  version: string;
  documentationUrl?: string;
  capabilities: AgentCapabilities;
  defaultInputModes: string[];
  defaultOutputModes: string[];
  skills: AgentSkill[];
  iconUrl?: string;
  [key: string]: unknown;
}

/** `params` of the AgentMQ extension. */
export interface AgentMqTopicExtensionParams {
  /** The topic name exactly (the card's `name` is it too, but importers may re-derive it). */
  topic: string;
  tags: string[];
  attributes: Record<string, string>;
  inputSchema?: JsonSchemaObject;
  outputSchema?: JsonSchemaObject;
  owner?: string;
  /** Absent when the document has none (the card's `version` is then `0.0.0`). */
  version?: string;
  /** The document's skills, present only when the card's skills had to be filled in. */
  skills?: TopicSkill[];
}

// ---------------------------------------------------------------------------------------------
// agentmq:// URLs
// ---------------------------------------------------------------------------------------------

/** `agentmq://host:port/topic` (topic percent-encoded; IPv6 hosts in brackets). */
export function agentMqUrl(nameserver: string, topic: string): string {
  const hp = hostPortOf(nameserver);
  if (!hp) throw InvalidArgumentError.format('nameserver', `must be HOST:PORT (got ${JSON.stringify(nameserver)})`);
  if (!topic) throw InvalidArgumentError.format('topic', 'is required');
  return `agentmq://${formatHostPort(hp)}/${encodeURIComponent(topic)}`;
}

/** `HOST[:PORT]` (IPv6 in brackets) as a host and port, or undefined when it is not one. */
function hostPortOf(s: string): HostPort | undefined {
  try {
    const hp = parseHostPort(s, DEFAULT_NAMESERVER_PORT);
    return /^[A-Za-z0-9.-]+$/.test(hp.host) || /^[0-9A-Fa-f:.]+$/.test(hp.host) ? hp : undefined;
  } catch {
    return undefined;
  }
}

/** The NameServer and topic of an `agentmq://` URL, or undefined for any other URL. */
export function parseAgentMqUrl(url: string): { nameserver: string; topic: string } | undefined {
  const m = /^agentmq:\/\/([^/]+)\/([^/?#]+)$/.exec(url.trim());
  if (!m) return undefined;
  const hp = hostPortOf(m[1]!);
  if (!hp) return undefined;
  try {
    return { nameserver: formatHostPort(hp), topic: decodeURIComponent(m[2]!) };
  } catch {
    return undefined; // malformed percent-encoding
  }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

export interface AgentCardExportOptions {
  /** NameServer `HOST:PORT` the interface URL names (the one the exporting client uses). */
  nameserver: string;
  /**
   * `declared-first` (default): an interface the document was imported with (its `a2a.url`)
   * stays first, the AgentMQ one follows (exact round trip). `agentmq-first`: AgentMQ first.
   */
  interfaceOrder?: 'declared-first' | 'agentmq-first';
  /** `AgentInterface.tenant` of the AgentMQ interface. */
  tenant?: string;
  /** Overrides `a2a.providerUrl` (a provider is emitted only with both an owner and a URL). */
  providerUrl?: string;
  /** Overrides `a2a.documentationUrl`. */
  documentationUrl?: string;
  /** Include the AgentMQ extension. @default true */
  extension?: boolean;
}

function splitModes(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function boolAttr(v: string | undefined): boolean | undefined {
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** A `TopicDocument` from a document or a catalog entry (`{name, metadata}`), validated. */
function documentOf(input: TopicDocument | CatalogTopic): TopicDocument {
  const o = input as unknown as Record<string, unknown>;
  const raw = isPlainObject(o.metadata) ? { ...o.metadata, name: o.name } : o;
  return validateTopicDocument(raw);
}

/**
 * The A2A v1.0 AgentCard of a registered capability. Field by field:
 * `name` = topic, `description`, `version` (or `0.0.0`), `provider` = owner + `a2a.providerUrl`
 * (only with both), `documentationUrl` = `a2a.documentationUrl`, `supportedInterfaces` = the
 * declared one (see `interfaceOrder`) and AgentMQ's, `capabilities.streaming` /
 * `pushNotifications` = the `a2a.*` attributes (for a document not imported from a card, else
 * true / false: AgentMQ streams task updates over lite topics and has no push webhooks), `defaultInputModes` / `defaultOutputModes` =
 * `a2a.inputModes` / `a2a.outputModes` (else `application/json`), `skills` as they are, with A2A's
 * required fields filled when empty (description: the skill's name; tags: the topic's tags, else
 * the topic name; no skills: one skill standing for the whole topic).
 */
export function agentCardFromTopicDocument(input: TopicDocument | CatalogTopic, options: AgentCardExportOptions): AgentCard {
  const doc = documentOf(input);
  const attrs = doc.attributes;
  const order = options.interfaceOrder ?? 'declared-first';
  if (order !== 'declared-first' && order !== 'agentmq-first') {
    throw InvalidArgumentError.format('interfaceOrder', `must be declared-first or agentmq-first (got ${JSON.stringify(order)})`);
  }

  const ours: AgentInterface = { url: agentMqUrl(options.nameserver, doc.name), protocolBinding: AGENTMQ_PROTOCOL_BINDING, protocolVersion: A2A_PROTOCOL_VERSION };
  if (options.tenant) ours.tenant = options.tenant;
  const interfaces: AgentInterface[] = [ours];
  const declaredUrl = attrs['a2a.url'];
  const declaredBinding = attrs['a2a.protocolBinding'];
  if (declaredUrl && declaredBinding && declaredBinding !== AGENTMQ_PROTOCOL_BINDING) {
    const declared: AgentInterface = {
      url: declaredUrl,
      protocolBinding: declaredBinding,
      protocolVersion: attrs['a2a.protocolVersion'] || attrs['a2a.version'] || A2A_PROTOCOL_VERSION,
    };
    if (order === 'declared-first') interfaces.unshift(declared);
    else interfaces.push(declared);
  }

  const fallbackTags = doc.tags.length > 0 ? doc.tags : [doc.name];
  let filled = doc.skills.length === 0;
  const skills: AgentSkill[] = doc.skills.map((s) => {
    if (!s.description || s.tags.length === 0) filled = true;
    const skill: AgentSkill = { id: s.id, name: s.name, description: s.description || s.name, tags: s.tags.length > 0 ? s.tags : fallbackTags };
    if (s.examples.length > 0) skill.examples = s.examples;
    return skill;
  });
  if (skills.length === 0) skills.push({ id: doc.name, name: doc.name, description: doc.description, tags: fallbackTags });

  // A document imported from a card says what that card said (absent stays absent); a native
  // one gets AgentMQ's: task updates stream over lite topics, there are no push webhooks.
  const fromCard = attrs['a2a.version'] !== undefined;
  const capabilities: AgentCapabilities = {};
  const streaming = boolAttr(attrs['a2a.streaming']) ?? (fromCard ? undefined : true);
  const pushNotifications = boolAttr(attrs['a2a.pushNotifications']) ?? (fromCard ? undefined : false);
  if (streaming !== undefined) capabilities.streaming = streaming;
  if (pushNotifications !== undefined) capabilities.pushNotifications = pushNotifications;
  if (options.extension !== false) {
    const params: AgentMqTopicExtensionParams = { topic: doc.name, tags: doc.tags, attributes: doc.attributes };
    if (doc.inputSchema) params.inputSchema = doc.inputSchema;
    if (doc.outputSchema) params.outputSchema = doc.outputSchema;
    if (doc.owner) params.owner = doc.owner;
    if (doc.version) params.version = doc.version;
    if (filled) params.skills = doc.skills;
    capabilities.extensions = [
      {
        uri: AGENTMQ_TOPIC_EXTENSION_URI,
        description: 'AgentMQ semantic topic: topic name, tags, attributes and the JSON Schemas of task input and result',
        required: false,
        params: params as unknown as Record<string, unknown>,
      },
    ];
  }

  const inputModes = splitModes(attrs['a2a.inputModes']);
  const outputModes = splitModes(attrs['a2a.outputModes']);
  const providerUrl = options.providerUrl ?? attrs['a2a.providerUrl'];
  const documentationUrl = options.documentationUrl ?? attrs['a2a.documentationUrl'];
  // Key order as in the spec's sample card, for readers.
  const card: AgentCard = {
    name: doc.name,
    description: doc.description,
    supportedInterfaces: interfaces,
    ...(doc.owner && providerUrl ? { provider: { organization: doc.owner, url: providerUrl } } : {}),
    version: doc.version ?? UNVERSIONED,
    ...(documentationUrl ? { documentationUrl } : {}),
    capabilities,
    defaultInputModes: inputModes.length > 0 ? inputModes : [...DEFAULT_CARD_MODES],
    defaultOutputModes: outputModes.length > 0 ? outputModes : [...DEFAULT_CARD_MODES],
    skills,
  };
  const problems = agentCardProblems(card);
  if (problems.length > 0) throw InvalidArgumentError.format('agentCard', `would be invalid: ${problems.join('; ')}`); // a bug if it happens
  return card;
}

/**
 * The problems of an AgentCard against A2A v1.0's required fields (§1.3 of the protocol notes):
 * name, description, supportedInterfaces (≥1, each url/protocolBinding/protocolVersion), version,
 * capabilities, defaultInputModes (≥1), defaultOutputModes (≥1), skills (≥1, each id/name/
 * description/tags ≥1); provider, when present, needs url and organization. Empty = valid.
 */
export function agentCardProblems(card: unknown): string[] {
  const problems: string[] = [];
  if (!isPlainObject(card)) return ['card must be a JSON object'];
  const str = (v: unknown) => typeof v === 'string' && v.trim() !== '';
  const strs = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every(str);
  for (const k of ['name', 'description', 'version']) if (!str(card[k])) problems.push(`${k} is required`);
  if (!Array.isArray(card.supportedInterfaces) || card.supportedInterfaces.length === 0) problems.push('supportedInterfaces needs at least one interface');
  else {
    card.supportedInterfaces.forEach((i: unknown, n: number) => {
      if (!isPlainObject(i)) problems.push(`supportedInterfaces[${n}] must be an object`);
      else for (const k of ['url', 'protocolBinding', 'protocolVersion']) if (!str(i[k])) problems.push(`supportedInterfaces[${n}].${k} is required`);
    });
  }
  if (card.provider !== undefined) {
    if (!isPlainObject(card.provider) || !str(card.provider.url) || !str(card.provider.organization)) problems.push('provider needs url and organization');
  }
  if (!isPlainObject(card.capabilities)) problems.push('capabilities is required');
  for (const k of ['defaultInputModes', 'defaultOutputModes']) if (!strs(card[k])) problems.push(`${k} needs at least one media type`);
  if (!Array.isArray(card.skills) || card.skills.length === 0) problems.push('skills needs at least one skill');
  else {
    card.skills.forEach((s: unknown, n: number) => {
      if (!isPlainObject(s)) problems.push(`skills[${n}] must be an object`);
      else {
        for (const k of ['id', 'name', 'description']) if (!str(s[k])) problems.push(`skills[${n}].${k} is required`);
        if (!strs(s.tags)) problems.push(`skills[${n}].tags needs at least one tag`);
      }
    });
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// AgentMQ-aware import
// ---------------------------------------------------------------------------------------------

/** The AgentMQ extension's params of a card, if it has them. */
export function agentMqExtensionOf(card: unknown): AgentMqTopicExtensionParams | undefined {
  if (!isPlainObject(card) || !isPlainObject(card.capabilities) || !Array.isArray(card.capabilities.extensions)) return undefined;
  const ext = card.capabilities.extensions.find((e: unknown) => isPlainObject(e) && e.uri === AGENTMQ_TOPIC_EXTENSION_URI) as AgentExtension | undefined;
  if (!ext || !isPlainObject(ext.params) || typeof ext.params.topic !== 'string') return undefined;
  return ext.params as unknown as AgentMqTopicExtensionParams;
}

/** The topic of a card's AgentMQ interface (`agentmq://…/<topic>`), if it has one. */
export function agentMqTopicOf(card: unknown): string | undefined {
  if (!isPlainObject(card) || !Array.isArray(card.supportedInterfaces)) return undefined;
  for (const i of card.supportedInterfaces) {
    if (isPlainObject(i) && i.protocolBinding === AGENTMQ_PROTOCOL_BINDING && typeof i.url === 'string') {
      const parsed = parseAgentMqUrl(i.url);
      if (parsed) return parsed.topic;
    }
  }
  return undefined;
}

/**
 * Imports any AgentCard (v1.0 or v0.3) like `topicDocumentFromAgentCard`, but for a card exported
 * by AgentMQ restores the exact document: the topic name (from the extension, else from the
 * AgentMQ interface URL), tags, attributes, schemas, owner, version and, where the card had to
 * fill them in, skills, all from the AgentMQ extension (which wins over the card's fields).
 * `options.topic` and `options.attributes` still apply on top.
 */
export function topicDocumentFromAgentMqCard(card: unknown, options: AgentCardImportOptions = {}): TopicDocument {
  const ext = agentMqExtensionOf(card);
  const topic = options.topic ?? ext?.topic ?? agentMqTopicOf(card);
  const base = topicDocumentFromAgentCard(card, { ...options, ...(topic ? { topic } : {}) });
  if (!ext) return base;
  const restored: Record<string, unknown> = {
    name: base.name,
    description: base.description,
    tags: ext.tags,
    skills: Array.isArray(ext.skills) ? ext.skills : base.skills,
    inputSchema: ext.inputSchema,
    outputSchema: ext.outputSchema,
    owner: ext.owner,
    version: ext.version,
    attributes: { ...(isPlainObject(ext.attributes) ? ext.attributes : {}), ...(options.attributes ?? {}) },
  };
  return validateTopicDocument(restored);
}
