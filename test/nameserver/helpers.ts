/**
 * Test helpers for the NameServer: real servers on 127.0.0.1:0, typed calls of the registry
 * service and QueryRoute (on top of the shared test/helpers/wire.ts), a recording logger and a
 * bounded waitFor.
 */
import * as grpc from '@grpc/grpc-js';
import { createNameServer } from '../../nameserver/index.js';
import type { NameServer, NameServerOptions } from '../../nameserver/index.js';
import { formatHostPort } from '../../proto/common/endpoints.js';
import type { LogFields, Logger } from '../../proto/common/logger.js';
import type { ListBrokersResponse__Output } from '../../proto/gen/agentmq/v1/ListBrokersResponse.js';
import type { RegisterBrokerRequest } from '../../proto/gen/agentmq/v1/RegisterBrokerRequest.js';
import type { RegisterBrokerResponse__Output } from '../../proto/gen/agentmq/v1/RegisterBrokerResponse.js';
import type { UnregisterBrokerResponse__Output } from '../../proto/gen/agentmq/v1/UnregisterBrokerResponse.js';
import type { QueryRouteRequest } from '../../proto/gen/apache/rocketmq/v2/QueryRouteRequest.js';
import type { QueryRouteResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryRouteResponse.js';
import { registryService } from '../../proto/index.js';
import type { MessagingServiceClient, NameServerRegistryClient } from '../../proto/index.js';
import { call, wireMetadata } from '../helpers/wire.js';

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

export function registryClient(address: string): NameServerRegistryClient {
  return new (registryService())(address, grpc.credentials.createInsecure());
}

/** Typed NameServerRegistry calls. */
export function registryCalls(c: NameServerRegistryClient) {
  return {
    register: (req: RegisterBrokerRequest = registerRequest()) =>
      call<RegisterBrokerRequest, RegisterBrokerResponse__Output>(c, c.RegisterBroker, req, wireMetadata(), 3_000),
    unregister: (brokerName: string) =>
      call<object, UnregisterBrokerResponse__Output>(c, c.UnregisterBroker, { brokerName }, wireMetadata(), 3_000),
    list: () => call<object, ListBrokersResponse__Output>(c, c.ListBrokers, {}, wireMetadata(), 3_000),
  };
}

/** QueryRoute as a RocketMQ client sends it; `md` lets a test drop the client id. */
export function queryRoute(c: MessagingServiceClient, topic: string, md: grpc.Metadata = wireMetadata()): Promise<QueryRouteResponse__Output> {
  return call<QueryRouteRequest, QueryRouteResponse__Output>(c, c.QueryRoute, { topic: { name: topic } }, md, 3_000);
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
