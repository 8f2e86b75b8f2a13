/**
 * Durability and recovery on a real RocksDB directory, plus the consumption semantics that
 * recovery must preserve: long polling, redelivery, FIFO order, group fan-out and exclusivity,
 * topic deletion. Every test starts its own broker (127.0.0.1, port 0) on its own tmp dir.
 *
 * Short invisibility: pop.minInvisibleMs is lowered to 100 so redeliveries happen within a test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import { call, messagingClient } from '../helpers/wire.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import {
  ack,
  attemptOf,
  changeInvisible,
  handleOf,
  idOf,
  receive,
  send,
  startBroker,
  wireMessage,
  type ReceiveOptions,
  type RunningBroker,
} from '../helpers/broker-fixture.js';
import type { BrokerOptions } from '../../broker/index.js';

const OPTS: Omit<BrokerOptions, 'store'> = { pop: { minInvisibleMs: 100 } };

const range = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('broker - restart and recovery', () => {
  let dir: ReturnType<typeof tmpDir> | undefined;
  let b: RunningBroker | undefined;
  const extraClients: { close(): void }[] = [];

  afterEach(async () => {
    for (const c of extraClients.splice(0)) c.close();
    await b?.close();
    b = undefined;
    dir?.cleanup();
    dir = undefined;
  });

  async function start(opts: Omit<BrokerOptions, 'store'> = OPTS): Promise<RunningBroker> {
    dir ??= tmpDir();
    b = await startBroker(dir.path, opts);
    return b;
  }

  /** Closes the broker and opens a new one on the same directory (new port). */
  async function restart(opts: Omit<BrokerOptions, 'store'> = OPTS): Promise<RunningBroker> {
    await b!.close();
    b = undefined;
    return start(opts);
  }

  async function createTopic(name: string, queueCount = 4, messageType: 'NORMAL' | 'FIFO' = 'NORMAL'): Promise<void> {
    const res = await call(b!.admin, b!.admin.CreateTopic, { topic: { name, queueCount, messageType } });
    expect(res.status?.code).toBe('OK');
  }

  async function sendAll(topic: string, ids: string[], chunk = 100): Promise<void> {
    for (let i = 0; i < ids.length; i += chunk) {
      const res = await send(b!.mq, ids.slice(i, i + chunk).map((id) => wireMessage(topic, id)));
      expect(res.status?.code, res.status?.message).toBe('OK');
    }
  }

  async function ackAll(topic: string, group: string, msgs: Message__Output[]): Promise<void> {
    if (msgs.length === 0) return;
    const res = await ack(b!.mq, topic, group, msgs.map((m) => ({ messageId: idOf(m), receiptHandle: handleOf(m) })));
    expect(res.status?.code, res.status?.message).toBe('OK');
  }

  /**
   * Receives until `want` messages arrived or `budgetMs` passed (bounded in count and time).
   * `at` records when each message arrived.
   */
  async function receiveUntil(o: ReceiveOptions, want: number, budgetMs: number): Promise<{ msgs: Message__Output[]; at: Map<string, number> }> {
    const msgs: Message__Output[] = [];
    const at = new Map<string, number>();
    const until = Date.now() + budgetMs;
    for (let i = 0; i < 200 && msgs.length < want && Date.now() < until; i++) {
      const r = await receive(b!.mq, { ...o, pollMs: Math.max(0, Math.min(o.pollMs ?? 1000, until - Date.now())) });
      expect(['OK', 'MESSAGE_NOT_FOUND'], r.message).toContain(r.code);
      const now = Date.now();
      for (const m of r.messages) {
        msgs.push(m);
        at.set(idOf(m), now);
      }
    }
    return { msgs, at };
  }

  it('restart - in-flight messages come back after their invisibility (attempt 2), new ones with attempt 1, acked ones never', async () => {
    await start();
    await createTopic('dur', 4);
    const all = range(500, 'd');
    await sendAll('dur', all);

    // Receive 200 (4 x 50) with 1 s invisibility; remember when each batch was asked for.
    const received: { m: Message__Output; askedAt: number }[] = [];
    for (let i = 0; i < 4; i++) {
      const askedAt = Date.now();
      const r = await receive(b!.mq, { topic: 'dur', group: 'g', batchSize: 50, invisibleMs: 1000 });
      expect(r.code).toBe('OK');
      expect(r.messages).toHaveLength(50);
      for (const m of r.messages) received.push({ m, askedAt });
    }
    expect(new Set(received.map((r) => idOf(r.m))).size).toBe(200);
    expect(received.every((r) => attemptOf(r.m) === 1)).toBe(true);
    expect(new Set(received.map((r) => r.m.systemProperties!.queueId))).toEqual(new Set([0, 1, 2, 3]));

    const acked = received.slice(0, 150);
    const unacked = received.slice(150);
    await ackAll('dur', 'g', acked.map((r) => r.m));

    await restart();
    expect((await call(b!.admin, b!.admin.GetTopic, { name: 'dur' })).topic?.stats?.messageCount).toBe(500);

    // Everything not acked, received with a long invisibility so nothing comes twice.
    const { msgs, at } = await receiveUntil({ topic: 'dur', group: 'g', batchSize: 64, invisibleMs: 30_000, pollMs: 1000 }, 350, 4000);
    const got = msgs.map(idOf);
    expect(got).toHaveLength(350);
    expect(new Set(got).size).toBe(350);

    const receivedIds = new Set(received.map((r) => idOf(r.m)));
    const unackedIds = unacked.map((r) => idOf(r.m)).sort();
    const neverReceived = all.filter((id) => !receivedIds.has(id)).sort();
    const redelivered = msgs.filter((m) => attemptOf(m) === 2).map(idOf).sort();
    const firstTime = msgs.filter((m) => attemptOf(m) === 1).map(idOf).sort();
    expect(redelivered).toEqual(unackedIds);
    expect(firstTime).toEqual(neverReceived);
    expect(msgs.every((m) => attemptOf(m) === 1 || attemptOf(m) === 2)).toBe(true);
    for (const r of acked) expect(got).not.toContain(idOf(r.m));

    // Redeliveries only after the invisibility they were received with.
    for (const r of unacked) expect(at.get(idOf(r.m))!).toBeGreaterThanOrEqual(r.askedAt + 1000);

    // Bodies survived byte for byte.
    for (const m of msgs.slice(0, 20)) expect(m.body.toString()).toBe(`body-${idOf(m)}`);

    // Nothing else is left: the 150 acked never come back.
    expect((await receive(b!.mq, { topic: 'dur', group: 'g', pollMs: 300 })).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('restart - topics, groups and their settings persist', async () => {
    await start();
    const topics = [
      { name: 'p-normal', queueCount: 3, messageType: 'NORMAL' as const, attributes: { owner: 'agent-7', purpose: 'tests' } },
      { name: 'p-fifo', queueCount: 2, messageType: 'FIFO' as const },
      { name: 'p-readonly', queueCount: 1, permission: 'READ' as const },
      { name: 'p-deleted', queueCount: 1 },
    ];
    for (const topic of topics) expect((await call(b!.admin, b!.admin.CreateTopic, { topic })).status?.code).toBe('OK');
    expect((await call(b!.admin, b!.admin.UpdateTopic, { topic: { name: 'p-fifo', queueCount: 5 } })).status?.code).toBe('OK');
    expect((await call(b!.admin, b!.admin.DeleteTopic, { name: 'p-deleted' })).status?.code).toBe('OK');
    expect((await call(b!.admin, b!.admin.CreateGroup, { group: { name: 'pg', maxDeliveryAttempts: 5 } })).status?.code).toBe('OK');
    expect((await call(b!.admin, b!.admin.CreateGroup, { group: { name: 'pg-deleted' } })).status?.code).toBe('OK');
    expect((await call(b!.admin, b!.admin.DeleteGroup, { name: 'pg-deleted' })).status?.code).toBe('OK');
    await sendAll('p-normal', range(7, 'pn'));
    // A group auto-created by a receive persists too.
    expect((await receive(b!.mq, { topic: 'p-fifo', group: 'auto-g' })).code).toBe('MESSAGE_NOT_FOUND');

    const topicsBefore = (await call(b!.admin, b!.admin.ListTopics, {})).topics;
    const groupsBefore = (await call(b!.admin, b!.admin.ListGroups, {})).groups;
    expect(topicsBefore.map((t) => t.name)).toEqual(['p-fifo', 'p-normal', 'p-readonly']);
    expect(groupsBefore.map((g) => [g.name, g.maxDeliveryAttempts])).toEqual([
      ['auto-g', 16],
      ['pg', 5],
    ]);

    // Restart with auto-creation off: the known groups must come from disk.
    await restart({ ...OPTS, autoCreateGroups: false });
    const topicsAfter = (await call(b!.admin, b!.admin.ListTopics, {})).topics;
    const groupsAfter = (await call(b!.admin, b!.admin.ListGroups, {})).groups;
    // Liveness is not persisted: it is whether a consumer is online now (none after the restart).
    const withoutLive = (ts: typeof topicsBefore) => ts.map(({ live: _l, ...t }) => t);
    expect(withoutLive(topicsAfter)).toEqual(withoutLive(topicsBefore));
    expect(groupsAfter).toEqual(groupsBefore);
    const normal = topicsAfter.find((t) => t.name === 'p-normal')!;
    expect(normal.queueCount).toBe(3);
    expect(normal.attributes).toEqual({ owner: 'agent-7', purpose: 'tests' });
    expect(normal.stats?.messageCount).toBe(7);
    expect(topicsAfter.find((t) => t.name === 'p-fifo')?.queueCount).toBe(5);
    expect(topicsAfter.find((t) => t.name === 'p-fifo')?.messageType).toBe('FIFO');
    expect(topicsAfter.find((t) => t.name === 'p-readonly')?.permission).toBe('READ');

    // The routes match, and the persisted group consumes.
    const route = await call(b!.mq, b!.mq.QueryRoute, { topic: { name: 'p-fifo' } });
    expect(route.messageQueues.map((q) => q.id)).toEqual([0, 1, 2, 3, 4]);
    expect(route.messageQueues.every((q) => q.acceptMessageTypes.join() === 'FIFO')).toBe(true);
    const { msgs } = await receiveUntil({ topic: 'p-normal', group: 'pg', pollMs: 500 }, 7, 3000);
    expect(msgs.map(idOf).sort()).toEqual(range(7, 'pn').sort());
    expect((await receive(b!.mq, { topic: 'p-normal', group: 'pg-deleted' })).code).toBe('CONSUMER_GROUP_NOT_FOUND');
    expect((await call(b!.admin, b!.admin.GetTopic, { name: 'p-deleted' })).status?.code).toBe('TOPIC_NOT_FOUND');
    // Permissions survive: the read-only topic still refuses writes.
    expect((await send(b!.mq, [wireMessage('p-readonly', 'ro-1')])).status?.code).toBe('FORBIDDEN');
  });

  it('restart - receipt handles issued before a restart still work after it (secret persisted)', async () => {
    await start();
    await createTopic('rh', 2);
    await sendAll('rh', range(4, 'rh'));
    const { msgs } = await receiveUntil({ topic: 'rh', group: 'g', batchSize: 4, invisibleMs: 30_000, pollMs: 500 }, 4, 3000);
    expect(msgs).toHaveLength(4);

    await restart();
    // Acks of three pre-restart handles.
    const res = await ack(b!.mq, 'rh', 'g', msgs.slice(0, 3).map((m) => ({ messageId: idOf(m), receiptHandle: handleOf(m) })));
    expect(res.status?.code, res.status?.message).toBe('OK');
    expect(res.entries.map((e) => e.status?.code)).toEqual(['OK', 'OK', 'OK']);
    // A pre-restart handle also works for a nack; the new handle then acks.
    const last = msgs[3]!;
    const nack = await changeInvisible(b!.mq, 'rh', 'g', handleOf(last), 0);
    expect(nack.status?.code, nack.status?.message).toBe('OK');
    const again = await receive(b!.mq, { topic: 'rh', group: 'g', invisibleMs: 30_000 });
    expect(again.messages.map(idOf)).toEqual([idOf(last)]);
    expect(attemptOf(again.messages[0]!)).toBe(2);
    await ackAll('rh', 'g', again.messages);
    // The old handles are now stale, and nothing is left.
    expect((await ack(b!.mq, 'rh', 'g', [{ receiptHandle: handleOf(msgs[0]!) }])).status?.code).toBe('INVALID_RECEIPT_HANDLE');
    expect((await receive(b!.mq, { topic: 'rh', group: 'g', pollMs: 200 })).code).toBe('MESSAGE_NOT_FOUND');

    // And the acks themselves were durable.
    await restart();
    expect((await receive(b!.mq, { topic: 'rh', group: 'g', pollMs: 1200, invisibleMs: 30_000 })).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('long polling - a parked receive returns soon after a send; an idle one answers MESSAGE_NOT_FOUND at its timeout', async () => {
    await start();
    await createTopic('lp', 4);

    const started = Date.now();
    const parked = receive(b!.mq, { topic: 'lp', group: 'g', pollMs: 5000, invisibleMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = Date.now();
    await sendAll('lp', ['lp-1']);
    const r = await parked;
    const answeredAt = Date.now();
    expect(r.code).toBe('OK');
    expect(r.messages.map(idOf)).toEqual(['lp-1']);
    expect(answeredAt - sentAt).toBeLessThan(1500);
    expect(answeredAt - started).toBeGreaterThanOrEqual(250); // it did park until the send

    // Nothing arrives: MESSAGE_NOT_FOUND after roughly the timeout, not at once and not much later.
    const idleStart = Date.now();
    const idle = await receive(b!.mq, { topic: 'lp', group: 'g', pollMs: 1000 });
    const idleMs = Date.now() - idleStart;
    expect(idle.code).toBe('MESSAGE_NOT_FOUND');
    expect(idleMs).toBeGreaterThanOrEqual(900);
    expect(idleMs).toBeLessThan(2500);

    // A group new to the topic starts at the oldest stored message.
    const g2first = await receive(b!.mq, { topic: 'lp', group: 'g2', invisibleMs: 30_000 });
    expect(g2first.messages.map(idOf)).toEqual(['lp-1']);
    await ackAll('lp', 'g2', g2first.messages);

    // One send wakes a parked receive of every group.
    const parkedG = receive(b!.mq, { topic: 'lp', group: 'g', pollMs: 5000, invisibleMs: 30_000 });
    const parkedG2 = receive(b!.mq, { topic: 'lp', group: 'g2', pollMs: 5000, invisibleMs: 30_000 });
    await new Promise((res) => setTimeout(res, 200));
    const t = Date.now();
    await sendAll('lp', ['lp-2']);
    const [gotG, gotG2] = await Promise.all([parkedG, parkedG2]);
    expect(Date.now() - t).toBeLessThan(1500);
    expect(gotG.messages.map(idOf)).toEqual(['lp-2']);
    expect(gotG2.messages.map(idOf)).toEqual(['lp-2']);
  });

  it('redelivery - an unacked message comes back after its invisibility with attempt + 1; a nack makes it deliverable at once', async () => {
    await start();
    await createTopic('rd', 2);
    await sendAll('rd', ['rd-1']);

    const t0 = Date.now();
    const first = await receive(b!.mq, { topic: 'rd', group: 'g', invisibleMs: 500 });
    expect(first.messages.map(idOf)).toEqual(['rd-1']);
    expect(attemptOf(first.messages[0]!)).toBe(1);
    // Invisible meanwhile.
    expect((await receive(b!.mq, { topic: 'rd', group: 'g', pollMs: 0 })).code).toBe('MESSAGE_NOT_FOUND');

    // A parked receive is woken when the invisibility ends.
    const second = await receive(b!.mq, { topic: 'rd', group: 'g', pollMs: 3000, invisibleMs: 30_000 });
    const t1 = Date.now();
    expect(second.messages.map(idOf)).toEqual(['rd-1']);
    expect(attemptOf(second.messages[0]!)).toBe(2);
    expect(t1 - t0).toBeGreaterThanOrEqual(500);
    expect(t1 - t0).toBeLessThan(2000);
    expect(handleOf(second.messages[0]!)).not.toBe(handleOf(first.messages[0]!));
    // The first delivery's handle is stale now.
    expect((await ack(b!.mq, 'rd', 'g', [{ receiptHandle: handleOf(first.messages[0]!) }])).status?.code).toBe('INVALID_RECEIPT_HANDLE');

    // Nack (invisible 0): a parked receive gets it at once, not after the 30 s invisibility.
    const parked = receive(b!.mq, { topic: 'rd', group: 'g', pollMs: 3000, invisibleMs: 30_000 });
    await new Promise((r) => setTimeout(r, 100));
    const tn = Date.now();
    const nack = await changeInvisible(b!.mq, 'rd', 'g', handleOf(second.messages[0]!), 0);
    expect(nack.status?.code, nack.status?.message).toBe('OK');
    const third = await parked;
    expect(Date.now() - tn).toBeLessThan(1000);
    expect(third.messages.map(idOf)).toEqual(['rd-1']);
    expect(attemptOf(third.messages[0]!)).toBe(3);

    // A nack with an immediate (non-parked) receive works as well.
    expect((await changeInvisible(b!.mq, 'rd', 'g', handleOf(third.messages[0]!), 0)).status?.code).toBe('OK');
    const fourth = await receive(b!.mq, { topic: 'rd', group: 'g', pollMs: 0, invisibleMs: 30_000 });
    expect(fourth.messages.map(idOf)).toEqual(['rd-1']);
    expect(attemptOf(fourth.messages[0]!)).toBe(4);

    await ackAll('rd', 'g', fourth.messages);
    expect((await receive(b!.mq, { topic: 'rd', group: 'g', pollMs: 700 })).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('redelivery - messages becoming visible at the same moment wake as many parked receivers', async () => {
    await start();
    await createTopic('rd-many', 1);
    await sendAll('rd-many', ['a', 'b', 'c']);
    const first = await receive(b!.mq, { topic: 'rd-many', group: 'g', batchSize: 3, invisibleMs: 400 });
    expect(first.messages).toHaveLength(3);
    // Three receivers of the group park (batch 1 each); all three messages become visible at once.
    const t0 = Date.now();
    const results = await Promise.all(
      [0, 1, 2].map(async () => {
        const r = await receive(b!.mq, { topic: 'rd-many', group: 'g', batchSize: 1, invisibleMs: 30_000, pollMs: 4000 });
        return { ids: r.messages.map(idOf), attempts: r.messages.map(attemptOf), ms: Date.now() - t0 };
      }),
    );
    expect(results.flatMap((r) => r.ids).sort()).toEqual(['a', 'b', 'c']);
    expect(results.flatMap((r) => r.attempts)).toEqual([2, 2, 2]);
    // None of them sat out its long-polling timeout.
    for (const r of results) expect(r.ms).toBeLessThan(2000);
  });

  it('ordering - messages of one FIFO message group arrive in send order', async () => {
    await start();
    await createTopic('fifo', 4, 'FIFO');
    const groups = ['order-A', 'order-B', 'order-C', 'order-D', 'order-E'];
    const sentOrder = new Map<string, string[]>(groups.map((g) => [g, []]));
    const fifo = (i: number) => {
      const g = groups[(i * 7 + (i >> 2)) % groups.length]!; // interleaved, irregular
      const id = `f-${String(i).padStart(3, '0')}`;
      sentOrder.get(g)!.push(id);
      return wireMessage('fifo', id, `${g}:${i}`, { messageType: 'FIFO', messageGroup: g });
    };
    // One at a time, then in batches: send order is call order, then position in the batch.
    let i = 0;
    for (; i < 40; i++) expect((await send(b!.mq, [fifo(i)])).status?.code).toBe('OK');
    for (let k = 0; k < 4; k++) {
      const batch = Array.from({ length: 15 }, () => fifo(i++));
      expect((await send(b!.mq, batch)).status?.code).toBe('OK');
    }
    const total = i;

    const got: Message__Output[] = [];
    for (let round = 0; round < 50 && got.length < total; round++) {
      const r = await receive(b!.mq, { topic: 'fifo', group: 'cg', batchSize: 8, invisibleMs: 30_000, pollMs: 500 });
      got.push(...r.messages);
      await ackAll('fifo', 'cg', r.messages);
    }
    expect(got).toHaveLength(total);
    for (const g of groups) {
      const mine = got.filter((m) => m.systemProperties!.messageGroup === g);
      expect(mine.map(idOf), g).toEqual(sentOrder.get(g));
      // A message group lives on one queue.
      expect(new Set(mine.map((m) => m.systemProperties!.queueId)).size, g).toBe(1);
      expect(mine.every((m) => m.systemProperties!.messageType === 'FIFO')).toBe(true);
    }
  });

  it('consumer groups - every group gets every message; receivers of one group never share an invisible message', async () => {
    await start();
    await createTopic('fan', 4);
    const all = range(120, 'fan');
    await sendAll('fan', all, 40);

    for (const group of ['cg-1', 'cg-2']) {
      const { msgs } = await receiveUntil({ topic: 'fan', group, batchSize: 32, invisibleMs: 30_000, pollMs: 500 }, all.length, 4000);
      expect(msgs.map(idOf).sort(), group).toEqual([...all].sort());
      await ackAll('fan', group, msgs);
    }

    // Two receivers (separate connections) of one group, pulling concurrently with small batches.
    const mq2 = messagingClient(b!.addr);
    extraClients.push(mq2);
    const byReceiver: string[][] = [[], []];
    const until = Date.now() + 4000;
    const worker = async (k: 0 | 1) => {
      const client = k === 0 ? b!.mq : mq2;
      for (let n = 0; n < 100 && Date.now() < until && byReceiver[0]!.length + byReceiver[1]!.length < all.length; n++) {
        const r = await receive(client, { topic: 'fan', group: 'cg-shared', batchSize: 5, invisibleMs: 30_000, pollMs: 200 });
        expect(['OK', 'MESSAGE_NOT_FOUND']).toContain(r.code);
        byReceiver[k]!.push(...r.messages.map(idOf));
      }
    };
    await Promise.all([worker(0), worker(1), worker(0), worker(1)]);
    const union = [...byReceiver[0]!, ...byReceiver[1]!];
    expect(union).toHaveLength(all.length);
    expect(new Set(union).size).toBe(all.length);
    expect(byReceiver[0]!.length).toBeGreaterThan(0);
    expect(byReceiver[1]!.length).toBeGreaterThan(0);
    // All held, none acked: nothing else is deliverable to the group while invisible.
    expect((await receive(mq2, { topic: 'fan', group: 'cg-shared', pollMs: 200 })).code).toBe('MESSAGE_NOT_FOUND');
  });

  it('delete topic - removes its messages and consumer state; a recreated topic starts empty (also after restart)', async () => {
    await start();
    await createTopic('del', 2);
    await sendAll('del', range(20, 'del'));
    const held = await receive(b!.mq, { topic: 'del', group: 'g', batchSize: 5, invisibleMs: 30_000 });
    expect(held.messages).toHaveLength(5);

    // A receive parked on the topic is answered when the topic goes away.
    await createTopic('del-parked', 1);
    const parked = receive(b!.mq, { topic: 'del-parked', group: 'g', pollMs: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    const td = Date.now();
    expect((await call(b!.admin, b!.admin.DeleteTopic, { name: 'del-parked' })).status?.code).toBe('OK');
    expect((await parked).code).toBe('TOPIC_NOT_FOUND');
    expect(Date.now() - td).toBeLessThan(1500);

    expect((await call(b!.admin, b!.admin.DeleteTopic, { name: 'del' })).status?.code).toBe('OK');
    expect((await call(b!.admin, b!.admin.DeleteTopic, { name: 'del' })).status?.code).toBe('TOPIC_NOT_FOUND');
    expect((await send(b!.mq, [wireMessage('del', 'late')])).status?.code).toBe('TOPIC_NOT_FOUND');
    expect((await receive(b!.mq, { topic: 'del', group: 'g' })).code).toBe('TOPIC_NOT_FOUND');

    await createTopic('del', 2);
    const fresh = await call(b!.admin, b!.admin.GetTopic, { name: 'del' });
    expect(fresh.topic?.stats?.messageCount).toBe(0);
    expect(fresh.topic?.stats?.maxOffset).toBe(0);
    expect((await receive(b!.mq, { topic: 'del', group: 'g', pollMs: 200 })).code).toBe('MESSAGE_NOT_FOUND');
    // Handles into the old incarnation are stale.
    expect((await ack(b!.mq, 'del', 'g', [{ receiptHandle: handleOf(held.messages[0]!) }])).status?.code).toBe('INVALID_RECEIPT_HANDLE');

    // The new log starts at offset 0 and holds only what is sent now.
    const sent = await send(b!.mq, [wireMessage('del', 'new-1')]);
    expect(sent.entries[0]?.offset).toBe(0);
    const r = await receive(b!.mq, { topic: 'del', group: 'g', invisibleMs: 30_000 });
    expect(r.messages.map(idOf)).toEqual(['new-1']);
    expect(attemptOf(r.messages[0]!)).toBe(1);
    await ackAll('del', 'g', r.messages);

    // Nothing of the deleted incarnation resurfaces after a restart.
    await restart();
    const after = await call(b!.admin, b!.admin.GetTopic, { name: 'del' });
    expect(after.topic?.stats?.messageCount).toBe(1);
    expect((await call(b!.admin, b!.admin.GetTopic, { name: 'del-parked' })).status?.code).toBe('TOPIC_NOT_FOUND');
    expect((await receive(b!.mq, { topic: 'del', group: 'g', pollMs: 800, invisibleMs: 30_000 })).code).toBe('MESSAGE_NOT_FOUND');
  });
});
