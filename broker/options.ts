/**
 * Broker options, grouped by subsystem, every field documented with its default. `main`-style
 * callers (the CLI) read argv/env; library code only ever receives resolved options.
 */
import { join } from 'node:path';
import { consoleLogger, type Logger } from '../proto/common/logger.js';
import { systemClock, type Clock } from '../proto/common/time.js';
import type { FlushPolicy } from './store/message-store.js';

export const DEFAULT_BROKER_PORT = 8081;
export const DEFAULT_MAX_BODY_SIZE = 4 * 1024 * 1024;

export interface StoreOptions {
  /** RocksDB directory. @default `./.agentmq/<brokerName>` */
  dataDir?: string;
  /**
   * `sync`: every group-committed write batch is fsynced before the broker answers (no loss
   * even on power failure); `async`: the WAL goes to the OS page cache (survives a process
   * crash or kill -9, not a power cut). @default 'async'
   */
  flush?: FlushPolicy;
  /** Recent messages per queue kept decoded in memory for consumers that keep up. @default 4096 */
  cacheMessagesPerQueue?: number;
  /**
   * Size of a commit log segment file (DATA_DIR/commitlog/): message records are appended there
   * and RocksDB keeps pointers to them; a segment whose records are all deleted is removed.
   * @default 268435456 (256 MiB)
   */
  segmentBytes?: number;
}

export interface PopOptions {
  /** Smallest invisible duration a receive or ChangeInvisibleDuration may ask for. @default 1000 */
  minInvisibleMs?: number;
  /** Largest invisible duration. @default 43200000 (12 h) */
  maxInvisibleMs?: number;
  /** Invisible duration when the request has none. @default 30000 */
  defaultInvisibleMs?: number;
  /** Longest long-polling wait a receive may ask for. @default 60000 */
  maxLongPollingMs?: number;
  /** Largest batch a single receive may ask for. @default 64 */
  maxBatchSize?: number;
}

export interface LiteOptions {
  /** Lite topics this broker holds at most (all parents); a new one beyond is LITE_TOPIC_QUOTA_EXCEEDED. @default 2000000 */
  maxTopics?: number;
  /** Lite subscriptions (client x lite topic) this broker holds at most; beyond is LITE_SUBSCRIPTION_QUOTA_EXCEEDED. @default 2000000 */
  maxSubscriptions?: number;
  /** Lite subscriptions one client may hold, unless its group sets `lite.sub.client.quota`. @default 100000 */
  maxSubscriptionsPerClient?: number;
  /** Longest lite topic name. @default 64 */
  maxNameLength?: number;
  /** Lite topic TTL of parents without a `lite.ttl.ms` attribute: deleted after this long without writes. @default 86400000 (24 h) */
  defaultTtlMs?: number;
  /**
   * A client that has not synced its subscriptions, heartbeated or received for this long loses
   * them; their pending events go to other clients of its group. @default 120000
   */
  leaseMs?: number;
  /** Lite topics a client's ReadySet holds before overflowing into the catch-up path. @default 1024 */
  maxReadyPerClient?: number;
}

export interface BrokerOptions {
  /** Unique name in the cluster. @default 'broker-a' */
  brokerName?: string;
  /** @default 'DefaultCluster' */
  clusterName?: string;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port of the gRPC server (MessagingService + BrokerAdmin); 0 = any free port. @default 8081 */
  port?: number;
  /** Host clients should dial (what routes carry). @default `host`, or 127.0.0.1 when host is 0.0.0.0 */
  advertisedHost?: string;
  /** NameServers to register with (HOST:PORT). Empty = standalone. @default ['127.0.0.1:9876'] */
  nameservers?: string[];
  /** How often the broker re-registers with every NameServer (the heartbeat). @default 10000 */
  registerIntervalMs?: number;
  /** Largest message body accepted (also sent to clients in Settings). @default 4194304 (4 MiB) */
  maxBodySize?: number;
  /** Largest total of user properties (keys + values) per message. @default 16384 */
  maxPropertiesSize?: number;
  /** Create consumer groups on first use (RocketMQ autoCreateSubscriptionGroup). @default true */
  autoCreateGroups?: boolean;
  /**
   * Serve agentmq.v1.MessagingSession (the AgentMQ SDK's calls multiplexed over one stream per
   * client) next to MessagingService. false = only the RocketMQ services; the SDK then makes
   * unary calls, as it does against any broker that answers the session with UNIMPLEMENTED.
   * @default true
   */
  messagingSession?: boolean;
  /**
   * Most requests one messaging session may have in flight (parked receives included); more are
   * answered RESOURCE_EXHAUSTED. @default 4096
   */
  maxSessionInFlight?: number;
  /** Queues of a topic created without a count. @default 4 */
  defaultQueueCount?: number;
  /** A client not heard from (Heartbeat/Telemetry) for this long is offline. @default 120000 */
  clientExpiryMs?: number;
  /** Longest delay a delayed message may ask for. @default 2592000000 (30 days) */
  maxDelayMs?: number;
  /** Longest per-message TTL (property agentmq.ttl.ms). @default 2592000000 (30 days) */
  maxTtlMs?: number;
  /** Dedup window of topics without a `dedup.window.ms` attribute. @default 600000 (10 min) */
  dedupWindowMs?: number;
  store?: StoreOptions;
  pop?: PopOptions;
  lite?: LiteOptions;
  logger?: Logger;
  clock?: Clock;
}

export interface ResolvedBrokerOptions {
  brokerName: string;
  clusterName: string;
  host: string;
  port: number;
  advertisedHost: string;
  nameservers: string[];
  registerIntervalMs: number;
  maxBodySize: number;
  maxPropertiesSize: number;
  autoCreateGroups: boolean;
  messagingSession: boolean;
  maxSessionInFlight: number;
  defaultQueueCount: number;
  clientExpiryMs: number;
  maxDelayMs: number;
  maxTtlMs: number;
  dedupWindowMs: number;
  store: Required<StoreOptions>;
  pop: Required<PopOptions>;
  lite: Required<LiteOptions>;
  logger: Logger;
  clock: Clock;
}

/** Commit log positions are 32-bit: segments of at most 2 GiB. */
function segmentBytesOf(v: number | undefined): number {
  const n = positiveInt('store.segmentBytes', v ?? 256 * 1024 * 1024);
  if (n > 2 ** 31) throw new TypeError(`store.segmentBytes must be at most 2147483648 (got ${n})`);
  return n;
}

function positiveInt(field: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new TypeError(`${field} must be a positive integer (got ${v})`);
  return v;
}

export function resolveBrokerOptions(o: BrokerOptions = {}): ResolvedBrokerOptions {
  const brokerName = o.brokerName ?? 'broker-a';
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(brokerName)) throw new TypeError(`brokerName must match [a-zA-Z0-9_.-]{1,64} (got ${brokerName})`);
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? DEFAULT_BROKER_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`port must be 0..65535 (got ${port})`);
  const flush = o.store?.flush ?? 'async';
  if (flush !== 'sync' && flush !== 'async') throw new TypeError(`store.flush must be 'sync' or 'async' (got ${String(flush)})`);
  const pop: Required<PopOptions> = {
    minInvisibleMs: o.pop?.minInvisibleMs ?? 1000,
    maxInvisibleMs: o.pop?.maxInvisibleMs ?? 12 * 3600_000,
    defaultInvisibleMs: o.pop?.defaultInvisibleMs ?? 30_000,
    maxLongPollingMs: o.pop?.maxLongPollingMs ?? 60_000,
    maxBatchSize: o.pop?.maxBatchSize ?? 64,
  };
  if (pop.minInvisibleMs < 0 || pop.minInvisibleMs > pop.maxInvisibleMs) throw new TypeError('pop.minInvisibleMs must be between 0 and pop.maxInvisibleMs');
  return {
    brokerName,
    clusterName: o.clusterName ?? 'DefaultCluster',
    host,
    port,
    advertisedHost: o.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    nameservers: o.nameservers ?? ['127.0.0.1:9876'],
    registerIntervalMs: positiveInt('registerIntervalMs', o.registerIntervalMs ?? 10_000),
    maxBodySize: positiveInt('maxBodySize', o.maxBodySize ?? DEFAULT_MAX_BODY_SIZE),
    maxPropertiesSize: positiveInt('maxPropertiesSize', o.maxPropertiesSize ?? 16 * 1024),
    autoCreateGroups: o.autoCreateGroups ?? true,
    messagingSession: o.messagingSession ?? true,
    maxSessionInFlight: positiveInt('maxSessionInFlight', o.maxSessionInFlight ?? 4096),
    defaultQueueCount: positiveInt('defaultQueueCount', o.defaultQueueCount ?? 4),
    clientExpiryMs: positiveInt('clientExpiryMs', o.clientExpiryMs ?? 120_000),
    maxDelayMs: positiveInt('maxDelayMs', o.maxDelayMs ?? 30 * 24 * 3600_000),
    maxTtlMs: positiveInt('maxTtlMs', o.maxTtlMs ?? 30 * 24 * 3600_000),
    dedupWindowMs: positiveInt('dedupWindowMs', o.dedupWindowMs ?? 600_000),
    store: {
      dataDir: o.store?.dataDir ?? join('.agentmq', brokerName),
      flush,
      cacheMessagesPerQueue: positiveInt('store.cacheMessagesPerQueue', o.store?.cacheMessagesPerQueue ?? 4096),
      segmentBytes: segmentBytesOf(o.store?.segmentBytes),
    },
    pop: {
      ...pop,
      defaultInvisibleMs: positiveInt('pop.defaultInvisibleMs', pop.defaultInvisibleMs),
      maxLongPollingMs: positiveInt('pop.maxLongPollingMs', pop.maxLongPollingMs),
      maxBatchSize: positiveInt('pop.maxBatchSize', pop.maxBatchSize),
    },
    lite: {
      maxTopics: positiveInt('lite.maxTopics', o.lite?.maxTopics ?? 2_000_000),
      maxSubscriptions: positiveInt('lite.maxSubscriptions', o.lite?.maxSubscriptions ?? 2_000_000),
      maxSubscriptionsPerClient: positiveInt('lite.maxSubscriptionsPerClient', o.lite?.maxSubscriptionsPerClient ?? 100_000),
      maxNameLength: positiveInt('lite.maxNameLength', o.lite?.maxNameLength ?? 64),
      defaultTtlMs: positiveInt('lite.defaultTtlMs', o.lite?.defaultTtlMs ?? 24 * 3600_000),
      leaseMs: positiveInt('lite.leaseMs', o.lite?.leaseMs ?? 120_000),
      maxReadyPerClient: positiveInt('lite.maxReadyPerClient', o.lite?.maxReadyPerClient ?? 1024),
    },
    logger: o.logger ?? consoleLogger('broker'),
    clock: o.clock ?? systemClock,
  };
}
