/**
 * Priority (PRIORITY topics, priority 0..9): within a receive, higher priority first, FIFO within
 * a level; a later high-priority message overtakes an earlier low-priority backlog.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, featureMessage } from '../../helpers/feature-harness.js';

const LOW = ['low-1', 'low-2', 'low-3'];
const HIGH = ['high-1', 'high-2', 'high-3'];
const MID = ['mid-1', 'mid-2', 'mid-3'];

describe('features - priority', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });

  afterEach(async () => {
    await fb.dispose();
  });

  /** low (0), then high (9), then mid (5), one message per SendMessage. */
  async function sendMixed(topic: string): Promise<void> {
    for (const id of LOW) await fb.sendOne(topic, id, { priority: 0 });
    for (const id of HIGH) await fb.sendOne(topic, id, { priority: 9 });
    for (const id of MID) await fb.sendOne(topic, id, { priority: 5 });
  }

  it('priority - one receive returns high before mid before low, FIFO within a level', async () => {
    await fb.createTopic('p-one', 'PRIORITY', 1);
    await sendMixed('p-one');
    const r = await fb.receive({ topic: 'p-one', group: 'g', batchSize: 32 });
    expect(r.code).toBe('OK');
    expect(r.messages.map(idOf)).toEqual([...HIGH, ...MID, ...LOW]);
    expect(r.messages.map((m) => m.systemProperties!.priority)).toEqual([9, 9, 9, 5, 5, 5, 0, 0, 0]);
    // Clients see the topic's queue, not the internal priority lane.
    expect(new Set(r.messages.map((m) => m.systemProperties!.queueId))).toEqual(new Set([0]));
  });

  it('priority - small receives drain by priority too; a NORMAL message on a PRIORITY topic counts as the lowest level', async () => {
    await fb.createTopic('p-small', 'PRIORITY', 1);
    await fb.sendOne('p-small', 'plain', { type: 'NORMAL' });
    await sendMixed('p-small');
    const seen: string[] = [];
    for (let i = 0; i < 12 && seen.length < 10; i++) {
      const r = await fb.receive({ topic: 'p-small', group: 'g', batchSize: 2 });
      seen.push(...r.messages.map(idOf));
    }
    expect(seen).toEqual([...HIGH, ...MID, 'plain', ...LOW]);
  });

  it('priority - across queues every higher-priority message still comes before every lower one', async () => {
    await fb.createTopic('p-multi', 'PRIORITY', 2);
    await sendMixed('p-multi');
    // One batch send mixing levels too.
    await fb.sendOk([featureMessage('p-multi', 'b-low', { priority: 1 }), featureMessage('p-multi', 'b-top', { priority: 9 }), featureMessage('p-multi', 'b-mid', { priority: 5 })]);
    const r = await fb.receive({ topic: 'p-multi', group: 'g', batchSize: 32 });
    expect(r.messages).toHaveLength(12);
    const prios = r.messages.map((m) => m.systemProperties!.priority!);
    expect(prios).toEqual([...prios].sort((a, b) => b - a));
    expect(new Set(r.messages.map((m) => m.systemProperties!.queueId))).toEqual(new Set([0, 1]));
  });

  it('priority - a high-priority message sent later overtakes a low-priority backlog', async () => {
    await fb.createTopic('p-overtake', 'PRIORITY', 1);
    const backlog = Array.from({ length: 20 }, (_, i) => `routine-${i}`);
    await fb.sendOk(backlog.map((id) => featureMessage('p-overtake', id, { priority: 1 })));
    const first = await fb.receive({ topic: 'p-overtake', group: 'g', batchSize: 3 });
    expect(first.messages.map(idOf)).toEqual(backlog.slice(0, 3));
    await fb.sendOne('p-overtake', 'abort', { priority: 9 });
    const next = await fb.receive({ topic: 'p-overtake', group: 'g', batchSize: 3 });
    expect(next.messages.map(idOf)).toEqual(['abort', ...backlog.slice(3, 5)]);
  });

  it('priority - outside 0..9 is BAD_REQUEST; PRIORITY without a priority conflicts with the type', async () => {
    await fb.createTopic('p-bad', 'PRIORITY', 1);
    expect((await fb.sendRejected('p-bad', 'ten', { priority: 10 })).code).toBe('BAD_REQUEST');
    expect((await fb.sendRejected('p-bad', 'minus', { priority: -1 })).code).toBe('BAD_REQUEST');
    expect((await fb.sendRejected('p-bad', 'huge', { priority: 1000 })).code).toBe('BAD_REQUEST');
    expect((await fb.sendRejected('p-bad', 'none', { type: 'PRIORITY' })).code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    // The edges are fine.
    await fb.sendOne('p-bad', 'zero', { priority: 0 });
    await fb.sendOne('p-bad', 'nine', { priority: 9 });
    expect(await fb.messageCount('p-bad')).toBe(2);
    const r = await fb.receive({ topic: 'p-bad', group: 'g' });
    expect(r.messages.map(idOf)).toEqual(['nine', 'zero']);
  });

  it('priority - a restart keeps the order (including after part of it was consumed and acked)', async () => {
    await fb.createTopic('p-restart1', 'PRIORITY', 1);
    await sendMixed('p-restart1');
    await fb.createTopic('p-restart', 'PRIORITY', 2);
    await sendMixed('p-restart');
    await fb.restart();
    const one = await fb.receive({ topic: 'p-restart1', group: 'g', batchSize: 32 });
    expect(one.messages.map(idOf)).toEqual([...HIGH, ...MID, ...LOW]);
    const first = await fb.receive({ topic: 'p-restart', group: 'g', batchSize: 2 });
    const firstIds = first.messages.map(idOf);
    expect(firstIds).toHaveLength(2);
    expect(firstIds.every((id) => HIGH.includes(id))).toBe(true);
    await fb.ackAll('p-restart', 'g', first.messages);
    await fb.sendOne('p-restart', 'mid-4', { priority: 5 });
    await fb.restart();
    const rest = await fb.receive({ topic: 'p-restart', group: 'g', batchSize: 32 });
    const ids = rest.messages.map(idOf);
    expect(ids).toHaveLength(8);
    expect(ids[0]).toBe(HIGH.find((id) => !firstIds.includes(id)));
    expect(new Set(ids.slice(1, 5))).toEqual(new Set([...MID, 'mid-4']));
    expect(new Set(ids.slice(5))).toEqual(new Set(LOW));
    // Within a level, messages that share a queue keep their order.
    for (const level of [[...MID, 'mid-4'], LOW]) {
      for (const q of [0, 1]) {
        const inQueue = rest.messages.filter((m) => level.includes(idOf(m)) && m.systemProperties!.queueId === q).map(idOf);
        expect(inQueue).toEqual(level.filter((id) => inQueue.includes(id)));
      }
    }
  });
});
