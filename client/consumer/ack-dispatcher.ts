/**
 * Batched acknowledgements, shared by SimpleConsumer and LiteConsumer: acks issued in the same
 * tick for the same (broker, topic) travel in one AckMessage (the group is the consumer's), with
 * a bounded number of calls in flight per broker; every `ack()` settles with its own entry's
 * status. A call that fails as a whole with a retryable error is retried a few times.
 */
import { CallBatcher } from '../batching/call-batcher.js';
import type { BatchLane } from '../batching/call-batcher.js';
import type { ClientCore } from '../client.js';
import { ClientError, isRetryableError } from '../errors.js';
import type { AckItem } from '../rpc/broker-rpc.js';
import { sleep } from '../util/abort.js';
import type { ReceivedMessageImpl } from './received-message.js';

/** Largest AckMessage sent. */
const ACK_MAX_BATCH_ENTRIES = 256;
/** Outstanding AckMessage calls per broker. */
const ACK_MAX_IN_FLIGHT = 16;
/** Attempts of an AckMessage that failed as a whole (transport / retryable code). */
const ACK_MAX_ATTEMPTS = 3;

interface PendingAck {
  topic: string;
  item: AckItem;
  resolve(): void;
  reject(err: unknown): void;
}

export class AckDispatcher {
  private readonly batcher: CallBatcher<PendingAck>;
  /** Acks are accepted until `close()`. */
  private open = true;

  constructor(
    private readonly core: ClientCore,
    private readonly group: string,
  ) {
    this.batcher = new CallBatcher<PendingAck>(
      // While no ack call is in flight, acks go out at the end of the tick they were made in (one
      // call for all of that tick's acks) instead of after the rest of the event-loop turn.
      { maxBatchEntries: ACK_MAX_BATCH_ENTRIES, maxBatchBytes: Infinity, lingerMs: 0, sameTickWhenIdle: true, maxInFlightPerTarget: ACK_MAX_IN_FLIGHT },
      (lane, entries) => this.dispatch(lane, entries),
      (err) => this.core.logger.error('ack dispatch failed unexpectedly', { err }),
    );
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Acknowledges `m` (with its lite topic, if it has one) at the broker that delivered it. */
  ack(m: ReceivedMessageImpl): Promise<void> {
    if (!this.open) return Promise.reject(new ClientError('CLOSED', 'consumer is closed', { group: this.group }));
    const item: AckItem = { messageId: m.messageId, receiptHandle: m.receiptHandle };
    if (m.liteTopic !== undefined) item.liteTopic = m.liteTopic;
    return new Promise<void>((resolve, reject) => {
      this.batcher.add({ key: `${m.endpoint}\n${m.topic}`, target: m.endpoint }, { topic: m.topic, item, resolve, reject }, 1);
    });
  }

  /** Sends every pending ack now and waits until all are settled. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Refuses further acks (call after the last `flush()`). */
  close(): void {
    this.open = false;
  }

  private async dispatch(lane: BatchLane, entries: PendingAck[]): Promise<void> {
    const topic = entries[0]?.topic;
    if (topic === undefined) return;
    const items = entries.map((e) => e.item);
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await this.core.brokers.ackMessages(lane.target, this.group, topic, items);
        entries.forEach((e, i) => {
          const err = results[i];
          if (err) e.reject(err);
          else e.resolve();
        });
        return;
      } catch (err) {
        if (attempt >= ACK_MAX_ATTEMPTS || !isRetryableError(err)) {
          for (const e of entries) e.reject(err);
          return;
        }
        this.core.logger.debug('ack failed; retrying', { endpoint: lane.target, topic, attempt, err });
        await sleep(100 * attempt);
      }
    }
  }
}
