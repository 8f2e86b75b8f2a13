/**
 * Promise wrapper for one grpc-js unary call, and the mapping of gRPC-level failures (which never
 * carried a RocketMQ status) to ClientError. RocketMQ statuses inside responses are mapped by the
 * callers with `fromStatus`.
 */
import * as grpc from '@grpc/grpc-js';
import { ClientError } from '../errors.js';
import { abortError } from '../util/abort.js';

export interface CallSite {
  endpoint: string;
  method: string;
}

/** A ClientError for a failed gRPC call: TIMEOUT, ABORTED or TRANSPORT (with grpcCode). */
export function toClientError(err: unknown, site: CallSite): Error {
  if (err instanceof ClientError) return err;
  const e = err as Partial<grpc.ServiceError> | undefined;
  if (typeof e?.code !== 'number') {
    return new ClientError('TRANSPORT', `${site.method} to ${site.endpoint} failed: ${String((err as Error | undefined)?.message ?? err)}`, { ...site, cause: err });
  }
  const details = e.details || e.message || grpc.status[e.code];
  const ctx = { ...site, grpcCode: e.code, cause: err };
  switch (e.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new ClientError('TIMEOUT', `${site.method} to ${site.endpoint} timed out`, ctx);
    case grpc.status.CANCELLED:
      return new ClientError('ABORTED', `${site.method} to ${site.endpoint} was cancelled`, ctx);
    default:
      return new ClientError('TRANSPORT', `${site.method} to ${site.endpoint} failed: ${grpc.status[e.code] ?? e.code} ${details}`, ctx);
  }
}

/** A call deadline `ms` from now. */
export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}

/**
 * Runs `start(callback)` and settles with its response. An abort of `signal` cancels the call and
 * rejects with ClientError('ABORTED') (or the ClientError the signal was aborted with).
 */
export function unaryCall<Res>(
  site: CallSite,
  start: (callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    let onAbort: (() => void) | undefined;
    const call = start((err, value) => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(abortError(signal));
      else if (err) reject(toClientError(err, site));
      else if (value === undefined) reject(new ClientError('TRANSPORT', `${site.method} to ${site.endpoint} returned no response`, site));
      else resolve(value);
    });
    if (signal) {
      onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}
