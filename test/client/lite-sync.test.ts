/**
 * LiteConsumer against a broker with small lite limits: the broker's own quota refusals come back
 * as typed errors, and the periodic full sync (COMPLETE_ADD) reconciles the broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  LiteConsumer,
  LiteSubscriptionQuotaExceededError,
  LiteTopicQuotaExceededError,
  Producer,
  silentLogger,
} from '../../client/index.js';
import { startEmbedded, type Embedded } from '../helpers/embedded.js';

const PARENT = 'lite-limits';

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sdk - lite limits and sync', () => {
  let env: Embedded;
  let admin: AdminClient;
  let producer: Producer;
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    env = await startEmbedded({ lite: { maxTopics: 4, maxSubscriptions: 3 } });
    admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
    await admin.createTopic({ name: PARENT, messageType: 'LITE' });
    producer = new Producer({ nameserver: env.nameserver, logger: silentLogger });
    await producer.start();
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c.close()));
    await producer?.close();
    await admin?.close();
    await env?.close();
  });

  const consumer = async (group: string, liteTopics: string[], syncIntervalMs?: number): Promise<LiteConsumer> => {
    const c = new LiteConsumer({ nameserver: env.nameserver, logger: silentLogger, group, topic: PARENT, liteTopics, awaitDurationMs: 1000, ...(syncIntervalMs ? { syncIntervalMs } : {}) });
    closers.push(c);
    await c.start();
    return c;
  };

  it('lite - the periodic full sync restores subscriptions the broker lost', async () => {
    const c = await consumer('ls-sync', ['sync-1'], 200);
    const interest = () => env.broker.context.lite.interests.get(c.clientId, 'ls-sync', PARENT);
    expect([...interest()!.topics].map((t) => t.name)).toEqual(['sync-1']);
    env.broker.context.lite.removeClient(c.clientId); // as if the broker restarted or the lease ran out
    expect(interest()).toBeUndefined();
    await until(() => interest()?.topics.size === 1, 5000, 'the next COMPLETE_ADD');
    await producer.send({ topic: PARENT, liteTopic: 'sync-1', body: 'after resync' });
    const got = await c.receive({ awaitMs: 2000 });
    expect(got.map((m) => m.text())).toEqual(['after resync']);
    await got[0]!.ack();
    await c.close();
    closers.pop();
  });

  it('lite - broker-wide quotas come back typed: LiteSubscriptionQuotaExceededError, LiteTopicQuotaExceededError', async () => {
    // The broker holds at most 3 subscriptions and 4 lite topics (sync-1 above is one).
    const a = await consumer('ls-quota-a', ['qa-1', 'qa-2']);
    const b = await consumer('ls-quota-b', ['qb-1']);
    const err = await b.subscribe('qb-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LiteSubscriptionQuotaExceededError);
    expect((err as LiteSubscriptionQuotaExceededError).code).toBe('LITE_SUBSCRIPTION_QUOTA_EXCEEDED');
    expect(b.subscriptions()).toEqual(['qb-1']);
    expect(a.subscriptions()).toEqual(['qa-1', 'qa-2']);

    const sendErr = await producer.send({ topic: PARENT, liteTopic: 'one-too-many', body: 'x' }).catch((e: unknown) => e);
    expect(sendErr).toBeInstanceOf(LiteTopicQuotaExceededError);
    expect((sendErr as LiteTopicQuotaExceededError).code).toBe('LITE_TOPIC_QUOTA_EXCEEDED');
    // Existing lite topics still take messages.
    expect((await producer.send({ topic: PARENT, liteTopic: 'qa-1', body: 'fine' })).messageId).toBeTruthy();
  });
});
