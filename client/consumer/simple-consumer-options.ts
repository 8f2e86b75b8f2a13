/**
 * SimpleConsumer options (on top of ClientOptions), per-receive overrides, their defaults and
 * validation. Problems throw InvalidArgumentError with the code the broker would use.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem, tagProblem } from '../../proto/common/names.js';
import { resolveClientOptions } from '../options.js';
import type { ClientOptions, ResolvedClientOptions } from '../options.js';

export const DEFAULT_AWAIT_DURATION_MS = 20_000;
export const DEFAULT_INVISIBLE_DURATION_MS = 30_000;
export const DEFAULT_MAX_MESSAGES = 32;
export const MIN_INVISIBLE_DURATION_MS = 1_000;
export const MAX_INVISIBLE_DURATION_MS = 12 * 60 * 60 * 1000;
/** Longest long-poll the AgentMQ broker accepts (ILLEGAL_POLLING_TIME beyond). */
export const MAX_AWAIT_DURATION_MS = 60_000;
/** Largest receive batch the AgentMQ broker accepts (BAD_REQUEST beyond). */
export const MAX_RECEIVE_MESSAGES = 64;

export interface SimpleConsumerOptions extends ClientOptions {
  /** Consumer group: [%a-zA-Z0-9_-]{1,127}. Consumers of one group share the work. */
  group: string;
  /** topic -> TAG expression: `'*'` (everything) or `'a||b'`. At least one topic. */
  subscriptions: Record<string, string>;
  /**
   * Long-poll: how long a receive waits on the broker for messages before returning empty
   * (0 .. 60000).
   * @default 20000
   */
  awaitDurationMs?: number;
  /**
   * How long received messages stay invisible to others before they are redelivered unless
   * acked (1 s .. 12 h).
   * @default 30000
   */
  invisibleDurationMs?: number;
  /**
   * Most messages one receive returns (1 .. 64).
   * @default 32
   */
  maxMessages?: number;
}

/** Per-call overrides of `receive()` and `messages()`. */
export interface ReceiveOptions {
  /** @default the consumer's `maxMessages` */
  maxMessages?: number;
  /** @default the consumer's `invisibleDurationMs` */
  invisibleDurationMs?: number;
  /** @default the consumer's `awaitDurationMs` */
  awaitDurationMs?: number;
  /** Aborts the receive (or ends the `messages()` iteration). */
  signal?: AbortSignal;
}

export interface ResolvedSimpleConsumerOptions {
  client: ResolvedClientOptions;
  group: string;
  subscriptions: Record<string, string>;
  awaitDurationMs: number;
  invisibleDurationMs: number;
  maxMessages: number;
}

/** Normalises a TAG expression (`*`, or tags joined by `||`), throwing ILLEGAL_FILTER_EXPRESSION. */
export function normalizeTagExpression(field: string, expression: unknown): string {
  if (typeof expression !== 'string') throw InvalidArgumentError.format(field, 'must be a string', Code.ILLEGAL_FILTER_EXPRESSION);
  const trimmed = expression.trim();
  if (trimmed === '*' || trimmed === '') return '*';
  const tags = trimmed
    .split('||')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tags.length === 0) throw InvalidArgumentError.format(field, `has no tag (got ${JSON.stringify(expression)})`, Code.ILLEGAL_FILTER_EXPRESSION);
  for (const t of tags) {
    const problem = tagProblem(t);
    if (problem) throw InvalidArgumentError.format(field, `tag ${JSON.stringify(t)} ${problem}`, Code.ILLEGAL_FILTER_EXPRESSION);
  }
  return tags.join('||');
}

export function checkMaxMessages(field: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RECEIVE_MESSAGES) {
    throw InvalidArgumentError.format(field, `must be an integer between 1 and ${MAX_RECEIVE_MESSAGES} (got ${String(n)})`);
  }
  return n;
}

export function checkInvisibleDuration(field: string, ms: number, min = MIN_INVISIBLE_DURATION_MS): number {
  if (!Number.isSafeInteger(ms) || ms < min || ms > MAX_INVISIBLE_DURATION_MS) {
    throw InvalidArgumentError.format(field, `must be between ${min} and ${MAX_INVISIBLE_DURATION_MS} ms (got ${String(ms)})`, Code.ILLEGAL_INVISIBLE_TIME);
  }
  return ms;
}

export function checkAwaitDuration(field: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_AWAIT_DURATION_MS) {
    throw InvalidArgumentError.format(field, `must be between 0 and ${MAX_AWAIT_DURATION_MS} ms (got ${String(ms)})`, Code.ILLEGAL_POLLING_TIME);
  }
  return ms;
}

export function resolveSimpleConsumerOptions(options: SimpleConsumerOptions): ResolvedSimpleConsumerOptions {
  if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
  const groupProblem = nameProblem(options.group);
  if (groupProblem) throw InvalidArgumentError.format('group', groupProblem, Code.ILLEGAL_CONSUMER_GROUP);
  const entries = Object.entries(options.subscriptions ?? {});
  if (entries.length === 0) throw InvalidArgumentError.format('subscriptions', 'must name at least one topic');
  const subscriptions: Record<string, string> = {};
  for (const [topic, expression] of entries) {
    const problem = nameProblem(topic);
    if (problem) throw InvalidArgumentError.format(`subscriptions topic ${JSON.stringify(topic)}`, problem, Code.ILLEGAL_TOPIC);
    subscriptions[topic] = normalizeTagExpression(`subscriptions[${JSON.stringify(topic)}]`, expression);
  }
  return {
    client: resolveClientOptions(options),
    group: options.group,
    subscriptions,
    awaitDurationMs: checkAwaitDuration('awaitDurationMs', options.awaitDurationMs ?? DEFAULT_AWAIT_DURATION_MS),
    invisibleDurationMs: checkInvisibleDuration('invisibleDurationMs', options.invisibleDurationMs ?? DEFAULT_INVISIBLE_DURATION_MS),
    maxMessages: checkMaxMessages('maxMessages', options.maxMessages ?? DEFAULT_MAX_MESSAGES),
  };
}
