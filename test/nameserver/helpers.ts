/**
 * Test helpers for the NameServer: real servers on 127.0.0.1:0, promisified gRPC clients of
 * both services, a recording logger and a bounded waitFor.
 */
import * as grpc from '@grpc/grpc-js';
import { createNameServer } from '../../nameserver/index.js';
import type { NameServer, NameServerOptions } from '../../nameserver/index.js';
import { formatHostPort } from '../../proto/common/endpoints.js';
import type { LogFields, Logger } from '../../proto/common/logger.js';
import { messagingService, registryService } from '../../proto/index.js';
import type { MessagingServiceClient, NameServerRegistryClient } from '../../proto/index.js';
import type { RegisterBrokerRequest } from '../../proto/gen/agentmq/v1/RegisterBrokerRequest.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields?: LogFields;
}

/** A logger that keeps every line (children share the same array). */
export function recordingLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (msg: string, fields?: LogFields) => {
    lines.push({ level, msg, ...(fields ? { fields } : {}) });
  };
  const logger: Logger & { lines: LogLine[] } = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

export async function startNameServer(opts: NameServerOptions = {}): Promise<{ ns: NameServer; address: string }> {
  const ns = createNameServer({ host: '127.0.0.1', port: 0, logger: recordingLogger(), ...opts });
  await ns.start();
  return { ns, address: formatHostPort(ns.address) };
}

/** Calls a unary method of a grpc-js client and resolves its response. */
export function unaryCall<Res>(
  client: grpc.Client,
  method: string,
  request: object,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, request, metadata, { deadline: Date.now() + 3_000 }, (err: Error | null, res: Res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

export function registryClient(address: string): NameServerRegistryClient {
  return new (registryService())(address, grpc.credentials.createInsecure());
}

export function messagingClient(address: string): MessagingServiceClient {
  return new (messagingService())(address, grpc.credentials.createInsecure());
}

/** Metadata as a RocketMQ client sends it (client id optional to test the check). */
export function clientMetadata(clientId: string | undefined = 'test-host@1@0@abc'): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-mq-protocol', 'v2');
  md.set('x-mq-language', 'HTTP');
  if (clientId) md.set('x-mq-client-id', clientId);
  return md;
}

export function registerRequest(over: {
  brokerName?: string;
  port?: number;
  topics?: { name: string; queueCount?: number; permission?: string; types?: string[] }[];
} = {}): RegisterBrokerRequest {
  return {
    broker: {
      brokerName: over.brokerName ?? 'broker-a',
      clusterName: 'DefaultCluster',
      endpoints: { scheme: 'IPv4', addresses: [{ host: '127.0.0.1', port: over.port ?? 10911 }] },
      startedAtMs: 1_700_000_000_000,
      topics: (over.topics ?? [{ name: 'orders' }]).map((t) => ({
        name: t.name,
        queueCount: t.queueCount ?? 4,
        permission: (t.permission ?? 'READ_WRITE') as 'READ_WRITE',
        acceptMessageTypes: (t.types ?? ['NORMAL']) as 'NORMAL'[],
      })),
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 3_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
