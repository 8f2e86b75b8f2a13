/**
 * Wire <-> SDK conversions, checked through the real protobuf serializers of the loaded services
 * (so a field name or enum the proto does not know would show up here), plus enum name mapping.
 */
import { describe, expect, it } from 'vitest';
import { messagingService, registryService } from '../../proto/index.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { TelemetryCommand__Output } from '../../proto/gen/apache/rocketmq/v2/TelemetryCommand.js';
import type { QueryRouteResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryRouteResponse.js';
import type { ListBrokersResponse__Output } from '../../proto/gen/agentmq/v1/ListBrokersResponse.js';
import {
  brokerFromWire,
  clientTypeFromWire,
  endpointFromWire,
  endpointToWire,
  messageToWire,
  messageTypeFromWire,
  permissionFromWire,
  receivedMessageFromWire,
  routeQueueFromWire,
  routeQueueToWire,
  settingsFromWire,
  settingsToWire,
  topicFromWire,
  topicSpecToWire,
} from '../../client/rpc/convert.js';
import { prepareMessage } from '../../client/producer/outgoing-message.js';

const svc = () => messagingService().service;

describe('enum names', () => {
  it('map the wire names to the SDK unions, with fallbacks for unknown values', () => {
    expect(messageTypeFromWire('FIFO')).toBe('FIFO');
    expect(messageTypeFromWire('MESSAGE_TYPE_UNSPECIFIED')).toBeUndefined();
    expect(messageTypeFromWire(7)).toBeUndefined();
    expect(permissionFromWire('READ_WRITE')).toBe('READ_WRITE');
    expect(permissionFromWire('PERMISSION_UNSPECIFIED')).toBe('NONE');
    expect(clientTypeFromWire('SIMPLE_CONSUMER')).toBe('SIMPLE_CONSUMER');
    expect(clientTypeFromWire(undefined)).toBe('CLIENT_TYPE_UNSPECIFIED');
  });
});

describe('endpoints', () => {
  it('round-trip host:port', () => {
    expect(endpointToWire('127.0.0.1:8081')).toEqual({ scheme: 'IPv4', addresses: [{ host: '127.0.0.1', port: 8081 }] });
    expect(endpointFromWire(endpointToWire('broker.local:10911'))).toBe('broker.local:10911');
    expect(endpointFromWire(endpointToWire('[::1]:8081'))).toBe('[::1]:8081');
    expect(endpointFromWire({ addresses: [] })).toBeUndefined();
  });
});

describe('messages', () => {
  it('a prepared message serialises with every system property the broker needs', () => {
    const p = prepareMessage({ topic: 'orders', body: 'hi', tag: 't', keys: ['a', 'b'], properties: { x: 'y' }, messageGroup: 'g' });
    const method = svc().SendMessage;
    const bytes = method.requestSerialize({ messages: [messageToWire(p)] });
    const back = method.requestDeserialize(bytes).messages[0] as Message__Output;
    expect(back.topic?.name).toBe('orders');
    expect(back.body.toString()).toBe('hi');
    expect(back.userProperties).toEqual({ x: 'y' });
    const sp = back.systemProperties!;
    expect(sp).toMatchObject({
      messageId: p.messageId,
      tag: 't',
      keys: ['a', 'b'],
      messageType: 'FIFO',
      messageGroup: 'g',
      bodyEncoding: 'IDENTITY',
      queueId: 0,
      bornHost: p.bornHost,
    });
    expect(Number(sp.bornTimestamp!.seconds) * 1000 + Math.floor(sp.bornTimestamp!.nanos / 1e6)).toBe(p.bornTimestampMs);
    expect(sp.deliveryTimestamp ?? null).toBeNull();
  });

  it('delivery timestamp and priority travel when set', () => {
    const delay = prepareMessage({ topic: 't', body: 'x', deliveryTimestampMs: 1_800_000_000_500 });
    const prio = prepareMessage({ topic: 't', body: 'x', priority: 5 });
    const method = svc().SendMessage;
    const [d, q] = method.requestDeserialize(method.requestSerialize({ messages: [messageToWire(delay), messageToWire(prio)] })).messages as Message__Output[];
    expect(d!.systemProperties!.messageType).toBe('DELAY');
    expect(d!.systemProperties!.deliveryTimestamp).toEqual({ seconds: 1_800_000_000, nanos: 500_000_000 });
    expect(q!.systemProperties!.messageType).toBe('PRIORITY');
    expect(q!.systemProperties!.priority).toBe(5);
  });

  it('a delivered message converts to the SDK shape', () => {
    const method = svc().ReceiveMessage;
    const wire = method.responseDeserialize(
      method.responseSerialize({
        message: {
          topic: { name: 'orders' },
          userProperties: { a: '1' },
          body: Buffer.from('payload'),
          systemProperties: {
            messageId: 'ID1',
            tag: 'created',
            keys: ['k'],
            bodyDigest: { type: 'MD5', checksum: 'ABC' },
            bodyEncoding: 'IDENTITY',
            messageType: 'NORMAL',
            bornTimestamp: { seconds: 10, nanos: 5_000_000 },
            bornHost: 'host-a',
            storeTimestamp: { seconds: 11, nanos: 0 },
            receiptHandle: 'RH',
            queueId: 3,
            queueOffset: 99,
            deliveryAttempt: 2,
          },
        },
      }),
    );
    const d = receivedMessageFromWire(wire.message as Message__Output, '127.0.0.1:8081');
    expect(d).toMatchObject({
      topic: 'orders',
      messageId: 'ID1',
      tag: 'created',
      keys: ['k'],
      properties: { a: '1' },
      bodyDigest: { type: 'MD5', checksum: 'ABC' },
      bodyEncoding: 'IDENTITY',
      messageType: 'NORMAL',
      bornTimestampMs: 10_005,
      bornHost: 'host-a',
      storeTimestampMs: 11_000,
      receiptHandle: 'RH',
      queueId: 3,
      offset: 99,
      deliveryAttempt: 2,
      endpoint: '127.0.0.1:8081',
    });
    expect(d.body.toString()).toBe('payload');
    expect(d.messageGroup).toBeUndefined();
    expect(d.deliveryTimestampMs).toBeUndefined();
  });
});

describe('routes', () => {
  it('queues convert both ways and survive serialisation', () => {
    const method = svc().QueryRoute;
    const res = method.responseDeserialize(
      method.responseSerialize({
        status: { code: 'OK', message: 'OK' },
        messageQueues: [
          {
            topic: { name: 'orders' },
            id: 0,
            permission: 'READ_WRITE',
            broker: { name: 'broker-a', id: 0, endpoints: endpointToWire('127.0.0.1:8081') },
            acceptMessageTypes: ['NORMAL'],
          },
          { topic: { name: 'orders' }, id: 1, permission: 'READ', broker: { name: 'broker-b', id: 0, endpoints: null } },
        ],
      }),
    ) as QueryRouteResponse__Output;
    const queues = res.messageQueues.flatMap((mq) => routeQueueFromWire(mq, 'orders') ?? []);
    expect(queues).toEqual([
      { topic: 'orders', queueId: 0, permission: 'READ_WRITE', brokerName: 'broker-a', brokerId: 0, endpoint: '127.0.0.1:8081', acceptMessageTypes: ['NORMAL'] },
    ]);
    const wire = routeQueueToWire(queues[0]!);
    const rq = svc().ReceiveMessage.requestDeserialize(svc().ReceiveMessage.requestSerialize({ messageQueue: wire }));
    expect(routeQueueFromWire(rq.messageQueue!, 'x')).toEqual(queues[0]);
  });
});

describe('telemetry settings', () => {
  const method = () => svc().Telemetry;

  it('producer settings carry publishing topics, retry policy and a NODE_JS user agent', () => {
    const wire = settingsToWire({ clientType: 'PRODUCER', accessPoint: '127.0.0.1:9876', requestTimeoutMs: 3000, maxAttempts: 3, publishing: { topics: ['a', 'b'] } });
    const back = method().requestDeserialize(method().requestSerialize({ settings: wire })) as TelemetryCommand__Output;
    expect(back.command).toBe('settings');
    const s = back.settings!;
    expect(s.pubSub).toBe('publishing');
    expect(s.clientType).toBe('PRODUCER');
    expect(s.publishing!.topics.map((t) => t.name)).toEqual(['a', 'b']);
    expect(s.accessPoint!.addresses[0]).toEqual({ host: '127.0.0.1', port: 9876 });
    expect(s.requestTimeout).toEqual({ seconds: 3, nanos: 0 });
    expect(s.backoffPolicy!.maxAttempts).toBe(3);
    expect(s.backoffPolicy!.strategy).toBe('exponentialBackoff');
    expect(s.userAgent!.language).toBe('NODE_JS');
  });

  it('consumer settings carry the group and TAG subscriptions', () => {
    const wire = settingsToWire({
      clientType: 'SIMPLE_CONSUMER',
      accessPoint: '127.0.0.1:9876',
      requestTimeoutMs: 3000,
      subscription: { group: 'billing', subscriptions: { orders: 'a||b', refunds: '*' }, longPollingTimeoutMs: 20_000, receiveBatchSize: 32 },
    });
    const s = (method().requestDeserialize(method().requestSerialize({ settings: wire })) as TelemetryCommand__Output).settings!;
    expect(s.pubSub).toBe('subscription');
    expect(s.subscription!.group!.name).toBe('billing');
    expect(s.subscription!.subscriptions.map((e) => [e.topic!.name, e.expression!.type, e.expression!.expression])).toEqual([
      ['orders', 'TAG', 'a||b'],
      ['refunds', 'TAG', '*'],
    ]);
    expect(s.subscription!.longPollingTimeout).toEqual({ seconds: 20, nanos: 0 });
  });

  it('the reply yields max body size, attempts and timeout when set', () => {
    const reply = method().responseDeserialize(
      method().responseSerialize({
        status: { code: 'OK' },
        settings: { publishing: { maxBodySize: 1024 }, backoffPolicy: { maxAttempts: 5 }, requestTimeout: { seconds: 2 } },
      }),
    ) as TelemetryCommand__Output;
    expect(settingsFromWire(reply.settings!)).toEqual({ maxBodySize: 1024, maxAttempts: 5, requestTimeoutMs: 2000 });
    expect(settingsFromWire((method().responseDeserialize(method().responseSerialize({ settings: {} })) as TelemetryCommand__Output).settings!)).toEqual({});
  });
});

describe('admin', () => {
  it('brokers from ListBrokers', () => {
    const m = registryService().service.ListBrokers;
    const res = m.responseDeserialize(
      m.responseSerialize({
        status: { code: 'OK' },
        brokers: [
          {
            brokerName: 'broker-a',
            clusterName: 'DefaultCluster',
            endpoints: endpointToWire('127.0.0.1:8081'),
            topics: [{ name: 'orders', queueCount: 4, permission: 'READ_WRITE', acceptMessageTypes: ['NORMAL'] }],
            startedAtMs: 5,
            lastHeartbeatMs: 6,
          },
        ],
      }),
    ) as ListBrokersResponse__Output;
    expect(brokerFromWire(res.brokers[0]!)).toEqual({
      name: 'broker-a',
      cluster: 'DefaultCluster',
      endpoint: '127.0.0.1:8081',
      topics: [{ name: 'orders', queueCount: 4, permission: 'READ_WRITE', acceptMessageTypes: ['NORMAL'] }],
      startedAtMs: 5,
      lastHeartbeatMs: 6,
    });
  });

  it('topic specs leave unset fields to the broker; configs convert back', () => {
    expect(topicSpecToWire({ name: 't' })).toEqual({ name: 't' });
    expect(topicSpecToWire({ name: 't', queueCount: 8, messageType: 'FIFO', permission: 'READ', attributes: { a: 'b' } })).toEqual({
      name: 't',
      queueCount: 8,
      messageType: 'FIFO',
      permission: 'READ',
      attributes: { a: 'b' },
    });
    expect(
      topicFromWire({
        name: 't',
        queueCount: 4,
        messageType: 'MESSAGE_TYPE_UNSPECIFIED',
        permission: 'READ_WRITE',
        attributes: {},
        createdAtMs: 9,
        stats: { messageCount: 3, maxOffset: 3 },
        semantic: null,
        live: false,
      }),
    ).toEqual({ name: 't', queueCount: 4, messageType: 'NORMAL', permission: 'READ_WRITE', attributes: {}, createdAtMs: 9, stats: { messageCount: 3, maxOffset: 3 } });
  });
});
