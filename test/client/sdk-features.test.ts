/** Message features through the AgentMQ SDK (Producer / SimpleConsumer / AdminClient). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, MqError, Producer, SimpleConsumer, silentLogger, type ReceivedMessage } from '../../client/index.js';
import { startEmbedded, type Embedded } from '../helpers/embedded.js';

describe('sdk - message features', () => {
  let env: Embedded;
  let admin: AdminClient;
  let producer: Producer;
  beforeAll(async () => {
    env = await startEmbedded({ pop: { minInvisibleMs: 100 } });
    admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
    await admin.createTopic({ name: 'f-delay', queueCount: 2 });
    await admin.createTopic({ name: 'f-prio', queueCount: 1, messageType: 'PRIORITY' });
    await admin.createTopic({ name: 'f-fifo', queueCount: 2, messageType: 'FIFO' });
    await admin.createTopic({ name: 'f-misc', queueCount: 2 });
    await admin.createGroup({ name: 'f-dlq-g', maxDeliveryAttempts: 1 });
    producer = new Producer({ nameserver: env.nameserver, logger: silentLogger });
    await producer.start();
  });
  afterAll(async () => {
    await producer?.close();
    await admin?.close();
    await env?.close();
  });

  const consumer = async (group: string, topic: string, awaitDurationMs = 1000) => {
    const c = new SimpleConsumer({ nameserver: env.nameserver, logger: silentLogger, group, subscriptions: { [topic]: '*' }, awaitDurationMs });
    await c.start();
    return c;
  };
  const take = async (c: SimpleConsumer, want: number, rounds = 10, opts: { invisibleDurationMs?: number } = {}): Promise<ReceivedMessage[]> => {
    const got: ReceivedMessage[] = [];
    for (let i = 0; i < rounds && got.length < want; i++) got.push(...(await c.receive({ maxMessages: 32, ...opts })));
    return got;
  };

  it('sdk - delayed send arrives after its time; recall withdraws another one', async () => {
    const t0 = Date.now();
    const kept = await producer.send({ topic: 'f-delay', body: 'kept', deliveryTimestampMs: t0 + 800 });
    const recalled = await producer.send({ topic: 'f-delay', body: 'recalled', deliveryTimestampMs: t0 + 800 });
    expect(kept.recallHandle).toBeTruthy();
    expect(await producer.recall(recalled)).toBe(recalled.messageId);
    await expect(producer.recall(recalled)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await admin.getMessage(kept.messageId))?.state).toBe('scheduled');
    const c = await consumer('f-delay-g', 'f-delay');
    const got = await take(c, 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(750);
    expect(got.map((m) => m.text())).toEqual(['kept']);
    await got[0]!.ack();
    expect(await c.receive({ maxMessages: 8, awaitDurationMs: 300 })).toEqual([]);
    await c.close();
  });

  it('sdk - priority messages come highest first; FIFO groups in order with one in flight per group', async () => {
    for (const [body, priority] of [['low', 0], ['top', 9], ['mid', 5]] as const) await producer.send({ topic: 'f-prio', body, priority });
    const pc = await consumer('f-prio-g', 'f-prio');
    const prio = await take(pc, 3);
    expect(prio.map((m) => m.text())).toEqual(['top', 'mid', 'low']);
    await Promise.all(prio.map((m) => m.ack()));
    await pc.close();

    await Promise.all([1, 2, 3].flatMap((i) => ['a', 'b'].map((g) => producer.send({ topic: 'f-fifo', body: `${g}${i}`, messageGroup: g }))));
    const fc = await consumer('f-fifo-g', 'f-fifo');
    const seen: string[] = [];
    for (let round = 0; round < 20 && seen.length < 6; round++) {
      const batch = await fc.receive({ maxMessages: 32 });
      // Never two messages of one group in one hand.
      expect(new Set(batch.map((m) => m.messageGroup)).size).toBe(batch.length);
      for (const m of batch) {
        seen.push(m.text());
        await m.ack();
      }
    }
    expect(seen.filter((s) => s.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(seen.filter((s) => s.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    await fc.close();
  });

  it('sdk - ttlMs expires unconsumed messages; dedupKey stores once and returns the original id', async () => {
    await producer.send({ topic: 'f-misc', body: 'short-lived', ttlMs: 200 });
    const first = await producer.send({ topic: 'f-misc', body: 'pay', dedupKey: 'payment-1', keys: ['invoice-7'] });
    const dup = await producer.send({ topic: 'f-misc', body: 'pay again', dedupKey: 'payment-1' });
    expect(dup.messageId).toBe(first.messageId);
    await new Promise((r) => setTimeout(r, 400));
    const c = await consumer('f-misc-g', 'f-misc');
    const got = await take(c, 1, 3);
    expect(got.map((m) => m.text())).toEqual(['pay']);
    const found = await admin.findMessages('f-misc', 'invoice-7');
    expect(found.map((m) => m.messageId)).toEqual([first.messageId]);
    expect(found[0]!.groups.find((g) => g.group === 'f-misc-g')?.state).toBe('inflight');
    await got[0]!.ack();
    expect((await admin.getMessage(first.messageId))?.groups.find((g) => g.group === 'f-misc-g')?.state).toBe('acked');
    await c.close();
  });

  it('sdk - nack without a delay waits the broker backoff; exhausted messages go to the DLQ and can be re-driven', async () => {
    await producer.send({ topic: 'f-misc', body: 'poison', tag: 'p' });
    const c = new SimpleConsumer({ nameserver: env.nameserver, logger: silentLogger, group: 'f-dlq-g', subscriptions: { 'f-misc': 'p' }, awaitDurationMs: 1000 });
    await c.start();
    const [m] = await take(c, 1, 5, { invisibleDurationMs: 1000 });
    expect(m?.text()).toBe('poison');
    // max 1 attempt: when its invisibility ends it is dead-lettered (no receiver needed).
    let dead: ReceivedMessage[] = [];
    for (let i = 0; i < 40 && !(await admin.listTopics()).some((t) => t.name === '%DLQ%f-dlq-g'); i++) await new Promise((r) => setTimeout(r, 100));
    const inspect = await consumer('f-inspect', '%DLQ%f-dlq-g');
    for (let i = 0; i < 10 && dead.length === 0; i++) dead = await inspect.receive({ maxMessages: 8, awaitDurationMs: 2000 });
    expect(dead.map((d) => d.messageId)).toEqual([m!.messageId]);
    expect(dead[0]!.properties['agentmq.dlq.origin-topic']).toBe('f-misc');
    await dead[0]!.ack();
    expect(await admin.redriveDeadLetters('f-dlq-g')).toEqual({ redriven: 1, skipped: 0 });
    const back = await take(c, 1, 5);
    expect(back.map((b) => [b.messageId, b.deliveryAttempt])).toEqual([[m!.messageId, 1]]);
    // nack() without a delay: the broker's backoff (1 s for the first retry), not at once.
    await back[0]!.nack();
    expect(await c.receive({ maxMessages: 8, awaitDurationMs: 400 })).toEqual([]);
    await inspect.close();
    await c.close();
  });

  it('sdk - bad feature input is refused with the broker code', async () => {
    const err = await producer.send({ topic: 'f-misc', body: 'x', priority: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqError);
    expect((err as MqError).code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    await expect(producer.send({ topic: 'f-misc', body: 'x', deliveryTimestampMs: Date.now() + 40 * 24 * 3600_000 })).rejects.toMatchObject({ code: 'ILLEGAL_DELIVERY_TIME' });
  });
});
