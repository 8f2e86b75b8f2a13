/**
 * Route table: topic -> the queues clients may address, derived on demand from the live
 * brokers in the BrokerRegistry (nothing cached, so expiry and unregistration show at once).
 *
 * Per broker that has the topic, queues 0..queueCount-1 are listed with the broker's id 0 (a
 * master) and the topic's permission and message types. Both compatibility quirks hold: the
 * official Node client keeps only queues whose id is 0, and the Java client only brokers whose
 * id is 0 (see rocketmq-notes §2.3), so every broker contributes a usable queue to either.
 */
import type { HostPort } from '../../proto/common/endpoints.js';
import type { BrokerName, BrokerRegistry, MessageTypeName, TopicName, TopicPermission } from './broker-registry.js';

/** RocketMQ's master broker id; AgentMQ brokers have no slaves. */
export const MASTER_BROKER_ID = 0;

/** One addressable queue of a topic. */
export interface QueueRoute {
  readonly topic: TopicName;
  readonly queueId: number;
  readonly permission: TopicPermission;
  readonly broker: { readonly name: BrokerName; readonly id: number; readonly endpoint: HostPort };
  readonly messageTypes: readonly MessageTypeName[];
}

export class RouteTable {
  constructor(private readonly registry: BrokerRegistry) {}

  /** The queues of `topic` on live brokers, ordered by broker name then queue id; empty if none. */
  route(topic: TopicName): QueueRoute[] {
    const queues: QueueRoute[] = [];
    for (const b of this.registry.list()) {
      const t = b.topicsByName.get(topic);
      if (!t) continue;
      const broker = { name: b.name, id: MASTER_BROKER_ID, endpoint: b.endpoint };
      for (let queueId = 0; queueId < t.queueCount; queueId++) {
        queues.push({ topic, queueId, permission: t.permission, broker, messageTypes: t.messageTypes });
      }
    }
    return queues;
  }
}

export function isReadable(p: TopicPermission): boolean {
  return p === 'READ' || p === 'READ_WRITE';
}
