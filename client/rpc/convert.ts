/**
 * Wire <-> SDK conversions. With client/rpc/*-rpc.ts and telemetry-session.ts this is the only
 * code that touches generated proto types; everything above works on plain interfaces.
 *
 * The loader gives enums as their string names, int64 as numbers and Timestamp/Duration as
 * {seconds, nanos}; enum names are checked against the SDK's unions here so an unknown value
 * from a newer server degrades to a documented fallback instead of leaking through.
 */
import { hostname } from 'node:os';
import { formatHostPort, fromWireEndpoints, parseHostPort, toWireEndpoints } from '../../proto/common/endpoints.js';
import { durationToMs, msToDuration, msToTimestamp, timestampToMs } from '../../proto/common/time.js';
import type { BrokerInfo__Output } from '../../proto/gen/agentmq/v1/BrokerInfo.js';
import type { ClientInfo__Output } from '../../proto/gen/agentmq/v1/ClientInfo.js';
import type { GroupConfig, GroupConfig__Output } from '../../proto/gen/agentmq/v1/GroupConfig.js';
import type { TopicConfig, TopicConfig__Output } from '../../proto/gen/agentmq/v1/TopicConfig.js';
import type { Endpoints } from '../../proto/gen/apache/rocketmq/v2/Endpoints.js';
import type { Message, Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { MessageQueue, MessageQueue__Output } from '../../proto/gen/apache/rocketmq/v2/MessageQueue.js';
import type { Settings, Settings__Output } from '../../proto/gen/apache/rocketmq/v2/Settings.js';
import type { SystemProperties } from '../../proto/gen/apache/rocketmq/v2/SystemProperties.js';
import type {
  BrokerDescriptor,
  ClientDetails,
  GroupDetails,
  GroupSpec,
  TopicDetails,
  TopicSpec,
} from '../admin/admin-types.js';
import type { DigestType, ReceivedMessageData } from '../consumer/received-message.js';
import type { PreparedMessage } from '../producer/outgoing-message.js';
import type { RouteQueue } from '../route/route-cache.js';
import type { ClientType, Endpoint, MessageType, Permission } from '../types.js';
import { LITE_CLIENT_QUOTA_ATTRIBUTE, LITE_SUB_MODEL_ATTRIBUTE, LITE_TTL_ATTRIBUTE } from '../lite/lite-attributes.js';
import { CLIENT_VERSION } from '../version.js';

// ---------------------------------------------------------------------------------------------
// enums

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>(['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE', 'PRIORITY']);
const PERMISSIONS: ReadonlySet<string> = new Set<Permission>(['NONE', 'READ', 'WRITE', 'READ_WRITE']);
const CLIENT_TYPES: ReadonlySet<string> = new Set<ClientType>([
  'PRODUCER',
  'PUSH_CONSUMER',
  'SIMPLE_CONSUMER',
  'PULL_CONSUMER',
  'LITE_PUSH_CONSUMER',
  'LITE_SIMPLE_CONSUMER',
]);
const DIGEST_TYPES: ReadonlySet<string> = new Set<DigestType>(['CRC32', 'MD5', 'SHA1']);

/** A wire MessageType name as the SDK union, or undefined (unspecified / unknown). */
export function messageTypeFromWire(v: string | number | null | undefined): MessageType | undefined {
  return typeof v === 'string' && MESSAGE_TYPES.has(v) ? (v as MessageType) : undefined;
}

/** A wire Permission name; unspecified / unknown reads as NONE. */
export function permissionFromWire(v: string | number | null | undefined): Permission {
  return typeof v === 'string' && PERMISSIONS.has(v) ? (v as Permission) : 'NONE';
}

export function clientTypeFromWire(v: string | number | null | undefined): ClientType | 'CLIENT_TYPE_UNSPECIFIED' {
  return typeof v === 'string' && CLIENT_TYPES.has(v) ? (v as ClientType) : 'CLIENT_TYPE_UNSPECIFIED';
}

// ---------------------------------------------------------------------------------------------
// endpoints and routes

export function endpointToWire(endpoint: Endpoint): Endpoints {
  return toWireEndpoints(parseHostPort(endpoint));
}

export function endpointFromWire(e: Parameters<typeof fromWireEndpoints>[0]): Endpoint | undefined {
  const hp = fromWireEndpoints(e);
  return hp ? formatHostPort(hp) : undefined;
}

/** A route queue, or undefined when the queue names no reachable broker. */
export function routeQueueFromWire(mq: MessageQueue__Output, fallbackTopic: string): RouteQueue | undefined {
  const endpoint = endpointFromWire(mq.broker?.endpoints);
  if (!endpoint) return undefined;
  return {
    topic: mq.topic?.name || fallbackTopic,
    queueId: mq.id,
    permission: permissionFromWire(mq.permission),
    brokerName: mq.broker?.name ?? '',
    brokerId: mq.broker?.id ?? 0,
    endpoint,
    acceptMessageTypes: (mq.acceptMessageTypes ?? []).flatMap((t) => messageTypeFromWire(t) ?? []),
  };
}

export function routeQueueToWire(q: RouteQueue): MessageQueue {
  return {
    topic: { name: q.topic, resourceNamespace: '' },
    id: q.queueId,
    permission: q.permission,
    broker: { name: q.brokerName, id: q.brokerId, endpoints: endpointToWire(q.endpoint) },
    acceptMessageTypes: q.acceptMessageTypes,
  };
}

// ---------------------------------------------------------------------------------------------
// messages

export function messageToWire(m: PreparedMessage): Message {
  const sp: SystemProperties = {
    keys: m.keys,
    messageId: m.messageId,
    bodyEncoding: 'IDENTITY',
    messageType: m.messageType,
    bornTimestamp: msToTimestamp(m.bornTimestampMs),
    bornHost: m.bornHost,
    queueId: 0,
  };
  if (m.tag !== undefined) sp.tag = m.tag;
  if (m.messageGroup !== undefined) sp.messageGroup = m.messageGroup;
  if (m.deliveryTimestampMs !== undefined) sp.deliveryTimestamp = msToTimestamp(m.deliveryTimestampMs);
  if (m.priority !== undefined) sp.priority = m.priority;
  if (m.liteTopic !== undefined) sp.liteTopic = m.liteTopic;
  return {
    topic: { name: m.topic, resourceNamespace: '' },
    userProperties: m.properties,
    systemProperties: sp,
    body: m.body,
  };
}

export function receivedMessageFromWire(m: Message__Output, endpoint: Endpoint): ReceivedMessageData {
  const sp = m.systemProperties;
  const data: ReceivedMessageData = {
    topic: m.topic?.name ?? '',
    messageId: sp?.messageId ?? '',
    body: m.body ?? Buffer.alloc(0),
    bodyEncoding: sp?.bodyEncoding === 'GZIP' ? 'GZIP' : sp?.bodyEncoding === 'IDENTITY' ? 'IDENTITY' : 'UNSPECIFIED',
    keys: sp?.keys ?? [],
    properties: { ...(m.userProperties ?? {}) },
    queueId: sp?.queueId ?? -1,
    offset: sp?.queueOffset ?? -1,
    deliveryAttempt: sp?.deliveryAttempt ?? 1,
    bornTimestampMs: timestampToMs(sp?.bornTimestamp) ?? 0,
    bornHost: sp?.bornHost ?? '',
    storeTimestampMs: timestampToMs(sp?.storeTimestamp) ?? 0,
    receiptHandle: sp?.receiptHandle ?? '',
    endpoint,
  };
  if (sp?.bodyDigest) {
    const t = sp.bodyDigest.type;
    data.bodyDigest = { type: DIGEST_TYPES.has(t) ? (t as DigestType) : 'UNSPECIFIED', checksum: sp.bodyDigest.checksum };
  }
  if (sp?.tag !== undefined && sp.tag !== '') data.tag = sp.tag;
  if (sp?.messageGroup !== undefined && sp.messageGroup !== '') data.messageGroup = sp.messageGroup;
  const type = messageTypeFromWire(sp?.messageType);
  if (type) data.messageType = type;
  const delivery = timestampToMs(sp?.deliveryTimestamp);
  if (delivery !== undefined) data.deliveryTimestampMs = delivery;
  if (sp?.liteTopic !== undefined && sp.liteTopic !== '') data.liteTopic = sp.liteTopic;
  if (sp?.priority !== undefined) data.priority = sp.priority;
  return data;
}

// ---------------------------------------------------------------------------------------------
// telemetry settings

/** What a client reports in `TelemetryCommand.settings`. */
export interface ClientSettings {
  clientType: ClientType;
  /** The NameServer access point the client was configured with. */
  accessPoint: Endpoint;
  requestTimeoutMs: number;
  /** Attempts per send, reported as the retry policy (producers). */
  maxAttempts?: number;
  publishing?: { topics: string[] };
  subscription?: {
    group: string;
    /** topic -> TAG expression (`*`, `a||b`). */
    subscriptions: Record<string, string>;
    longPollingTimeoutMs?: number;
    receiveBatchSize?: number;
  };
}

/** The parts of the server's settings reply the SDK uses. */
export interface ServerSettings {
  /** Largest message body the broker accepts (publishing.max_body_size), when > 0. */
  maxBodySize?: number;
  /** backoff_policy.max_attempts, when > 0. */
  maxAttempts?: number;
  requestTimeoutMs?: number;
  /** backoff_policy.exponential_backoff: the delay before redelivery attempt n+1 is min(initial·multiplier^(n-1), max). */
  backoff?: { initialMs: number; maxMs: number; multiplier: number };
  /** Lite consumers: lite subscriptions this client may hold (subscription.lite_subscription_quota), when > 0. */
  liteSubscriptionQuota?: number;
  /** Lite consumers: longest lite topic name (subscription.max_lite_topic_size), when > 0. */
  maxLiteTopicSize?: number;
}

export function settingsToWire(s: ClientSettings): Settings {
  const out: Settings = {
    clientType: s.clientType,
    accessPoint: endpointToWire(s.accessPoint),
    requestTimeout: msToDuration(s.requestTimeoutMs),
    userAgent: {
      language: 'NODE_JS',
      version: CLIENT_VERSION,
      platform: `${process.platform} ${process.arch} node ${process.versions.node}`,
      hostname: hostname(),
    },
  };
  if (s.maxAttempts !== undefined) {
    out.backoffPolicy = {
      maxAttempts: s.maxAttempts,
      exponentialBackoff: { initial: msToDuration(100), max: msToDuration(1000), multiplier: 2 },
    };
  }
  if (s.publishing) {
    out.publishing = { topics: s.publishing.topics.map((name) => ({ name, resourceNamespace: '' })), validateMessageType: true };
  } else if (s.subscription) {
    const sub = s.subscription;
    out.subscription = {
      group: { name: sub.group, resourceNamespace: '' },
      subscriptions: Object.entries(sub.subscriptions).map(([topic, expression]) => ({
        topic: { name: topic, resourceNamespace: '' },
        expression: { type: 'TAG', expression },
      })),
    };
    if (sub.longPollingTimeoutMs !== undefined) out.subscription.longPollingTimeout = msToDuration(sub.longPollingTimeoutMs);
    if (sub.receiveBatchSize !== undefined) out.subscription.receiveBatchSize = sub.receiveBatchSize;
  }
  return out;
}

export function settingsFromWire(s: Settings__Output): ServerSettings {
  const out: ServerSettings = {};
  const maxBodySize = s.publishing?.maxBodySize;
  if (maxBodySize !== undefined && maxBodySize > 0) out.maxBodySize = maxBodySize;
  const maxAttempts = s.backoffPolicy?.maxAttempts;
  if (maxAttempts !== undefined && maxAttempts > 0) out.maxAttempts = maxAttempts;
  const timeout = durationToMs(s.requestTimeout);
  if (timeout !== undefined && timeout > 0) out.requestTimeoutMs = timeout;
  const quota = s.subscription?.liteSubscriptionQuota;
  if (quota !== undefined && quota > 0) out.liteSubscriptionQuota = quota;
  const maxLite = s.subscription?.maxLiteTopicSize;
  if (maxLite !== undefined && maxLite > 0) out.maxLiteTopicSize = maxLite;
  const exp = s.backoffPolicy?.exponentialBackoff;
  if (exp) {
    const initialMs = durationToMs(exp.initial) ?? 0;
    const maxMs = durationToMs(exp.max) ?? 0;
    if (initialMs > 0 && maxMs >= initialMs) out.backoff = { initialMs, maxMs, multiplier: exp.multiplier > 1 ? exp.multiplier : 1 };
  }
  return out;
}

/** The redelivery delay for a message delivered `attempt` times under `backoff`. */
export function backoffDelayMs(backoff: { initialMs: number; maxMs: number; multiplier: number }, attempt: number): number {
  return Math.round(Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, attempt - 1)));
}

// ---------------------------------------------------------------------------------------------
// admin

export function brokerFromWire(b: BrokerInfo__Output): BrokerDescriptor | undefined {
  const endpoint = endpointFromWire(b.endpoints);
  if (!endpoint) return undefined;
  return {
    name: b.brokerName,
    cluster: b.clusterName,
    endpoint,
    topics: (b.topics ?? []).map((t) => ({
      name: t.name,
      queueCount: t.queueCount,
      permission: permissionFromWire(t.permission),
      acceptMessageTypes: (t.acceptMessageTypes ?? []).flatMap((x) => messageTypeFromWire(x) ?? []),
    })),
    startedAtMs: b.startedAtMs,
    lastHeartbeatMs: b.lastHeartbeatMs,
  };
}

export function topicSpecToWire(spec: TopicSpec): TopicConfig {
  const out: TopicConfig = { name: spec.name };
  if (spec.queueCount !== undefined) out.queueCount = spec.queueCount;
  if (spec.messageType !== undefined) out.messageType = spec.messageType;
  if (spec.permission !== undefined) out.permission = spec.permission;
  if (spec.attributes !== undefined || spec.liteTtlMs !== undefined) {
    out.attributes = { ...(spec.attributes ?? {}) };
    if (spec.liteTtlMs !== undefined) out.attributes[LITE_TTL_ATTRIBUTE] = String(spec.liteTtlMs);
  }
  return out;
}

export function topicFromWire(t: TopicConfig__Output): TopicDetails {
  const out: TopicDetails = {
    name: t.name,
    queueCount: t.queueCount,
    messageType: messageTypeFromWire(t.messageType) ?? 'NORMAL',
    permission: permissionFromWire(t.permission),
    attributes: { ...(t.attributes ?? {}) },
    createdAtMs: t.createdAtMs,
  };
  if (t.stats) out.stats = { messageCount: t.stats.messageCount, maxOffset: t.stats.maxOffset };
  return out;
}

export function groupSpecToWire(spec: GroupSpec): GroupConfig {
  const out: GroupConfig = { name: spec.name };
  if (spec.maxDeliveryAttempts !== undefined) out.maxDeliveryAttempts = spec.maxDeliveryAttempts;
  const attributes: Record<string, string> = { ...(spec.attributes ?? {}) };
  if (spec.liteSubModel !== undefined) attributes[LITE_SUB_MODEL_ATTRIBUTE] = spec.liteSubModel;
  if (spec.liteClientQuota !== undefined) attributes[LITE_CLIENT_QUOTA_ATTRIBUTE] = String(spec.liteClientQuota);
  if (Object.keys(attributes).length > 0) out.attributes = attributes;
  return out;
}

export function groupFromWire(g: GroupConfig__Output): GroupDetails {
  return { name: g.name, maxDeliveryAttempts: g.maxDeliveryAttempts, createdAtMs: g.createdAtMs, attributes: { ...(g.attributes ?? {}) } };
}

export function clientFromWire(c: ClientInfo__Output): ClientDetails {
  return {
    clientId: c.clientId,
    clientType: clientTypeFromWire(c.clientType),
    group: c.group,
    channel: c.channel,
    lastSeenMs: c.lastSeenMs,
    language: c.language,
    version: c.version,
  };
}
