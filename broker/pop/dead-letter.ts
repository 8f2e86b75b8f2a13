/**
 * Dead letters. A message a group failed to process `maxDeliveryAttempts` times (or that a client
 * forwarded with ForwardMessageToDeadLetterQueue) is copied to the group's dead-letter topic
 * %DLQ%<group> — keeping its message id, body, tag, keys and properties, plus the properties
 * below — atomically with its removal from the group. The dead-letter topic is an ordinary topic:
 * consume it like any other, or re-drive its messages back to where they came from (for the
 * dead-lettering group only: other groups of the origin topic skip the re-driven copy).
 */
import type { TopicManager } from '../topic/topic-manager.js';
import type { SendService } from '../send/send-service.js';
import type { Clock } from '../../proto/common/time.js';
import type { BatchOp } from '../store/rocks.js';
import { MATCH_ALL } from '../consumer/filter.js';
import type { DeadLetter, PopService } from './pop-service.js';

export const DLQ_ORIGIN_TOPIC = 'agentmq.dlq.origin-topic';
export const DLQ_ATTEMPTS = 'agentmq.dlq.attempts';
export const DLQ_REASON = 'agentmq.dlq.reason';
export const DLQ_TIME = 'agentmq.dlq.time';
/** The internal group that re-drives dead letters (it consumes %DLQ% topics like any group). */
export const REDRIVE_GROUP = '%REDRIVE%';

export class DeadLetterService {
  constructor(
    private readonly topics: TopicManager,
    private readonly send: SendService,
    private readonly pop: PopService,
    private readonly clock: Clock,
  ) {}

  /** The DeadLetterSink of the pop service. */
  readonly sink = async (group: string, letters: DeadLetter[], ops: BatchOp[]): Promise<void> => {
    const dlq = await this.topics.deadLetterTopic(group);
    const now = this.clock.now();
    await this.send.republish(
      letters.map(({ message: { forGroup: _g, ...message }, ...l }) => ({
        topic: dlq,
        header: {
          ...message,
          props: {
            ...(message.props ?? {}),
            [DLQ_ORIGIN_TOPIC]: message.topic,
            [DLQ_ATTEMPTS]: String(l.attempts),
            [DLQ_REASON]: l.reason,
            [DLQ_TIME]: new Date(now).toISOString(),
          },
        },
        body: message.body,
      })),
      ops,
      now,
    );
  };

  /** Moves up to `max` dead letters of `group` back to their origin topics. */
  async redrive(group: string, max: number): Promise<{ redriven: number; skipped: number }> {
    const dlq = this.topics.get(`%DLQ%${group}`);
    if (!dlq) return { redriven: 0, skipped: 0 };
    let redriven = 0;
    let skipped = 0;
    const skippedHandles: string[] = [];
    const limit = max > 0 ? max : Infinity;
    while (redriven + skipped < limit) {
      const batch = await this.pop.pop({
        topic: dlq,
        group: REDRIVE_GROUP,
        filter: MATCH_ALL,
        maxMessages: Math.min(1024, limit - redriven - skipped),
        invisibleMs: 60_000,
        maxAttempts: Number.MAX_SAFE_INTEGER,
      });
      if (batch.length === 0) break;
      const items = [];
      const ops: BatchOp[] = [];
      for (const d of batch) {
        const origin = this.topics.get(d.message.props?.[DLQ_ORIGIN_TOPIC] ?? '');
        if (!origin) {
          // Left in the dead-letter topic; made visible again to the redrive group at the end.
          skippedHandles.push(d.receiptHandle);
          skipped++;
          continue;
        }
        const { [DLQ_ORIGIN_TOPIC]: _o, [DLQ_ATTEMPTS]: _a, [DLQ_REASON]: _r, [DLQ_TIME]: _t, ...props } = d.message.props ?? {};
        const { topic: _tp, queueId: _q, offset: _off, body, ...header } = d.message;
        // Back to this group only: the topic's other groups already had the message.
        items.push({ topic: origin, header: { ...header, props, forGroup: group }, body });
        ops.push(...this.pop.settle(dlq.name, REDRIVE_GROUP, d.receiptHandle));
      }
      if (items.length > 0) await this.send.republish(items, ops, this.clock.now());
      redriven += items.length;
    }
    for (const h of skippedHandles) await this.pop.changeInvisibleDuration(dlq.name, REDRIVE_GROUP, h, 0);
    return { redriven, skipped };
  }
}
