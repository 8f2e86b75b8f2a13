/**
 * Topic configurations of this broker: queue count, message type, permission, attributes.
 * Persisted under 'T'|topic (keys.ts) and mirrored in memory; changes are reported through
 * `onChange` (the broker re-registers with every NameServer at once).
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import type { MessageStore } from '../store/message-store.js';
import { topicKey, P_TOPIC, prefixEnd } from '../store/keys.js';
import { storeQueueCount } from './lanes.js';
import type { SemanticMetadata } from '../../proto/common/semantic-metadata.js';

export type MessageTypeName = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION' | 'LITE' | 'PRIORITY';
export type PermissionName = 'READ' | 'WRITE' | 'READ_WRITE';

export const MESSAGE_TYPES: readonly MessageTypeName[] = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE', 'PRIORITY'];
export const PERMISSIONS: readonly PermissionName[] = ['READ', 'WRITE', 'READ_WRITE'];
/** Message types a topic can be created with today; the others arrive with their features. */
export const SUPPORTED_TOPIC_TYPES: readonly MessageTypeName[] = ['NORMAL', 'FIFO', 'DELAY', 'PRIORITY', 'LITE'];
/** Attribute of a LITE parent topic: a lite topic without writes for this long is deleted. */
export const LITE_TTL_ATTRIBUTE = 'lite.ttl.ms';
/** Prefix of the dead-letter topic of a consumer group: %DLQ%<group>. */
export const DLQ_PREFIX = '%DLQ%';
export const MAX_QUEUES_PER_TOPIC = 256;

export interface TopicConfig {
  name: string;
  queueCount: number;
  messageType: MessageTypeName;
  permission: PermissionName;
  attributes: Record<string, string>;
  createdAtMs: number;
  /** Semantic metadata, for topics registered as capabilities (validated before it gets here). */
  semantic?: SemanticMetadata;
}

export interface TopicInput {
  name: string;
  queueCount?: number;
  messageType?: MessageTypeName;
  permission?: PermissionName;
  attributes?: Record<string, string>;
}

/** How lite topics plug in: configs of `parent$lite` names, and cleanup when a parent goes. */
export interface LiteTopicHooks {
  resolve(name: string): TopicConfig | undefined;
  parentDeleted(parent: string): Promise<void>;
}

export class TopicManager {
  private readonly topics = new Map<string, TopicConfig>();
  private lite: LiteTopicHooks | undefined;

  constructor(
    private readonly store: MessageStore,
    private readonly defaults: { queueCount: number },
    private readonly onChange: () => void,
  ) {}

  /** Loads configs and opens every topic's queues (recovering offsets). */
  async load(): Promise<void> {
    const prefix = Buffer.from([P_TOPIC]);
    for await (const [, value] of this.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      const cfg = JSON.parse(value.toString('utf8')) as TopicConfig;
      this.topics.set(cfg.name, cfg);
      await this.store.openQueues(cfg.name, storeQueueCount(cfg));
    }
  }

  setLiteHooks(hooks: LiteTopicHooks): void {
    this.lite = hooks;
  }

  /** A topic, or the config of a lite topic by its internal name `parent$lite`. */
  get(name: string): TopicConfig | undefined {
    return this.topics.get(name) ?? (this.lite && name.includes('$') ? this.lite.resolve(name) : undefined);
  }

  /** The topic, or TOPIC_NOT_FOUND. */
  require(name: string): TopicConfig {
    const t = this.get(name);
    if (!t) throw new MqError(Code.TOPIC_NOT_FOUND, `topic ${name} not found on this broker`, { topic: name });
    return t;
  }

  list(): TopicConfig[] {
    return [...this.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async create(input: TopicInput, ifNotExists = false): Promise<TopicConfig> {
    const problem = nameProblem(input.name);
    if (problem) throw InvalidArgumentError.format('topic name', problem, Code.ILLEGAL_TOPIC);
    if (input.name.startsWith('%')) throw InvalidArgumentError.format('topic name', `must not start with '%' (reserved for system topics)`, Code.ILLEGAL_TOPIC);
    const existing = this.topics.get(input.name);
    if (existing) {
      if (ifNotExists) return existing;
      throw new MqError(Code.BAD_REQUEST, `topic ${input.name} already exists`, { topic: input.name });
    }
    const messageType = this.checkType(input.messageType ?? 'NORMAL');
    if (messageType === 'LITE' && input.queueCount !== undefined && input.queueCount !== 1) {
      throw InvalidArgumentError.format('queue_count', `a LITE parent topic has exactly one queue per broker (each lite topic is its own ordered queue); got ${input.queueCount}`);
    }
    const cfg: TopicConfig = {
      name: input.name,
      queueCount: messageType === 'LITE' ? 1 : this.checkQueueCount(input.queueCount ?? this.defaults.queueCount),
      messageType,
      permission: this.checkPermission(input.permission ?? 'READ_WRITE'),
      attributes: this.checkAttributes(messageType, { ...(input.attributes ?? {}) }),
      createdAtMs: Date.now(),
    };
    await this.persist(cfg);
    return cfg;
  }

  /** Sets (replaces) a topic's semantic metadata, creating the topic first if needed. */
  async setSemantic(input: TopicInput, semantic: SemanticMetadata): Promise<TopicConfig> {
    const cur = this.topics.get(input.name) ?? (await this.create(input));
    const cfg: TopicConfig = { ...cur, semantic };
    await this.persist(cfg);
    return cfg;
  }

  /** The dead-letter topic of `group` (%DLQ%<group>, one queue), created on first use. */
  async deadLetterTopic(group: string): Promise<TopicConfig> {
    const name = `${DLQ_PREFIX}${group}`;
    const existing = this.topics.get(name);
    if (existing) return existing;
    const cfg: TopicConfig = { name, queueCount: 1, messageType: 'NORMAL', permission: 'READ_WRITE', attributes: { 'dlq.group': group }, createdAtMs: Date.now() };
    await this.persist(cfg);
    return cfg;
  }

  async update(input: TopicInput): Promise<TopicConfig> {
    const cur = this.require(input.name);
    if (input.messageType && input.messageType !== cur.messageType) {
      throw InvalidArgumentError.format('message_type', `cannot change from ${cur.messageType} to ${input.messageType}: stored messages are laid out for it; create a new topic`);
    }
    const queueCount = input.queueCount ? this.checkQueueCount(input.queueCount) : cur.queueCount;
    if (cur.messageType === 'LITE' && queueCount !== 1) throw InvalidArgumentError.format('queue_count', 'a LITE parent topic has exactly one queue per broker');
    if (queueCount < cur.queueCount) {
      throw InvalidArgumentError.format('queue_count', `cannot shrink from ${cur.queueCount} to ${queueCount}: stored messages would be stranded`);
    }
    const cfg: TopicConfig = {
      ...cur,
      queueCount,
      messageType: input.messageType ? this.checkType(input.messageType) : cur.messageType,
      permission: input.permission ? this.checkPermission(input.permission) : cur.permission,
      attributes: input.attributes ? this.checkAttributes(cur.messageType, { ...cur.attributes, ...input.attributes }) : cur.attributes,
    };
    await this.persist(cfg);
    return cfg;
  }

  /** Returns false if the topic did not exist. */
  async delete(name: string): Promise<boolean> {
    const cfg = this.topics.get(name);
    if (!cfg) return false;
    this.topics.delete(name);
    if (cfg.messageType === 'LITE') await this.lite?.parentDeleted(name);
    await this.store.deleteTopic(name);
    this.onChange();
    return true;
  }

  private async persist(cfg: TopicConfig): Promise<void> {
    await this.store.writes.write([{ type: 'put', key: topicKey(cfg.name), value: Buffer.from(JSON.stringify(cfg)) }]);
    await this.store.openQueues(cfg.name, storeQueueCount(cfg));
    this.topics.set(cfg.name, cfg);
    this.onChange();
  }

  private checkQueueCount(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > MAX_QUEUES_PER_TOPIC) {
      throw InvalidArgumentError.format('queue_count', `must be an integer between 1 and ${MAX_QUEUES_PER_TOPIC} (got ${n})`);
    }
    return n;
  }

  private checkType(t: string): MessageTypeName {
    if (!MESSAGE_TYPES.includes(t as MessageTypeName)) {
      throw InvalidArgumentError.format('message_type', `must be one of ${MESSAGE_TYPES.join(', ')} (got ${t})`);
    }
    if (!SUPPORTED_TOPIC_TYPES.includes(t as MessageTypeName)) {
      throw new MqError(Code.UNSUPPORTED, `message type ${t} is not supported yet (supported: ${SUPPORTED_TOPIC_TYPES.join(', ')})`);
    }
    return t as MessageTypeName;
  }

  private checkAttributes(type: MessageTypeName, attrs: Record<string, string>): Record<string, string> {
    const ttl = attrs[LITE_TTL_ATTRIBUTE];
    if (ttl !== undefined) {
      if (type !== 'LITE') throw InvalidArgumentError.format(`attribute ${LITE_TTL_ATTRIBUTE}`, 'only applies to LITE topics');
      const n = Number(ttl);
      if (!Number.isInteger(n) || (n !== -1 && (n < 1000 || n > 365 * 24 * 3600_000))) {
        throw InvalidArgumentError.format(`attribute ${LITE_TTL_ATTRIBUTE}`, `must be -1 (never expire) or milliseconds between 1000 and one year (got ${JSON.stringify(ttl)})`);
      }
    }
    return attrs;
  }

  private checkPermission(p: string): PermissionName {
    if (!PERMISSIONS.includes(p as PermissionName)) {
      throw InvalidArgumentError.format('permission', `must be one of ${PERMISSIONS.join(', ')} (got ${p})`);
    }
    return p as PermissionName;
  }
}
