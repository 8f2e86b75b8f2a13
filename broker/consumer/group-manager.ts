/**
 * Consumer group configurations, persisted under 'G'|group. Groups are created on first use
 * unless the broker runs with `autoCreateGroups: false`, in which case an unknown group is
 * CONSUMER_GROUP_NOT_FOUND (RocketMQ's autoCreateSubscriptionGroup).
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import type { MessageStore } from '../store/message-store.js';
import { groupKey, P_GROUP, prefixEnd } from '../store/keys.js';

export interface GroupConfig {
  name: string;
  /** Deliveries before a message is dead-lettered (enforced once dead letters land). */
  maxDeliveryAttempts: number;
  createdAtMs: number;
  attributes?: Record<string, string>;
}

/** Group attribute: how a lite topic is shared by the group's clients (Shared | Exclusive). */
export const LITE_SUB_MODEL_ATTRIBUTE = 'lite.sub.model';
/** Group attribute: lite subscriptions one client of the group may hold (-1 = unlimited). */
export const LITE_CLIENT_QUOTA_ATTRIBUTE = 'lite.sub.client.quota';

export function liteExclusive(g: GroupConfig | undefined): boolean {
  return g?.attributes?.[LITE_SUB_MODEL_ATTRIBUTE]?.toLowerCase() === 'exclusive';
}

function checkGroupAttributes(attrs: Record<string, string>): Record<string, string> {
  const model = attrs[LITE_SUB_MODEL_ATTRIBUTE];
  if (model !== undefined && !['shared', 'exclusive'].includes(model.toLowerCase())) {
    throw InvalidArgumentError.format(`attribute ${LITE_SUB_MODEL_ATTRIBUTE}`, `must be Shared or Exclusive (got ${JSON.stringify(model)})`);
  }
  const quota = attrs[LITE_CLIENT_QUOTA_ATTRIBUTE];
  if (quota !== undefined && !(Number.isInteger(Number(quota)) && (Number(quota) === -1 || Number(quota) > 0))) {
    throw InvalidArgumentError.format(`attribute ${LITE_CLIENT_QUOTA_ATTRIBUTE}`, `must be a positive integer or -1 (got ${JSON.stringify(quota)})`);
  }
  return attrs;
}

export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 16;

export class GroupManager {
  private readonly groups = new Map<string, GroupConfig>();

  constructor(
    private readonly store: MessageStore,
    private readonly autoCreate: boolean,
  ) {}

  async load(): Promise<void> {
    const prefix = Buffer.from([P_GROUP]);
    for await (const [, value] of this.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      const cfg = JSON.parse(value.toString('utf8')) as GroupConfig;
      this.groups.set(cfg.name, cfg);
    }
  }

  get(name: string): GroupConfig | undefined {
    return this.groups.get(name);
  }

  list(): GroupConfig[] {
    return [...this.groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The group, created now if auto-create is on; else CONSUMER_GROUP_NOT_FOUND. */
  async resolve(name: string): Promise<GroupConfig> {
    const g = this.groups.get(name);
    if (g) return g;
    if (!this.autoCreate) {
      throw new MqError(Code.CONSUMER_GROUP_NOT_FOUND, `consumer group ${name} not found (auto-creation is disabled; create it with 'agentmq group create ${name}')`, { group: name });
    }
    return this.create({ name }, true);
  }

  async create(input: { name: string; maxDeliveryAttempts?: number; attributes?: Record<string, string> }, ifNotExists = false): Promise<GroupConfig> {
    const problem = nameProblem(input.name);
    if (problem) throw InvalidArgumentError.format('group name', problem, Code.ILLEGAL_CONSUMER_GROUP);
    const existing = this.groups.get(input.name);
    if (existing) {
      if (ifNotExists) return existing;
      throw new MqError(Code.BAD_REQUEST, `consumer group ${input.name} already exists`, { group: input.name });
    }
    const attempts = input.maxDeliveryAttempts || DEFAULT_MAX_DELIVERY_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1000) {
      throw InvalidArgumentError.format('max_delivery_attempts', `must be between 1 and 1000 (got ${attempts})`);
    }
    const attributes = checkGroupAttributes({ ...(input.attributes ?? {}) });
    const cfg: GroupConfig = { name: input.name, maxDeliveryAttempts: attempts, createdAtMs: Date.now(), ...(Object.keys(attributes).length ? { attributes } : {}) };
    this.groups.set(cfg.name, cfg);
    await this.store.writes.write([{ type: 'put', key: groupKey(cfg.name), value: Buffer.from(JSON.stringify(cfg)) }]);
    return cfg;
  }

  async delete(name: string): Promise<boolean> {
    if (!this.groups.delete(name)) return false;
    await this.store.writes.write([{ type: 'del', key: groupKey(name) }]);
    return true;
  }
}
