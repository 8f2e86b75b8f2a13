/**
 * `registerAgent()` options, their defaults and validation: what the agent is (an A2A AgentCard,
 * or plain fields), how it serves (handler, group, concurrency, durations), and the names derived
 * from them (topic, consumer groups). Problems throw InvalidArgumentError naming the field, or
 * TopicDocumentError listing every problem of the capability description.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { fnv1a } from '../../proto/common/hash.js';
import { MAX_NAME_LENGTH, nameProblem } from '../../proto/common/names.js';
import type { JsonSchemaObject } from '../../proto/common/semantic-metadata.js';
import {
  isPlainObject,
  topicDocumentFromAgentCard,
  topicNameFromTitle,
  validateTopicDocument,
  type TopicDocument,
} from '../../proto/common/topic-document.js';
import { checkAwaitDuration, checkInvisibleDuration } from '../consumer/simple-consumer-options.js';
import { checkPositiveMs, resolveClientOptions } from '../options.js';
import type { ClientOptions, ResolvedClientOptions } from '../options.js';
import { compileInputValidator, compileOutputValidator, type InputValidator } from './input-validator.js';
import { DEFAULT_CONTROL_TOPIC } from './protocol.js';
import type { TaskContext } from './task-context.js';

/** Tasks one agent instance runs at the same time. */
export const DEFAULT_AGENT_CONCURRENCY = 4;
/** Most tasks one agent instance may run at the same time. */
export const MAX_AGENT_CONCURRENCY = 64;
/** How long `close()` lets running tasks finish before releasing them to other instances. */
export const DEFAULT_AGENT_CLOSE_TIMEOUT_MS = 10_000;
/** Attribute naming the agent (its display name) on the registered topic. */
export const AGENT_NAME_ATTRIBUTE = 'agentmq.agent.name';
/** Attribute naming the protocol the topic is served with (`a2a/1.0` over AgentMQ). */
export const AGENT_PROTOCOL_ATTRIBUTE = 'agentmq.agent.protocol';
export const AGENT_PROTOCOL = 'a2a/1.0';

/**
 * What a handler gets and returns. Returning completes the task (the value becomes the result
 * artifact); throwing fails it (`TaskRejectedError` rejects it, `TaskCanceledError` cancels it).
 */
export type TaskHandler<I = unknown, O = unknown> = (task: TaskContext<I>) => O | Promise<O>;

/** A skill as given to `registerAgent` (A2A AgentSkill); `id` defaults to a slug of `name`. */
export interface AgentSkillInput {
  id?: string;
  name: string;
  description?: string;
  tags?: string[];
  /** Sample requests; discovery weighs them highly. */
  examples?: string[];
}

export interface RegisterAgentOptions<I = unknown, O = unknown> extends ClientOptions {
  /**
   * An A2A AgentCard (v1.0 or v0.3) to register from: name, description, skills, provider and
   * version carry over; the plain fields below, when given, override or extend it.
   */
  card?: Record<string, unknown>;
  /** The agent's name ("Invoice Reconciler"); the topic name derives from it. Required without `card`. */
  name?: string;
  /**
   * The capability topic ([%a-zA-Z0-9_-]{1,127}), created if missing.
   * @default `name` when it is a legal topic name, else `name` lower-cased with other characters as `-`
   */
  topic?: string;
  /** What the agent does, in natural language (what discovery matches). Required without `card`. */
  description?: string;
  skills?: AgentSkillInput[];
  tags?: string[];
  /** JSON Schema of the task input; inputs are checked against it (a mismatch is REJECTED). */
  inputSchema?: JsonSchemaObject;
  /**
   * JSON Schema of the result (registered for discovery and tools). A handler's result that does
   * not match it ends the task FAILED ("result rejected by <topic>: ...") instead of reaching the
   * requester (turn off with `validateOutput: false`).
   */
  outputSchema?: JsonSchemaObject;
  /** Check handler results against `outputSchema`. @default true */
  validateOutput?: boolean;
  owner?: string;
  version?: string;
  /** Free-form attributes discovery can filter on. */
  attributes?: Record<string, string>;
  /** Queues of the topic if it is created. @default 4 */
  queueCount?: number;
  /** Runs each task. */
  handler: TaskHandler<I, O>;
  /**
   * Consumer group of the instances serving this topic: instances of one group share the tasks.
   * @default `agent-<topic>`
   */
  group?: string;
  /**
   * Tasks this instance runs at the same time (1 .. 64); it receives only as many as it can start.
   * @default 4
   */
  concurrency?: number;
  /**
   * How long a received task stays invisible to other instances; renewed every third of it while
   * the handler runs, so only a crashed instance's tasks come back, after at most this long.
   * @default 30000
   */
  invisibleDurationMs?: number;
  /** Long-poll time of the task receives (0 .. 60000). @default 20000 */
  awaitDurationMs?: number;
  /**
   * How long `close()` lets running tasks finish before it aborts their handlers and releases
   * their tasks to other instances.
   * @default 10000
   */
  closeTimeoutMs?: number;
  /** LITE parent of the cancel channels (created if missing). @default 'agentmq-control' */
  controlTopic?: string;
  /**
   * Register (create or update) the topic's semantic metadata on start. Off: only serve a topic
   * registered elsewhere.
   * @default true
   */
  register?: boolean;
}

export interface ResolvedAgentOptions {
  client: ResolvedClientOptions;
  /** The validated capability description (`name` is the topic). */
  document: TopicDocument;
  topic: string;
  /** The display name (attribute `agentmq.agent.name`). */
  name: string;
  queueCount: number | undefined;
  handler: TaskHandler<unknown, unknown>;
  group: string;
  /** Consumer group of the cancel channels. */
  controlGroup: string;
  concurrency: number;
  invisibleDurationMs: number;
  awaitDurationMs: number;
  closeTimeoutMs: number;
  controlTopic: string;
  register: boolean;
  validator: InputValidator | undefined;
  outputValidator: InputValidator | undefined;
}

/**
 * `base` + `suffix` if that is a legal name, else `base` cut short with a hash of it, so long
 * topics still get distinct, stable group names.
 */
export function derivedName(prefix: string, base: string, suffix = ''): string {
  const full = `${prefix}${base}${suffix}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = fnv1a(base).toString(36);
  return `${prefix}${base.slice(0, MAX_NAME_LENGTH - prefix.length - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** The topic for an agent called `name`: the name itself if legal, else its slug. */
export function topicForName(name: string): string {
  return nameProblem(name) === undefined ? name : topicNameFromTitle(name);
}

function skillId(name: string): string {
  return topicNameFromTitle(name) || 'skill';
}

export function resolveAgentOptions(options: RegisterAgentOptions<never, unknown>): ResolvedAgentOptions {
  if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
  if (typeof options.handler !== 'function') throw InvalidArgumentError.format('handler', 'must be a function');
  if (options.card !== undefined && !isPlainObject(options.card)) throw InvalidArgumentError.format('card', 'must be an A2A AgentCard object');
  const cardName = typeof options.card?.name === 'string' ? options.card.name : undefined;
  const name = options.name ?? cardName;
  if (options.topic === undefined && (typeof name !== 'string' || name.trim() === '')) {
    throw InvalidArgumentError.format('name', 'is required (or give `card` or `topic`)');
  }
  const topic = options.topic ?? topicForName(name!.trim());
  const topicProblem = nameProblem(topic);
  if (topicProblem) throw InvalidArgumentError.format('topic', topicProblem, Code.ILLEGAL_TOPIC);

  const base: Partial<TopicDocument> = options.card ? topicDocumentFromAgentCard(options.card, { topic }) : {};
  const skills = options.skills?.map((s, i) => {
    if (!isPlainObject(s)) throw InvalidArgumentError.format(`skills[${i}]`, 'must be an object');
    return { id: s.id ?? skillId(String(s.name ?? '')), name: s.name, description: s.description ?? '', tags: s.tags ?? [], examples: s.examples ?? [] };
  });
  const attributes: Record<string, string> = { ...base.attributes, ...options.attributes, [AGENT_PROTOCOL_ATTRIBUTE]: AGENT_PROTOCOL };
  if (name) attributes[AGENT_NAME_ATTRIBUTE] = name.trim();
  const document = validateTopicDocument({
    name: topic,
    description: options.description ?? base.description,
    tags: [...new Set([...(base.tags ?? []), ...(options.tags ?? [])])],
    skills: skills ?? base.skills ?? [],
    inputSchema: options.inputSchema ?? base.inputSchema,
    outputSchema: options.outputSchema ?? base.outputSchema,
    owner: options.owner ?? base.owner,
    version: options.version ?? base.version,
    attributes,
  });

  const group = options.group ?? derivedName('agent-', topic);
  const groupProblem = nameProblem(group);
  if (groupProblem) throw InvalidArgumentError.format('group', groupProblem, Code.ILLEGAL_CONSUMER_GROUP);
  const controlTopic = options.controlTopic ?? DEFAULT_CONTROL_TOPIC;
  const controlProblem = nameProblem(controlTopic);
  if (controlProblem) throw InvalidArgumentError.format('controlTopic', controlProblem, Code.ILLEGAL_TOPIC);
  const concurrency = options.concurrency ?? DEFAULT_AGENT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_AGENT_CONCURRENCY) {
    throw InvalidArgumentError.format('concurrency', `must be an integer between 1 and ${MAX_AGENT_CONCURRENCY} (got ${String(concurrency)})`);
  }
  const queueCount = options.queueCount;
  if (queueCount !== undefined && (!Number.isSafeInteger(queueCount) || queueCount < 1)) {
    throw InvalidArgumentError.format('queueCount', `must be a positive integer (got ${String(queueCount)})`);
  }
  return {
    client: resolveClientOptions(options),
    document,
    topic,
    name: name?.trim() || topic,
    queueCount,
    handler: options.handler as TaskHandler<unknown, unknown>,
    group,
    controlGroup: derivedName('', group, '-control'),
    concurrency,
    invisibleDurationMs: checkInvisibleDuration('invisibleDurationMs', options.invisibleDurationMs ?? 30_000),
    awaitDurationMs: checkAwaitDuration('awaitDurationMs', options.awaitDurationMs ?? 20_000),
    closeTimeoutMs: checkPositiveMs('closeTimeoutMs', options.closeTimeoutMs ?? DEFAULT_AGENT_CLOSE_TIMEOUT_MS),
    controlTopic,
    register: options.register ?? true,
    validator: document.inputSchema ? compileInputValidator(document.inputSchema) : undefined,
    outputValidator: document.outputSchema && options.validateOutput !== false ? compileOutputValidator(document.outputSchema) : undefined,
  };
}
