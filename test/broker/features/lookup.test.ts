/**
 * Lookup (admin GetMessage / FindMessages): a message by id with its metadata and where it stands
 * for every consumer group (pending -> inflight with attempt -> acked), by key oldest first; the
 * indexes survive a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, featureMessage, sleep } from '../../helpers/feature-harness.js';
import { call } from '../../helpers/wire.js';
import { RocksDb } from '../../../broker/store/rocks.js';
import { encodeLocation, messageIdKey } from '../../../broker/store/keys.js';

describe('features - message lookup', () => {
  let fb: FeatureBroker;

  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });

  afterEach(async () => {
    await fb.dispose();
  });

  const stateOf = async (id: string, group: string) => (await fb.getMessage(id)).message?.groups.find((g) => g.group === group);

  it('lookup - GetMessage returns topic, queue, offset, tag, keys, properties and timestamps; the body only with include_body', async () => {
    await fb.createTopic('l-get', 'NORMAL', 1);
    const before = Date.now();
    await fb.sendOne('l-get', 'first');
    const e = await fb.sendOne('l-get', 'look-me-up', { tag: 'invoice', keys: ['cust-1', 'inv-9'], props: { region: 'eu', agent: 'a1' }, body: 'payload bytes' });
    const meta = await fb.getMessage('look-me-up');
    expect(meta.code).toBe('OK');
    const m = meta.message!;
    expect(m.messageId).toBe('look-me-up');
    expect(m.topic).toBe('l-get');
    expect(m.queueId).toBe(0);
    expect(m.offset).toBe(e.offset);
    expect(m.offset).toBe(1);
    expect(m.tag).toBe('invoice');
    expect(m.keys).toEqual(['cust-1', 'inv-9']);
    expect(m.properties).toEqual({ region: 'eu', agent: 'a1' });
    expect(m.messageType).toBe('NORMAL');
    expect(m.state).toBe('stored');
    expect(m.storeTimestampMs).toBeGreaterThanOrEqual(before);
    expect(m.storeTimestampMs).toBeLessThanOrEqual(Date.now());
    expect(m.expireAtMs).toBe(0);
    expect(m.bodySize).toBe('payload bytes'.length);
    expect(m.body.length).toBe(0);
    expect(m.groups).toEqual([]);
    const withBody = await fb.getMessage('look-me-up', true);
    expect(withBody.message?.body.toString()).toBe('payload bytes');
  });

  it('lookup - per-group states: pending -> inflight (attempt, visible-at) -> acked, independently per group', async () => {
    await fb.createTopic('l-state', 'NORMAL', 1);
    await fb.sendOne('l-state', 's1');
    await fb.sendOne('l-state', 's2');
    // Groups become known to the topic by receiving: g takes s1 only.
    const r1 = await fb.receive({ topic: 'l-state', group: 'g', batchSize: 1, invisibleMs: 2000 });
    expect(r1.messages.map(idOf)).toEqual(['s1']);
    const afterReceive = Date.now();
    const s1 = await stateOf('s1', 'g');
    expect(s1?.state).toBe('inflight');
    expect(s1?.deliveryAttempt).toBe(1);
    expect(s1?.visibleAtMs).toBeGreaterThan(afterReceive + 1000);
    expect(s1?.visibleAtMs).toBeLessThanOrEqual(afterReceive + 2000);
    expect((await stateOf('s2', 'g'))?.state).toBe('pending');

    // A nack and a redelivery: attempt 2.
    const r2 = await fb.receive({ topic: 'l-state', group: 'h', batchSize: 32, invisibleMs: 100 });
    expect(r2.messages.map(idOf)).toEqual(['s1', 's2']);
    await sleep(150);
    const r3 = await fb.receive({ topic: 'l-state', group: 'h', batchSize: 1, invisibleMs: 5000 });
    expect(r3.messages).toHaveLength(1);
    expect((await stateOf(idOf(r3.messages[0]!), 'h'))?.deliveryAttempt).toBe(2);

    await fb.ackAll('l-state', 'g', r1.messages);
    expect((await stateOf('s1', 'g'))?.state).toBe('acked');
    expect((await stateOf('s1', 'g'))?.deliveryAttempt).toBe(0);
    // Group h is unaffected by g's ack.
    expect((await stateOf('s1', 'h'))?.state).toBe('inflight');
    const groups = (await fb.getMessage('s1')).message!.groups.map((g) => g.group).sort();
    expect(groups).toEqual(['g', 'h']);
  });

  it('lookup - FindMessages by key returns every message with that key, oldest first, across queues; limit bounds it', async () => {
    await fb.createTopic('l-find', 'NORMAL', 4);
    const want: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `order-step-${i}`;
      want.push(id);
      await fb.sendOne('l-find', id, { keys: ['order-77'] });
      await fb.sendOne('l-find', `noise-${i}`, { keys: ['order-78'] });
      await sleep(2);
    }
    // One batch: several queues, one store time.
    await fb.sendOk([featureMessage('l-find', 'order-step-7', { keys: ['order-77', 'other'] }), featureMessage('l-find', 'order-step-8', { keys: ['order-77'] })]);
    want.push('order-step-7', 'order-step-8');

    const found = await fb.findMessages('l-find', 'order-77');
    expect(found.map((m) => m.messageId)).toEqual(want);
    expect(new Set(found.map((m) => m.queueId)).size).toBeGreaterThan(1);
    expect(found.every((m) => m.keys.includes('order-77') && m.topic === 'l-find')).toBe(true);
    expect(found.every((m) => m.body.length === 0)).toBe(true);
    expect((await fb.findMessages('l-find', 'order-77', 3)).map((m) => m.messageId)).toEqual(want.slice(0, 3));
    expect((await fb.findMessages('l-find', 'other', 0, true)).map((m) => [m.messageId, m.body.toString()])).toEqual([['order-step-7', 'body-order-step-7']]);
    expect(await fb.findMessages('l-find', 'nobody')).toEqual([]);
  });

  it('lookup - unknown id is MESSAGE_NOT_FOUND; FindMessages on an unknown topic is TOPIC_NOT_FOUND; an empty key is refused', async () => {
    await fb.createTopic('l-none', 'NORMAL', 1);
    expect((await fb.getMessage('no-such-id')).code).toBe('MESSAGE_NOT_FOUND');
    expect((await fb.getMessage('')).code).toBe('ILLEGAL_MESSAGE_ID');
    const unknown = await call(fb.b.admin, fb.b.admin.FindMessages, { topic: 'nope', key: 'k', limit: 0, includeBody: false });
    expect(unknown.status?.code).toBe('TOPIC_NOT_FOUND');
    const empty = await call(fb.b.admin, fb.b.admin.FindMessages, { topic: 'l-none', key: '', limit: 0, includeBody: false });
    expect(empty.status?.code).toBe('ILLEGAL_MESSAGE_KEY');
  });

  it('lookup - an id index entry left by a crash, pointing at an offset another message took, is MESSAGE_NOT_FOUND (never the other message)', async () => {
    await fb.createTopic('l-stale', 'NORMAL', 1);
    await fb.sendOne('l-stale', 'real-0');
    await fb.stop();
    // What a crash can leave: the index queue committed 'ghost' -> (l-stale, 0, 0), its message batch did not.
    const db = new RocksDb(fb.dataDir);
    await db.open();
    await db.batch([{ type: 'put', key: messageIdKey('ghost'), value: encodeLocation('l-stale', 0, 0) }], true);
    await db.close();
    await fb.start();
    expect((await fb.getMessage('ghost')).code).toBe('MESSAGE_NOT_FOUND');
    const real = await fb.getMessage('real-0');
    expect(real.code).toBe('OK');
    expect(real.message?.offset).toBe(0);
  });

  it('lookup - a restart keeps the id and key indexes and the group states', async () => {
    await fb.createTopic('l-restart', 'NORMAL', 2);
    for (let i = 0; i < 4; i++) {
      await fb.sendOne('l-restart', `r-${i}`, { keys: ['batch-1'], tag: 'T' });
      await sleep(2);
    }
    const r = await fb.receive({ topic: 'l-restart', group: 'g', batchSize: 2, invisibleMs: 30_000 });
    expect(r.messages).toHaveLength(2);
    await fb.ackAll('l-restart', 'g', r.messages.slice(0, 1));
    const acked = idOf(r.messages[0]!);
    const inflight = idOf(r.messages[1]!);

    await fb.restart();
    const m = await fb.getMessage('r-2', true);
    expect(m.code).toBe('OK');
    expect(m.message?.tag).toBe('T');
    expect(m.message?.body.toString()).toBe('body-r-2');
    expect((await stateOf(acked, 'g'))?.state).toBe('acked');
    expect((await stateOf(inflight, 'g'))?.state).toBe('inflight');
    expect((await stateOf(inflight, 'g'))?.deliveryAttempt).toBe(1);
    const pendingIds = ['r-0', 'r-1', 'r-2', 'r-3'].filter((id) => id !== acked && id !== inflight);
    for (const id of pendingIds) expect((await stateOf(id, 'g'))?.state, id).toBe('pending');
    expect((await fb.findMessages('l-restart', 'batch-1')).map((x) => x.messageId)).toEqual(['r-0', 'r-1', 'r-2', 'r-3']);
    expect((await fb.getMessage('never-sent')).code).toBe('MESSAGE_NOT_FOUND');
  });
});
