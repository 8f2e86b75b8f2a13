/**
 * Request validation for the NameServer's gRPC services: every check that can reject a
 * request lives here, each throwing an `MqError` with a specific RocketMQ v2 code and a message
 * naming the field. Inputs are plain values (convert.ts lifts them off the wire first); outputs
 * are validated domain values.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import type { HostPort } from '../../proto/common/endpoints.js';
import { nameProblem } from '../../proto/common/names.js';
import { MESSAGE_TYPE_NAMES, TOPIC_PERMISSIONS } from '../registry/broker-registry.js';
import type { BrokerDescriptor, MessageTypeName, TopicDescriptor, TopicPermission } from '../registry/broker-registry.js';

/** Cluster name used when a broker reports none. */
export const DEFAULT_CLUSTER_NAME = 'DefaultCluster';
/** Upper bound on queues per topic per broker (keeps route responses bounded). */
export const MAX_QUEUE_COUNT = 1024;
export const MAX_BROKER_NAME_LENGTH = 255;

/** A topic as read off a RegisterBroker request, before validation. */
export interface TopicDraft {
  name: string;
  queueCount: number;
  permission: string;
  messageTypes: string[];
  /** Semantic metadata as reported (loosely typed; the catalog validates it). */
  semantic?: Record<string, unknown>;
  live: boolean;
}

/** A broker as read off a RegisterBroker request, before validation. */
export interface BrokerDraft {
  name: string;
  clusterName: string;
  /** Undefined when the request had no usable address (host and port 1..65535). */
  endpoint: HostPort | undefined;
  startedAtMs: number;
  topics: TopicDraft[];
}

/** Validates a RegisterBroker payload and returns the registration to store. */
export function validateBrokerRegistration(draft: BrokerDraft | undefined): BrokerDescriptor {
  if (!draft) throw InvalidArgumentError.format('broker', 'is required');
  const name = validateBrokerName(draft.name);
  if (!draft.endpoint) {
    throw InvalidArgumentError.format('broker.endpoints', 'must hold at least one address with a host and a port in 1..65535');
  }
  if (!Number.isSafeInteger(draft.startedAtMs) || draft.startedAtMs < 0) {
    throw InvalidArgumentError.format('broker.started_at_ms', `must be a non-negative integer (got ${draft.startedAtMs})`);
  }
  const seen = new Set<string>();
  const topics = draft.topics.map((t, i) => {
    const topic = validateTopicInfo(t, `broker.topics[${i}]`);
    if (seen.has(topic.name)) {
      throw InvalidArgumentError.format(`broker.topics[${i}].name`, `duplicates topic ${JSON.stringify(topic.name)}`);
    }
    seen.add(topic.name);
    return topic;
  });
  return {
    name,
    clusterName: draft.clusterName.trim() || DEFAULT_CLUSTER_NAME,
    endpoint: draft.endpoint,
    startedAtMs: draft.startedAtMs,
    topics,
  };
}

function validateTopicInfo(t: TopicDraft, field: string): TopicDescriptor {
  const problem = nameProblem(t.name);
  if (problem) throw InvalidArgumentError.format(`${field}.name`, problem, Code.ILLEGAL_TOPIC);
  if (!Number.isInteger(t.queueCount) || t.queueCount < 1 || t.queueCount > MAX_QUEUE_COUNT) {
    throw InvalidArgumentError.format(
      `${field}.queue_count`,
      `must be an integer between 1 and ${MAX_QUEUE_COUNT} (got ${t.queueCount}, topic ${t.name})`,
    );
  }
  if (!(TOPIC_PERMISSIONS as readonly string[]).includes(t.permission)) {
    throw InvalidArgumentError.format(
      `${field}.permission`,
      `must be one of ${TOPIC_PERMISSIONS.join(', ')} (got ${t.permission}, topic ${t.name})`,
    );
  }
  const messageTypes: MessageTypeName[] = [];
  for (const type of t.messageTypes) {
    if (!(MESSAGE_TYPE_NAMES as readonly string[]).includes(type)) {
      throw InvalidArgumentError.format(
        `${field}.accept_message_types`,
        `must only hold ${MESSAGE_TYPE_NAMES.join(', ')} (got ${type}, topic ${t.name})`,
      );
    }
    if (!messageTypes.includes(type as MessageTypeName)) messageTypes.push(type as MessageTypeName);
  }
  return {
    name: t.name,
    queueCount: t.queueCount,
    permission: t.permission as TopicPermission,
    messageTypes,
    ...(t.semantic ? { semantic: t.semantic } : {}),
    live: t.live,
  };
}

export function validateBrokerName(name: string | undefined, field = 'broker.broker_name'): string {
  if (!name || name.trim() === '') throw InvalidArgumentError.format(field, 'is required');
  if (name.length > MAX_BROKER_NAME_LENGTH) {
    throw InvalidArgumentError.format(field, `must be at most ${MAX_BROKER_NAME_LENGTH} characters (got ${name.length})`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\s]/.test(name)) {
    throw InvalidArgumentError.format(field, `must not contain whitespace or control characters (got ${JSON.stringify(name)})`);
  }
  return name;
}

/** RocketMQ clients identify themselves in the `x-mq-client-id` header on every call. */
export function requireClientId(clientId: string | undefined): string {
  if (!clientId) {
    throw new MqError(Code.CLIENT_ID_REQUIRED, 'x-mq-client-id header is required', { field: 'x-mq-client-id' });
  }
  return clientId;
}

export function validateTopicName(name: string | undefined, field = 'topic.name'): string {
  const problem = nameProblem(name);
  if (problem) throw InvalidArgumentError.format(field, problem, Code.ILLEGAL_TOPIC);
  return name as string;
}

export function validateGroupName(name: string | undefined, field = 'group.name'): string {
  const problem = nameProblem(name);
  if (problem) throw InvalidArgumentError.format(field, problem, Code.ILLEGAL_CONSUMER_GROUP);
  return name as string;
}
