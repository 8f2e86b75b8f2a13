/** Lite topics through the AgentMQ SDK: Producer.liteTopic, LiteConsumer, AdminClient (in-process NameServer + broker). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  IllegalLiteTopicError,
  LiteConsumer,
  LiteSubscriptionQuotaExceededError,
  MqError,
  Producer,
  silentLogger,
  type LiteConsumerOptions,
  type LiteMessage,
} from '../../client/index.js';
import { startEmbedded, type Embedded } from '../helpers/embedded.js';

const PARENT = 'lite-replies';

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sdk - lite topics', () => {
  let env: Embedded;
  let admin: AdminClient;
  let producer: Producer;
  const consumers: LiteConsumer[] = [];

  beforeAll(async () => {
    env = await startEmbedded();
    admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
    const [created] = await admin.createTopic({ name: PARENT, messageType: 'LITE', liteTtlMs: -1 });
    expect(created).toMatchObject({ messageType: 'LITE', queueCount: 1, attributes: { 'lite.ttl.ms': '-1' } });
    producer = new Producer({ nameserver: env.nameserver, logger: silentLogger });
    await producer.start();
  });
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.close()));
    await producer?.close();
    await admin?.close();
    await env?.close();
  });

  const consumer = async (group: string, options: Partial<LiteConsumerOptions> = {}): Promise<LiteConsumer> => {
    const c = new LiteConsumer({ nameserver: env.nameserver, logger: silentLogger, group, topic: PARENT, awaitDurationMs: 1000, ...options });
    consumers.push(c);
    await c.start();
    return c;
  };
  const send = (liteTopic: string, body: string) => producer.send({ topic: PARENT, liteTopic, body });
  /** Receives (acking each batch unless told not to) until `want` messages or `rounds` receives. */
  const take = async (c: LiteConsumer, want: number, opts: { rounds?: number; ack?: boolean } = {}): Promise<LiteMessage[]> => {
    const got: LiteMessage[] = [];
    for (let i = 0; i < (opts.rounds ?? 20) && got.length < want; i++) {
      const batch = await c.receive();
      got.push(...batch);
      if (opts.ack !== false) await Promise.all(batch.map((m) => m.ack()));
    }
    return got;
  };

  it('lite - send/receive/ack keeps the order of a lite topic, one batch in flight per lite topic', async () => {
    const c = await consumer('lc-order', { liteTopics: ['order-1'] });
    expect(c.subscriptions()).toEqual(['order-1']);
    await Promise.all(Array.from({ length: 20 }, (_, i) => send('order-1', `m${i}`)));
    const first = await c.receive({ max: 5 });
    expect(first.map((m) => m.text())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(first.every((m) => m.liteTopic === 'order-1' && m.topic === PARENT && m.messageType === 'LITE' && m.deliveryAttempt === 1)).toBe(true);
    // Nothing more of order-1 while its batch is in hand.
    expect(await c.receive({ awaitMs: 300 })).toEqual([]);
    await Promise.all(first.map((m) => m.ack()));
    const rest = await take(c, 15);
    expect(rest.map((m) => m.text())).toEqual(Array.from({ length: 15 }, (_, i) => `m${i + 5}`));
    expect(await c.receive({ awaitMs: 200 })).toEqual([]);
  });

  it('lite - one receive returns messages of several lite topics, and only subscribed ones', async () => {
    const c = await consumer('lc-multi');
    for (const l of ['multi-a', 'multi-b', 'multi-c']) await c.subscribe(l);
    expect(c.subscriptions()).toEqual(['multi-a', 'multi-b', 'multi-c']);
    for (const l of ['multi-a', 'multi-b', 'multi-c', 'multi-x']) await send(l, `to ${l}`);
    const got = await c.receive({ awaitMs: 2000 });
    expect(got.map((m) => m.liteTopic).sort()).toEqual(['multi-a', 'multi-b', 'multi-c']);
    await Promise.all(got.map((m) => c.ack(m)));
    expect(await c.receive({ awaitMs: 300 })).toEqual([]);
  });

  it('lite - a parked receive is woken by a send to any subscribed lite topic', async () => {
    const c = await consumer('lc-wake', { liteTopics: ['wake-1', 'wake-2'] });
    const parked = c.receive({ awaitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await send('wake-2', 'ping');
    const got = await parked;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(got.map((m) => [m.liteTopic, m.text()])).toEqual([['wake-2', 'ping']]);
    await got[0]!.ack();
  });

  it('lite - subscribe with offset MIN, MAX, tailN and timestampMs', async () => {
    for (let i = 0; i < 3; i++) await send('offsets', `old${i}`);
    await new Promise((r) => setTimeout(r, 60));
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 3; i < 5; i++) await send('offsets', `old${i}`);
    const min = await consumer('lc-off-min');
    await min.subscribe('offsets', { offset: 'MIN' });
    const max = await consumer('lc-off-max');
    await max.subscribe('offsets', { offset: 'MAX' });
    const tail = await consumer('lc-off-tail');
    await tail.subscribe('offsets', { offset: { tailN: 2 } });
    const time = await consumer('lc-off-time');
    await time.subscribe('offsets', { offset: { timestampMs: t } });
    await send('offsets', 'new');
    const texts = async (c: LiteConsumer, n: number) => (await take(c, n)).map((m) => m.text());
    expect(await texts(min, 6)).toEqual(['old0', 'old1', 'old2', 'old3', 'old4', 'new']);
    expect(await texts(max, 1)).toEqual(['new']);
    expect(await texts(tail, 3)).toEqual(['old3', 'old4', 'new']);
    expect(await texts(time, 3)).toEqual(['old3', 'old4', 'new']);
    await expect(min.subscribe('offsets', { offset: { tailN: -1 } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('lite - unsubscribe stops delivery of that lite topic only', async () => {
    const c = await consumer('lc-unsub', { liteTopics: ['unsub-1', 'unsub-2'] });
    await send('unsub-1', 'a');
    expect((await take(c, 1)).map((m) => m.text())).toEqual(['a']);
    await c.unsubscribe('unsub-1');
    expect(c.subscriptions()).toEqual(['unsub-2']);
    await send('unsub-1', 'b');
    await send('unsub-2', 'c');
    const got = await take(c, 2, { rounds: 3 });
    expect(got.map((m) => [m.liteTopic, m.text()])).toEqual([['unsub-2', 'c']]);
  });

  it('lite - suspend re-delivers later with the same delivery attempt; nack counts an attempt', async () => {
    const c = await consumer('lc-suspend', { liteTopics: ['susp-1'] });
    await send('susp-1', 'wait for me');
    const [m] = await take(c, 1, { ack: false });
    expect(m?.deliveryAttempt).toBe(1);
    const t0 = Date.now();
    await c.suspend(m!, 1000);
    expect(await c.receive({ awaitMs: 400 })).toEqual([]);
    const [again] = await take(c, 1, { ack: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(again?.messageId).toBe(m!.messageId);
    expect(again?.deliveryAttempt).toBe(1);
    await again!.nack(0);
    const [third] = await take(c, 1, { ack: false });
    expect(third?.messageId).toBe(m!.messageId);
    expect(third?.deliveryAttempt).toBe(2);
    await third!.ack();
  });

  // Redeliveries are gated like new messages: a batch of a lite topic comes back only once
  // nothing else of it is in hand, in queue order.
  it('lite - redeliveries of a lite topic wait while another of its messages is in hand', async () => {
    const c = await consumer('lc-regate', { liteTopics: ['regate-1'] });
    for (let i = 0; i < 2; i++) await send('regate-1', `m${i}`);
    const batch = await take(c, 2, { ack: false });
    expect(batch.map((m) => m.text())).toEqual(['m0', 'm1']);
    await batch[0]!.suspend(300);
    await batch[1]!.suspend(600);
    const started = Date.now();
    // m0 is due at 300 ms but m1 is still in hand: both come back together at ~600 ms, in order.
    const first = await c.receive({ awaitMs: 2000 });
    expect(first.map((m) => m.text())).toEqual(['m0', 'm1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await first[1]!.suspend(200);
    // m1 is in hand again: m0, if given back, waits for it.
    await first[0]!.suspend(100);
    expect(await c.receive({ awaitMs: 150 })).toEqual([]);
    const again = await c.receive({ awaitMs: 2000 });
    expect(again.map((m) => m.text())).toEqual(['m0', 'm1']);
    for (const m of again) await m.ack();
  });

  it('lite - concurrent subscribes and unsubscribes are coalesced into few SyncLiteSubscription calls', async () => {
    const c = await consumer('lc-coalesce');
    const brokers = (c as unknown as { core: { brokers: { syncLiteSubscription: (...a: unknown[]) => Promise<unknown> } } }).core.brokers;
    const original = brokers.syncLiteSubscription.bind(brokers);
    let calls = 0;
    brokers.syncLiteSubscription = (...a: unknown[]) => {
      calls++;
      return original(...a);
    };
    const lites = Array.from({ length: 100 }, (_, i) => `co-${i}`);
    await Promise.all(lites.map((l) => c.subscribe(l)));
    expect(c.subscriptions()).toHaveLength(100);
    expect(calls).toBeLessThanOrEqual(3);
    await send('co-42', 'hello');
    expect((await take(c, 1)).map((m) => m.liteTopic)).toEqual(['co-42']);
    calls = 0;
    await Promise.all(lites.map((l) => c.unsubscribe(l)));
    expect(c.subscriptions()).toEqual([]);
    expect(calls).toBeLessThanOrEqual(3);
    await send('co-42', 'after');
    expect(await c.receive({ awaitMs: 300 })).toEqual([]);
  });

  it('lite - messages() iterates every subscribed lite topic; break gives the rest back', async () => {
    const c = await consumer('lc-iter', { liteTopics: ['iter-1', 'iter-2'] });
    for (let i = 0; i < 5; i++) {
      await send('iter-1', `a${i}`);
      await send('iter-2', `b${i}`);
    }
    const seen: string[] = [];
    for await (const m of c.messages()) {
      seen.push(m.text());
      await m.ack();
      if (seen.length === 10) break;
    }
    expect(seen.filter((s) => s.startsWith('a'))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(seen.filter((s) => s.startsWith('b'))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  });

  it('lite - consume() runs lite topics in parallel up to concurrency, each in order; a throw retries in place', async () => {
    const lites = Array.from({ length: 6 }, (_, i) => `push-${i}`);
    const c = await consumer('lc-push', { liteTopics: lites, batchSize: 64 });
    // Sent all at once: the producer keeps each lite topic's order (shared ordered lanes).
    await Promise.all(Array.from({ length: 8 }, (_, i) => lites.map((l) => send(l, String(i)))).flat());
    const done = new Map<string, string[]>();
    let running = 0;
    let peak = 0;
    let failedOnce = false;
    const consuming = c.consume(
      async (m) => {
        running++;
        peak = Math.max(peak, running);
        try {
          await new Promise((r) => setTimeout(r, 5));
          if (m.liteTopic === 'push-0' && m.text() === '3' && !failedOnce) {
            failedOnce = true;
            throw new Error('transient failure');
          }
          const list = done.get(m.liteTopic) ?? [];
          list.push(m.text());
          done.set(m.liteTopic, list);
        } finally {
          running--;
        }
      },
      { concurrency: 3 },
    );
    const total = () => [...done.values()].reduce((n, l) => n + l.length, 0);
    await until(() => total() === 48, 20_000, 'all 48 messages handled');
    for (const l of lites) expect(done.get(l), l).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(failedOnce).toBe(true);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    const online = await admin.listClients('lc-push');
    expect(online.find((x) => x.clientId === c.clientId)?.clientType).toBe('LITE_PUSH_CONSUMER');
    await c.close();
    await consuming;
  });

  it('lite - a consume() handler may suspend its lite topic', async () => {
    const c = await consumer('lc-push-suspend', { liteTopics: ['ps-1'] });
    await send('ps-1', 'first');
    await send('ps-1', 'second');
    const log: [string, number, number][] = [];
    let suspended = false;
    const t0 = Date.now();
    const stop = new AbortController();
    const consuming = c.consume(
      async (m) => {
        if (!suspended) {
          suspended = true;
          await m.suspend(800);
          return;
        }
        log.push([m.text(), m.deliveryAttempt, Date.now() - t0]);
      },
      { signal: stop.signal },
    );
    await until(() => log.length === 2, 10_000, 'both messages after the suspension');
    stop.abort();
    await consuming;
    expect(log.map(([t, a]) => [t, a])).toEqual([
      ['first', 1],
      ['second', 1],
    ]);
    expect(log[0]![2]).toBeGreaterThanOrEqual(700);
  });

  it('lite - Exclusive group: a second consumer takes a lite topic over; the first is told and gets nothing more of it', async () => {
    await admin.createGroup({ name: 'lc-excl', liteSubModel: 'Exclusive' });
    expect((await admin.listGroups()).find((g) => g.name === 'lc-excl')?.attributes['lite.sub.model']).toBe('Exclusive');
    const first = await consumer('lc-excl', { liteTopics: ['excl-1', 'excl-keep'], syncIntervalMs: 100 });
    await send('excl-1', 'one');
    expect((await take(first, 1)).map((m) => m.text())).toEqual(['one']);
    const told = new Promise<[string, string]>((resolve) => first.once('unsubscribed', (lite, d) => resolve([lite, d.reason])));
    const second = await consumer('lc-excl');
    await second.subscribe('excl-1');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no unsubscribed event')), 5000));
    expect(await Promise.race([told, timeout])).toEqual(['excl-1', 'taken-over']);
    expect(first.subscriptions()).toEqual(['excl-keep']);
    await new Promise((r) => setTimeout(r, 400)); // a few full syncs of the first client
    expect(first.subscriptions()).toEqual(['excl-keep']);
    await send('excl-1', 'two');
    expect((await take(second, 1)).map((m) => m.text())).toEqual(['two']);
    expect(await first.receive({ awaitMs: 500 })).toEqual([]);
    // Its other lite topics are unaffected.
    await send('excl-keep', 'kept');
    expect((await take(first, 1)).map((m) => m.text())).toEqual(['kept']);
  });

  it('lite - Exclusive group with consume(): after a take-over the rest of the lite topic goes to the new owner', async () => {
    await admin.createGroup({ name: 'lc-excl-push', liteSubModel: 'Exclusive' });
    const first = await consumer('lc-excl-push', { liteTopics: ['xp-1'] });
    const handledByFirst: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const told = new Promise<string>((resolve) => first.once('unsubscribed', (lite) => resolve(lite)));
    const consuming = first.consume(async (m) => {
      handledByFirst.push(m.text());
      if (m.text() === 'm0') await released;
    });
    for (let i = 0; i < 3; i++) await send('xp-1', `m${i}`);
    await until(() => handledByFirst.length === 1, 5000, 'the first handler call');
    const second = await consumer('lc-excl-push');
    await second.subscribe('xp-1');
    expect(await told).toBe('xp-1');
    release();
    const got = await take(second, 2);
    expect(got.map((m) => m.text())).toEqual(['m1', 'm2']);
    expect(handledByFirst).toEqual(['m0']);
    await first.close();
    await consuming;
  });

  it('lite - bad names and a group quota are typed errors', async () => {
    await admin.createGroup({ name: 'lc-quota', liteClientQuota: 2 });
    const c = await consumer('lc-quota', { liteTopics: ['q-1'] });
    await c.subscribe('q-2');
    const err = await c.subscribe('q-3').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LiteSubscriptionQuotaExceededError);
    expect(err).toBeInstanceOf(MqError);
    expect((err as MqError).code).toBe('LITE_SUBSCRIPTION_QUOTA_EXCEEDED');
    expect(c.subscriptions()).toEqual(['q-1', 'q-2']);
    const bad = await c.subscribe('not a lite topic!').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(IllegalLiteTopicError);
    expect((bad as MqError).code).toBe('ILLEGAL_LITE_TOPIC');
    await expect(c.subscribe('x'.repeat(65))).rejects.toBeInstanceOf(IllegalLiteTopicError);
    await expect(producer.send({ topic: PARENT, liteTopic: 'bad/name', body: 'x' })).rejects.toBeInstanceOf(IllegalLiteTopicError);
    await expect(producer.send({ topic: PARENT, liteTopic: 'ok', messageGroup: 'g', body: 'x' })).rejects.toMatchObject({ code: 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE' });
    // A lite topic on a non-LITE topic, and a LITE consumer on a non-LITE topic, are refused by the broker.
    await admin.createTopic({ name: 'lite-not-a-parent', queueCount: 1 });
    await expect(producer.send({ topic: 'lite-not-a-parent', liteTopic: 'ok', body: 'x' })).rejects.toMatchObject({ code: 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE' });
    const wrong = new LiteConsumer({ nameserver: env.nameserver, logger: silentLogger, group: 'lc-wrong', topic: 'lite-not-a-parent' });
    consumers.push(wrong);
    await expect(wrong.start()).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('lite - delayed and deduplicated LITE messages', async () => {
    const c = await consumer('lc-features', { liteTopics: ['feat-1'] });
    const t0 = Date.now();
    const delayed = await producer.send({ topic: PARENT, liteTopic: 'feat-1', body: 'later', deliveryTimestampMs: t0 + 600 });
    expect(delayed.recallHandle).toBeTruthy();
    const a = await producer.send({ topic: PARENT, liteTopic: 'feat-1', body: 'once', dedupKey: 'k-1' });
    const b = await producer.send({ topic: PARENT, liteTopic: 'feat-1', body: 'once again', dedupKey: 'k-1' });
    expect(b.messageId).toBe(a.messageId);
    const got = await take(c, 2);
    expect(got.map((m) => m.text())).toEqual(['once', 'later']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  });

  it('lite - close() is idempotent and drops the subscriptions on the broker', async () => {
    const c = new LiteConsumer({ nameserver: env.nameserver, logger: silentLogger, group: 'lc-close', topic: PARENT, liteTopics: ['close-1'] });
    await c.start();
    expect(env.broker.context.lite.interests.get(c.clientId, 'lc-close', PARENT)?.topics.size).toBe(1);
    await Promise.all([c.close(), c.close()]);
    await c.close();
    expect(env.broker.context.lite.interests.get(c.clientId, 'lc-close', PARENT)).toBeUndefined();
    await expect(c.receive()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(c.subscribe('x')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
