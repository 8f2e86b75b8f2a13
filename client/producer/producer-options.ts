/**
 * Producer options (on top of ClientOptions), their defaults and validation.
 */
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import { Code } from '../../proto/common/codes.js';
import { checkPositiveMs, resolveClientOptions } from '../options.js';
import type { ClientOptions, ResolvedClientOptions } from '../options.js';

export const DEFAULT_MAX_BATCH_MESSAGES = 64;
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
export const DEFAULT_LINGER_MS = 0;
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = 16;
export const DEFAULT_MAX_ATTEMPTS = 3;

export interface ProducerOptions extends ClientOptions {
  /**
   * Topics to resolve and handshake with at `start()` (a missing topic fails start). Other
   * topics are resolved on first send.
   * @default []
   */
  topics?: string[];
  /**
   * A batch (one SendMessage call per broker and topic) closes at this many messages.
   * @default 64
   */
  maxBatchMessages?: number;
  /**
   * A batch closes once its messages reach this many bytes (estimated encoded size). A single
   * larger message travels alone. Keep it below the broker's gRPC receive limit.
   * @default 4194304 (4 MiB)
   */
  maxBatchBytes?: number;
  /**
   * How long a batch waits for more messages. 0 flushes on the next macrotask (setImmediate), so
   * a burst of `send()` calls made in one tick becomes one call.
   * @default 0
   */
  lingerMs?: number;
  /**
   * Outstanding SendMessage calls per broker; further batches wait (and keep filling).
   * @default 16
   */
  maxInFlightBatches?: number;
  /**
   * Attempts per batch when the whole call fails (transport error, timeout or a retryable code
   * such as TOO_MANY_REQUESTS); retries go to another broker of the route when there is one
   * (FIFO messages always stay on their broker). A message the broker rejected by itself is not
   * retried.
   * @default 3
   */
  maxAttempts?: number;
}

export interface ResolvedProducerOptions {
  client: ResolvedClientOptions;
  topics: string[];
  maxBatchMessages: number;
  maxBatchBytes: number;
  lingerMs: number;
  maxInFlightBatches: number;
  maxAttempts: number;
}

function positiveInt(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw InvalidArgumentError.format(field, `must be a positive integer (got ${String(value)})`);
  return value;
}

export function resolveProducerOptions(options: ProducerOptions = {}): ResolvedProducerOptions {
  const topics = [...new Set(options.topics ?? [])];
  for (const t of topics) {
    const problem = nameProblem(t);
    if (problem) throw InvalidArgumentError.format(`topics[${JSON.stringify(t)}]`, problem, Code.ILLEGAL_TOPIC);
  }
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  if (lingerMs !== 0) checkPositiveMs('lingerMs', lingerMs);
  return {
    client: resolveClientOptions(options),
    topics,
    maxBatchMessages: positiveInt('maxBatchMessages', options.maxBatchMessages ?? DEFAULT_MAX_BATCH_MESSAGES),
    maxBatchBytes: positiveInt('maxBatchBytes', options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES),
    lingerMs,
    maxInFlightBatches: positiveInt('maxInFlightBatches', options.maxInFlightBatches ?? DEFAULT_MAX_IN_FLIGHT_BATCHES),
    maxAttempts: positiveInt('maxAttempts', options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
  };
}
