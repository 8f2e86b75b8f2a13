/** The AgentMQ SDK against a real NameServer + broker (in process, real gRPC and RocksDB). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, MqError, Producer, SimpleConsumer, silentLogger, type ReceivedMessage } from '../../client/index.js';
import { startEmbedded, type Embedded } from '../helpers/embedded.js';

describe('sdk', () => {
  let env: Embedded;
  let admin: AdminClient;
  beforeAll(async () => {
    env = await startEmbedded();
    admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
    for (const name of ['sdk-batch', 'sdk-iter', 'sdk-nack', 'sdk-share', 'sdk-clients']) await admin.createTopic({ name, queueCount: 4 });
  });
  afterAll(async () => {
    await admin?.close();
    await env?.close();
  });

  const opts = () => ({ nameserver: env.nameserver, logger: silentLogger });

  it('sdk - concurrent sends are batched into few SendMessage calls and all stored', async () => {
    const producer = new Producer(opts());
    await producer.start();
    const before = env.broker.context.store.writes.stats.batches;
    const receipts = await Promise.all(Array.from({ length: 2000 }, (_, i) => producer.send({ topic: 'sdk-batch', body: `m${i}` })));
    const batches = env.broker.context.store.writes.stats.batches - before;
    await producer.close();
    expect(new Set(receipts.map((r) => r.messageId)).size).toBe(2000);
    expect(env.broker.context.store.topicStats('sdk-batch').messageCount).toBe(2000);
    // 64 messages per call at most, group-committed: far fewer writes than messages.
    expect(batches).toBeLessThanOrEqual(2000 / 16);
  });

  it('sdk - messages() iterates every message once; break stops the consumer cleanly', async () => {
    const producer = new Producer(opts());
    await producer.start();
    await producer.sendBatch(Array.from({ length: 100 }, (_, i) => ({ topic: 'sdk-iter', body: JSON.stringify({ i }), tag: i % 2 ? 'odd' : 'even', keys: [`k${i}`] })));
    await producer.close();
    const consumer = new SimpleConsumer({ ...opts(), group: 'sdk-iter-g', subscriptions: { 'sdk-iter': '*' }, awaitDurationMs: 1000 });
    await consumer.start();
    const seen = new Set<number>();
    for await (const m of consumer.messages()) {
      const { i } = m.json<{ i: number }>();
      expect(seen.has(i)).toBe(false);
      expect(m.tag).toBe(i % 2 ? 'odd' : 'even');
      expect(m.keys).toEqual([`k${i}`]);
      expect(m.corrupted).toBe(false);
      seen.add(i);
      await m.ack();
      if (seen.size === 100) break;
    }
    await consumer.close();
    expect(seen.size).toBe(100);
  });

  it('sdk - nack redelivers at once with attempt 2; extend replaces the receipt handle', async () => {
    const producer = new Producer(opts());
    await producer.start();
    await producer.send({ topic: 'sdk-nack', body: 'once more' });
    await producer.close();
    const consumer = new SimpleConsumer({ ...opts(), group: 'sdk-nack-g', subscriptions: { 'sdk-nack': '*' }, awaitDurationMs: 2000 });
    await consumer.start();
    const receiveOne = async (): Promise<ReceivedMessage> => {
      for (let i = 0; i < 5; i++) {
        const [m] = await consumer.receive({ maxMessages: 1 });
        if (m) return m;
      }
      throw new Error('nothing received');
    };
    const first = await receiveOne();
    expect(first.deliveryAttempt).toBe(1);
    const t0 = Date.now();
    await first.nack();
    const second = await receiveOne();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(second.messageId).toBe(first.messageId);
    expect(second.deliveryAttempt).toBe(2);
    const oldHandle = second.receiptHandle;
    await second.extend(60_000);
    expect(second.receiptHandle).not.toBe(oldHandle);
    await second.ack();
    expect(await consumer.receive({ maxMessages: 1, awaitDurationMs: 300 })).toEqual([]);
    await consumer.close();
  });

  it('sdk - consumers of one group share the work, each message once', async () => {
    const producer = new Producer(opts());
    await producer.start();
    await Promise.all(Array.from({ length: 600 }, (_, i) => producer.send({ topic: 'sdk-share', body: String(i) })));
    await producer.close();
    const consumers = [0, 1, 2].map(() => new SimpleConsumer({ ...opts(), group: 'sdk-share-g', subscriptions: { 'sdk-share': '*' }, awaitDurationMs: 500 }));
    await Promise.all(consumers.map((c) => c.start()));
    const got: string[][] = [[], [], []];
    await Promise.all(
      consumers.map(async (c, idx) => {
        for (let empty = 0; empty < 3; ) {
          const batch = await c.receive({ maxMessages: 16 });
          if (batch.length === 0) empty++;
          for (const m of batch) {
            got[idx]!.push(m.text());
            await m.ack();
          }
        }
      }),
    );
    await Promise.all(consumers.map((c) => c.close()));
    const all = got.flat();
    expect(all.length).toBe(600);
    expect(new Set(all).size).toBe(600);
    expect(got.filter((g) => g.length > 0).length).toBeGreaterThan(1);
  });

  it('sdk - errors carry the broker code; online clients are listed per group', async () => {
    const producer = new Producer(opts());
    await producer.start();
    const err = await producer.send({ topic: 'no-such-topic', body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqError);
    expect((err as MqError).code).toBe('TOPIC_NOT_FOUND');
    await producer.close();

    const consumer = new SimpleConsumer({ ...opts(), group: 'sdk-clients-g', subscriptions: { 'sdk-clients': '*' } });
    await consumer.start();
    const online = await admin.listClients('sdk-clients-g');
    expect(online.map((c) => c.clientId)).toContain(consumer.clientId);
    expect(online.find((c) => c.clientId === consumer.clientId)?.clientType).toBe('SIMPLE_CONSUMER');
    await consumer.close();
    expect((await admin.listClients('sdk-clients-g')).map((c) => c.clientId)).not.toContain(consumer.clientId);
  });
});
