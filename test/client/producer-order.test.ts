/**
 * Producer admission: sends made while start() is in progress, during a topic's first route
 * lookup, and right after (the synchronous fast path) reach the broker in call order per FIFO
 * group; invalid messages reject (never throw) on every path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, ClientError, MqError, Producer, SimpleConsumer, silentLogger } from '../../client/index.js';
import type { SendReceipt } from '../../client/index.js';
import { startEmbedded, type Embedded } from '../helpers/embedded.js';

describe('producer - admission order', () => {
  let env: Embedded;
  let admin: AdminClient;
  beforeAll(async () => {
    env = await startEmbedded();
    admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
    await admin.createTopic({ name: 'o-fifo-1', queueCount: 2, messageType: 'FIFO' });
    await admin.createTopic({ name: 'o-fifo-2', queueCount: 2, messageType: 'FIFO' });
  });
  afterAll(async () => {
    await admin?.close();
    await env?.close();
  });

  const drain = async (topic: string, want: number): Promise<string[]> => {
    const c = new SimpleConsumer({ nameserver: env.nameserver, logger: silentLogger, group: `${topic}-g`, subscriptions: { [topic]: '*' }, awaitDurationMs: 500 });
    await c.start();
    const seen: string[] = [];
    try {
      for (let round = 0; round < 200 && seen.length < want; round++) {
        const batch = await c.receive({ maxMessages: 32 });
        for (const m of batch) seen.push(m.text());
        await Promise.all(batch.map((m) => m.ack()));
      }
    } finally {
      await c.close();
    }
    return seen;
  };

  const inGroup = (seen: string[], g: string) => seen.filter((s) => s.startsWith(`${g}:`)).map((s) => Number(s.split(':')[1]));

  it('producer - FIFO order holds across the starting, first-lookup and fast paths', async () => {
    const producer = new Producer({ nameserver: env.nameserver, logger: silentLogger, topics: ['o-fifo-1'] });
    const sends: Promise<SendReceipt>[] = [];
    let n = 0;
    const send = (topic: string, g: string) => sends.push(producer.send({ topic, body: `${g}:${n++}`, messageGroup: g }));
    const starting = producer.start();
    for (let i = 0; i < 10; i++) send('o-fifo-1', 'a'); // queued behind start()
    await starting;
    for (let i = 0; i < 10; i++) send('o-fifo-1', i % 2 ? 'a' : 'b'); // possibly behind the queued ones
    for (let i = 0; i < 10; i++) send('o-fifo-2', 'c'); // first lookup of a topic not in `topics`
    for (let i = 0; i < 10; i++) send('o-fifo-1', 'a');
    await Promise.all(sends);
    for (let i = 0; i < 10; i++) send('o-fifo-2', i % 2 ? 'c' : 'd'); // fast path
    await Promise.all(sends);
    await producer.close();

    const one = await drain('o-fifo-1', 30);
    const two = await drain('o-fifo-2', 20);
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    for (const [seen, g, count] of [[one, 'a', 25], [one, 'b', 5], [two, 'c', 15], [two, 'd', 5]] as const) {
      const order = inGroup(seen, g);
      expect(order).toHaveLength(count);
      expect(order).toEqual(sorted(order));
    }
  });

  it('producer - invalid messages reject on the fast path and before start; a bad batch sends nothing', async () => {
    const producer = new Producer({ nameserver: env.nameserver, logger: silentLogger });
    const early = producer.send({ topic: 'o-fifo-1', body: '' });
    await expect(early).rejects.toBeInstanceOf(ClientError); // NOT_STARTED comes first
    await producer.start();
    const bad = producer.send({ topic: 'bad topic', body: 'x' });
    expect(bad).toBeInstanceOf(Promise);
    await expect(bad).rejects.toBeInstanceOf(MqError);
    await expect(producer.sendBatch([{ topic: 'o-fifo-1', body: 'ok', messageGroup: 'z' }, { topic: 'o-fifo-1', body: '' }])).rejects.toBeInstanceOf(MqError);
    await producer.close();
    await expect(producer.send({ topic: 'o-fifo-1', body: 'x' })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
