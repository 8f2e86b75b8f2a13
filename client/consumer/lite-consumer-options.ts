/**
 * LiteConsumer options (on top of ClientOptions), per-call options, their defaults and
 * validation. Problems throw InvalidArgumentError with the code the broker would use.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import { checkPositiveMs, resolveClientOptions } from '../options.js';
import type { ClientOptions, ResolvedClientOptions } from '../options.js';
import { checkLiteTopicName } from '../lite/lite-topic-name.js';
import type { LiteOffsetOption } from '../rpc/broker-rpc.js';
import type { LiteMessage } from './lite-message.js';
import {
  checkAwaitDuration,
  checkInvisibleDuration,
  checkMaxMessages,
  DEFAULT_AWAIT_DURATION_MS,
  DEFAULT_INVISIBLE_DURATION_MS,
  DEFAULT_MAX_MESSAGES,
} from './simple-consumer-options.js';

/** Same as the official clients: the full lite subscription set is re-sent every 30 s. */
export const DEFAULT_LITE_SYNC_INTERVAL_MS = 30_000;
/** Lite topics `consume()` processes at the same time. */
export const DEFAULT_LITE_CONCURRENCY = 16;
/** Most lite topics `consume()` may process at the same time. */
export const MAX_LITE_CONCURRENCY = 1024;

export interface LiteConsumerOptions extends ClientOptions {
  /** Consumer group: [%a-zA-Z0-9_-]{1,127}. Its attributes decide Shared / Exclusive lite topics. */
  group: string;
  /** The LITE parent topic (created with `messageType: 'LITE'`). */
  topic: string;
  /** Lite topics subscribed by `start()` (from the group's position: offset `LAST`). @default [] */
  liteTopics?: string[];
  /**
   * Long-poll: how long a receive waits on the broker for messages of any subscribed lite topic
   * before returning empty (0 .. 60000).
   * @default 20000
   */
  awaitDurationMs?: number;
  /**
   * How long received messages stay invisible before they are redelivered unless acked
   * (1 s .. 12 h). A lite topic gets no further message while one of its messages is in hand.
   * @default 30000
   */
  invisibleDurationMs?: number;
  /**
   * Most messages one receive returns, over all lite topics (1 .. 64).
   * @default 32
   */
  batchSize?: number;
  /**
   * How often the full subscription set is sent to every broker of the parent topic
   * (SyncLiteSubscription COMPLETE_ADD): it reconciles the broker with this client and renews the
   * subscriptions' lease (the broker drops a silent client's subscriptions after 120 s by default;
   * heartbeats and receives renew it too).
   * @default 30000
   */
  syncIntervalMs?: number;
}

/**
 * Where a new subscription starts:
 * - `'LAST'` (default): where the group stands (a group new to the lite topic starts at its
 *   oldest stored message, so nothing sent before the subscribe is missed);
 * - `'MIN'`: the oldest stored message; `'MAX'`: only messages sent from now on;
 * - `{ offset }`: this queue offset; `{ tailN }`: the last `tailN` stored messages, then
 *   everything new; `{ timestampMs }`: the first message stored at or after this time.
 */
export type LiteOffset = 'LAST' | 'MIN' | 'MAX' | { offset: number } | { tailN: number } | { timestampMs: number };

export interface LiteSubscribeOptions {
  /** Where to start; given for a lite topic already subscribed, it moves the group's position. @default 'LAST' */
  offset?: LiteOffset;
}

/** Per-call overrides of `receive()` and `messages()`. */
export interface LiteReceiveOptions {
  /** Most messages to return (1 .. 64). @default the consumer's `batchSize` */
  max?: number;
  /** Long-poll time (0 .. 60000). @default the consumer's `awaitDurationMs` */
  awaitMs?: number;
  /** @default the consumer's `invisibleDurationMs` */
  invisibleDurationMs?: number;
  /** Aborts the receive (or ends the `messages()` iteration). */
  signal?: AbortSignal;
}

/**
 * What `consume()` calls per message. Returning (or resolving) acks the message; throwing (or
 * rejecting) gives it back after the broker's retry backoff. A handler may settle the message
 * itself (`ack()`, `nack(ms)`, `suspend(ms)`): then `consume()` leaves it alone.
 */
export type LiteMessageHandler = (message: LiteMessage) => unknown;

export interface LiteConsumeOptions {
  /**
   * Lite topics processed at the same time (1 .. 1024). Messages of one lite topic are always
   * handled one after another, in order.
   * @default 16
   */
  concurrency?: number;
  /** Invisible duration of the receives. @default the consumer's `invisibleDurationMs` */
  invisibleDurationMs?: number;
  /** Stops consuming (the returned promise resolves once in-flight handlers are done). */
  signal?: AbortSignal;
}

export interface ResolvedLiteConsumerOptions {
  client: ResolvedClientOptions;
  group: string;
  topic: string;
  liteTopics: string[];
  awaitDurationMs: number;
  invisibleDurationMs: number;
  batchSize: number;
  syncIntervalMs: number;
}

export function resolveLiteConsumerOptions(options: LiteConsumerOptions): ResolvedLiteConsumerOptions {
  if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
  const groupProblem = nameProblem(options.group);
  if (groupProblem) throw InvalidArgumentError.format('group', groupProblem, Code.ILLEGAL_CONSUMER_GROUP);
  const topicProblem = nameProblem(options.topic);
  if (topicProblem) throw InvalidArgumentError.format('topic', topicProblem, Code.ILLEGAL_TOPIC);
  if (options.liteTopics !== undefined && !Array.isArray(options.liteTopics)) throw InvalidArgumentError.format('liteTopics', 'must be an array of lite topic names');
  const liteTopics = [...new Set((options.liteTopics ?? []).map((l, i) => checkLiteTopicName(`liteTopics[${i}]`, l)))];
  return {
    client: resolveClientOptions(options),
    group: options.group,
    topic: options.topic,
    liteTopics,
    awaitDurationMs: checkAwaitDuration('awaitDurationMs', options.awaitDurationMs ?? DEFAULT_AWAIT_DURATION_MS),
    invisibleDurationMs: checkInvisibleDuration('invisibleDurationMs', options.invisibleDurationMs ?? DEFAULT_INVISIBLE_DURATION_MS),
    batchSize: checkMaxMessages('batchSize', options.batchSize ?? DEFAULT_MAX_MESSAGES),
    syncIntervalMs: checkPositiveMs('syncIntervalMs', options.syncIntervalMs ?? DEFAULT_LITE_SYNC_INTERVAL_MS),
  };
}

/** The wire offset option of `offset`, validated. */
export function liteOffsetOption(offset: LiteOffset): LiteOffsetOption {
  const int = (field: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw InvalidArgumentError.format(`offset.${field}`, `must be a non-negative integer (got ${String(v)})`);
    return v;
  };
  if (offset === 'LAST' || offset === 'MIN' || offset === 'MAX') return { policy: offset };
  if (typeof offset === 'object' && offset !== null) {
    if ('offset' in offset) return { offset: int('offset', offset.offset) };
    if ('tailN' in offset) return { tailN: int('tailN', offset.tailN) };
    if ('timestampMs' in offset) return { timestampMs: int('timestampMs', offset.timestampMs) };
  }
  throw InvalidArgumentError.format('offset', `must be 'LAST', 'MIN', 'MAX', { offset }, { tailN } or { timestampMs } (got ${JSON.stringify(offset)})`);
}

export function checkConcurrency(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_LITE_CONCURRENCY) {
    throw InvalidArgumentError.format('concurrency', `must be an integer between 1 and ${MAX_LITE_CONCURRENCY} (got ${String(n)})`);
  }
  return n;
}
