/**
 * NameServer over real gRPC: broker registration, routes for clients (QueryRoute /
 * QueryAssignment), validation codes, expiry, unregistration and the broker-only RPCs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { createNameServer, resolveNameServerOptions } from '../../nameserver/index.js';
import type { NameServer } from '../../nameserver/index.js';
import type { RegisterBrokerRequest } from '../../proto/gen/agentmq/v1/RegisterBrokerRequest.js';
import type { RegisterBrokerResponse__Output } from '../../proto/gen/agentmq/v1/RegisterBrokerResponse.js';
import type { QueryAssignmentRequest } from '../../proto/gen/apache/rocketmq/v2/QueryAssignmentRequest.js';
import type { QueryAssignmentResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryAssignmentResponse.js';
import type { Status__Output } from '../../proto/gen/apache/rocketmq/v2/Status.js';
import type { TelemetryCommand__Output } from '../../proto/gen/apache/rocketmq/v2/TelemetryCommand.js';
import { call, messagingClient, receiveAll, wireMetadata } from '../helpers/wire.js';
import { queryRoute, recordingLogger, registerRequest, registryCalls, registryClient, startNameServer, waitFor } from './helpers.js';

type StatusOnly = { status: Status__Output | null };

const servers: NameServer[] = [];
const clients: grpc.Client[] = [];

async function setup(opts: Parameters<typeof startNameServer>[0] = {}) {
  const { ns, address } = await startNameServer(opts);
  servers.push(ns);
  const registry = registryClient(address);
  const messaging = messagingClient(address);
  clients.push(registry, messaging);
  const calls = registryCalls(registry);
  return {
    ns,
    registry,
    messaging,
    ...calls,
    queryRoute: (topic: string, md?: grpc.Metadata) => queryRoute(messaging, topic, md),
    queryAssignment: (topic: string, group: string) =>
      call<QueryAssignmentRequest, QueryAssignmentResponse__Output>(
        messaging,
        messaging.QueryAssignment,
        { topic: { name: topic }, group: { name: group } },
        wireMetadata(),
        3_000,
      ),
  };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('nameserver - registration and routes', () => {
  it('serves queues with id 0..n-1, broker id 0, READ_WRITE, the broker endpoint and message types', async () => {
    const { register, queryRoute } = await setup();
    const reg = await register(
      registerRequest({ port: 10911, topics: [{ name: 'orders', queueCount: 2, types: ['NORMAL', 'FIFO'] }] }),
    );
    expect(reg.status?.code).toBe('OK');
    expect(reg.expiryMs).toBe(30_000);

    const res = await queryRoute('orders');
    expect(res.status?.code).toBe('OK');
    expect(res.messageQueues.map((q) => q.id)).toEqual([0, 1]);
    for (const q of res.messageQueues) {
      expect(q.topic?.name).toBe('orders');
      expect(q.permission).toBe('READ_WRITE');
      expect(q.acceptMessageTypes).toEqual(['NORMAL', 'FIFO']);
      expect(q.broker?.name).toBe('broker-a');
      expect(q.broker?.id).toBe(0);
      expect(q.broker?.endpoints?.scheme).toBe('IPv4');
      expect(q.broker?.endpoints?.addresses).toEqual([{ host: '127.0.0.1', port: 10911 }]);
    }
  });

  it('merges the topic across brokers, each contributing a queue 0', async () => {
    const { register, queryRoute } = await setup();
    await register(registerRequest({ brokerName: 'broker-b', port: 20911, topics: [{ name: 'orders', queueCount: 1 }] }));
    await register(registerRequest({ brokerName: 'broker-a', port: 10911, topics: [{ name: 'orders', queueCount: 1 }] }));
    const res = await queryRoute('orders');
    expect(res.messageQueues.map((q) => [q.broker?.name, q.id, q.broker?.endpoints?.addresses[0]?.port])).toEqual([
      ['broker-a', 0, 10911],
      ['broker-b', 0, 20911],
    ]);
  });

  it('a registration replaces the broker topic table', async () => {
    const { register, queryRoute } = await setup();
    await register(registerRequest({ topics: [{ name: 'orders' }, { name: 'invoices' }] }));
    await register(registerRequest({ topics: [{ name: 'invoices', permission: 'READ' }] }));
    expect((await queryRoute('orders')).status?.code).toBe('TOPIC_NOT_FOUND');
    const inv = await queryRoute('invoices');
    expect(inv.messageQueues.every((q) => q.permission === 'READ')).toBe(true);
  });

  it('ListBrokers reports live brokers with their topics and last heartbeat', async () => {
    const { register, list } = await setup();
    const before = Date.now();
    await register(registerRequest({ topics: [{ name: 'orders', queueCount: 3 }] }));
    const res = await list();
    expect(res.status?.code).toBe('OK');
    expect(res.brokers).toHaveLength(1);
    const b = res.brokers[0]!;
    expect(b.brokerName).toBe('broker-a');
    expect(b.endpoints?.addresses[0]).toEqual({ host: '127.0.0.1', port: 10911 });
    expect(b.topics).toEqual([{ name: 'orders', queueCount: 3, permission: 'READ_WRITE', acceptMessageTypes: ['NORMAL'], semantic: null, live: false }]);
    expect(b.startedAtMs).toBe(1_700_000_000_000);
    expect(b.lastHeartbeatMs).toBeGreaterThanOrEqual(before);
  });

  it('QueryAssignment gives one assignment per readable queue', async () => {
    const { register, queryAssignment } = await setup();
    await register(registerRequest({ brokerName: 'broker-a', topics: [{ name: 'orders', queueCount: 2 }] }));
    await register(registerRequest({ brokerName: 'broker-w', port: 30911, topics: [{ name: 'orders', permission: 'WRITE' }] }));
    const res = await queryAssignment('orders', 'workers');
    expect(res.status?.code).toBe('OK');
    expect(res.assignments.map((a) => [a.messageQueue?.broker?.name, a.messageQueue?.id])).toEqual([
      ['broker-a', 0],
      ['broker-a', 1],
    ]);
    const badGroup = await queryAssignment('orders', 'bad group');
    expect(badGroup.status?.code).toBe('ILLEGAL_CONSUMER_GROUP');
  });
});

describe('nameserver - client errors', () => {
  it('TOPIC_NOT_FOUND for a topic on no live broker', async () => {
    const { queryRoute } = await setup();
    const res = await queryRoute('nowhere');
    expect(res.status).toEqual({ code: 'TOPIC_NOT_FOUND', message: 'topic nowhere not found' });
    expect(res.messageQueues).toEqual([]);
  });

  it('ILLEGAL_TOPIC for an illegal topic name', async () => {
    const { queryRoute } = await setup();
    const res = await queryRoute('bad topic!');
    expect(res.status?.code).toBe('ILLEGAL_TOPIC');
    expect(res.status?.message).toContain('topic.name');
    expect((await queryRoute('')).status?.code).toBe('ILLEGAL_TOPIC');
  });

  it('CLIENT_ID_REQUIRED without the x-mq-client-id header', async () => {
    const { register, queryRoute } = await setup();
    await register();
    const res = await queryRoute('orders', wireMetadata(null));
    expect(res.status?.code).toBe('CLIENT_ID_REQUIRED');
    expect(res.status?.message).toContain('x-mq-client-id');
  });

  it('Heartbeat and NotifyClientTermination answer OK', async () => {
    const { messaging } = await setup();
    const hb = await call<object, StatusOnly>(messaging, messaging.Heartbeat, { clientType: 'PRODUCER' });
    expect(hb.status?.code).toBe('OK');
    const bye = await call<object, StatusOnly>(messaging, messaging.NotifyClientTermination, {});
    expect(bye.status?.code).toBe('OK');
  });

  it('broker-only RPCs answer NOT_IMPLEMENTED with a status, streams included', async () => {
    const { messaging } = await setup();
    const send = await call<object, StatusOnly>(messaging, messaging.SendMessage, { messages: [] });
    expect(send.status).toEqual({ code: 'NOT_IMPLEMENTED', message: 'SendMessage is served by brokers, not the NameServer' });
    const ack = await call<object, StatusOnly>(messaging, messaging.AckMessage, {});
    expect(ack.status?.code).toBe('NOT_IMPLEMENTED');

    const received = await receiveAll(messaging, {}, wireMetadata(), 3_000);
    expect(received).toHaveLength(1);
    expect(received[0]?.status?.code).toBe('NOT_IMPLEMENTED');
    expect(received[0]?.status?.message).toBe('ReceiveMessage is served by brokers, not the NameServer');

    const commands: TelemetryCommand__Output[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = messaging.Telemetry(wireMetadata());
      stream.on('data', (c: TelemetryCommand__Output) => commands.push(c));
      stream.on('end', resolve);
      stream.on('error', reject);
      stream.write({ settings: { clientType: 'PRODUCER' } });
      stream.end();
    });
    expect(commands.map((c) => c.status?.code)).toEqual(['NOT_IMPLEMENTED']);
  });
});

describe('nameserver - broker registration validation', () => {
  it('rejects bad registrations with a specific code and keeps serving', async () => {
    const { register, registry, queryRoute } = await setup();
    const noName = await register(registerRequest({ brokerName: '' }));
    expect(noName.status?.code).toBe('BAD_REQUEST');
    expect(noName.status?.message).toContain('broker_name');

    const noEndpoints = registerRequest();
    noEndpoints.broker!.endpoints = null;
    const res2 = await register(noEndpoints);
    expect(res2.status?.code).toBe('BAD_REQUEST');
    expect(res2.status?.message).toContain('broker.endpoints');

    const badTopic = await register(registerRequest({ topics: [{ name: 'ok' }, { name: 'no spaces' }] }));
    expect(badTopic.status?.code).toBe('ILLEGAL_TOPIC');
    expect(badTopic.status?.message).toContain('broker.topics[1].name');

    const zeroQueues = await register(registerRequest({ topics: [{ name: 'ok', queueCount: 0 }] }));
    expect(zeroQueues.status?.code).toBe('BAD_REQUEST');
    expect(zeroQueues.status?.message).toContain('queue_count');

    const noBroker = await call<RegisterBrokerRequest, RegisterBrokerResponse__Output>(registry, registry.RegisterBroker, {});
    expect(noBroker.status?.code).toBe('BAD_REQUEST');

    // Nothing half-registered, and the server still answers.
    expect((await queryRoute('ok')).status?.code).toBe('TOPIC_NOT_FOUND');
    expect((await register()).status?.code).toBe('OK');
  });
});

describe('nameserver - broker lifetime', () => {
  it('expires a silent broker and drops its routes', async () => {
    const logger = recordingLogger();
    const { register, queryRoute } = await setup({ brokerExpiryMs: 300, logger });
    const reg = await register();
    expect(reg.expiryMs).toBe(300);
    expect((await queryRoute('orders')).status?.code).toBe('OK');
    const started = Date.now();
    await waitFor(async () => (await queryRoute('orders')).status?.code === 'TOPIC_NOT_FOUND', 2_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(logger.lines.some((l) => l.level === 'warn' && l.msg === 'broker expired' && l.fields?.broker === 'broker-a')).toBe(true);
  });

  it('keeps a broker that heart-beats within its expiry', async () => {
    const { register, queryRoute } = await setup({ brokerExpiryMs: 300 });
    for (let i = 0; i < 5; i++) {
      await register();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await queryRoute('orders')).status?.code).toBe('OK');
  });

  it('unregister removes the broker at once; unknown brokers are fine', async () => {
    const { register, unregister, queryRoute } = await setup();
    await register();
    const res = await unregister('broker-a');
    expect(res.status?.code).toBe('OK');
    expect((await queryRoute('orders')).status?.code).toBe('TOPIC_NOT_FOUND');
    const again = await unregister('broker-a');
    expect(again.status?.code).toBe('OK');
    const empty = await unregister('');
    expect(empty.status?.code).toBe('BAD_REQUEST');
  });
});

describe('nameserver - lifecycle and options', () => {
  it('reports the bound port, logs it, and closes idempotently', async () => {
    const logger = recordingLogger();
    const ns = createNameServer({ port: 0, logger });
    expect(() => ns.address).toThrow(/start/);
    await ns.start();
    expect(ns.address.host).toBe('127.0.0.1');
    expect(ns.address.port).toBeGreaterThan(0);
    expect(logger.lines.some((l) => l.msg === `nameserver listening 127.0.0.1:${ns.address.port}`)).toBe(true);
    const a = ns.close();
    const b = ns.close();
    expect(a).toBe(b);
    await a;
    await expect(ns.start()).rejects.toThrow(/closed/);
  });

  it('validates options, naming the field', () => {
    expect(resolveNameServerOptions({}).port).toBe(9876);
    expect(resolveNameServerOptions({}).brokerExpiryMs).toBe(30_000);
    expect(() => resolveNameServerOptions({ port: 70000 })).toThrow(/port/);
    expect(() => resolveNameServerOptions({ port: 1.5 })).toThrow(/port/);
    expect(() => resolveNameServerOptions({ brokerExpiryMs: 0 })).toThrow(/brokerExpiryMs/);
    expect(() => resolveNameServerOptions({ host: '' })).toThrow(/host/);
    expect(() => resolveNameServerOptions({ discovery: { hnsw: { m: 1 } } })).toThrow(/discovery\.hnsw m must be an integer from 2 to 100 \(got 1\)/);
    expect(() => resolveNameServerOptions({ discovery: { hnsw: { efSearch: 0 } } })).toThrow(/discovery\.hnsw efSearch/);
    expect(resolveNameServerOptions({ discovery: { hnsw: { m: 32 } } }).discovery.hnsw).toEqual({ m: 32, efConstruction: 200, efSearch: 300 });
  });

  it('builds the discovery vector index with the configured HNSW parameters and logs them', async () => {
    // A model-like embedder (not the lexical family): its vectors rank, so the catalog builds a graph.
    const embedder = {
      id: 'test-char-counts',
      dimensions: 8,
      embed: (texts: readonly string[]) =>
        Promise.resolve(
          texts.map((t) => {
            const v = new Float32Array(8).fill(0.01);
            for (const ch of t) v[ch.charCodeAt(0) % 8]! += 1;
            return v;
          }),
        ),
    };
    const logger = recordingLogger();
    const ns = createNameServer({ port: 0, logger, discovery: { embedderInstance: embedder, dictionaries: 'none', hnsw: { m: 32, efConstruction: 400, efSearch: 800 } } });
    await ns.start();
    try {
      expect(ns.discovery.hnsw).toEqual({ m: 32, efConstruction: 400, efSearch: 800 });
      expect(logger.lines.some((l) => l.msg === 'vector index: HNSW M 32, efConstruction 400, efSearch 800')).toBe(true);
    } finally {
      await ns.close();
    }
    // The offline embedder's vectors only score results: no graph, and the log says the options are unused.
    const lexLogger = recordingLogger();
    const lexical = createNameServer({ port: 0, logger: lexLogger, discovery: { embedder: { kind: 'lexical' }, dictionaries: 'none', hnsw: { m: 32 } } });
    await lexical.start();
    try {
      expect(lexical.discovery.hnsw).toBeUndefined();
      expect(lexLogger.lines.some((l) => /^vector index: exact, no HNSW graph .*; the HNSW options are not used$/.test(l.msg))).toBe(true);
    } finally {
      await lexical.close();
    }
  });
});
