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

export { Code, InvalidArgumentError, MqError, NotFoundError };
