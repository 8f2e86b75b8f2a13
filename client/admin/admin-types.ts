/**
 * Plain types of the admin API: brokers as the NameServer lists them, and topics, groups and
 * clients as brokers report them (per broker, or merged over every live broker).
 */
import type { LiteSubModel } from '../lite/lite-attributes.js';
import type { ClientType, Endpoint, MessageType, Permission } from '../types.js';

/** A topic as one broker announces it to the NameServer. */
export interface BrokerTopicInfo {
  name: string;
  queueCount: number;
  permission: Permission;
  acceptMessageTypes: MessageType[];
}

export interface BrokerDescriptor {
  /** Unique broker name, e.g. `broker-a`. */
  name: string;
  cluster: string;
  /** Where the broker's MessagingService and BrokerAdmin listen. */
  endpoint: Endpoint;
  topics: BrokerTopicInfo[];
  startedAtMs: number;
  /** When the NameServer last heard from the broker. */
  lastHeartbeatMs: number;
}

/** What `createTopic` / `updateTopic` ask for; omitted fields take the broker's defaults. */
export interface TopicSpec {
  name: string;
  /** Queues per broker (broker default 4). */
  queueCount?: number;
  /** Broker default NORMAL; LITE makes a lite parent topic. */
  messageType?: MessageType;
  /** Broker default READ_WRITE. */
  permission?: Permission;
  attributes?: Record<string, string>;
  /**
   * LITE parent topics: a lite topic without writes for this long is deleted; -1 = never
   * (broker default 24 h). Sent as the attribute `lite.ttl.ms`.
   */
  liteTtlMs?: number;
}

export interface TopicStats {
  messageCount: number;
  maxOffset: number;
}

export interface TopicDetails {
  name: string;
  queueCount: number;
  messageType: MessageType;
  permission: Permission;
  attributes: Record<string, string>;
  createdAtMs: number;
  stats?: TopicStats;
}

/** A topic as one broker holds it. */
export interface TopicOnBroker extends TopicDetails {
  broker: string;
}

/** A topic merged over the brokers that hold it. */
export interface TopicListing {
  name: string;
  /** As reported by the first broker (brokers normally agree). */
  messageType: MessageType;
  permission: Permission;
  attributes: Record<string, string>;
  /** Earliest creation over the brokers. */
  createdAtMs: number;
  /** Sum over the brokers. */
  queueCount: number;
  /** Sum over the brokers (0 when brokers report no stats). */
  messageCount: number;
  brokers: TopicOnBroker[];
}

export interface GroupSpec {
  name: string;
  /** Deliveries before a message is dead-lettered (broker default 16). */
  maxDeliveryAttempts?: number;
  /**
   * Lite consumption: `Shared` (default: the group's clients subscribed to a lite topic share its
   * messages) or `Exclusive` (the newest subscriber takes a lite topic over; the others are told
   * and drop it). Sent as the attribute `lite.sub.model`.
   */
  liteSubModel?: LiteSubModel;
  /** Lite subscriptions one client of the group may hold; -1 = unlimited. Sent as `lite.sub.client.quota`. */
  liteClientQuota?: number;
  /** Free-form group attributes (the typed fields above win over the same keys here). */
  attributes?: Record<string, string>;
}

export interface GroupDetails {
  name: string;
  maxDeliveryAttempts: number;
  createdAtMs: number;
  /** Group attributes (`lite.sub.model`, `lite.sub.client.quota`, ...). */
  attributes: Record<string, string>;
}

export interface GroupOnBroker extends GroupDetails {
  broker: string;
}

export interface GroupListing extends GroupDetails {
  brokers: string[];
}

export interface ClientDetails {
  clientId: string;
  clientType: ClientType | 'CLIENT_TYPE_UNSPECIFIED';
  /** Empty for producers. */
  group: string;
  /** `telemetry` while a Telemetry stream is open, else `heartbeat`. */
  channel: string;
  lastSeenMs: number;
  language: string;
  version: string;
}

/** A client merged over the brokers that see it (latest `lastSeenMs`, `telemetry` if any). */
export interface ClientListing extends ClientDetails {
  brokers: string[];
}

/** A message as the broker's lookup (GetMessage / FindMessages) reports it. */
export interface MessageDetails {
  messageId: string;
  topic: string;
  /** Broker (host:port) holding it. */
  broker: string;
  queueId: number;
  offset: number;
  tag?: string;
  keys: string[];
  properties: Record<string, string>;
  messageType: string;
  messageGroup?: string;
  priority?: number;
  bornTimestampMs: number;
  storeTimestampMs: number;
  deliveryTimestampMs?: number;
  expireAtMs?: number;
  /** 'scheduled': a delayed message not yet due. */
  state: 'stored' | 'scheduled';
  /** Per consumer group: pending, inflight (with attempt), waiting (FIFO, behind its group's head) or acked. */
  groups: { group: string; state: 'pending' | 'inflight' | 'waiting' | 'acked'; deliveryAttempt: number; visibleAtMs: number }[];
  bodySize: number;
  /** Only when asked for (`includeBody`). */
  body?: Buffer;
}
