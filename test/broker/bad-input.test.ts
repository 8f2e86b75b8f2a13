/**
 * Bad input at the broker's gRPC edge: every malformed or illegal request is answered with the
 * exact RocketMQ status code (and a message naming the problem), never stored, never a crash.
 * The last test proves the broker still works and stored exactly the valid messages.
 *
 * One broker for the whole file (tests run in order): maxBodySize 1024, autoCreateGroups off.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryCommand__Output } from '../../proto/gen/apache/rocketmq/v2/TelemetryCommand.js';
import { call, receiveAll, wireMetadata } from '../helpers/wire.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import {
  ack,
  changeInvisible,
  handleOf,
  idOf,
  ms,
  receive,
  receiveRequest,
  send,
  startBroker,
  wireMessage,
  type RunningBroker,
} from '../helpers/broker-fixture.js';

const TOPIC = 'bi';
const FIFO_TOPIC = 'bi-fifo';
const HANDLES_TOPIC = 'bi-handles';
const GROUP = 'g-ok';
const OTHER_GROUP = 'g-other';
const MAX_BODY = 1024;

type StatusLike = { code?: string | null; message?: string | null } | null | undefined;

/** Asserts the exact code and that the message mentions every `words` (case-insensitive). */
function expectStatus(status: StatusLike, code: string, ...words: string[]): void {
  expect(status?.code, `status ${JSON.stringify(status)}`).toBe(code);
  for (const w of words) expect(status?.message?.toLowerCase() ?? '', `message of ${code}`).toContain(w.toLowerCase());
}

describe('broker - bad input', () => {
  let dir: ReturnType<typeof tmpDir>;
  let b: RunningBroker;
  /** Ids of the messages of TOPIC that were legitimately stored (must be all the store has). */
  const storedIds: string[] = [];
  let seq = 0;
  const nextId = (prefix = 'm') => `${prefix}-${++seq}`;

  beforeAll(async () => {
    dir = tmpDir();
    b = await startBroker(dir.path, { maxBodySize: MAX_BODY, autoCreateGroups: false });
    for (const t of [
      { name: TOPIC, queueCount: 2 },
      { name: FIFO_TOPIC, queueCount: 2, messageType: 'FIFO' as const },
      { name: HANDLES_TOPIC, queueCount: 1 },
    ]) {
      expectStatus((await call(b.admin, b.admin.CreateTopic, { topic: t })).status, 'OK');
    }
    for (const g of [GROUP, OTHER_GROUP]) expectStatus((await call(b.admin, b.admin.CreateGroup, { group: { name: g } })).status, 'OK');
  });

  afterAll(async () => {
    await b?.close();
    dir?.cleanup();
  });

  /** Sends one message to HANDLES_TOPIC and receives it: a genuine receipt handle. */
  async function genuineHandle(group = GROUP): Promise<{ id: string; handle: string }> {
    const id = nextId('h');
    expectStatus((await send(b.mq, [wireMessage(HANDLES_TOPIC, id)])).status, 'OK');
    const r = await receive(b.mq, { topic: HANDLES_TOPIC, group, batchSize: 1, invisibleMs: 30_000, pollMs: 2000 });
    expect(r.code).toBe('OK');
    expect(r.messages.map(idOf)).toEqual([id]);
    return { id, handle: handleOf(r.messages[0]!) };
  }

  // --- client id --------------------------------------------------------------------------------

  it('broker - SendMessage without x-mq-client-id is CLIENT_ID_REQUIRED', async () => {
    const res = await send(b.mq, [wireMessage(TOPIC, nextId('noclient'))], wireMetadata(null));
    expectStatus(res.status, 'CLIENT_ID_REQUIRED', 'x-mq-client-id');
  });

  it('broker - SendMessage with a blank x-mq-client-id is CLIENT_ID_REQUIRED', async () => {
    const res = await send(b.mq, [wireMessage(TOPIC, nextId('noclient'))], wireMetadata('   '));
    expectStatus(res.status, 'CLIENT_ID_REQUIRED', 'x-mq-client-id');
  });

  it('broker - ReceiveMessage without x-mq-client-id is CLIENT_ID_REQUIRED', async () => {
    const r = await receive(b.mq, { topic: TOPIC, group: GROUP, md: wireMetadata(null) });
    expectStatus(r, 'CLIENT_ID_REQUIRED', 'x-mq-client-id');
    expect(r.messages).toEqual([]);
  });

  it('broker - AckMessage without x-mq-client-id is CLIENT_ID_REQUIRED', async () => {
    const res = await ack(b.mq, TOPIC, GROUP, [{ receiptHandle: 'whatever' }], wireMetadata(null));
    expectStatus(res.status, 'CLIENT_ID_REQUIRED', 'x-mq-client-id');
  });

  it('broker - ChangeInvisibleDuration without x-mq-client-id is CLIENT_ID_REQUIRED', async () => {
    const res = await call(
      b.mq,
      b.mq.ChangeInvisibleDuration,
      { topic: { name: TOPIC }, group: { name: GROUP }, receiptHandle: 'whatever', invisibleDuration: ms(5000) },
      wireMetadata(null),
    );
    expectStatus(res.status, 'CLIENT_ID_REQUIRED', 'x-mq-client-id');
  });

  it('broker - Telemetry without x-mq-client-id answers CLIENT_ID_REQUIRED and closes', async () => {
    const stream = b.mq.Telemetry(wireMetadata(null), { deadline: Date.now() + 5000 });
    const frames = await new Promise<TelemetryCommand__Output[]>((resolve, reject) => {
      const got: TelemetryCommand__Output[] = [];
      stream.on('data', (f: TelemetryCommand__Output) => got.push(f));
      stream.on('end', () => resolve(got));
      stream.on('error', reject);
      stream.write({ settings: { clientType: 'PRODUCER', publishing: { topics: [{ name: TOPIC }] } } });
    });
    stream.end();
    expect(frames).toHaveLength(1);
    expectStatus(frames[0]!.status, 'CLIENT_ID_REQUIRED', 'x-mq-client-id');
    expect(frames[0]!.settings ?? null).toBeNull();
  });

  // --- names ------------------------------------------------------------------------------------

  it('broker - illegal topic names on send are ILLEGAL_TOPIC', async () => {
    for (const name of ['bad topic!', 'x'.repeat(200), '', 'a/b', 'ü']) {
      const res = await send(b.mq, [wireMessage(name, nextId('badtopic'))]);
      expectStatus(res.status, 'ILLEGAL_TOPIC', 'message.topic');
      expect(res.entries).toHaveLength(1);
      expectStatus(res.entries[0]!.status, 'ILLEGAL_TOPIC', 'message.topic');
    }
    // A 127-character name is legal (and unknown here).
    expectStatus((await send(b.mq, [wireMessage('x'.repeat(127), nextId())])).status, 'TOPIC_NOT_FOUND');
  });

  it('broker - illegal topic names on receive, ack, change invisibility and route are ILLEGAL_TOPIC', async () => {
    for (const name of ['bad topic!', 'x'.repeat(200)]) {
      expectStatus(await receive(b.mq, { topic: name, group: GROUP }), 'ILLEGAL_TOPIC', 'message_queue.topic');
      expectStatus((await ack(b.mq, name, GROUP, [{ receiptHandle: 'x' }])).status, 'ILLEGAL_TOPIC', 'topic');
      expectStatus((await changeInvisible(b.mq, name, GROUP, 'x', 5000)).status, 'ILLEGAL_TOPIC', 'topic');
      expectStatus((await call(b.mq, b.mq.QueryRoute, { topic: { name } })).status, 'ILLEGAL_TOPIC', 'topic');
    }
  });

  it('broker - illegal consumer group names are ILLEGAL_CONSUMER_GROUP', async () => {
    for (const group of ['bad group!', 'g'.repeat(200), '']) {
      expectStatus(await receive(b.mq, { topic: TOPIC, group }), 'ILLEGAL_CONSUMER_GROUP', 'group');
      expectStatus((await ack(b.mq, TOPIC, group, [{ receiptHandle: 'x' }])).status, 'ILLEGAL_CONSUMER_GROUP', 'group');
      expectStatus((await changeInvisible(b.mq, TOPIC, group, 'x', 5000)).status, 'ILLEGAL_CONSUMER_GROUP', 'group');
      expectStatus((await call(b.admin, b.admin.CreateGroup, { group: { name: group } })).status, 'ILLEGAL_CONSUMER_GROUP', 'group name');
    }
  });

  // --- message fields ---------------------------------------------------------------------------

  it('broker - illegal tags are ILLEGAL_MESSAGE_TAG', async () => {
    for (const [tag, why] of [['a|b', "'|'"], ['', 'blank'], ['   ', 'blank'], ['t'.repeat(129), '128'], ['a\nb', 'control']] as const) {
      const res = await send(b.mq, [wireMessage(TOPIC, nextId('badtag'), 'x', { tag })]);
      expectStatus(res.status, 'ILLEGAL_MESSAGE_TAG', 'tag', why);
    }
  });

  it('broker - blank or oversized keys are ILLEGAL_MESSAGE_KEY', async () => {
    for (const keys of [[''], ['ok', '   '], ['k'.repeat(1025)]]) {
      const res = await send(b.mq, [wireMessage(TOPIC, nextId('badkey'), 'x', { keys })]);
      expectStatus(res.status, 'ILLEGAL_MESSAGE_KEY', 'keys');
    }
  });

  it('broker - a missing, blank or oversized message id is ILLEGAL_MESSAGE_ID', async () => {
    for (const messageId of ['', '   ', 'i'.repeat(129)]) {
      const res = await send(b.mq, [wireMessage(TOPIC, messageId)]);
      expectStatus(res.status, 'ILLEGAL_MESSAGE_ID', 'message_id');
    }
    // No system properties at all: the whole block (message id included) is missing.
    const res = await send(b.mq, [{ topic: { name: TOPIC }, body: Buffer.from('x') }]);
    expectStatus(res.status, 'BAD_REQUEST', 'system_properties');
  });

  it('broker - an empty body is MESSAGE_BODY_EMPTY', async () => {
    const res = await send(b.mq, [wireMessage(TOPIC, nextId('empty'), Buffer.alloc(0))]);
    expectStatus(res.status, 'MESSAGE_BODY_EMPTY', 'body');
  });

  it('broker - a body over max_body_size is MESSAGE_BODY_TOO_LARGE', async () => {
    const res = await send(b.mq, [wireMessage(TOPIC, nextId('big'), Buffer.alloc(MAX_BODY + 1, 0x61))]);
    expectStatus(res.status, 'MESSAGE_BODY_TOO_LARGE', 'body', String(MAX_BODY + 1), String(MAX_BODY), 'max_body_size');
    const huge = await send(b.mq, [wireMessage(TOPIC, nextId('big'), Buffer.alloc(256 * 1024, 0x61))]);
    expectStatus(huge.status, 'MESSAGE_BODY_TOO_LARGE', 'body');
  });

  // --- unknown resources ------------------------------------------------------------------------

  it('broker - an unknown topic is TOPIC_NOT_FOUND on send, receive, ack and change invisibility', async () => {
    expectStatus((await send(b.mq, [wireMessage('no-such-topic', nextId())])).status, 'TOPIC_NOT_FOUND', 'no-such-topic');
    expectStatus(await receive(b.mq, { topic: 'no-such-topic', group: GROUP }), 'TOPIC_NOT_FOUND', 'no-such-topic');
    expectStatus((await ack(b.mq, 'no-such-topic', GROUP, [{ receiptHandle: 'x' }])).status, 'TOPIC_NOT_FOUND', 'no-such-topic');
    expectStatus((await changeInvisible(b.mq, 'no-such-topic', GROUP, 'x', 5000)).status, 'TOPIC_NOT_FOUND', 'no-such-topic');
    expectStatus((await call(b.mq, b.mq.QueryRoute, { topic: { name: 'no-such-topic' } })).status, 'TOPIC_NOT_FOUND', 'no-such-topic');
  });

  it('broker - an unknown group with autoCreateGroups off is CONSUMER_GROUP_NOT_FOUND (and is not created)', async () => {
    expectStatus(await receive(b.mq, { topic: TOPIC, group: 'g-unknown' }), 'CONSUMER_GROUP_NOT_FOUND', 'g-unknown');
    const groups = await call(b.admin, b.admin.ListGroups, {});
    expect(groups.groups.map((g) => g.name).sort()).toEqual([GROUP, OTHER_GROUP]);
  });

  // --- batches ----------------------------------------------------------------------------------

  it('broker - a batch with one bad and one good message stores the good one (MULTIPLE_RESULTS)', async () => {
    const bad = nextId('batch-bad');
    const good = nextId('batch-good');
    const res = await send(b.mq, [wireMessage(TOPIC, bad, 'x', { tag: 'a|b' }), wireMessage(TOPIC, good, 'good')]);
    expectStatus(res.status, 'MULTIPLE_RESULTS', '1 of 2');
    expect(res.entries).toHaveLength(2);
    expectStatus(res.entries[0]!.status, 'ILLEGAL_MESSAGE_TAG', 'tag');
    expect(res.entries[0]!.messageId).toBe(bad);
    expectStatus(res.entries[1]!.status, 'OK');
    expect(res.entries[1]!.messageId).toBe(good);
    storedIds.push(good);
    // All entries failing with the same code: that code at the top level.
    const both = await send(b.mq, [wireMessage(TOPIC, nextId('bb'), Buffer.alloc(0)), wireMessage(TOPIC, nextId('bb'), Buffer.alloc(0))]);
    expectStatus(both.status, 'MESSAGE_BODY_EMPTY', 'body');
    expect(both.entries.map((e) => e.status?.code)).toEqual(['MESSAGE_BODY_EMPTY', 'MESSAGE_BODY_EMPTY']);
  });

  it('broker - an empty SendMessage is BAD_REQUEST', async () => {
    expectStatus((await send(b.mq, [])).status, 'BAD_REQUEST', 'messages');
  });

  // --- receipt handles --------------------------------------------------------------------------

  it('broker - forged receipt handles are INVALID_RECEIPT_HANDLE', async () => {
    const forged = [
      randomBytes(23).toString('base64url'),
      Buffer.concat([Buffer.from([1]), randomBytes(22)]).toString('base64url'), // right version byte, wrong MAC
      'not a handle!',
      'A'.repeat(100),
      '',
    ];
    for (const h of forged) {
      const a = await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: 'x', receiptHandle: h }]);
      expectStatus(a.status, 'INVALID_RECEIPT_HANDLE', 'receipt handle');
      expectStatus(a.entries[0]!.status, 'INVALID_RECEIPT_HANDLE', 'receipt handle');
      expectStatus((await changeInvisible(b.mq, HANDLES_TOPIC, GROUP, h, 5000)).status, 'INVALID_RECEIPT_HANDLE', 'receipt handle');
    }
  });

  it('broker - a genuine receipt handle with any one character changed is INVALID_RECEIPT_HANDLE', async () => {
    const { id, handle } = await genuineHandle();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const mutants: string[] = [];
    for (let i = 0; i < handle.length; i++) {
      // Two replacements per position: the neighbour, and one far away in the alphabet.
      for (const delta of [1, 32]) {
        const c = alphabet[(alphabet.indexOf(handle[i]!) + delta) % alphabet.length]!;
        mutants.push(handle.slice(0, i) + c + handle.slice(i + 1));
      }
    }
    const res = await ack(b.mq, HANDLES_TOPIC, GROUP, mutants.map((receiptHandle) => ({ messageId: id, receiptHandle })));
    const accepted = res.entries.filter((e) => e.status?.code !== 'INVALID_RECEIPT_HANDLE').map((e) => `${e.receiptHandle}: ${e.status?.code}`);
    expect(accepted, `mutated handles accepted (original ${handle})`).toEqual([]);
    expectStatus(res.status, 'INVALID_RECEIPT_HANDLE');
    // The genuine handle was not disturbed.
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: id, receiptHandle: handle }])).status, 'OK');
  });

  it('broker - a genuine receipt handle used with another group or topic is INVALID_RECEIPT_HANDLE', async () => {
    const { id, handle } = await genuineHandle();
    expectStatus((await ack(b.mq, HANDLES_TOPIC, OTHER_GROUP, [{ receiptHandle: handle }])).status, 'INVALID_RECEIPT_HANDLE', OTHER_GROUP);
    expectStatus((await changeInvisible(b.mq, HANDLES_TOPIC, OTHER_GROUP, handle, 0)).status, 'INVALID_RECEIPT_HANDLE', OTHER_GROUP);
    expectStatus((await ack(b.mq, TOPIC, GROUP, [{ receiptHandle: handle }])).status, 'INVALID_RECEIPT_HANDLE', TOPIC);
    // Still in GROUP's hands, not redelivered to anyone, and the genuine use works.
    expectStatus(await receive(b.mq, { topic: HANDLES_TOPIC, group: GROUP, pollMs: 0 }), 'MESSAGE_NOT_FOUND');
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: id, receiptHandle: handle }])).status, 'OK');
  });

  it('broker - acking twice: the second ack is INVALID_RECEIPT_HANDLE (stale)', async () => {
    const { id, handle } = await genuineHandle();
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: id, receiptHandle: handle }])).status, 'OK');
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: id, receiptHandle: handle }])).status, 'INVALID_RECEIPT_HANDLE', 'stale');
    expectStatus((await changeInvisible(b.mq, HANDLES_TOPIC, GROUP, handle, 1000)).status, 'INVALID_RECEIPT_HANDLE', 'stale');
  });

  it('broker - after ChangeInvisibleDuration the old handle is stale, the new one acks', async () => {
    const { id, handle } = await genuineHandle();
    const changed = await changeInvisible(b.mq, HANDLES_TOPIC, GROUP, handle, 30_000);
    expectStatus(changed.status, 'OK');
    expect(changed.receiptHandle).toBeTruthy();
    expect(changed.receiptHandle).not.toBe(handle);
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ receiptHandle: handle }])).status, 'INVALID_RECEIPT_HANDLE', 'stale');
    expectStatus((await changeInvisible(b.mq, HANDLES_TOPIC, GROUP, handle, 30_000)).status, 'INVALID_RECEIPT_HANDLE', 'stale');
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: id, receiptHandle: changed.receiptHandle }])).status, 'OK');
  });

  // --- receive parameters -----------------------------------------------------------------------

  it('broker - invisible duration out of range on receive is ILLEGAL_INVISIBLE_TIME', async () => {
    for (const invisibleMs of [0, 999, 500, -1000, 12 * 3600_000 + 1000, 100 * 24 * 3600_000]) {
      const r = await receive(b.mq, { topic: TOPIC, group: GROUP, invisibleMs });
      expectStatus(r, 'ILLEGAL_INVISIBLE_TIME', 'invisible_duration');
      expect(r.messages).toEqual([]);
    }
  });

  it('broker - invisible duration out of range (or missing) on ChangeInvisibleDuration is ILLEGAL_INVISIBLE_TIME', async () => {
    const { id, handle } = await genuineHandle();
    for (const invisibleMs of [-1, -1000, 12 * 3600_000 + 1000]) {
      expectStatus((await changeInvisible(b.mq, HANDLES_TOPIC, GROUP, handle, invisibleMs)).status, 'ILLEGAL_INVISIBLE_TIME', 'invisible_duration');
    }
    expectStatus((await changeInvisible(b.mq, HANDLES_TOPIC, GROUP, handle, undefined)).status, 'ILLEGAL_INVISIBLE_TIME', 'invisible_duration');
    // The rejected changes left the handle valid.
    expectStatus((await ack(b.mq, HANDLES_TOPIC, GROUP, [{ messageId: id, receiptHandle: handle }])).status, 'OK');
  });

  it('broker - long polling timeout above the max (or negative) is ILLEGAL_POLLING_TIME', async () => {
    for (const pollMs of [60_001, 3600_000]) {
      const started = Date.now();
      const r = await receive(b.mq, { topic: TOPIC, group: GROUP, pollMs });
      expectStatus(r, 'ILLEGAL_POLLING_TIME', 'long_polling_timeout', '60000');
      expect(Date.now() - started).toBeLessThan(2000); // rejected at once, not parked
    }
    const frames = await receiveAll(b.mq, { ...receiveRequest({ topic: TOPIC, group: GROUP }), longPollingTimeout: ms(-1000) });
    expectStatus(frames[0]?.status, 'ILLEGAL_POLLING_TIME', 'long_polling_timeout');
  });

  it('broker - a SQL filter (or an illegal tag expression) is ILLEGAL_FILTER_EXPRESSION', async () => {
    expectStatus(await receive(b.mq, { topic: TOPIC, group: GROUP, filter: { type: 'SQL', expression: 'a > 1' } }), 'ILLEGAL_FILTER_EXPRESSION', 'filter_expression', 'SQL');
    expectStatus(await receive(b.mq, { topic: TOPIC, group: GROUP, filter: { type: 'TAG', expression: 'a|||b' } }), 'ILLEGAL_FILTER_EXPRESSION', 'filter_expression');
  });

  it('broker - batch_size 0 or above the max is BAD_REQUEST', async () => {
    for (const batchSize of [0, 65, 100_000]) {
      expectStatus(await receive(b.mq, { topic: TOPIC, group: GROUP, batchSize }), 'BAD_REQUEST', 'batch_size', String(batchSize));
    }
  });

  it('broker - ReceiveMessage without message_queue is BAD_REQUEST', async () => {
    const { messageQueue: _omit, ...req } = receiveRequest({ topic: TOPIC, group: GROUP });
    const frames = await receiveAll(b.mq, req);
    expect(frames).toHaveLength(1);
    expectStatus(frames[0]!.status, 'BAD_REQUEST', 'message_queue');
  });

  // --- message types ----------------------------------------------------------------------------

  it('broker - a FIFO message without message_group is MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', async () => {
    const res = await send(b.mq, [wireMessage(FIFO_TOPIC, nextId('fifo'), 'x', { messageType: 'FIFO' })]);
    expectStatus(res.status, 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', 'message_group');
  });

  it('broker - message_group on a NORMAL message is MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', async () => {
    const res = await send(b.mq, [wireMessage(TOPIC, nextId('grp'), 'x', { messageType: 'NORMAL', messageGroup: 'g1' })]);
    expectStatus(res.status, 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', 'message_group', 'NORMAL');
    // A FIFO message to a NORMAL topic, and a NORMAL message to a FIFO topic: type conflicts.
    expectStatus((await send(b.mq, [wireMessage(TOPIC, nextId('t'), 'x', { messageType: 'FIFO', messageGroup: 'g1' })])).status, 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', TOPIC);
    expectStatus((await send(b.mq, [wireMessage(FIFO_TOPIC, nextId('t'), 'x', { messageType: 'NORMAL' })])).status, 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', FIFO_TOPIC);
    const stats = await call(b.admin, b.admin.GetTopic, { name: FIFO_TOPIC });
    expect(stats.topic?.stats?.messageCount).toBe(0);
  });

  it('broker - delay beyond the max is ILLEGAL_DELIVERY_TIME; DELAY without a timestamp, priority off PRIORITY topics conflict; transactions are UNSUPPORTED', async () => {
    const far = await send(b.mq, [wireMessage(TOPIC, nextId('delay'), 'x', { messageType: 'DELAY', deliveryTimestamp: ms(Date.now() + 31 * 24 * 3600_000) })]);
    expectStatus(far.status, 'ILLEGAL_DELIVERY_TIME', 'delivery_timestamp');
    const noTs = await send(b.mq, [wireMessage(TOPIC, nextId('delay'), 'x', { messageType: 'DELAY' })]);
    expectStatus(noTs.status, 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', 'delivery_timestamp');
    const prio = await send(b.mq, [wireMessage(TOPIC, nextId('prio'), 'x', { messageType: 'PRIORITY', priority: 3 })]);
    expectStatus(prio.status, 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE', 'PRIORITY');
    const tx = await send(b.mq, [wireMessage(TOPIC, nextId('tx'), 'x', { messageType: 'TRANSACTION' })]);
    expectStatus(tx.status, 'UNSUPPORTED', 'transaction');
  });

  // --- admin ------------------------------------------------------------------------------------

  it('broker - admin CreateTopic with an illegal name is ILLEGAL_TOPIC', async () => {
    for (const name of ['bad topic!', 'x'.repeat(200), '', '%RETRY%x']) {
      const res = await call(b.admin, b.admin.CreateTopic, { topic: { name } });
      expectStatus(res.status, 'ILLEGAL_TOPIC', 'topic name');
    }
  });

  it('broker - admin CreateTopic of an existing topic is BAD_REQUEST (OK with if_not_exists, unchanged)', async () => {
    expectStatus((await call(b.admin, b.admin.CreateTopic, { topic: { name: TOPIC, queueCount: 8 } })).status, 'BAD_REQUEST', 'already exists');
    const again = await call(b.admin, b.admin.CreateTopic, { topic: { name: TOPIC, queueCount: 8 }, ifNotExists: true });
    expectStatus(again.status, 'OK');
    expect(again.topic?.queueCount).toBe(2);
  });

  it('broker - admin CreateTopic with a negative or too large queue_count is BAD_REQUEST; 0 means the default', async () => {
    for (const queueCount of [-1, 257, 100_000]) {
      expectStatus((await call(b.admin, b.admin.CreateTopic, { topic: { name: 'qc-bad', queueCount } })).status, 'BAD_REQUEST', 'queue_count');
    }
    expect((await call(b.admin, b.admin.GetTopic, { name: 'qc-bad' })).status?.code).toBe('TOPIC_NOT_FOUND');
    // proto3 cannot tell an explicit 0 from an absent field: admin.proto documents "Default 4".
    const zero = await call(b.admin, b.admin.CreateTopic, { topic: { name: 'qc-zero', queueCount: 0 } });
    expectStatus(zero.status, 'OK');
    expect(zero.topic?.queueCount).toBe(4);
    expectStatus((await call(b.admin, b.admin.DeleteTopic, { name: 'qc-zero' })).status, 'OK');
  });

  it('broker - admin UpdateTopic shrinking queues is BAD_REQUEST and leaves the topic unchanged', async () => {
    const res = await call(b.admin, b.admin.UpdateTopic, { topic: { name: TOPIC, queueCount: 1 } });
    expectStatus(res.status, 'BAD_REQUEST', 'queue_count', 'shrink');
    expect((await call(b.admin, b.admin.GetTopic, { name: TOPIC })).topic?.queueCount).toBe(2);
    expectStatus((await call(b.admin, b.admin.UpdateTopic, { topic: { name: 'no-such-topic', queueCount: 4 } })).status, 'TOPIC_NOT_FOUND');
  });

  // --- transport --------------------------------------------------------------------------------

  it('broker - a malformed protobuf frame is a gRPC error, not a crash', async () => {
    const raw = new grpc.Client(b.addr, grpc.credentials.createInsecure());
    const garbage = [
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]), // field 1, length far beyond the frame
      Buffer.from([0x0f, 0x0f, 0x0f, 0x0f]), // wire type 7 (does not exist)
      Buffer.from([0x0a, 0x05, 0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]), // truncated varint
    ];
    try {
      for (const frame of garbage) {
        const outcome = await new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) =>
          raw.makeUnaryRequest<Buffer, Buffer>(
            '/apache.rocketmq.v2.MessagingService/SendMessage',
            (x) => x,
            (x) => x,
            frame,
            wireMetadata(),
            { deadline: Date.now() + 5000 },
            (err, res) => resolve({ err, res }),
          ),
        );
        expect(outcome.err, `frame ${frame.toString('hex')} answered ${outcome.res?.toString('hex')}`).toBeTruthy();
        // grpc-js answers a request it cannot decode with INTERNAL "Error deserializing request".
        expect(outcome.err!.code).toBe(grpc.status.INTERNAL);
        expect(outcome.err!.details).toMatch(/deserializ/i);
      }
      // Server-streaming path too.
      const streamErr = await new Promise<grpc.ServiceError | undefined>((resolve) => {
        const s = raw.makeServerStreamRequest<Buffer, Buffer>(
          '/apache.rocketmq.v2.MessagingService/ReceiveMessage',
          (x) => x,
          (x) => x,
          garbage[0]!,
          wireMetadata(),
          { deadline: Date.now() + 5000 },
        );
        s.on('data', () => {});
        s.on('error', (e: grpc.ServiceError) => resolve(e));
        s.on('end', () => resolve(undefined));
      });
      expect(streamErr).toBeTruthy();
      expect(streamErr!.code).toBe(grpc.status.INTERNAL);
    } finally {
      raw.close();
    }
    // Still serving.
    expectStatus((await call(b.mq, b.mq.QueryRoute, { topic: { name: TOPIC } })).status, 'OK');
  });

  // --- still working ----------------------------------------------------------------------------

  it('broker - still works after all of the above and stored exactly the valid messages', async () => {
    const ids = [nextId('final'), nextId('final'), nextId('final')];
    const sent = await send(b.mq, [
      ...ids.map((id) => wireMessage(TOPIC, id, `final ${id}`, { tag: 'ok', keys: ['k1'] })),
    ]);
    expectStatus(sent.status, 'OK');
    // A body of exactly max_body_size is accepted.
    const edge = nextId('edge');
    expectStatus((await send(b.mq, [wireMessage(TOPIC, edge, Buffer.alloc(MAX_BODY, 0x62))])).status, 'OK');
    storedIds.push(...ids, edge);

    const stats = await call(b.admin, b.admin.GetTopic, { name: TOPIC });
    expect(stats.topic?.stats?.messageCount).toBe(storedIds.length);

    const got: string[] = [];
    for (let i = 0; i < 10 && got.length < storedIds.length; i++) {
      const r = await receive(b.mq, { topic: TOPIC, group: GROUP, batchSize: 32, invisibleMs: 30_000, pollMs: 500 });
      expect(['OK', 'MESSAGE_NOT_FOUND']).toContain(r.code);
      got.push(...r.messages.map(idOf));
      if (r.messages.length) expectStatus((await ack(b.mq, TOPIC, GROUP, r.messages.map((m) => ({ messageId: idOf(m), receiptHandle: handleOf(m) })))).status, 'OK');
    }
    expect(got.sort()).toEqual([...storedIds].sort());
    expectStatus(await receive(b.mq, { topic: TOPIC, group: GROUP, pollMs: 0 }), 'MESSAGE_NOT_FOUND');

    const topics = await call(b.admin, b.admin.ListTopics, {});
    expect(topics.topics.map((t) => t.name).sort()).toEqual([TOPIC, FIFO_TOPIC, HANDLES_TOPIC].sort());
    expect(topics.topics.find((t) => t.name === FIFO_TOPIC)?.stats?.messageCount).toBe(0);
  });
});
