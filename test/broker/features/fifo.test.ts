/**
 * FIFO message groups (FIFO topics, message_group): per group, one message at a time in send
 * order — the next only after the previous is acked or dead-lettered; groups progress in
 * parallel; a nacked/expired head comes back before its successors; the held-back state
 * survives a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message__Output } from '../../../proto/gen/apache/rocketmq/v2/Message.js';
import { ack, attemptOf, changeInvisible, handleOf, idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, featureMessage, sleep } from '../../helpers/feature-harness.js';

const TOPIC = 'orders';

describe('features - FIFO message groups', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
    await fb.createTopic(TOPIC, 'FIFO', 2);
  });

  afterEach(async () => {
    await fb.dispose();
  });

  /** A1, B1, A2, B2, ... in one SendMessage. */
  async function sendGroups(groups: string[], perGroup: number): Promise<void> {
    const msgs = [];
    for (let i = 1; i <= perGroup; i++) for (const g of groups) msgs.push(featureMessage(TOPIC, `${g}${i}`, { group: g }));
    await fb.sendOk(msgs);
  }

  const ids = (ms: Message__Output[]) => ms.map(idOf).sort();

  it('fifo - a group is delivered one message at a time in send order; the next only after the previous is acked', async () => {
    await sendGroups(['A'], 4);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
      expect(r.messages, `step ${i}`).toHaveLength(1);
      expect(r.messages[0]!.systemProperties!.messageGroup).toBe('A');
      // While it is in flight, nothing else of the group comes.
      await fb.expectNothing({ topic: TOPIC, group: 'c', batchSize: 32 });
      order.push(idOf(r.messages[0]!));
      await fb.ackAll(TOPIC, 'c', r.messages);
    }
    expect(order).toEqual(['A1', 'A2', 'A3', 'A4']);
    await fb.expectNothing({ topic: TOPIC, group: 'c' });
  });

  it('fifo - a long poll parked behind an unacked head is woken by the ack', async () => {
    await sendGroups(['A'], 2);
    const head = await fb.receive({ topic: TOPIC, group: 'c' });
    expect(head.messages.map(idOf)).toEqual(['A1']);
    const parked = fb.receive({ topic: TOPIC, group: 'c', pollMs: 5000 });
    await sleep(200);
    const ackedAt = Date.now();
    await fb.ackAll(TOPIC, 'c', head.messages);
    const next = await parked;
    expect(next.messages.map(idOf)).toEqual(['A2']);
    expect(Date.now() - ackedAt).toBeLessThan(1500);
  });

  it('fifo - groups progress in parallel: one receive carries the head of every group', async () => {
    const groups = ['A', 'B', 'C', 'D', 'E'];
    await sendGroups(groups, 3);
    const first = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(ids(first.messages)).toEqual(['A1', 'B1', 'C1', 'D1', 'E1']);
    // Ack only B1 and D1: only B2 and D2 follow.
    await fb.ackAll(TOPIC, 'c', first.messages.filter((m) => ['B1', 'D1'].includes(idOf(m))));
    const second = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(ids(second.messages)).toEqual(['B2', 'D2']);
    // Everything else acked: the rest of the heads.
    await fb.ackAll(TOPIC, 'c', [...first.messages.filter((m) => !['B1', 'D1'].includes(idOf(m))), ...second.messages]);
    const third = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(ids(third.messages)).toEqual(['A2', 'B3', 'C2', 'D3', 'E2']);
  });

  it('fifo - concurrent receives never hold two messages of one group', async () => {
    await sendGroups(['A', 'B'], 5);
    const results = await Promise.all(Array.from({ length: 6 }, () => fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 })));
    const got = results.flatMap((r) => r.messages.map(idOf)).sort();
    expect(got).toEqual(['A1', 'B1']);
  });

  it('fifo - consumer groups are independent: each sees every group in order', async () => {
    await sendGroups(['A'], 2);
    const c1 = await fb.receive({ topic: TOPIC, group: 'c1' });
    const c2 = await fb.receive({ topic: TOPIC, group: 'c2' });
    expect(c1.messages.map(idOf)).toEqual(['A1']);
    expect(c2.messages.map(idOf)).toEqual(['A1']);
    await fb.ackAll(TOPIC, 'c2', c2.messages);
    expect((await fb.receive({ topic: TOPIC, group: 'c2' })).messages.map(idOf)).toEqual(['A2']);
    await fb.expectNothing({ topic: TOPIC, group: 'c1' });
  });

  it('fifo - a nacked head is redelivered (attempt 2) before the next message of its group', async () => {
    await sendGroups(['A', 'B'], 2);
    const first = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(ids(first.messages)).toEqual(['A1', 'B1']);
    const a1 = first.messages.find((m) => idOf(m) === 'A1')!;
    const nack = await changeInvisible(fb.b.mq, TOPIC, 'c', a1.systemProperties!.receiptHandle!, 0);
    expect(nack.status?.code).toBe('OK');
    const again = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(again.messages.map(idOf)).toEqual(['A1']);
    expect(attemptOf(again.messages[0]!)).toBe(2);
    await fb.ackAll(TOPIC, 'c', again.messages);
    expect((await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 })).messages.map(idOf)).toEqual(['A2']);
  });

  it('fifo - a head whose invisibility expires is redelivered before the next', async () => {
    await sendGroups(['A'], 3);
    const first = await fb.receive({ topic: TOPIC, group: 'c', invisibleMs: 200 });
    expect(first.messages.map(idOf)).toEqual(['A1']);
    const { msgs } = await fb.receiveUntil({ topic: TOPIC, group: 'c', invisibleMs: 5000, pollMs: 1000 }, 1, 1500);
    expect(msgs.map(idOf)).toEqual(['A1']);
    expect(attemptOf(msgs[0]!)).toBe(2);
    // The stale handle of the first delivery no longer acks.
    const stale = await ack(fb.b.mq, TOPIC, 'c', [{ receiptHandle: handleOf(first.messages[0]!) }]);
    expect(stale.entries[0]?.status?.code).toBe('INVALID_RECEIPT_HANDLE');
    await fb.ackAll(TOPIC, 'c', msgs);
    expect((await fb.receive({ topic: TOPIC, group: 'c' })).messages.map(idOf)).toEqual(['A2']);
  });

  it('fifo - dead-lettering the head after max delivery attempts releases the next message of its group', async () => {
    await fb.createGroup('c-max2', 2);
    await sendGroups(['A'], 3);
    const one = await fb.receive({ topic: TOPIC, group: 'c-max2', invisibleMs: 150 });
    expect(one.messages.map(idOf)).toEqual(['A1']);
    const { msgs: two } = await fb.receiveUntil({ topic: TOPIC, group: 'c-max2', invisibleMs: 150, pollMs: 1000 }, 1, 1500);
    expect(two.map(idOf)).toEqual(['A1']);
    expect(attemptOf(two[0]!)).toBe(2);
    // Its second invisibility ends: dead-lettered, and A2 is delivered instead.
    const { msgs: three } = await fb.receiveUntil({ topic: TOPIC, group: 'c-max2', invisibleMs: 5000, pollMs: 1000 }, 1, 1500);
    expect(three.map(idOf)).toEqual(['A2']);
    expect(attemptOf(three[0]!)).toBe(1);
    const dlq = await fb.receive({ topic: '%DLQ%c-max2', group: 'ops' });
    expect(dlq.messages.map(idOf)).toEqual(['A1']);
    expect(dlq.messages[0]!.userProperties['agentmq.dlq.attempts']).toBe('2');
  });

  it('fifo - ForwardMessageToDeadLetterQueue on the head releases the next message at once', async () => {
    await sendGroups(['A', 'B'], 2);
    const first = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    const a1 = first.messages.find((m) => idOf(m) === 'A1')!;
    expect((await fb.forwardToDlq(TOPIC, 'c', a1)).code).toBe('OK');
    const next = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(next.messages.map(idOf)).toEqual(['A2']);
    // B is still blocked by B1.
    await fb.ackAll(TOPIC, 'c', next.messages);
    await fb.expectNothing({ topic: TOPIC, group: 'c' });
  });

  it('fifo - held-back messages survive a restart and come in order after the head is acked', async () => {
    await sendGroups(['A', 'B'], 3);
    const first = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
    expect(ids(first.messages)).toEqual(['A1', 'B1']);
    // One more receive so A2.. and B2.. are scanned and held back ('waiting').
    await fb.expectNothing({ topic: TOPIC, group: 'c', batchSize: 32 });
    const a2 = await fb.getMessage('A2');
    expect(a2.message?.groups.find((g) => g.group === 'c')?.state).toBe('waiting');

    await fb.restart();
    // Still blocked behind the unacked heads.
    await fb.expectNothing({ topic: TOPIC, group: 'c', batchSize: 32 });
    // Receipt handles from before the restart still ack.
    await fb.ackAll(TOPIC, 'c', first.messages.filter((m) => idOf(m) === 'A1'));
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
      expect(r.messages.length, `step ${i}`).toBeLessThanOrEqual(1);
      if (r.messages.length === 0) break;
      order.push(idOf(r.messages[0]!));
      await fb.ackAll(TOPIC, 'c', r.messages);
      if (i === 0) await fb.restart();
    }
    expect(order).toEqual(['A2', 'A3']);
    await fb.ackAll(TOPIC, 'c', first.messages.filter((m) => idOf(m) === 'B1'));
    const rest: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32 });
      rest.push(...r.messages.map(idOf));
      await fb.ackAll(TOPIC, 'c', r.messages);
    }
    expect(rest).toEqual(['B2', 'B3']);
  });

  it('fifo - an in-flight head comes back after a restart (attempt 2) before its successors', async () => {
    await sendGroups(['A'], 2);
    const first = await fb.receive({ topic: TOPIC, group: 'c', invisibleMs: 400 });
    expect(first.messages.map(idOf)).toEqual(['A1']);
    await fb.expectNothing({ topic: TOPIC, group: 'c' });
    await fb.restart();
    const { msgs } = await fb.receiveUntil({ topic: TOPIC, group: 'c', pollMs: 1000 }, 1, 1500);
    expect(msgs.map(idOf)).toEqual(['A1']);
    expect(attemptOf(msgs[0]!)).toBe(2);
    await fb.ackAll(TOPIC, 'c', msgs);
    expect((await fb.receive({ topic: TOPIC, group: 'c' })).messages.map(idOf)).toEqual(['A2']);
  });

  it('fifo - a delayed FIFO message is delivered after its time, in group order', async () => {
    const due = Date.now() + 500;
    await fb.sendOk([featureMessage(TOPIC, 'A1', { group: 'A', deliverAt: due }), featureMessage(TOPIC, 'A2', { group: 'A', deliverAt: due + 100 })]);
    const e = await fb.sendOne(TOPIC, 'A3', { group: 'A', deliverAt: due + 100 });
    expect(e.offset).toBe(-1);
    await fb.expectNothing({ topic: TOPIC, group: 'c' });
    const { msgs, at } = await fb.receiveUntil({ topic: TOPIC, group: 'c', pollMs: 2000 }, 1, 2000);
    expect(msgs.map(idOf)).toEqual(['A1']);
    expect(at.get('A1')!).toBeGreaterThanOrEqual(due - 20);
    expect(msgs[0]!.systemProperties!.messageType).toBe('FIFO');
    expect(msgs[0]!.systemProperties!.messageGroup).toBe('A');
    await sleep(Math.max(0, due + 250 - Date.now()));
    // A2 is due but held behind A1.
    await fb.expectNothing({ topic: TOPIC, group: 'c' });
    await fb.ackAll(TOPIC, 'c', msgs);
    const order: string[] = [];
    for (let i = 0; i < 4 && order.length < 2; i++) {
      const r = await fb.receive({ topic: TOPIC, group: 'c', batchSize: 32, pollMs: 500 });
      expect(r.messages.length).toBeLessThanOrEqual(1);
      order.push(...r.messages.map(idOf));
      await fb.ackAll(TOPIC, 'c', r.messages);
    }
    expect(order).toEqual(['A2', 'A3']);
  });

  it('fifo - FIFO messages need a message group; DELAY type is refused on a FIFO topic; groups only on FIFO topics', async () => {
    expect((await fb.sendRejected(TOPIC, 'no-group', { type: 'FIFO' })).code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    expect((await fb.sendRejected(TOPIC, 'delay-type', { type: 'DELAY', group: 'A', deliverAt: Date.now() + 1000 })).code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    await fb.createTopic('plain', 'NORMAL', 1);
    expect((await fb.sendRejected('plain', 'grouped', { type: 'NORMAL', group: 'A' })).code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
  });
});
