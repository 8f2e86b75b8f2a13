/**
 * AdminClient: cluster administration for tools and tests.
 *
 * - `listBrokers()` asks the NameServer (NameServerRegistry.ListBrokers).
 * - Topic and group calls go to each broker's BrokerAdmin service. Without `{ broker }` they fan
 *   out: creations and listings to every live broker; updates, gets and deletions of a topic to
 *   the brokers whose topic table (as the NameServer reports it) holds it.
 * - A fan-out waits for every broker, then rejects with the first failure (its message names the
 *   broker) or resolves with one result per broker. Creation is idempotent with `ifNotExists`,
 *   deletion with `ifExists`, so a partial failure can simply be retried.
 *
 * No `start()`: channels open on first use; `close()` closes them.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import { ClientError } from '../errors.js';
import { resolveClientOptions } from '../options.js';
import type { MessageDetails } from './admin-types.js';
import type { SemanticMetadata } from '../../proto/common/semantic-metadata.js';
import type { TopicRegistration } from '../discovery/discovery-types.js';
import type { ClientOptions, ResolvedClientOptions } from '../options.js';
import { AdminRpc } from '../rpc/admin-rpc.js';
import { ChannelPool } from '../rpc/channels.js';
import { NameServerRpc } from '../rpc/nameserver-rpc.js';
import type { RpcContext } from '../rpc/rpc-context.js';
import type {
  BrokerDescriptor,
  ClientListing,
  GroupListing,
  GroupOnBroker,
  GroupSpec,
  TopicListing,
  TopicOnBroker,
  TopicSpec,
} from './admin-types.js';

export type AdminClientOptions = ClientOptions;

/** Restricts a call to one broker (by name); default: fan out. */
export interface BrokerTarget {
  broker?: string;
}

type BrokerName = string;

/** Longest createTopic/registerTopic wait for the NameServer to route a new topic. */
const ROUTE_WAIT_MS = 5_000;

function checkName(field: string, name: string, code: Code): void {
  const problem = nameProblem(name);
  if (problem) throw InvalidArgumentError.format(field, problem, code);
}

/** `err` with the broker's name in front of its message (same class family and code). */
function onBroker(broker: BrokerName, err: unknown): unknown {
  if (err instanceof MqError) return new MqError(err.code, `${broker}: ${err.message}`, { ...err.context, cause: err });
  if (err instanceof ClientError) return new ClientError(err.code, `${broker}: ${err.message}`, { ...err.context, cause: err });
  return err;
}

export class AdminClient {
  private readonly options: ResolvedClientOptions;
  private readonly channels = new ChannelPool();
  private readonly nameserver: NameServerRpc;
  private readonly rpc: AdminRpc;
  private closed = false;

  constructor(options: AdminClientOptions = {}) {
    this.options = resolveClientOptions(options);
    const ctx: RpcContext = {
      channels: this.channels,
      clientId: this.options.clientId,
      requestTimeoutMs: this.options.requestTimeoutMs,
      logger: this.options.logger,
    };
    this.nameserver = new NameServerRpc(ctx, this.options.nameservers);
    this.rpc = new AdminRpc(ctx);
  }

  /** Live brokers as the NameServer knows them, with their topic tables. */
  listBrokers(): Promise<BrokerDescriptor[]> {
    this.checkOpen();
    return this.nameserver.listBrokers();
  }

  /**
   * Creates the topic on every live broker (or `broker`); one result per broker. Resolves once
   * the NameServer routes the topic to those brokers (brokers report a new topic at once; this
   * waits up to 5 s for it), so a producer or consumer started next finds it.
   */
  async createTopic(spec: TopicSpec, options: BrokerTarget & { ifNotExists?: boolean } = {}): Promise<TopicOnBroker[]> {
    checkName('name', spec.name, Code.ILLEGAL_TOPIC);
    const brokers = await this.targets(options.broker);
    const out = await this.fanOut(brokers, async (b) => ({
      ...(await this.rpc.createTopic(b.endpoint, spec, options.ifNotExists ?? false)),
      broker: b.name,
    }));
    await this.awaitRoutable(spec.name, brokers);
    return out;
  }

  /** Updates the topic on the brokers holding it (or `broker`). */
  async updateTopic(spec: TopicSpec, options: BrokerTarget = {}): Promise<TopicOnBroker[]> {
    checkName('name', spec.name, Code.ILLEGAL_TOPIC);
    const brokers = await this.holders(spec.name, options.broker);
    return this.fanOut(brokers, async (b) => ({ ...(await this.rpc.updateTopic(b.endpoint, spec)), broker: b.name }));
  }

  /** Deletes the topic (messages, offsets, in-flight records) on the brokers holding it. */
  async deleteTopic(name: string, options: BrokerTarget & { ifExists?: boolean } = {}): Promise<void> {
    checkName('name', name, Code.ILLEGAL_TOPIC);
    const ifExists = options.ifExists ?? false;
    let brokers = await this.holders(name, options.broker, false);
    if (brokers.length === 0) {
      if (ifExists) return;
      brokers = await this.targets(undefined); // let the brokers answer TOPIC_NOT_FOUND
    }
    await this.fanOut(brokers, (b) => this.rpc.deleteTopic(b.endpoint, name, ifExists));
  }

  /** The topic as each broker holding it reports it (with stats). */
  async getTopic(name: string, options: BrokerTarget = {}): Promise<TopicOnBroker[]> {
    checkName('name', name, Code.ILLEGAL_TOPIC);
    const brokers = await this.holders(name, options.broker);
    return this.fanOut(brokers, async (b) => ({ ...(await this.rpc.getTopic(b.endpoint, name)), broker: b.name }));
  }

  /** Every topic of every live broker (or `broker`), merged by name, sorted by name. */
  async listTopics(options: BrokerTarget = {}): Promise<TopicListing[]> {
    const brokers = await this.targets(options.broker);
    const perBroker = await this.fanOut(brokers, async (b) =>
      (await this.rpc.listTopics(b.endpoint)).map((t): TopicOnBroker => ({ ...t, broker: b.name })),
    );
    const merged = new Map<string, TopicListing>();
    for (const t of perBroker.flat()) {
      const m = merged.get(t.name);
      if (!m) {
        merged.set(t.name, {
          name: t.name,
          messageType: t.messageType,
          permission: t.permission,
          attributes: { ...t.attributes },
          createdAtMs: t.createdAtMs,
          queueCount: t.queueCount,
          messageCount: t.stats?.messageCount ?? 0,
          brokers: [t],
        });
      } else {
        if (t.createdAtMs > 0 && (m.createdAtMs === 0 || t.createdAtMs < m.createdAtMs)) m.createdAtMs = t.createdAtMs;
        m.queueCount += t.queueCount;
        m.messageCount += t.stats?.messageCount ?? 0;
        m.brokers.push(t);
      }
    }
    return [...merged.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates the consumer group on every live broker (or `broker`). */
  async createGroup(spec: GroupSpec, options: BrokerTarget & { ifNotExists?: boolean } = {}): Promise<GroupOnBroker[]> {
    checkName('name', spec.name, Code.ILLEGAL_CONSUMER_GROUP);
    const brokers = await this.targets(options.broker);
    return this.fanOut(brokers, async (b) => ({
      ...(await this.rpc.createGroup(b.endpoint, spec, options.ifNotExists ?? false)),
      broker: b.name,
    }));
  }

  /** Deletes the consumer group on every live broker (or `broker`). */
  async deleteGroup(name: string, options: BrokerTarget & { ifExists?: boolean } = {}): Promise<void> {
    checkName('name', name, Code.ILLEGAL_CONSUMER_GROUP);
    const brokers = await this.targets(options.broker);
    await this.fanOut(brokers, (b) => this.rpc.deleteGroup(b.endpoint, name, options.ifExists ?? false));
  }

  /** Consumer groups of every live broker (or `broker`), merged by name, sorted by name. */
  async listGroups(options: BrokerTarget = {}): Promise<GroupListing[]> {
    const brokers = await this.targets(options.broker);
    const perBroker = await this.fanOut(brokers, async (b) => (await this.rpc.listGroups(b.endpoint)).map((g) => ({ ...g, broker: b.name })));
    const merged = new Map<string, GroupListing>();
    for (const g of perBroker.flat()) {
      const m = merged.get(g.name);
      if (!m) {
        merged.set(g.name, { name: g.name, maxDeliveryAttempts: g.maxDeliveryAttempts, createdAtMs: g.createdAtMs, attributes: { ...g.attributes }, brokers: [g.broker] });
      } else {
        if (g.createdAtMs > 0 && (m.createdAtMs === 0 || g.createdAtMs < m.createdAtMs)) m.createdAtMs = g.createdAtMs;
        m.brokers.push(g.broker);
      }
    }
    return [...merged.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Clients the brokers see online (all groups, producers included, unless `group` is given),
   * merged by (client id, group), sorted by client id.
   */
  async listClients(group?: string, options: BrokerTarget = {}): Promise<ClientListing[]> {
    if (group !== undefined && group !== '') checkName('group', group, Code.ILLEGAL_CONSUMER_GROUP);
    const brokers = await this.targets(options.broker);
    const perBroker = await this.fanOut(brokers, async (b) =>
      (await this.rpc.listClients(b.endpoint, group)).map((c) => ({ ...c, broker: b.name })),
    );
    const merged = new Map<string, ClientListing>();
    for (const { broker, ...c } of perBroker.flat()) {
      const key = `${c.clientId}\n${c.group}`;
      const m = merged.get(key);
      if (!m) {
        merged.set(key, { ...c, brokers: [broker] });
      } else {
        m.brokers.push(broker);
        if (c.lastSeenMs > m.lastSeenMs) m.lastSeenMs = c.lastSeenMs;
        if (c.channel === 'telemetry') m.channel = 'telemetry';
      }
    }
    return [...merged.values()].sort((a, b) => a.clientId.localeCompare(b.clientId) || a.group.localeCompare(b.group));
  }

  /**
   * Looks a message up by id on every live broker (or `broker`); undefined if none knows it
   * (unknown, expired, recalled or deleted).
   */
  async getMessage(messageId: string, options: BrokerTarget & { includeBody?: boolean } = {}): Promise<MessageDetails | undefined> {
    const brokers = await this.targets(options.broker);
    const found = await this.fanOut(brokers, (b) => this.rpc.getMessage(b.endpoint, messageId, options.includeBody ?? false));
    return found.find((m) => m !== undefined);
  }

  /** Messages of `topic` with business key `key`, oldest first, from every broker holding the topic. */
  async findMessages(topic: string, key: string, options: BrokerTarget & { limit?: number; includeBody?: boolean } = {}): Promise<MessageDetails[]> {
    checkName('topic', topic, Code.ILLEGAL_TOPIC);
    const brokers = (await this.targets(options.broker)).filter((b) => b.topics.some((t) => t.name === topic));
    const found = await this.fanOut(brokers, (b) => this.rpc.findMessages(b.endpoint, topic, key, options.limit ?? 32, options.includeBody ?? false));
    return found.flat().sort((a, b) => a.storeTimestampMs - b.storeTimestampMs);
  }

  /** Moves dead-lettered messages of `group` (topic %DLQ%<group>) back to their origin topics. */
  async redriveDeadLetters(group: string, options: BrokerTarget & { maxMessages?: number } = {}): Promise<{ redriven: number; skipped: number }> {
    checkName('group', group, Code.ILLEGAL_CONSUMER_GROUP);
    const brokers = await this.targets(options.broker);
    const res = await this.fanOut(brokers, (b) => this.rpc.redriveDeadLetters(b.endpoint, group, options.maxMessages ?? 0));
    return res.reduce((a, r) => ({ redriven: a.redriven + r.redriven, skipped: a.skipped + r.skipped }), { redriven: 0, skipped: 0 });
  }

  /**
   * Registers a topic as a capability (semantic metadata for discovery), creating it if missing,
   * on every live broker (or `broker`). Give plain fields, or an A2A AgentCard (v1.0 / v0.3)
   * with an optional topic name (default: derived from the card's name). BAD_REQUEST lists every
   * invalid field.
   */
  async registerTopic(
    registration: TopicRegistration | { agentCard: Record<string, unknown>; name?: string; queueCount?: number },
    options: BrokerTarget = {},
  ): Promise<TopicOnBroker[]> {
    const brokers = await this.targets(options.broker);
    const req =
      'agentCard' in registration
        ? { name: registration.name ?? '', agentCardJson: JSON.stringify(registration.agentCard), ...(registration.queueCount ? { queueCount: registration.queueCount } : {}) }
        : (() => {
            const { name, queueCount, ...m } = registration;
            const metadata: SemanticMetadata = {
              description: m.description,
              tags: m.tags ?? [],
              skills: m.skills ?? [],
              attributes: m.attributes ?? {},
              ...(m.inputSchema ? { inputSchema: m.inputSchema } : {}),
              ...(m.outputSchema ? { outputSchema: m.outputSchema } : {}),
              ...(m.owner ? { owner: m.owner } : {}),
              ...(m.version ? { version: m.version } : {}),
            };
            return { name, metadata, ...(queueCount ? { queueCount } : {}) };
          })();
    const out = await this.fanOut(brokers, async (b) => ({ ...(await this.rpc.registerTopic(b.endpoint, req)), broker: b.name }));
    const name = out[0]?.name;
    if (name !== undefined) await this.awaitRoutable(name, brokers);
    return out;
  }

  /**
   * Waits (up to ROUTE_WAIT_MS) until the NameServer's route of `topic` names every one of
   * `brokers`: the brokers report topic changes at once, but asynchronously. Gives up quietly (the
   * topic exists; a client that asks too early gets TOPIC_NOT_FOUND and may retry).
   */
  private async awaitRoutable(topic: string, brokers: BrokerDescriptor[]): Promise<void> {
    const want = new Set(brokers.map((b) => b.name));
    const deadline = Date.now() + ROUTE_WAIT_MS;
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      const queues = await this.nameserver.queryRoute(topic).catch(() => []);
      const have = new Set(queues.map((q) => q.brokerName));
      if ([...want].every((b) => have.has(b))) return;
      if (Date.now() + delay > deadline) {
        this.options.logger.warn('topic created but not routed by the NameServer yet', { topic, brokers: [...want], routed: [...have] });
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Closes the channels. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.channels.close();
    }
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new ClientError('CLOSED', 'admin client is closed');
  }

  /** `broker` alone, or every live broker; NO_ROUTE when there is none. */
  private async targets(broker: BrokerName | undefined): Promise<BrokerDescriptor[]> {
    const all = await this.listBrokers();
    if (broker !== undefined) {
      const one = all.find((b) => b.name === broker);
      if (!one) throw new ClientError('NO_ROUTE', `broker ${broker} is not live (NameServer ${this.options.nameservers.join(';')})`);
      return [one];
    }
    if (all.length === 0) throw new ClientError('NO_ROUTE', `no live broker (NameServer ${this.options.nameservers.join(';')})`);
    return all;
  }

  /**
   * Brokers holding `topic` (or `broker` alone). When none holds it and `fallBack` is set, every
   * live broker, so they answer TOPIC_NOT_FOUND themselves.
   */
  private async holders(topic: string, broker: BrokerName | undefined, fallBack = true): Promise<BrokerDescriptor[]> {
    if (broker !== undefined) return this.targets(broker);
    const all = await this.targets(undefined);
    const holding = all.filter((b) => b.topics.some((t) => t.name === topic));
    return holding.length > 0 || !fallBack ? holding : all;
  }

  /** Runs `fn` on every broker concurrently; all results, or the first failure once all settled. */
  private async fanOut<T>(brokers: BrokerDescriptor[], fn: (b: BrokerDescriptor) => Promise<T>): Promise<T[]> {
    this.checkOpen();
    const settled = await Promise.allSettled(brokers.map((b) => fn(b)));
    const out: T[] = [];
    for (const [i, r] of settled.entries()) {
      if (r.status === 'rejected') throw onBroker(brokers[i]!.name, r.reason);
      out.push(r.value);
    }
    return out;
  }
}
