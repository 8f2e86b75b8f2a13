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

  async create(input: { name: string; maxDeliveryAttempts?: number }, ifNotExists = false): Promise<GroupConfig> {
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
    const cfg: GroupConfig = { name: input.name, maxDeliveryAttempts: attempts, createdAtMs: Date.now() };
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
