/**
 * Wire <-> domain conversion for the broker. The only place besides the handlers where
 * generated proto types are touched.
 */
import type { Message } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { MessageType } from '../../proto/gen/apache/rocketmq/v2/MessageType.js';
import type { MessageQueue } from '../../proto/gen/apache/rocketmq/v2/MessageQueue.js';
import type { TopicConfig as WireTopicConfig } from '../../proto/gen/agentmq/v1/TopicConfig.js';
import { msToDuration, msToTimestamp } from '../../proto/common/time.js';
import { toWireEndpoints } from '../../proto/common/endpoints.js';
import type { Delivery } from '../pop/pop-service.js';
import type { TopicConfig } from '../topic/topic-manager.js';
import { acceptedTypes, clientQueue } from '../topic/lanes.js';
import { semanticToWire } from '../../proto/common/semantic-metadata.js';
import { crc32Checksum } from '../../proto/common/crc32.js';


export function deliveryToWire(d: Delivery, topic: TopicConfig, storeHost: string, invisibleMs: number): Message {
  const m = d.message;
  return {
    topic: { name: m.topic, resourceNamespace: '' },
    userProperties: m.props ?? {},
    systemProperties: {
      tag: m.tag,
      keys: m.keys ?? [],
      messageId: m.id,
      bodyDigest: { type: 'CRC32', checksum: crc32Checksum(m.body) },
      bodyEncoding: (m.enc as 'IDENTITY' | 'GZIP' | undefined) ?? 'IDENTITY',
      messageType: m.type as MessageType,
      bornTimestamp: msToTimestamp(m.bornMs),
      bornHost: m.bornHost,
      storeTimestamp: msToTimestamp(m.storeMs),
      storeHost,
      receiptHandle: d.receiptHandle,
      queueId: clientQueue(topic, m.queueId),
      queueOffset: m.offset,
      invisibleDuration: msToDuration(invisibleMs),
      deliveryAttempt: d.attempt,
      ...(m.group !== undefined ? { messageGroup: m.group } : {}),
      ...(m.deliveryMs !== undefined ? { deliveryTimestamp: msToTimestamp(m.deliveryMs) } : {}),
      ...(m.priority !== undefined ? { priority: m.priority } : {}),
    },
    body: m.body,
  };
}

/** A lite topic's message as clients see it: the parent topic, with lite_topic set. */
export function liteDeliveryToWire(d: Delivery, parent: TopicConfig, lite: string, storeHost: string, invisibleMs: number): Message {
  const wire = deliveryToWire(d, parent, storeHost, invisibleMs);
  wire.topic = { name: parent.name, resourceNamespace: '' };
  wire.systemProperties = { ...wire.systemProperties!, liteTopic: lite, messageType: 'LITE', queueId: 0 };
  return wire;
}

export function topicQueues(topic: TopicConfig, brokerName: string, host: string, port: number): MessageQueue[] {
  const queues: MessageQueue[] = [];
  for (let id = 0; id < topic.queueCount; id++) {
    queues.push({
      topic: { name: topic.name, resourceNamespace: '' },
      id,
      permission: topic.permission,
      broker: { name: brokerName, id: 0, endpoints: toWireEndpoints({ host, port }) },
      acceptMessageTypes: acceptedTypes(topic.messageType),
    });
  }
  return queues;
}

export function topicToWire(t: TopicConfig, stats?: { messageCount: number; maxOffset: number }, live = false): WireTopicConfig {
  return {
    ...(t.semantic ? { semantic: semanticToWire(t.semantic) } : {}),
    live,
    name: t.name,
    queueCount: t.queueCount,
    messageType: t.messageType,
    permission: t.permission,
    attributes: t.attributes,
    createdAtMs: t.createdAtMs,
    ...(stats ? { stats } : {}),
  };
}
