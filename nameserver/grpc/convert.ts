/**
 * Wire <-> domain conversion for the NameServer: the only module besides the handlers that
 * touches generated proto types. Lifting is lenient (validation is validate.ts's job); lowering
 * builds response messages from domain values.
 */
import { fromWireEndpoints, toWireEndpoints } from '../../proto/common/endpoints.js';
import { semanticFromWire } from '../../proto/common/semantic-metadata.js';
import type { BrokerInfo, BrokerInfo__Output } from '../../proto/gen/agentmq/v1/BrokerInfo.js';
import type { Assignment } from '../../proto/gen/apache/rocketmq/v2/Assignment.js';
import type { MessageQueue } from '../../proto/gen/apache/rocketmq/v2/MessageQueue.js';
import type { Resource, Resource__Output } from '../../proto/gen/apache/rocketmq/v2/Resource.js';
import type { LiveBroker } from '../registry/broker-registry.js';
import type { QueueRoute } from '../registry/route-table.js';
import type { BrokerDraft } from './validate.js';

/** Lifts a RegisterBroker payload; undefined if the request had none. */
export function brokerDraftFromWire(info: BrokerInfo__Output | null | undefined): BrokerDraft | undefined {
  if (!info) return undefined;
  const endpoint = fromWireEndpoints(info.endpoints);
  return {
    name: info.brokerName ?? '',
    clusterName: info.clusterName ?? '',
    endpoint: endpoint && endpoint.port <= 65535 ? endpoint : undefined,
    startedAtMs: Number(info.startedAtMs ?? 0),
    topics: (info.topics ?? []).map((t) => ({
      name: t.name ?? '',
      queueCount: t.queueCount ?? 0,
      permission: String(t.permission ?? ''),
      messageTypes: (t.acceptMessageTypes ?? []).map(String),
      ...(t.semantic ? { semantic: semanticFromWire(t.semantic) } : {}),
      live: t.live ?? false,
    })),
  };
}

/** A registered broker as ListBrokers reports it. */
export function brokerToWire(b: LiveBroker): BrokerInfo {
  return {
    brokerName: b.name,
    clusterName: b.clusterName,
    endpoints: toWireEndpoints(b.endpoint),
    topics: b.topics.map((t) => ({
      name: t.name,
      queueCount: t.queueCount,
      permission: t.permission,
      acceptMessageTypes: [...t.messageTypes],
      live: t.live,
    })),
    startedAtMs: b.startedAtMs,
    lastHeartbeatMs: b.lastHeartbeatMs,
  };
}

/** The topic resource echoed back in routes: the client's own namespace is kept. */
export function topicResource(requested: Resource__Output | null | undefined, name: string): Resource {
  return { name, resourceNamespace: requested?.resourceNamespace ?? '' };
}

export function queueToWire(q: QueueRoute, topic: Resource): MessageQueue {
  return {
    topic,
    id: q.queueId,
    permission: q.permission,
    broker: { name: q.broker.name, id: q.broker.id, endpoints: toWireEndpoints(q.broker.endpoint) },
    acceptMessageTypes: [...q.messageTypes],
  };
}

export function assignmentToWire(q: QueueRoute, topic: Resource): Assignment {
  return { messageQueue: queueToWire(q, topic) };
}
