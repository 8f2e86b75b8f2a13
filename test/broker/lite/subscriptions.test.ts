/** Lite topics on the wire: SyncLiteSubscription actions, validation, delivery order and gating. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureBroker, sleep } from '../../helpers/feature-harness.js';
import { send } from '../../helpers/broker-fixture.js';
import { bodyOf, liteMessage, liteOf, LiteWireClient, receiveUntil } from '../../helpers/lite-harness.js';

describe('lite topics - subscriptions and delivery', () => {
  const fb = new FeatureBroker();
  const P = 'replies';
  const client = (group = 'sup', name = 'c') => new LiteWireClient(fb.b.mq, P, group, name);
  const sendLite = async (lite: string, body: string) => {
    const res = await send(fb.b.mq, [liteMessage(P, lite, body)]);
    expect(res.status?.code, res.status?.message).toBe('OK');
  };

  beforeAll(async () => {
    await fb.start();
    await fb.createTopic(P, 'LITE' as never);
    await fb.createTopic('plain');
  });
  afterAll(() => fb.dispose());

  it('PARTIAL_ADD subscribes: only subscribed lite topics are delivered, in send order per lite topic', async () => {
    const c = client('g-order');
    expect((await c.sync('PARTIAL_ADD', ['o-1', 'o-2'])).code).toBe('OK');
    for (let i = 0; i < 5; i++) {
      await sendLite('o-1', `a${i}`);
      await sendLite('o-2', `b${i}`);
      await sendLite('o-3', `c${i}`);
    }
    const got = await receiveUntil(c, 10);
    expect(got.filter((m) => liteOf(m) === 'o-1').map(bodyOf)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(got.filter((m) => liteOf(m) === 'o-2').map(bodyOf)).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(got.every((m) => m.topic?.name === P && m.systemProperties?.messageType === 'LITE')).toBe(true);
    expect((await c.receive(200)).messages).toEqual([]);
  });

  it('one receive covers all the client\'s lite topics, and a lite topic is gated until its batch is acked', async () => {
    const c = client('g-gate');
    await c.sync('PARTIAL_ADD', ['g-1', 'g-2', 'g-3']);
    await sendLite('g-1', 'x1');
    await sendLite('g-2', 'y1');
    await sendLite('g-3', 'z1');
    const first = await c.receive(1000);
    expect(new Set(first.messages.map(liteOf))).toEqual(new Set(['g-1', 'g-2', 'g-3']));
    await sendLite('g-1', 'x2');
    // g-1 still has x1 in flight: x2 waits for its ack.
    expect((await c.receive(300)).messages).toEqual([]);
    const x1 = first.messages.find((m) => bodyOf(m) === 'x1')!;
    expect(await c.ack(x1)).toBe('OK');
    const next = await c.receive(1000);
    expect(next.messages.map(bodyOf)).toEqual(['x2']);
  });

  it('a parked receive is woken by an arrival on one of its lite topics, not by other lite topics', async () => {
    const a = client('g-wake', 'a');
    const b = client('g-wake2', 'b');
    await a.sync('PARTIAL_ADD', ['w-a']);
    await b.sync('PARTIAL_ADD', ['w-b']);
    const started = Date.now();
    const parkedA = a.receive(5000);
    const parkedB = b.receive(1500);
    await sleep(100);
    await sendLite('w-a', 'for-a');
    const ra = await parkedA;
    expect(ra.messages.map(bodyOf)).toEqual(['for-a']);
    expect(Date.now() - started).toBeLessThan(3000); // woken, not timed out
    const rb = await parkedB;
    expect(rb.code).toBe('MESSAGE_NOT_FOUND');
    expect(rb.messages).toEqual([]);
  });

  it('PARTIAL_REMOVE stops delivery; COMPLETE_ADD reconciles to the full set; COMPLETE_REMOVE drops everything', async () => {
    const c = client('g-sync');
    await c.sync('PARTIAL_ADD', ['s-1', 's-2']);
    expect((await c.sync('PARTIAL_REMOVE', ['s-1'])).code).toBe('OK');
    await sendLite('s-1', 'removed');
    await sendLite('s-2', 'kept');
    expect((await receiveUntil(c, 1, 2000)).map(bodyOf)).toEqual(['kept']);
    expect((await c.receive(200)).messages).toEqual([]);

    // Full set {s-3}: s-2 goes, s-3 comes (after the partial changes stop being recent, a full
    // sync is authoritative; here s-3 is new and s-2 was added >0 ms ago by PARTIAL_ADD, so wait).
    await sleep(10_100);
    expect((await c.sync('COMPLETE_ADD', ['s-3'])).code).toBe('OK');
    await sendLite('s-2', 'gone');
    await sendLite('s-3', 'new');
    expect((await receiveUntil(c, 1, 2000)).map(bodyOf)).toEqual(['new']);
    expect((await c.receive(200)).messages).toEqual([]);

    expect((await c.sync('COMPLETE_REMOVE', [])).code).toBe('OK');
    await sendLite('s-3', 'after-remove');
    expect((await c.receive(300)).messages).toEqual([]);
    expect(fb.b.broker.context.lite.interests.get(c.clientId, 'g-sync', P)).toBeUndefined();
  }, 30_000);

  it('a full sync issued before a partial add cannot undo it (startup race of the official client)', async () => {
    const c = client('g-race');
    await c.sync('PARTIAL_ADD', ['r-1']);
    await c.sync('COMPLETE_ADD', []); // stale full set, sent before the add
    await sendLite('r-1', 'still-mine');
    expect((await receiveUntil(c, 1, 2000)).map(bodyOf)).toEqual(['still-mine']);
  });

  it('a new subscriber catches up on messages already in the lite topic', async () => {
    await sendLite('early', 'before-subscribe');
    const c = client('g-early');
    await c.sync('PARTIAL_ADD', ['early']);
    expect((await receiveUntil(c, 1, 2000)).map(bodyOf)).toEqual(['before-subscribe']);
  });

  it('bad input gets specific codes and changes nothing', async () => {
    const c = client('g-bad');
    expect((await c.sync('PARTIAL_ADD', ['bad name!'])).code).toBe('ILLEGAL_LITE_TOPIC');
    expect((await c.sync('PARTIAL_ADD', ['x'.repeat(65)])).code).toBe('ILLEGAL_LITE_TOPIC');
    expect((await c.sync('PARTIAL_ADD', [])).code).toBe('BAD_REQUEST');
    const onPlain = new LiteWireClient(fb.b.mq, 'plain', 'g-bad');
    expect((await onPlain.sync('PARTIAL_ADD', ['a'])).code).toBe('BAD_REQUEST');
    const missing = new LiteWireClient(fb.b.mq, 'nope', 'g-bad');
    expect((await missing.sync('PARTIAL_ADD', ['a'])).code).toBe('TOPIC_NOT_FOUND');
    expect(fb.b.broker.context.lite.interests.get(c.clientId, 'g-bad', P)?.topics.size ?? 0).toBe(0);

    // Sends: a LITE topic needs lite_topic; lite_topic needs a LITE topic; names are checked.
    const noLite = await send(fb.b.mq, [{ topic: { name: P }, body: Buffer.from('x'), systemProperties: { messageId: 'no-lite-1', messageType: 'NORMAL' } }]);
    expect(noLite.entries[0]?.status?.code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    const wrongTopic = await send(fb.b.mq, [liteMessage('plain', 'a', 'x')]);
    expect(wrongTopic.entries[0]?.status?.code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    const badName = await send(fb.b.mq, [liteMessage(P, 'no/slash', 'x')]);
    expect(badName.entries[0]?.status?.code).toBe('ILLEGAL_LITE_TOPIC');
    const fifo = await send(fb.b.mq, [{ ...liteMessage(P, 'a', 'x'), systemProperties: { messageId: 'fifo-1', messageType: 'FIFO', liteTopic: 'a', messageGroup: 'g' } }]);
    expect(fifo.entries[0]?.status?.code).toBe('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');

    // Acks of lite messages must name the lite topic.
    const d = client('g-ack');
    await d.sync('PARTIAL_ADD', ['ack-1']);
    await sendLite('ack-1', 'x');
    const [m] = (await d.receive(1000)).messages;
    expect(await d.ack(m!, false)).toBe('BAD_REQUEST');
    expect(await d.ack(m!)).toBe('OK');
    expect(await d.ack(m!)).toBe('INVALID_RECEIPT_HANDLE');
  });

  it('a fully consumed lite topic keeps only its position (memory); later messages continue from it', async () => {
    const c = client('g-compact');
    await c.sync('PARTIAL_ADD', ['cmp-1']);
    await sendLite('cmp-1', 'one');
    await sendLite('cmp-1', 'two');
    expect((await receiveUntil(c, 2, 2000)).map(bodyOf)).toEqual(['one', 'two']);
    const consumers = (fb.b.broker.context.pop as unknown as { consumers: Map<string, unknown>; idleCursors: Map<string, number> });
    expect(consumers.consumers.has('replies$cmp-1\0g-compact')).toBe(false);
    expect(consumers.idleCursors.get('replies$cmp-1\0g-compact')).toBe(2);
    await sendLite('cmp-1', 'three');
    expect((await receiveUntil(c, 1, 2000)).map(bodyOf)).toEqual(['three']);
    expect((await c.receive(200)).messages).toEqual([]);
  });

  it('nack redelivers; suspend redelivers without counting an attempt', async () => {
    const c = client('g-nack');
    await c.sync('PARTIAL_ADD', ['n-1']);
    await sendLite('n-1', 'retry-me');
    const [m1] = (await c.receive(1000)).messages;
    expect(m1!.systemProperties?.deliveryAttempt).toBe(1);
    expect(await c.changeInvisible(m1!, 100, true)).toBe('OK');
    const [m2] = (await c.receive(3000)).messages;
    expect(bodyOf(m2!)).toBe('retry-me');
    expect(m2!.systemProperties?.deliveryAttempt).toBe(1); // suspended: not counted
    expect(await c.changeInvisible(m2!, 100, false)).toBe('OK');
    const [m3] = (await c.receive(3000)).messages;
    expect(m3!.systemProperties?.deliveryAttempt).toBe(2);
    expect(await c.ack(m3!)).toBe('OK');
  });
});
