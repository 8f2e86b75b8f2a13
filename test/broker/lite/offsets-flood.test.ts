/** Lite subscriptions: OffsetOption on PARTIAL_ADD, and a flood beyond the ReadySet bound. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureBroker, sleep } from '../../helpers/feature-harness.js';
import { send } from '../../helpers/broker-fixture.js';
import { bodyOf, liteMessage, liteOf, LiteWireClient, receiveUntil } from '../../helpers/lite-harness.js';

describe('lite topics - offset options and ReadySet overflow', () => {
  const fb = new FeatureBroker({ pop: { minInvisibleMs: 100 }, lite: { maxReadyPerClient: 8 } });
  const P = 'offsets';
  const sendLite = async (lite: string, bodies: string[]) => {
    const res = await send(fb.b.mq, bodies.map((b) => liteMessage(P, lite, b)));
    expect(res.status?.code, res.status?.message).toBe('OK');
  };

  beforeAll(async () => {
    await fb.start();
    await fb.createTopic(P, 'LITE' as never);
    await sendLite('hist', ['m0', 'm1', 'm2', 'm3', 'm4']);
    await sleep(30);
    await sendLite('hist', ['m5', 'm6']);
  });
  afterAll(() => fb.dispose());

  const subscribeFrom = async (group: string, offsetOption: Parameters<LiteWireClient['sync']>[2]) => {
    const c = new LiteWireClient(fb.b.mq, P, group);
    expect((await c.sync('PARTIAL_ADD', ['hist'], offsetOption)).code).toBe('OK');
    return (await receiveUntil(c, 7, 1500)).map(bodyOf);
  };

  it('LAST (and no option): a new group starts at the oldest stored message', async () => {
    expect(await subscribeFrom('o-last', { policy: 'LAST' })).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(await subscribeFrom('o-none', undefined)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('MIN, MAX, OFFSET, TAIL_N', async () => {
    expect(await subscribeFrom('o-min', { policy: 'MIN' })).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(await subscribeFrom('o-max', { policy: 'MAX' })).toEqual([]);
    expect(await subscribeFrom('o-off', { offset: 4 })).toEqual(['m4', 'm5', 'm6']);
    expect(await subscribeFrom('o-tail', { tailN: 2 })).toEqual(['m5', 'm6']);
    expect(await subscribeFrom('o-tail-big', { tailN: 100 })).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('TIMESTAMP: from the first message stored at or after the time', async () => {
    const info = fb.b.broker.context.store;
    const m5 = await info.readOne('offsets$hist', 0, 5);
    expect(await subscribeFrom('o-ts', { timestamp: m5!.storeMs })).toEqual(['m5', 'm6']);
    expect(await subscribeFrom('o-ts-future', { timestamp: Date.now() + 60_000 })).toEqual([]);
  });

  it('MAX then new messages: only messages sent after the subscription arrive', async () => {
    const c = new LiteWireClient(fb.b.mq, P, 'o-max-new');
    await c.sync('PARTIAL_ADD', ['hist'], { policy: 'MAX' });
    await sendLite('hist', ['m7']);
    expect((await receiveUntil(c, 1, 2000)).map(bodyOf)).toEqual(['m7']);
  });

  it('a flood over many more lite topics than the ReadySet holds still delivers every message exactly once', async () => {
    const c = new LiteWireClient(fb.b.mq, P, 'flood');
    const lites = Array.from({ length: 200 }, (_, i) => `f-${i}`);
    for (let i = 0; i < lites.length; i += 50) expect((await c.sync('PARTIAL_ADD', lites.slice(i, i + 50))).code).toBe('OK');
    for (let round = 0; round < 3; round++) {
      const res = await send(fb.b.mq, lites.map((l) => liteMessage(P, l, `${l}#${round}`)));
      expect(res.status?.code).toBe('OK');
    }
    const ci = fb.b.broker.context.lite.interests.get(c.clientId, 'flood', P)!;
    expect(ci.ready.size).toBeLessThanOrEqual(8);
    expect(ci.ready.overflow).toBe(true);
    const got = await receiveUntil(c, 600, 20_000);
    expect(got).toHaveLength(600);
    expect(new Set(got.map(bodyOf)).size).toBe(600);
    for (const l of lites) expect(got.filter((m) => liteOf(m) === l).map(bodyOf)).toEqual([`${l}#0`, `${l}#1`, `${l}#2`]);
    expect((await c.receive(300)).messages).toEqual([]);
  }, 30_000);
});
