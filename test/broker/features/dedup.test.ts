/**
 * Send-side deduplication (user property agentmq.dedup.key, window = topic attribute
 * dedup.window.ms or the broker default): a duplicate within the window is answered with the
 * ORIGINAL message id and offset and stores nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, featureMessage, sleep } from '../../helpers/feature-harness.js';

describe('features - send deduplication', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });

  afterEach(async () => {
    await fb.dispose();
  });

  it('dedup - a second send with the same key returns the original id and offset and stores nothing', async () => {
    await fb.createTopic('u-basic', 'NORMAL', 2);
    await fb.sendOne('u-basic', 'before');
    const first = await fb.sendOne('u-basic', 'pay-1', { dedupKey: 'payment-42', body: 'charge $10' });
    const again = await fb.sendOne('u-basic', 'pay-1-retry', { dedupKey: 'payment-42', body: 'charge $10 (retry)' });
    expect(again.status?.code).toBe('OK');
    expect(again.messageId).toBe('pay-1');
    expect(again.offset).toBe(first.offset);
    // Another key, and no key at all, are independent.
    await fb.sendOne('u-basic', 'pay-2', { dedupKey: 'payment-43' });
    expect(await fb.messageCount('u-basic')).toBe(3);
    expect((await fb.getMessage('pay-1-retry')).code).toBe('MESSAGE_NOT_FOUND');

    const r = await fb.receive({ topic: 'u-basic', group: 'g', batchSize: 32 });
    const ids = r.messages.map(idOf).sort();
    expect(ids).toEqual(['before', 'pay-1', 'pay-2']);
    expect(r.messages.find((m) => idOf(m) === 'pay-1')!.body.toString()).toBe('charge $10');
    await fb.expectNothing({ topic: 'u-basic', group: 'g', pollMs: 200 });
  });

  it('dedup - the same key on another topic is not a duplicate', async () => {
    await fb.createTopic('u-a', 'NORMAL', 1);
    await fb.createTopic('u-b', 'NORMAL', 1);
    await fb.sendOne('u-a', 'on-a', { dedupKey: 'k' });
    const b = await fb.sendOne('u-b', 'on-b', { dedupKey: 'k' });
    expect(b.messageId).toBe('on-b');
    expect(await fb.messageCount('u-b')).toBe(1);
  });

  it('dedup - duplicates within one SendMessage batch, and concurrent duplicate sends, are stored once', async () => {
    await fb.createTopic('u-batch', 'NORMAL', 2);
    const entries = await fb.sendOk([
      featureMessage('u-batch', 'x-1', { dedupKey: 'x' }),
      featureMessage('u-batch', 'y-1', { dedupKey: 'y' }),
      featureMessage('u-batch', 'x-2', { dedupKey: 'x' }),
      featureMessage('u-batch', 'plain'),
      featureMessage('u-batch', 'x-3', { dedupKey: 'x' }),
    ]);
    expect(entries.map((e) => e.status?.code)).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);
    expect(entries.map((e) => e.messageId)).toEqual(['x-1', 'y-1', 'x-1', 'plain', 'x-1']);
    expect(entries[2]!.offset).toBe(entries[0]!.offset);
    expect(entries[4]!.offset).toBe(entries[0]!.offset);
    expect(await fb.messageCount('u-batch')).toBe(3);

    // Ten racing single sends of one key: one is stored, all answer with its id.
    const racing = await Promise.all(Array.from({ length: 10 }, (_, i) => fb.sendOne('u-batch', `z-${i}`, { dedupKey: 'z' })));
    const winner = racing[0]!.messageId;
    expect(racing.every((e) => e.messageId === winner && e.offset === racing[0]!.offset)).toBe(true);
    expect(await fb.messageCount('u-batch')).toBe(4);
    const r = await fb.receive({ topic: 'u-batch', group: 'g', batchSize: 32 });
    expect(r.messages.map(idOf).sort()).toEqual(['plain', winner, 'x-1', 'y-1'].sort());
  });

  it('dedup - after the window (topic attribute dedup.window.ms) a send with the same key is stored', async () => {
    await fb.createTopic('u-window', 'NORMAL', 1, { 'dedup.window.ms': '300' });
    const first = await fb.sendOne('u-window', 'w-1', { dedupKey: 'job' });
    const dup = await fb.sendOne('u-window', 'w-dup', { dedupKey: 'job' });
    expect(dup.messageId).toBe('w-1');
    await sleep(400);
    const fresh = await fb.sendOne('u-window', 'w-2', { dedupKey: 'job' });
    expect(fresh.messageId).toBe('w-2');
    expect(fresh.offset).toBe(first.offset + 1);
    // The new message opens a new window.
    const dup2 = await fb.sendOne('u-window', 'w-dup2', { dedupKey: 'job' });
    expect(dup2.messageId).toBe('w-2');
    expect(await fb.messageCount('u-window')).toBe(2);
    const r = await fb.receive({ topic: 'u-window', group: 'g', batchSize: 32 });
    expect(r.messages.map(idOf)).toEqual(['w-1', 'w-2']);
  });

  it('dedup - the window survives a restart (and still ends on time after it)', async () => {
    await fb.createTopic('u-restart', 'NORMAL', 2);
    await fb.createTopic('u-short', 'NORMAL', 1, { 'dedup.window.ms': '600' });
    const first = await fb.sendOne('u-restart', 'r-1', { dedupKey: 'order-7' });
    const shortFirst = await fb.sendOne('u-short', 's-1', { dedupKey: 'order-7' });
    await fb.restart();
    const dup = await fb.sendOne('u-restart', 'r-2', { dedupKey: 'order-7' });
    expect(dup.messageId).toBe('r-1');
    expect(dup.offset).toBe(first.offset);
    expect((await fb.sendOne('u-short', 's-2', { dedupKey: 'order-7' })).messageId).toBe('s-1');
    expect(await fb.messageCount('u-restart')).toBe(1);

    await sleep(Math.max(0, 700 - (Date.now() - Number((await fb.getMessage('s-1')).message?.storeTimestampMs ?? Date.now()))));
    await fb.restart();
    const after = await fb.sendOne('u-short', 's-3', { dedupKey: 'order-7' });
    expect(after.messageId).toBe('s-3');
    expect(after.offset).toBe(shortFirst.offset + 1);
    expect((await fb.sendOne('u-restart', 'r-3', { dedupKey: 'order-7' })).messageId).toBe('r-1');
  });

  it('dedup - a duplicate of a dead-lettered message still returns the original id and stores nothing', async () => {
    await fb.createTopic('u-dlq', 'NORMAL', 1);
    const first = await fb.sendOne('u-dlq', 'poison', { dedupKey: 'task-9' });
    const r = await fb.receive({ topic: 'u-dlq', group: 'g' });
    expect(r.messages.map(idOf)).toEqual(['poison']);
    expect((await fb.forwardToDlq('u-dlq', 'g', r.messages[0]!)).code).toBe('OK');
    expect(await fb.messageCount('%DLQ%g')).toBe(1);

    const dup = await fb.sendOne('u-dlq', 'poison-again', { dedupKey: 'task-9' });
    expect(dup.messageId).toBe('poison');
    expect(dup.offset).toBe(first.offset);
    expect(await fb.messageCount('u-dlq')).toBe(1);
    expect(await fb.messageCount('%DLQ%g')).toBe(1);
    await fb.expectNothing({ topic: 'u-dlq', group: 'g', pollMs: 200 });
  });

  it('dedup - an empty or too long key is BAD_REQUEST', async () => {
    await fb.createTopic('u-bad', 'NORMAL', 1);
    expect((await fb.sendRejected('u-bad', 'empty', { dedupKey: '' })).code).toBe('BAD_REQUEST');
    expect((await fb.sendRejected('u-bad', 'blank', { dedupKey: '   ' })).code).toBe('BAD_REQUEST');
    expect((await fb.sendRejected('u-bad', 'long', { dedupKey: 'k'.repeat(513) })).code).toBe('BAD_REQUEST');
    await fb.sendOne('u-bad', 'max', { dedupKey: 'k'.repeat(512) });
    expect(await fb.messageCount('u-bad')).toBe(1);
  });
});
