/**
 * Features combined, each with a broker restart in the middle: a delayed FIFO message, a
 * duplicate of a dead-lettered (and of a delayed) message, the TTL of a delayed message, a
 * delayed high-priority message, an expired message inside a FIFO group.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attemptOf, idOf } from '../../helpers/broker-fixture.js';
import { eventually, FeatureBroker, featureMessage, sleep } from '../../helpers/feature-harness.js';

describe('features - interactions across a restart', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });

  afterEach(async () => {
    await fb.dispose();
  });

  it('interactions - delayed FIFO messages, restart before they are due: delivered after their time, one at a time in group order', async () => {
    await fb.createTopic('x-fifo', 'FIFO', 2);
    const due = Date.now() + 700;
    await fb.sendOk([
      featureMessage('x-fifo', 'A1', { group: 'A', deliverAt: due }),
      featureMessage('x-fifo', 'B1', { group: 'B', deliverAt: due }),
      featureMessage('x-fifo', 'A2', { group: 'A', deliverAt: due + 50 }),
      featureMessage('x-fifo', 'A3', { group: 'A', deliverAt: due + 100 }),
    ]);
    await fb.restart();
    await fb.expectNothing({ topic: 'x-fifo', group: 'c' });
    const { msgs, at } = await fb.receiveUntil({ topic: 'x-fifo', group: 'c', batchSize: 32, pollMs: 1500 }, 2, 2500);
    expect(msgs.map(idOf).sort()).toEqual(['A1', 'B1']);
    for (const m of msgs) expect(at.get(idOf(m))!).toBeGreaterThanOrEqual(due - 20);
    // A2 and A3 are due by now but wait behind A1 — also across another restart.
    await sleep(Math.max(0, due + 200 - Date.now()));
    await fb.expectNothing({ topic: 'x-fifo', group: 'c', batchSize: 32 });
    await fb.restart();
    await fb.expectNothing({ topic: 'x-fifo', group: 'c', batchSize: 32 });
    await fb.ackAll('x-fifo', 'c', msgs.filter((m) => idOf(m) === 'A1'));
    const order: string[] = [];
    for (let i = 0; i < 4 && order.length < 2; i++) {
      const r = await fb.receive({ topic: 'x-fifo', group: 'c', batchSize: 32, pollMs: 500 });
      expect(r.messages.length).toBeLessThanOrEqual(1);
      order.push(...r.messages.map(idOf));
      await fb.ackAll('x-fifo', 'c', r.messages);
    }
    expect(order).toEqual(['A2', 'A3']);
  });

  it('interactions - a duplicate of a dead-lettered message, sent after a restart, returns the original id and stores nothing', async () => {
    await fb.createTopic('x-dup', 'NORMAL', 2);
    await fb.createGroup('once', 1);
    const original = await fb.sendOne('x-dup', 'charge-1', { dedupKey: 'charge:42' });
    const r = await fb.receive({ topic: 'x-dup', group: 'once', invisibleMs: 150 });
    expect(r.messages.map(idOf)).toEqual(['charge-1']);
    // Never acked: after its only delivery it is dead-lettered (a consumer keeps polling).
    await fb.expectNothing({ topic: 'x-dup', group: 'once', pollMs: 500 });
    expect(await fb.messageCount('%DLQ%once')).toBe(1);

    await fb.restart();
    const dup = await fb.sendOne('x-dup', 'charge-1-retry', { dedupKey: 'charge:42' });
    expect(dup.messageId).toBe('charge-1');
    expect(dup.offset).toBe(original.offset);
    expect(await fb.messageCount('x-dup')).toBe(1);
    expect(await fb.messageCount('%DLQ%once')).toBe(1);
    await fb.expectNothing({ topic: 'x-dup', group: 'once', pollMs: 200 });
    // The dead letter is still there, unchanged, for an operator to look at.
    const dl = await fb.receive({ topic: '%DLQ%once', group: 'ops' });
    expect(dl.messages.map(idOf)).toEqual(['charge-1']);
    expect(dl.messages[0]!.userProperties['agentmq.dlq.attempts']).toBe('1');
  });

  it('interactions - a duplicate of a delayed message (before and after a restart, before and after it is due) stores nothing', async () => {
    await fb.createTopic('x-dup-delay', 'NORMAL', 1);
    const due = Date.now() + 600;
    const first = await fb.sendOne('x-dup-delay', 'reminder-1', { deliverAt: due, dedupKey: 'remind:7' });
    expect(first.offset).toBe(-1);
    const dup1 = await fb.sendOne('x-dup-delay', 'reminder-2', { deliverAt: due, dedupKey: 'remind:7' });
    expect(dup1.messageId).toBe('reminder-1');
    await fb.restart();
    const dup2 = await fb.sendOne('x-dup-delay', 'reminder-3', { deliverAt: due + 100, dedupKey: 'remind:7' });
    expect(dup2.messageId).toBe('reminder-1');
    const { msgs } = await fb.receiveUntil({ topic: 'x-dup-delay', group: 'g', pollMs: 1500 }, 1, 2000);
    expect(msgs.map(idOf)).toEqual(['reminder-1']);
    const dup3 = await fb.sendOne('x-dup-delay', 'reminder-4', { dedupKey: 'remind:7' });
    expect(dup3.messageId).toBe('reminder-1');
    await fb.expectNothing({ topic: 'x-dup-delay', group: 'g', pollMs: 300 });
    expect(await fb.messageCount('x-dup-delay')).toBe(1);
  });

  it('interactions - TTL of a delayed message across a restart before it is due: counted from the delivery time', async () => {
    await fb.createTopic('x-ttl', 'NORMAL', 1);
    const due = Date.now() + 700;
    await fb.sendOne('x-ttl', 'fresh', { deliverAt: due, ttlMs: 500 });
    await fb.sendOne('x-ttl', 'stale', { deliverAt: due, ttlMs: 500 });
    await fb.restart(100);
    const { msgs, at } = await fb.receiveUntil({ topic: 'x-ttl', group: 'eager', batchSize: 1, pollMs: 1500 }, 1, 2000);
    expect(msgs.map(idOf)).toEqual(['fresh']);
    expect(at.get('fresh')!).toBeGreaterThanOrEqual(due - 20);
    const info = await fb.getMessage('stale');
    expect(info.message?.expireAtMs).toBeGreaterThanOrEqual(due + 500);
    expect(info.message?.expireAtMs).toBeLessThan(due + 500 + 500);
    // Nobody takes 'stale' within its 500 ms.
    await sleep(Math.max(0, Number(info.message?.expireAtMs) + 100 - Date.now()));
    await fb.expectNothing({ topic: 'x-ttl', group: 'eager', batchSize: 32 });
    expect(await eventually(async () => (await fb.getMessage('stale')).code === 'MESSAGE_NOT_FOUND', 2000)).toBe(true);
  });

  it('interactions - TTL of a delayed message whose whole window passed while the broker was down: never delivered', async () => {
    await fb.createTopic('x-ttl-down', 'NORMAL', 1);
    const due = Date.now() + 300;
    await fb.sendOne('x-ttl-down', 'missed-window', { deliverAt: due, ttlMs: 300 });
    await fb.sendOne('x-ttl-down', 'long-window', { deliverAt: due, ttlMs: 60_000 });
    // Down from before it was due until after due + ttl.
    await fb.restart(Math.max(0, due + 300 + 200 - Date.now()));
    const { msgs } = await fb.receiveUntil({ topic: 'x-ttl-down', group: 'g', batchSize: 32, pollMs: 800 }, 2, 1000);
    expect(msgs.map(idOf)).toEqual(['long-window']);
    expect(await eventually(async () => (await fb.getMessage('missed-window')).code === 'MESSAGE_NOT_FOUND', 2000)).toBe(true);
  });

  it('interactions - TTL of a delayed message that became due before a restart keeps its deadline after it', async () => {
    await fb.createTopic('x-ttl-after', 'NORMAL', 1);
    const due = Date.now() + 300;
    await fb.sendOne('x-ttl-after', 'due-then-restart', { deliverAt: due, ttlMs: 900 });
    expect(await eventually(async () => (await fb.getMessage('due-then-restart')).message?.state === 'stored', 2000)).toBe(true);
    const expireAt = Number((await fb.getMessage('due-then-restart')).message?.expireAtMs);
    expect(expireAt).toBeGreaterThanOrEqual(due + 900);
    await fb.restart();
    expect(Date.now()).toBeLessThan(expireAt);
    const r = await fb.receive({ topic: 'x-ttl-after', group: 'g' });
    expect(r.messages.map(idOf)).toEqual(['due-then-restart']);
    await sleep(Math.max(0, expireAt + 100 - Date.now()));
    await fb.expectNothing({ topic: 'x-ttl-after', group: 'late' });
  });

  it('interactions - a delayed high-priority message overtakes the low-priority backlog when due, across a restart', async () => {
    await fb.createTopic('x-prio', 'PRIORITY', 1);
    const due = Date.now() + 500;
    await fb.sendOne('x-prio', 'abort', { type: 'DELAY', deliverAt: due, priority: 9 });
    await fb.sendOk(Array.from({ length: 10 }, (_, i) => featureMessage('x-prio', `routine-${i}`, { priority: 2 })));
    await fb.restart();
    const early = await fb.receive({ topic: 'x-prio', group: 'g', batchSize: 2 });
    expect(early.messages.map(idOf)).toEqual(['routine-0', 'routine-1']);
    await sleep(Math.max(0, due + 200 - Date.now()));
    const r = await fb.receive({ topic: 'x-prio', group: 'g', batchSize: 2 });
    expect(r.messages.map(idOf)).toEqual(['abort', 'routine-2']);
    expect(r.messages[0]!.systemProperties!.priority).toBe(9);
  });

  it('interactions - a FIFO message that expires while waiting behind its group head is skipped; the group goes on (across a restart)', async () => {
    await fb.createTopic('x-fifo-ttl', 'FIFO', 1);
    await fb.sendOk([
      featureMessage('x-fifo-ttl', 'A1', { group: 'A' }),
      featureMessage('x-fifo-ttl', 'A2', { group: 'A', ttlMs: 300 }),
      featureMessage('x-fifo-ttl', 'A3', { group: 'A' }),
    ]);
    const head = await fb.receive({ topic: 'x-fifo-ttl', group: 'c', batchSize: 32 });
    expect(head.messages.map(idOf)).toEqual(['A1']);
    await fb.restart(400);
    await fb.ackAll('x-fifo-ttl', 'c', head.messages);
    const next = await fb.receive({ topic: 'x-fifo-ttl', group: 'c', batchSize: 32 });
    expect(next.messages.map(idOf)).toEqual(['A3']);
    expect(attemptOf(next.messages[0]!)).toBe(1);
  });
});
