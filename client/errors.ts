/**
 * Client-side errors.
 *
 * Two families, kept apart on purpose (STYLE-ANCHORS 7.4):
 * - `MqError` (re-exported from proto/common): a server said no. It carries the RocketMQ `Code`
 *   from the response status and is produced only by `fromStatus` on the client edge; the SDK
 *   also throws it for local pre-checks that mirror a broker rule (ILLEGAL_TOPIC, ...), with the
 *   very code the broker would use, so callers handle both the same way.
 * - `ClientError`: something local that never crossed the wire: the client is not started or is
 *   closed, a deadline passed, the caller aborted, there is no route, or the transport failed.
 */
import * as grpc from '@grpc/grpc-js';
import { Code, isRetryable } from '../proto/common/codes.js';
import { InvalidArgumentError, MqError, NotFoundError } from '../proto/common/errors.js';

/**
 * Why a client-local operation failed.
 * - `NOT_STARTED`: `start()` was not called (or has not finished).
 * - `CLOSED`: the client was closed.
 * - `TIMEOUT`: a deadline passed (gRPC DEADLINE_EXCEEDED or a local wait such as the settings
 *   handshake).
 * - `ABORTED`: the caller's AbortSignal fired, or `close()` aborted a parked receive.
 * - `NO_ROUTE`: no broker can serve the request (no writable/readable queue, no live broker).
 * - `TRANSPORT`: the gRPC call failed below the RocketMQ protocol (connection refused,
 *   UNIMPLEMENTED, ...); `grpcCode` tells which.
 */
export type ClientErrorCode = 'NOT_STARTED' | 'CLOSED' | 'TIMEOUT' | 'ABORTED' | 'NO_ROUTE' | 'TRANSPORT';

export interface ClientErrorContext {
  /** The broker or NameServer (`host:port`) the call went to. */
  endpoint?: string;
  /** The RPC, e.g. `SendMessage`. */
  method?: string;
  topic?: string;
  group?: string;
  /** The gRPC status code, for TIMEOUT / ABORTED / TRANSPORT errors raised by grpc-js. */
  grpcCode?: number;
}

export class ClientError extends Error {
  override name = 'ClientError';
  readonly code: ClientErrorCode;
  readonly context: ClientErrorContext;
  constructor(code: ClientErrorCode, message: string, options: { cause?: unknown } & ClientErrorContext = {}) {
    const { cause, ...context } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.context = context;
  }
}

/** gRPC codes worth retrying: the request may not have reached (or been handled by) the server. */
const RETRYABLE_GRPC_CODES: ReadonlySet<number> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.UNKNOWN,
  grpc.status.INTERNAL,
  grpc.status.ABORTED,
  grpc.status.DEADLINE_EXCEEDED,
]);

/**
 * Whether repeating the same request (possibly on another broker) may succeed: transport
 * failures and timeouts, and server codes `isRetryable` accepts (throttling, internal errors).
 */
export function isRetryableError(err: unknown): boolean {
  if (err instanceof MqError) return isRetryable(err.code);
  if (err instanceof ClientError) {
    if (err.code === 'TIMEOUT') return true;
    if (err.code === 'TRANSPORT') return err.context.grpcCode === undefined || RETRYABLE_GRPC_CODES.has(err.context.grpcCode);
  }
  return false;
}

/**
 * Lite topic errors: the server codes of lite topics as their own MqError classes, so callers can
 * `catch (e) { if (e instanceof LiteSubscriptionQuotaExceededError) ... }`. `code` is the same
 * RocketMQ code either way; `liteError` turns a plain MqError into its class.
 */
/** ILLEGAL_LITE_TOPIC: a lite topic name outside /^[a-zA-Z0-9_.:-]+$/ or longer than the broker allows (64). */
export class IllegalLiteTopicError extends InvalidArgumentError {
  override name = 'IllegalLiteTopicError';
}

/** LITE_SUBSCRIPTION_QUOTA_EXCEEDED: more lite subscriptions than the client's quota (group attribute `lite.sub.client.quota`) or the broker's limit. */
export class LiteSubscriptionQuotaExceededError extends MqError {
  override name = 'LiteSubscriptionQuotaExceededError';
}

/** LITE_TOPIC_QUOTA_EXCEEDED: the broker holds its maximum number of lite topics; a new one was not created. */
export class LiteTopicQuotaExceededError extends MqError {
  override name = 'LiteTopicQuotaExceededError';
}

/** `err` as its lite error class when its code is a lite code; anything else unchanged. */
export function liteError<E>(err: E): E | MqError {
  if (!(err instanceof MqError) || err instanceof IllegalLiteTopicError || err instanceof LiteSubscriptionQuotaExceededError || err instanceof LiteTopicQuotaExceededError) return err;
  const options = { ...err.context, cause: err.cause };
  switch (err.code) {
    case Code.ILLEGAL_LITE_TOPIC:
      return new IllegalLiteTopicError(err.code, err.message, options);
    case Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED:
      return new LiteSubscriptionQuotaExceededError(err.code, err.message, options);
    case Code.LITE_TOPIC_QUOTA_EXCEEDED:
      return new LiteTopicQuotaExceededError(err.code, err.message, options);
    default:
      return err;
  }
}

export { Code, InvalidArgumentError, MqError, NotFoundError };
