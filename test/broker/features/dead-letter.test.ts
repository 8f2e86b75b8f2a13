/**
 * Retries and dead letters: after a group's max_delivery_attempts a message that is never acked
 * moves to %DLQ%<group> (same id, agentmq.dlq.* properties); the dead-letter topic is consumable
 * like any topic; RedriveDeadLetters moves letters back where they came from;
 * ForwardMessageToDeadLetterQueue moves one at once. All of it holds across a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message__Output } from '../../../proto/gen/apache/rocketmq/v2/Message.js';
import { ack, attemptOf, handleOf, idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, propsOf } from '../../helpers/feature-harness.js';
import { call } from '../../helpers/wire.js';

const TOPIC = 'tasks';
const GROUP = 'workers';
const DLQ = `%DLQ%${GROUP}`;

describe('features - retries and dead letters', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
    await fb.createTopic(TOPIC, 'NORMAL', 2);
    await fb.createGroup(GROUP, 2);
  });

  afterEach(async () => {
    await fb.dispose();
  });

  /** Receives `id` on GROUP with 150 ms invisibility and never acks it, `times` times. */
  async function deliverWithoutAck(id: string, times: number): Promise<Message__Output[]> {
    const got: Message__Output[] = [];
    for (let i = 1; i <= times; i++) {
      const { msgs } = await fb.receiveUntil({ topic: TOPIC, group: GROUP, invisibleMs: 150, pollMs: 1000 }, 1, 1500);
      expect(msgs.map(idOf), `delivery ${i}`).toEqual([id]);
      expect(attemptOf(msgs[0]!)).toBe(i);
      got.push(msgs[0]!);
    }
    return got;
  }

  function expectDeadLetter(m: Message__Output, id: string, attempts: string, reason: RegExp): void {
    expect(idOf(m)).toBe(id);
    const p = propsOf(m);
    expect(p['agentmq.dlq.origin-topic']).toBe(TOPIC);
    expect(p['agentmq.dlq.attempts']).toBe(attempts);
    expect(p['agentmq.dlq.reason']).toMatch(reason);
    expect(Number.isNaN(Date.parse(p['agentmq.dlq.time'] ?? ''))).toBe(false);
  }

  it('dead letters - a message never acked goes to %DLQ%<group> after its 2nd delivery expires, with its id, body, tag, keys and properties', async () => {
    await fb.sendOne(TOPIC, 'poison', { tag: 'T', keys: ['job-1'], props: { owner: 'agent-7' }, body: 'explode' });
    await fb.sendOne(TOPIC, 'healthy');
    const first = await fb.receive({ topic: TOPIC, group: GROUP, batchSize: 32, invisibleMs: 150 });
    expect(first.messages.map(idOf).sort()).toEqual(['healthy', 'poison']);
    await fb.ackAll(TOPIC, GROUP, first.messages.filter((m) => idOf(m) === 'healthy'));
    const { msgs: second } = await fb.receiveUntil({ topic: TOPIC, group: GROUP, invisibleMs: 150, pollMs: 1000 }, 1, 1500);
    expect(second.map(idOf)).toEqual(['poison']);
    expect(attemptOf(second[0]!)).toBe(2);
    expect(await fb.messageCount(DLQ)).toBeUndefined();

    // A consumer keeps polling; when the 2nd invisibility ends the message is dead-lettered instead of redelivered.
    await fb.expectNothing({ topic: TOPIC, group: GROUP, pollMs: 600 });
    expect(await fb.messageCount(DLQ)).toBe(1);
    // The old handle is dead.
    const stale = await ack(fb.b.mq, TOPIC, GROUP, [{ receiptHandle: handleOf(second[0]!) }]);
    expect(stale.entries[0]?.status?.code).toBe('INVALID_RECEIPT_HANDLE');

    // The dead-letter topic is consumed by another group like any topic.
    const dl = await fb.receive({ topic: DLQ, group: 'ops' });
    expect(dl.messages).toHaveLength(1);
    const m = dl.messages[0]!;
    expectDeadLetter(m, 'poison', '2', /not acknowledged after 2 deliveries/);
    expect(m.body.toString()).toBe('explode');
    expect(m.systemProperties!.tag).toBe('T');
    expect(m.systemProperties!.keys).toEqual(['job-1']);
    expect(propsOf(m)['owner']).toBe('agent-7');
    expect(attemptOf(m)).toBe(1);
    await fb.ackAll(DLQ, 'ops', dl.messages);

    // Lookup follows the newest copy.
    const info = await fb.getMessage('poison');
    expect(info.message?.topic).toBe(DLQ);
    expect(info.message?.groups.find((g) => g.group === 'ops')?.state).toBe('acked');
    // The origin group is done with it.
    await fb.expectNothing({ topic: TOPIC, group: GROUP, pollMs: 300 });
  });

  it('dead letters - the default max attempts is 16 (a group created on first use keeps redelivering)', async () => {
    await fb.sendOne(TOPIC, 'retry-me');
    for (let i = 1; i <= 3; i++) {
      const { msgs } = await fb.receiveUntil({ topic: TOPIC, group: 'auto', invisibleMs: 100, pollMs: 1000 }, 1, 1500);
      expect(attemptOf(msgs[0]!)).toBe(i);
    }
    const groups = await call(fb.b.admin, fb.b.admin.ListGroups, {});
    expect(groups.groups.find((g) => g.name === 'auto')?.maxDeliveryAttempts).toBe(16);
    expect(await fb.messageCount('%DLQ%auto')).toBeUndefined();
  });

  it('dead letters - RedriveDeadLetters moves the message back to its origin topic, where it is delivered again with attempt 1', async () => {
    await fb.sendOne(TOPIC, 'flaky', { props: { k: 'v' } });
    await deliverWithoutAck('flaky', 2);
    await fb.expectNothing({ topic: TOPIC, group: GROUP, pollMs: 600 });
    expect(await fb.messageCount(DLQ)).toBe(1);

    const res = await fb.redrive(GROUP);
    expect(res).toEqual({ code: 'OK', redriven: 1, skipped: 0 });
    const { msgs } = await fb.receiveUntil({ topic: TOPIC, group: GROUP, pollMs: 1000 }, 1, 1500);
    expect(msgs.map(idOf)).toEqual(['flaky']);
    expect(attemptOf(msgs[0]!)).toBe(1);
    expect(propsOf(msgs[0]!)).toEqual({ k: 'v' });
    expect((await fb.getMessage('flaky')).message?.topic).toBe(TOPIC);
    await fb.ackAll(TOPIC, GROUP, msgs);
    // Nothing left to re-drive; the re-driven letter is not re-driven twice.
    expect(await fb.redrive(GROUP)).toEqual({ code: 'OK', redriven: 0, skipped: 0 });
    await fb.expectNothing({ topic: TOPIC, group: GROUP, pollMs: 200 });
  });

  it('dead letters - a re-driven message reaches only the group that dead-lettered it, not other groups of the topic', async () => {
    await fb.sendOne(TOPIC, 'shared');
    const other = await fb.receive({ topic: TOPIC, group: 'auditors' });
    expect(other.messages.map(idOf)).toEqual(['shared']);
    await fb.ackAll(TOPIC, 'auditors', other.messages);
    const mine = await fb.receive({ topic: TOPIC, group: GROUP });
    expect((await fb.forwardToDlq(TOPIC, GROUP, mine.messages[0]!)).code).toBe('OK');
    expect((await fb.redrive(GROUP)).redriven).toBe(1);

    const again = await fb.receive({ topic: TOPIC, group: GROUP, pollMs: 500 });
    expect(again.messages.map(idOf)).toEqual(['shared']);
    // 'auditors' already processed it: a re-drive for 'workers' must not deliver it to them twice.
    await fb.expectNothing({ topic: TOPIC, group: 'auditors', pollMs: 200 });
  });

  it('dead letters - a re-driven message that fails again is dead-lettered again and readable by any group of the dead-letter topic', async () => {
    await fb.sendOne(TOPIC, 'twice');
    const r1 = await fb.receive({ topic: TOPIC, group: GROUP });
    expect((await fb.forwardToDlq(TOPIC, GROUP, r1.messages[0]!)).code).toBe('OK');
    const d1 = await fb.receive({ topic: DLQ, group: 'ops' });
    expect(d1.messages.map(idOf)).toEqual(['twice']);
    await fb.ackAll(DLQ, 'ops', d1.messages);
    expect((await fb.redrive(GROUP)).redriven).toBe(1);

    const r2 = await fb.receive({ topic: TOPIC, group: GROUP, pollMs: 500 });
    expect(r2.messages.map(idOf)).toEqual(['twice']);
    expect((await fb.forwardToDlq(TOPIC, GROUP, r2.messages[0]!)).code).toBe('OK');
    const d2 = await fb.receive({ topic: DLQ, group: 'ops', pollMs: 500 });
    expect(d2.messages.map(idOf)).toEqual(['twice']);
    expectDeadLetter(d2.messages[0]!, 'twice', '1', /forwarded/);
    expect(await fb.redrive(GROUP)).toEqual({ code: 'OK', redriven: 1, skipped: 0 });
    expect((await fb.receive({ topic: TOPIC, group: GROUP, pollMs: 500 })).messages.map(idOf)).toEqual(['twice']);
  });

  it('dead letters - RedriveDeadLetters honours max_messages, and refuses unknown groups', async () => {
    for (const id of ['l1', 'l2', 'l3']) await fb.sendOne(TOPIC, id);
    const r = await fb.receive({ topic: TOPIC, group: GROUP, batchSize: 32 });
    for (const m of r.messages) expect((await fb.forwardToDlq(TOPIC, GROUP, m)).code).toBe('OK');
    expect(await fb.messageCount(DLQ)).toBe(3);
    expect(await fb.redrive(GROUP, 2)).toEqual({ code: 'OK', redriven: 2, skipped: 0 });
    expect(await fb.redrive(GROUP, 0)).toEqual({ code: 'OK', redriven: 1, skipped: 0 });
    const back = await fb.receiveUntil({ topic: TOPIC, group: GROUP, batchSize: 32, pollMs: 500 }, 3, 1500);
    expect(back.msgs.map(idOf).sort()).toEqual(['l1', 'l2', 'l3']);
    expect((await fb.redrive('nobody')).code).toBe('CONSUMER_GROUP_NOT_FOUND');
  });

  it('dead letters - ForwardMessageToDeadLetterQueue moves a delivery at once', async () => {
    await fb.sendOne(TOPIC, 'bad-input');
    const r = await fb.receive({ topic: TOPIC, group: GROUP });
    const m = r.messages[0]!;
    const res = await fb.forwardToDlq(TOPIC, GROUP, m);
    expect(res.code, res.message).toBe('OK');
    const dl = await fb.receive({ topic: DLQ, group: 'ops' });
    expect(dl.messages).toHaveLength(1);
    expectDeadLetter(dl.messages[0]!, 'bad-input', '1', /forwarded by the client/);
    // Gone from the group: no redelivery, the handle is stale, forwarding twice fails.
    const stale = await ack(fb.b.mq, TOPIC, GROUP, [{ receiptHandle: handleOf(m) }]);
    expect(stale.entries[0]?.status?.code).toBe('INVALID_RECEIPT_HANDLE');
    expect((await fb.forwardToDlq(TOPIC, GROUP, m)).code).toBe('INVALID_RECEIPT_HANDLE');
    await fb.expectNothing({ topic: TOPIC, group: GROUP, pollMs: 200 });
    expect(await fb.messageCount(DLQ)).toBe(1);
  });

  it('dead letters - dead-letter topics are per group: another group of the topic keeps its own copy', async () => {
    await fb.sendOne(TOPIC, 'split');
    const w = await fb.receive({ topic: TOPIC, group: GROUP });
    expect((await fb.forwardToDlq(TOPIC, GROUP, w.messages[0]!)).code).toBe('OK');
    const o = await fb.receive({ topic: TOPIC, group: 'others' });
    expect(o.messages.map(idOf)).toEqual(['split']);
    expect(await fb.messageCount('%DLQ%others')).toBeUndefined();
  });

  it('dead letters - attempts survive a restart: a message delivered once before it is dead-lettered after one more delivery after it', async () => {
    await fb.sendOne(TOPIC, 'across');
    await deliverWithoutAck('across', 1);
    await fb.restart();
    const { msgs } = await fb.receiveUntil({ topic: TOPIC, group: GROUP, invisibleMs: 150, pollMs: 1000 }, 1, 1500);
    expect(msgs.map(idOf)).toEqual(['across']);
    expect(attemptOf(msgs[0]!)).toBe(2);
    await fb.restart();
    await fb.expectNothing({ topic: TOPIC, group: GROUP, pollMs: 500 });
    expect(await fb.messageCount(DLQ)).toBe(1);
    const dl = await fb.receive({ topic: DLQ, group: 'ops' });
    expectDeadLetter(dl.messages[0]!, 'across', '2', /not acknowledged/);
  });

  it('dead letters - the dead-letter topic and its letters survive a restart and can be re-driven after it', async () => {
    await fb.sendOne(TOPIC, 'kept');
    const r = await fb.receive({ topic: TOPIC, group: GROUP });
    expect((await fb.forwardToDlq(TOPIC, GROUP, r.messages[0]!)).code).toBe('OK');
    await fb.restart();
    expect(await fb.messageCount(DLQ)).toBe(1);
    expect((await fb.getMessage('kept')).message?.topic).toBe(DLQ);
    expect(await fb.redrive(GROUP)).toEqual({ code: 'OK', redriven: 1, skipped: 0 });
    await fb.restart();
    const back = await fb.receive({ topic: TOPIC, group: GROUP });
    expect(back.messages.map(idOf)).toEqual(['kept']);
    expect(attemptOf(back.messages[0]!)).toBe(1);
    expect(await fb.redrive(GROUP)).toEqual({ code: 'OK', redriven: 0, skipped: 0 });
  });
});
