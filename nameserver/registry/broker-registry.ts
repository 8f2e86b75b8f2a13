/**
 * Broker registry: the live brokers this NameServer knows (RocketMQ's brokerAddrTable +
 * brokerLiveTable + topicQueueTable, soft state rebuilt from registrations alone).
 *
 * - `register()` fully replaces a broker's entry (topic table included) and stamps its
 *   heartbeat: a registration is also the heartbeat.
 * - Brokers silent for `expiryMs` are expired by ONE timer armed for the earliest deadline;
 *   there is no polling loop. The timer may fire early (a broker heart-beat since it was
 *   armed); it then just re-arms for the real earliest deadline.
 *
 * Pure domain: no wire types. The clock is injectable; `expire()` runs a sweep on demand.
 */
import type { HostPort } from '../../proto/common/endpoints.js';
import type { Logger } from '../../proto/common/logger.js';
import type { Clock } from '../../proto/common/time.js';

export type BrokerName = string;
export type TopicName = string;

/** Access a broker grants on a topic (apache.rocketmq.v2.Permission names). */
export type TopicPermission = 'NONE' | 'READ' | 'WRITE' | 'READ_WRITE';
export const TOPIC_PERMISSIONS: readonly TopicPermission[] = ['NONE', 'READ', 'WRITE', 'READ_WRITE'];

/** Message types a topic accepts (apache.rocketmq.v2.MessageType names). */
export type MessageTypeName = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION' | 'LITE' | 'PRIORITY';
export const MESSAGE_TYPE_NAMES: readonly MessageTypeName[] = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE', 'PRIORITY'];

/** One topic as a broker reports it. */
export interface TopicDescriptor {
  readonly name: TopicName;
  /** Queues of this topic on this broker, ids 0..queueCount-1 (>= 1). */
  readonly queueCount: number;
  readonly permission: TopicPermission;
  readonly messageTypes: readonly MessageTypeName[];
  /** Semantic metadata as the broker reported it (validated by the discovery catalog). */
  readonly semantic?: Readonly<Record<string, unknown>>;
  /** Some online client consumes the topic on this broker. */
  readonly live: boolean;
}

/** A change of the registry, for listeners such as the discovery catalog. */
export type RegistryEvent =
  | { type: 'registered'; broker: LiveBroker; previous: LiveBroker | undefined }
  | { type: 'removed'; broker: LiveBroker; reason: 'unregistered' | 'expired' };

/** A validated registration. */
export interface BrokerDescriptor {
  readonly name: BrokerName;
  readonly clusterName: string;
  /** Where clients reach the broker's MessagingService. */
  readonly endpoint: HostPort;
  /** When the broker process started (ms since epoch); a change means a restart. */
  readonly startedAtMs: number;
  readonly topics: readonly TopicDescriptor[];
}

/** A registered broker as the registry holds it. */
export interface LiveBroker extends BrokerDescriptor {
  /** The same topics, keyed by name (route lookups). */
  readonly topicsByName: ReadonlyMap<TopicName, TopicDescriptor>;
  /** When this NameServer last heard from the broker (clock ms). */
  readonly lastHeartbeatMs: number;
  /** When the broker expires unless it registers again (clock ms). */
  readonly expiresAtMs: number;
}

export interface BrokerRegistryOptions {
  /** How long a broker lives without registering again. */
  expiryMs: number;
  clock: Clock;
  logger: Logger;
}

export class BrokerRegistry {
  private readonly brokers = new Map<BrokerName, LiveBroker>();
  private readonly expiryMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** The single expiry timer and the clock time it is armed for. */
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private closed = false;
  private readonly listeners = new Set<(e: RegistryEvent) => void>();

  constructor(opts: BrokerRegistryOptions) {
    this.expiryMs = opts.expiryMs;
    this.clock = opts.clock;
    this.logger = opts.logger;
  }

  /** Calls `listener` after every registration and removal; returns the unsubscribe function. */
  onChange(listener: (e: RegistryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RegistryEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.error('registry listener failed', { err: String(err) });
      }
    }
  }

  /** Registers (or refreshes) a broker, replacing its whole topic table. Returns the entry. */
  register(broker: BrokerDescriptor): LiveBroker {
    const now = this.clock.now();
    const previous = this.brokers.get(broker.name);
    const entry: LiveBroker = {
      ...broker,
      topics: [...broker.topics],
      topicsByName: new Map(broker.topics.map((t) => [t.name, t])),
      lastHeartbeatMs: now,
      expiresAtMs: now + this.expiryMs,
    };
    this.brokers.set(broker.name, entry);
    const fields = { broker: broker.name, cluster: broker.clusterName, endpoint: `${broker.endpoint.host}:${broker.endpoint.port}`, topics: broker.topics.length };
    if (!previous) this.logger.info('broker registered', fields);
    else if (previous.startedAtMs !== broker.startedAtMs) this.logger.info('broker re-registered after restart', fields);
    else this.logger.debug('broker heartbeat', fields);
    this.arm();
    this.emit({ type: 'registered', broker: entry, previous });
    return entry;
  }

  /** Forgets a broker at once. Returns false if it was not registered. */
  unregister(name: BrokerName): boolean {
    const entry = this.brokers.get(name);
    const removed = this.brokers.delete(name);
    if (removed) this.logger.info('broker unregistered', { broker: name });
    if (this.brokers.size === 0) this.disarm();
    if (entry) this.emit({ type: 'removed', broker: entry, reason: 'unregistered' });
    return removed;
  }

  /** Live brokers, ordered by name. */
  list(): LiveBroker[] {
    return [...this.brokers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get size(): number {
    return this.brokers.size;
  }

  /** Removes every broker whose deadline has passed; returns their names. Re-arms the timer. */
  expire(): BrokerName[] {
    const now = this.clock.now();
    const expired: BrokerName[] = [];
    for (const [name, b] of this.brokers) {
      if (b.expiresAtMs > now) continue;
      this.brokers.delete(name);
      expired.push(name);
      this.logger.warn('broker expired', { broker: name, silentMs: now - b.lastHeartbeatMs, expiryMs: this.expiryMs });
      this.emit({ type: 'removed', broker: b, reason: 'expired' });
    }
    this.arm();
    return expired;
  }

  /** Stops the expiry timer; the registry keeps its content but never expires anything again. */
  close(): void {
    this.closed = true;
    this.disarm();
  }

  /** Arms the timer for the earliest deadline unless it is already armed at or before it. */
  private arm(): void {
    if (this.closed) return;
    let earliest = Infinity;
    for (const b of this.brokers.values()) earliest = Math.min(earliest, b.expiresAtMs);
    if (earliest === Infinity) return this.disarm();
    // Firing early is harmless (the sweep re-arms), so only move the timer earlier.
    if (this.timer && this.timerAtMs <= earliest) return;
    this.disarm();
    this.timerAtMs = earliest;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAtMs = Infinity;
      this.expire();
    }, Math.max(0, earliest - this.clock.now()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAtMs = Infinity;
  }
}
