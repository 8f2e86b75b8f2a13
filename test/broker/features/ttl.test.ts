/**
 * Per-message TTL (user property agentmq.ttl.ms): an expired message is never delivered (nor
 * redelivered), its space is reclaimed, and the TTL of a delayed message counts from its delivery
 * time. Expiry holds across a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attemptOf, idOf, send } from '../../helpers/broker-fixture.js';
import { eventually, FeatureBroker, featureMessage, sleep, TTL_PROPERTY } from '../../helpers/feature-harness.js';

describe('features - per-message TTL', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });

  afterEach(async () => {
    await fb.dispose();
  });

  it('ttl - a message not consumed within its TTL is never delivered and its space is reclaimed', async () => {
    await fb.createTopic('t-expire', 'NORMAL', 1);
    const sentAt = Date.now();
    await fb.sendOne('t-expire', 'short', { ttlMs: 300, keys: ['k-short'] });
    await fb.sendOne('t-expire', 'forever', { keys: ['k-forever'] });
    expect(await fb.messageCount('t-expire')).toBe(2);
    const info = await fb.getMessage('short');
    expect(info.message?.expireAtMs).toBeGreaterThanOrEqual(sentAt + 300);
    expect(info.message?.expireAtMs).toBeLessThanOrEqual(Date.now() + 300);
    expect(info.message?.properties[TTL_PROPERTY]).toBe('300');

    // Reclaimed: the stored count drops without anyone receiving.
    expect(await eventually(async () => (await fb.messageCount('t-expire')) === 1, 2000)).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(sentAt + 300);
    expect((await fb.getMessage('short')).code).toBe('MESSAGE_NOT_FOUND');
    expect(await fb.findMessages('t-expire', 'k-short')).toEqual([]);

    const r = await fb.receive({ topic: 't-expire', group: 'g', batchSize: 32 });
    expect(r.messages.map(idOf)).toEqual(['forever']);
    await fb.expectNothing({ topic: 't-expire', group: 'g', pollMs: 200 });
  });

  it('ttl - an expired message is skipped even before it is reclaimed; unexpired neighbours are delivered in order', async () => {
    await fb.createTopic('t-mixed', 'NORMAL', 1);
    await fb.sendOk([
      featureMessage('t-mixed', 'a'),
      featureMessage('t-mixed', 'b-ttl', { ttlMs: 200 }),
      featureMessage('t-mixed', 'c', { ttlMs: 60_000 }),
      featureMessage('t-mixed', 'd-ttl', { ttlMs: 200 }),
      featureMessage('t-mixed', 'e'),
    ]);
    await sleep(300);
    const r = await fb.receive({ topic: 't-mixed', group: 'g', batchSize: 32 });
    expect(r.messages.map(idOf)).toEqual(['a', 'c', 'e']);
    // Messages received within their TTL are delivered normally.
    await fb.sendOne('t-mixed', 'quick', { ttlMs: 2000 });
    const q = await fb.receive({ topic: 't-mixed', group: 'g2', batchSize: 32 });
    expect(q.messages.map(idOf)).toEqual(['a', 'c', 'e', 'quick']);
  });

  it('ttl - an in-flight message that expires is not redelivered', async () => {
    await fb.createTopic('t-inflight', 'NORMAL', 1);
    await fb.sendOne('t-inflight', 'busy', { ttlMs: 400 });
    await fb.sendOne('t-inflight', 'long', { ttlMs: 60_000 });
    const r = await fb.receive({ topic: 't-inflight', group: 'g', invisibleMs: 700 });
    expect(r.messages.map(idOf)).toEqual(['busy', 'long']);
    // Not acked. 'long' comes back (attempt 2) after its invisibility; 'busy' expired meanwhile.
    const { msgs } = await fb.receiveUntil({ topic: 't-inflight', group: 'g', invisibleMs: 5000, pollMs: 1500 }, 2, 2000);
    expect(msgs.map(idOf)).toEqual(['long']);
    expect(attemptOf(msgs[0]!)).toBe(2);
    expect((await fb.getMessage('busy')).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('ttl - invalid TTL values are BAD_REQUEST and store nothing', async () => {
    await fb.createTopic('t-bad', 'NORMAL', 1);
    for (const bad of ['0', '-5', 'abc', '1.5', '', ' ', '1e3', '0x10', String(30 * 24 * 3600_000 + 1), '99999999999999999999']) {
      const r = await fb.sendRejected('t-bad', `bad-${bad}`, { ttlMs: bad });
      expect(r.code, `ttl ${JSON.stringify(bad)}: ${r.message}`).toBe('BAD_REQUEST');
      expect(r.message).toContain(TTL_PROPERTY);
    }
    // A batch with one bad TTL: the others are stored.
    const res = await send(fb.b.mq, [featureMessage('t-bad', 'ok-1', { ttlMs: 1000 }), featureMessage('t-bad', 'bad-1', { ttlMs: 'soon' }), featureMessage('t-bad', 'ok-2')]);
    expect(res.status?.code).toBe('MULTIPLE_RESULTS');
    expect(res.entries.map((e) => e.status?.code)).toEqual(['OK', 'BAD_REQUEST', 'OK']);
    await fb.sendOne('t-bad', 'max-ok', { ttlMs: 30 * 24 * 3600_000 });
    expect(await fb.messageCount('t-bad')).toBe(3);
  });

  it('ttl - the TTL of a delayed message counts from its delivery time', async () => {
    await fb.createTopic('t-delay', 'NORMAL', 1);
    const due = Date.now() + 500;
    // Received right after it is due: delivered, although more than 400 ms passed since the send.
    await fb.sendOne('t-delay', 'on-time', { deliverAt: due, ttlMs: 400 });
    // Nobody on this group receives within the window: it expires.
    await fb.sendOne('t-delay', 'missed', { deliverAt: due, ttlMs: 400 });
    const { msgs, at } = await fb.receiveUntil({ topic: 't-delay', group: 'eager', pollMs: 2000 }, 2, 2000);
    expect(msgs.map(idOf)).toEqual(['on-time', 'missed']);
    expect(at.get('on-time')!).toBeGreaterThanOrEqual(due - 20);
    const info = await fb.getMessage('missed');
    expect(info.message?.expireAtMs).toBeGreaterThanOrEqual(due + 400);

    await sleep(Math.max(0, due + 400 + 150 - Date.now()));
    await fb.expectNothing({ topic: 't-delay', group: 'late', pollMs: 100 });
    expect(await eventually(async () => (await fb.messageCount('t-delay')) === 0, 2000)).toBe(true);
    expect((await fb.getMessage('missed')).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('ttl - expiry across a restart: closed before expiry, reopened after it, the message is gone', async () => {
    await fb.createTopic('t-restart', 'NORMAL', 1);
    const sentAt = Date.now();
    await fb.sendOne('t-restart', 'gone', { ttlMs: 400 });
    await fb.sendOne('t-restart', 'stays', { ttlMs: 60_000 });
    await fb.restart(Math.max(0, sentAt + 500 - Date.now()));
    const r = await fb.receive({ topic: 't-restart', group: 'g', batchSize: 32 });
    expect(r.messages.map(idOf)).toEqual(['stays']);
    expect(await eventually(async () => (await fb.messageCount('t-restart')) === 1, 2000)).toBe(true);
    expect((await fb.getMessage('gone')).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('ttl - expiry across a restart: reopened before expiry, the message expires on time afterwards', async () => {
    await fb.createTopic('t-restart2', 'NORMAL', 1);
    const sentAt = Date.now();
    await fb.sendOne('t-restart2', 'later', { ttlMs: 700 });
    await fb.restart();
    expect(Date.now()).toBeLessThan(sentAt + 700);
    expect(await fb.messageCount('t-restart2')).toBe(1);
    expect(await eventually(async () => (await fb.messageCount('t-restart2')) === 0, 2500)).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(sentAt + 700);
    await fb.expectNothing({ topic: 't-restart2', group: 'g' });
  });
});
