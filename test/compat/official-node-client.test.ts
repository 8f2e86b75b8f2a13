/**
 * Compatibility: the official RocketMQ 5 Node client (npm rocketmq-client-nodejs, unmodified)
 * against `agentmq dev` in a child process, given the NameServer's address as its endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { startDev, type DevProcess } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { adminClient, call } from '../helpers/wire.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

describe('compat - official rocketmq-client-nodejs', () => {
  let dev: DevProcess;
  let dir: ReturnType<typeof tmpDir>;

  beforeAll(async () => {
    dir = tmpDir();
    dev = await startDev({ dataDir: dir.path });
    const admin = adminClient(dev.broker);
    for (const name of ['compat-orders', 'compat-tags', 'compat-nack', 'compat-delay']) {
      const res = await call(admin, admin.CreateTopic, { topic: { name, queueCount: 2 } });
      expect(res.status?.code).toBe('OK');
    }
    expect((await call(admin, admin.CreateTopic, { topic: { name: 'compat-fifo', queueCount: 2, messageType: 'FIFO' } })).status?.code).toBe('OK');
    expect((await call(admin, admin.CreateTopic, { topic: { name: 'compat-prio', queueCount: 1, messageType: 'PRIORITY' } })).status?.code).toBe('OK');
    admin.close();
  });

  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
    dir?.cleanup();
  });

  it('compat - Producer.send then SimpleConsumer.receive and ack, each message once', async () => {
    const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-orders'], logger: quiet });
    await producer.startup();
    const sent = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const receipt = await producer.send({ topic: 'compat-orders', tag: 'created', keys: [`order-${i}`], body: Buffer.from(`order ${i}`) });
      sent.set(receipt.messageId, `order ${i}`);
    }
    await producer.shutdown();

    const consumer = new SimpleConsumer({
      endpoints: dev.nameserver,
      namespace: '',
      consumerGroup: 'compat-group',
      subscriptions: new Map([['compat-orders', '*']]),
      awaitDuration: 2000,
      logger: quiet,
    });
    await consumer.startup();
    const got = new Map<string, string>();
    for (let round = 0; round < 20 && got.size < sent.size; round++) {
      const batch = await consumer.receive(16, 15_000);
      for (const m of batch) {
        expect(got.has(m.messageId)).toBe(false);
        got.set(m.messageId, Buffer.from(m.body).toString());
        expect(m.tag).toBe('created');
        expect(m.deliveryAttempt).toBe(1);
        await consumer.ack(m);
      }
    }
    expect(got).toEqual(sent);
    // Everything acked: nothing comes back.
    expect(await consumer.receive(16, 15_000)).toHaveLength(0);
    await consumer.shutdown();
  });

  it('compat - tag filter expression selects messages', async () => {
    const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-tags'], logger: quiet });
    await producer.startup();
    for (const tag of ['a', 'b', 'c', 'a']) await producer.send({ topic: 'compat-tags', tag, body: Buffer.from(tag) });
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: dev.nameserver, namespace: '', consumerGroup: 'compat-tag-group', subscriptions: new Map([['compat-tags', 'a||c']]), awaitDuration: 1000, logger: quiet });
    await consumer.startup();
    const tags: string[] = [];
    for (let round = 0; round < 10 && tags.length < 3; round++) {
      for (const m of await consumer.receive(16, 15_000)) {
        tags.push(m.tag!);
        await consumer.ack(m);
      }
    }
    expect(tags.sort()).toEqual(['a', 'a', 'c']);
    await consumer.shutdown();
  });

  it('compat - changeInvisibleDuration makes a message come back with attempt 2', async () => {
    const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-nack'], logger: quiet });
    await producer.startup();
    await producer.send({ topic: 'compat-nack', body: Buffer.from('retry me') });
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: dev.nameserver, namespace: '', consumerGroup: 'compat-nack-group', subscriptions: new Map([['compat-nack', '*']]), awaitDuration: 3000, logger: quiet });
    await consumer.startup();
    let first: Awaited<ReturnType<SimpleConsumer['receive']>> = [];
    for (let i = 0; i < 5 && first.length === 0; i++) first = await consumer.receive(1, 30_000);
    expect(first).toHaveLength(1);
    const m1 = first[0]!;
    await consumer.changeInvisibleDuration(m1, 1000);
    const started = Date.now();
    let again: typeof first = [];
    for (let i = 0; i < 5 && again.length === 0; i++) again = await consumer.receive(1, 30_000);
    expect(again).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(again[0]!.messageId).toBe(m1.messageId);
    expect(again[0]!.deliveryAttempt).toBe(2);
    await consumer.ack(again[0]!);
    await consumer.shutdown();
  });

  async function drain(consumer: SimpleConsumer, want: number, rounds = 10) {
    const got: Awaited<ReturnType<SimpleConsumer['receive']>> = [];
    for (let i = 0; i < rounds && got.length < want; i++) {
      for (const m of await consumer.receive(16, 15_000)) {
        got.push(m);
        await consumer.ack(m);
      }
    }
    return got;
  }

  it('compat - delayed message (deliveryTimestamp) arrives after its time; keys are indexed', async () => {
    const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-delay'], logger: quiet });
    await producer.startup();
    const sentAt = Date.now();
    const receipt = await producer.send({ topic: 'compat-delay', keys: ['invoice-42'], body: Buffer.from('later'), deliveryTimestamp: new Date(sentAt + 1500) });
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: dev.nameserver, namespace: '', consumerGroup: 'compat-delay-g', subscriptions: new Map([['compat-delay', '*']]), awaitDuration: 3000, logger: quiet });
    await consumer.startup();
    const got = await drain(consumer, 1);
    expect(got.map((m) => m.messageId)).toEqual([receipt.messageId]);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1400);
    expect(got[0]!.keys).toEqual(['invoice-42']);
    await consumer.shutdown();
  });

  it('compat - FIFO messageGroup: each group in send order, groups interleaved', async () => {
    const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-fifo'], logger: quiet });
    await producer.startup();
    for (let i = 0; i < 5; i++) {
      for (const g of ['a', 'b']) await producer.send({ topic: 'compat-fifo', messageGroup: g, body: Buffer.from(`${g}${i}`) });
    }
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: dev.nameserver, namespace: '', consumerGroup: 'compat-fifo-g', subscriptions: new Map([['compat-fifo', '*']]), awaitDuration: 1000, logger: quiet });
    await consumer.startup();
    const got = await drain(consumer, 10, 30);
    const bodies = got.map((m) => Buffer.from(m.body).toString());
    expect(bodies.filter((b) => b.startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(bodies.filter((b) => b.startsWith('b'))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(got.every((m) => m.messageGroup === 'a' || m.messageGroup === 'b')).toBe(true);
    await consumer.shutdown();
  });

  it('compat - priority: higher priority is delivered first', async () => {
    const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-prio'], logger: quiet });
    await producer.startup();
    await producer.send({ topic: 'compat-prio', body: Buffer.from('p1'), priority: 1 });
    await producer.send({ topic: 'compat-prio', body: Buffer.from('p8'), priority: 8 });
    await producer.send({ topic: 'compat-prio', body: Buffer.from('p4'), priority: 4 });
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: dev.nameserver, namespace: '', consumerGroup: 'compat-prio-g', subscriptions: new Map([['compat-prio', '*']]), awaitDuration: 1000, logger: quiet });
    await consumer.startup();
    const got = await drain(consumer, 3);
    expect(got.map((m) => Buffer.from(m.body).toString())).toEqual(['p8', 'p4', 'p1']);
    await consumer.shutdown();
  });
});
