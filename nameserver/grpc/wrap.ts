/**
 * Handler wrappers for the NameServer's gRPC services. Every handler body runs inside one of
 * these, so whatever it throws (synchronously or not) becomes a response whose `status` comes
 * from `toStatus(err, logger)`: a bad request can never crash the process or surface as a bare
 * gRPC error. Every RocketMQ v2 and agentmq.v1 response message has a `status` field.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../proto/common/logger.js';
import { toStatus } from '../../proto/common/status.js';
import type { WireStatus } from '../../proto/common/status.js';

/** Any response message: all carry a status; every other field is optional on input types. */
export interface StatusResponse {
  status?: { code?: string | number; message?: string } | null;
}

/** Wraps a unary handler body: its return value is the response, its throw the status. */
export function unary<Req, Res extends StatusResponse>(
  rpc: string,
  logger: Logger,
  body: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    new Promise<Res>((resolve) => resolve(body(call.request, call))).then(
      (response) => callback(null, response),
      (err: unknown) => {
        const status = toStatus(err, logger);
        logger.debug('request rejected', { rpc, code: status.code, message: status.message });
        callback(null, statusOnly<Res>(status));
      },
    );
  };
}

/** A response carrying nothing but `status` (valid for every response type of our services). */
export function statusOnly<Res extends StatusResponse>(status: WireStatus): Res {
  return { status } as Res;
}

/** First value of a text header, or undefined. */
export function header(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}
