/**
 * How a topic's queues map onto the store's queues, and which message types it accepts.
 *
 * A PRIORITY topic with Q queues has Q × PRIORITY_LEVELS store queues ("lanes"): store queue
 * q·PRIORITY_LEVELS + p holds queue q's messages of priority p. Receives drain lanes from the
 * highest priority down, so a higher-priority message is delivered first and messages of one
 * level keep their order. Priority is strict: under sustained higher-priority load, lower levels
 * wait (docs/messages.md). Other topics map queue q to store queue q.
 */
import type { MessageTypeName, TopicConfig } from './topic-manager.js';

export const PRIORITY_LEVELS = 10;
export const MAX_PRIORITY = PRIORITY_LEVELS - 1;

export function storeQueueCount(t: Pick<TopicConfig, 'messageType' | 'queueCount'>): number {
  return t.messageType === 'PRIORITY' ? t.queueCount * PRIORITY_LEVELS : t.queueCount;
}

export function storeQueue(t: Pick<TopicConfig, 'messageType'>, queueId: number, priority: number | undefined): number {
  return t.messageType === 'PRIORITY' ? queueId * PRIORITY_LEVELS + (priority ?? 0) : queueId;
}

/** The queue id clients see for a store queue. */
export function clientQueue(t: Pick<TopicConfig, 'messageType'>, storeQueueId: number): number {
  return t.messageType === 'PRIORITY' ? Math.floor(storeQueueId / PRIORITY_LEVELS) : storeQueueId;
}

/**
 * Store queues in the order a receive drains them: by priority (highest first), then
 * round-robin from queue `start`.
 */
export function drainOrder(t: Pick<TopicConfig, 'messageType' | 'queueCount'>, start: number): number[] {
  const n = t.queueCount;
  const order: number[] = [];
  if (t.messageType !== 'PRIORITY') {
    for (let i = 0; i < n; i++) order.push((start + i) % n);
    return order;
  }
  for (let p = MAX_PRIORITY; p >= 0; p--) for (let i = 0; i < n; i++) order.push(((start + i) % n) * PRIORITY_LEVELS + p);
  return order;
}

/**
 * Message types a topic accepts (also what routes advertise as accept_message_types). Any of
 * them may carry a delivery timestamp; clients that send one tag the message DELAY unless it is
 * FIFO, which is why NORMAL and PRIORITY topics also accept DELAY.
 */
export function acceptedTypes(type: MessageTypeName): MessageTypeName[] {
  switch (type) {
    case 'NORMAL':
    case 'DELAY':
      return ['NORMAL', 'DELAY'];
    case 'PRIORITY':
      return ['PRIORITY', 'NORMAL', 'DELAY'];
    default:
      return [type];
  }
}
