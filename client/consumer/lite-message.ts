/**
 * A message received by a LiteConsumer: a ReceivedMessage that always names its lite topic and
 * can `suspend()` it (pause the lite topic without counting a delivery attempt).
 *
 * The message remembers what its holder decided (ack, or "come back after N ms"), so
 * `LiteConsumer.consume()` knows whether a handler already settled it, and how long to hold back
 * the later messages of the same lite topic it has in hand.
 */
import { ReceivedMessageImpl } from './received-message.js';
import type { ReceivedMessage } from './received-message.js';

export interface LiteMessage extends ReceivedMessage {
  /** The lite topic it was sent to (inside the LITE parent topic `topic`). */
  readonly liteTopic: string;
  /**
   * Pauses this message's lite topic: the message is delivered again after `ms` with the same
   * `deliveryAttempt` (a suspension is not a failed delivery), and, as the lite topic is consumed
   * in order, nothing later of that lite topic comes before it. 0 gives it back at once.
   */
  suspend(ms: number): Promise<void>;
}

/** What the holder decided: acked, or given back to come again after `ms`. */
export type LiteDisposition = { kind: 'ack' } | { kind: 'later'; ms: number };

export class LiteMessageImpl extends ReceivedMessageImpl implements LiteMessage {
  declare readonly liteTopic: string;
  /** Set by ack / nack / suspend (not by extend). */
  disposition: LiteDisposition | undefined;

  override ack(): Promise<void> {
    this.disposition = { kind: 'ack' };
    return super.ack();
  }

  override nack(delayMs?: number): Promise<void> {
    const ms = delayMs ?? this.ops.retryDelayMs(this.deliveryAttempt);
    this.disposition = { kind: 'later', ms };
    return this.changeInvisibleDuration(ms);
  }

  suspend(ms: number): Promise<void> {
    this.disposition = { kind: 'later', ms };
    return this.changeInvisibleDuration(ms, true);
  }
}
