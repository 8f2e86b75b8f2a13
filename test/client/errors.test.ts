/**
 * Error classification: gRPC failures -> ClientError codes, and which errors are worth a retry.
 */
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ClientError, isRetryableError, MqError } from '../../client/errors.js';
import { toClientError } from '../../client/rpc/unary-call.js';

function grpcError(code: grpc.status, details = 'x'): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

const site = { endpoint: '127.0.0.1:8081', method: 'SendMessage' };

describe('toClientError', () => {
  it('maps deadline, cancel and other gRPC failures', () => {
    const t = toClientError(grpcError(grpc.status.DEADLINE_EXCEEDED), site) as ClientError;
    expect(t).toBeInstanceOf(ClientError);
    expect(t.code).toBe('TIMEOUT');
    expect(t.context).toMatchObject({ endpoint: '127.0.0.1:8081', method: 'SendMessage', grpcCode: grpc.status.DEADLINE_EXCEEDED });
    expect((toClientError(grpcError(grpc.status.CANCELLED), site) as ClientError).code).toBe('ABORTED');
    const u = toClientError(grpcError(grpc.status.UNAVAILABLE, 'connect ECONNREFUSED'), site) as ClientError;
    expect(u.code).toBe('TRANSPORT');
    expect(u.message).toContain('UNAVAILABLE');
    expect(u.message).toContain('127.0.0.1:8081');
  });

  it('passes ClientErrors through', () => {
    const e = new ClientError('CLOSED', 'closed');
    expect(toClientError(e, site)).toBe(e);
  });
});

describe('isRetryableError', () => {
  it('retries transport trouble, timeouts and server-side codes, not bad input', () => {
    expect(isRetryableError(toClientError(grpcError(grpc.status.UNAVAILABLE), site))).toBe(true);
    expect(isRetryableError(toClientError(grpcError(grpc.status.DEADLINE_EXCEEDED), site))).toBe(true);
    expect(isRetryableError(toClientError(grpcError(grpc.status.UNIMPLEMENTED), site))).toBe(false);
    expect(isRetryableError(toClientError(grpcError(grpc.status.RESOURCE_EXHAUSTED), site))).toBe(false);
    expect(isRetryableError(new ClientError('ABORTED', 'x'))).toBe(false);
    expect(isRetryableError(new ClientError('CLOSED', 'x'))).toBe(false);
    expect(isRetryableError(new MqError('TOO_MANY_REQUESTS', 'x'))).toBe(true);
    expect(isRetryableError(new MqError('INTERNAL_ERROR', 'x'))).toBe(true);
    expect(isRetryableError(new MqError('TOPIC_NOT_FOUND', 'x'))).toBe(false);
    expect(isRetryableError(new Error('plain'))).toBe(false);
  });
});
