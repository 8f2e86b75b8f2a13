/** The SDK's two transports against real brokers: the messaging session (default) and unary calls. */
import { afterEach, describe, expect, it } from 'vitest';
import { AdminClient, Producer, SimpleConsumer, silentLogger } from '../../client/index.js';
import type { Logger } from '../../proto/common/logger.js';
import { startEmbedded, type Embedded } from '../helpers/embedded.js';

/** Sends `n` messages and receives them all with one SimpleConsumer; returns the bodies received. */
async function roundTrip(env: Embedded, topic: string, n: number, extra: { transport?: 'session' | 'unary'; logger?: Logger } = {}): Promise<string[]> {
  const opts = { nameserver: env.nameserver, logger: silentLogger, ...extra };
  const admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
  await admin.createTopic({ name: topic, queueCount: 2 });
  await admin.close();
  const consumer = new SimpleConsumer({ ...opts, group: `${topic}-g`, subscriptions: { [topic]: '*' }, awaitDurationMs: 1000 });
  await consumer.start();
  const producer = new Producer(opts);
  await producer.start();
  await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, body: `m${i}` })));
  await producer.close();
  const got: string[] = [];
  for (let round = 0; round < 20 && got.length < n; round++) {
    for (const m of await consumer.receive({ maxMessages: 32 })) {
      got.push(m.body.toString());
      await m.ack();
    }
  }
  await consumer.close();
  return got.sort();
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`).sort();

describe('client - transports', () => {
  let env: Embedded | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  it('transport - session (default) and unary both deliver every message once', async () => {
    env = await startEmbedded();
    expect(await roundTrip(env, 'tr-session', 300)).toEqual(expected(300));
    expect(await roundTrip(env, 'tr-unary', 300, { transport: 'unary' })).toEqual(expected(300));
  });

  it('transport - against a broker without the session the SDK falls back to unary calls, and says so once', async () => {
    env = await startEmbedded({ messagingSession: false });
    const lines: string[] = [];
    const logger: Logger = { ...silentLogger, info: (msg: string) => void lines.push(msg) };
    expect(await roundTrip(env, 'tr-fallback', 100, { logger })).toEqual(expected(100));
    // Once per client (producer, consumer) and broker.
    const fallbacks = lines.filter((l) => l.includes('does not serve the messaging session'));
    expect(fallbacks.length).toBeGreaterThanOrEqual(1);
    expect(fallbacks.length).toBeLessThanOrEqual(2);
  });

  it('transport - an unknown transport is refused with a clear error', () => {
    expect(() => new Producer({ nameserver: '127.0.0.1:1', transport: 'tcp' as never })).toThrow(/transport.*'session' or 'unary'/);
  });
});
