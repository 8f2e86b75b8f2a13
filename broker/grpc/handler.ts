/**
 * The error boundary of every unary handler: run the async body, and turn any throw into the
 * response's `status` via `toStatus` (the broker's single error-to-status mapping). A bad
 * request is answered, never crashes the process.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../proto/common/logger.js';
import { toStatus, type WireStatus } from '../../proto/common/status.js';

export function unary<Req, Res extends { status?: unknown }>(
  logger: Logger,
  body: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    body(call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(null, { status: toStatus(err, logger) } as Res),
    );
  };
}

export function notImplemented<Req, Res extends { status?: unknown }>(what: string): grpc.handleUnaryCall<Req, Res> {
  return (_call, callback) => callback(null, { status: { code: 'NOT_IMPLEMENTED', message: `${what} is not implemented by this broker yet` } satisfies WireStatus } as Res);
}
