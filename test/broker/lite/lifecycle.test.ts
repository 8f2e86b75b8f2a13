/** Lite topics: TTL expiry, quotas, lease expiry, Shared vs Exclusive groups, restart. */
import { afterEach, describe, expect, it } from 'vitest';
import { FeatureBroker, sleep } from '../../helpers/feature-harness.js';
import { call } from '../../helpers/wire.js';
import { send } from '../../helpers/broker-fixture.js';
import { bodyOf, liteMessage, liteOf, LiteWireClient, receiveUntil } from '../../helpers/lite-harness.js';
import type { BrokerOptions } from '../../../broker/index.js';

describe('lite topics - lifecycle', () => {
  let fb: FeatureBroker | undefined;
  const start = async (opts: Omit<BrokerOptions, 'store'> = {}, parentAttrs: Record<string, string> = {}) => {
    fb = new FeatureBroker({ pop: { minInvisibleMs: 100 }, ...opts });
    await fb.start();
    await fb.createTopic('p', 'LITE' as never, 1, parentAttrs);
    return fb;
  };
  const sendLite = async (lite: string, body: string) => (await send(fb!.b.mq, [liteMessage('p', lite, body)])).entries[0]!.status!.code;
  afterEach(async () => {
    await fb?.dispose();
    fb = undefined;
  });

  it('TTL: a lite topic without writes for its TTL is deleted with its messages and subscriptions; writes keep it alive', async () => {
    const b = await start({}, { 'lite.ttl.ms': '1000' });
    const lite = b.b.broker.context.lite;
    const c = new LiteWireClient(b.b.mq, 'p', 'g');
    await c.sync('PARTIAL_ADD', ['idle', 'busy']);
    expect(await sendLite('idle', 'unread')).toBe('OK');
    for (let i = 0; i < 6; i++) {
      expect(await sendLite('busy', `b${i}`)).toBe('OK');
      await sleep(300);
    }
    // idle: last write ~1.8 s ago (> TTL) -> gone; busy: written every 300 ms -> alive.
    expect(lite.table.get('p', 'idle')).toBeUndefined();
    expect(lite.table.get('p', 'busy')).toBeDefined();
    expect([...lite.interests.get(c.clientId, 'g', 'p')!.topics].map((t) => t.name)).toEqual(['busy']);
    const got = await receiveUntil(c, 6, 3000);
    expect(got.map(liteOf).every((l) => l === 'busy')).toBe(true);
    expect(got).toHaveLength(6);
    // Its messages are gone from the store too.
    expect(b.b.broker.context.store.queueCount('p$idle')).toBe(0);
  });

  it('TTL across a restart: the last write is read back before anything is deleted', async () => {
    const b = await start({}, { 'lite.ttl.ms': '1500' });
    expect(await sendLite('created-then-written', 'first')).toBe('OK');
    await sleep(900);
    expect(await sendLite('created-then-written', 'second')).toBe('OK'); // last write at ~0.9 s
    await b.restart();
    await sleep(900); // ~1.8 s after creation: past created+TTL, not past last write+TTL
    expect(b.b.broker.context.lite.table.get('p', 'created-then-written')).toBeDefined();
    await sleep(1200); // ~3.0 s: past last write + TTL
    expect(b.b.broker.context.lite.table.get('p', 'created-then-written')).toBeUndefined();
    expect(b.b.broker.context.lite.table.size).toBe(0);
  });

  it('TTL of -1: never expires', async () => {
    const b = await start({}, { 'lite.ttl.ms': '-1' });
    expect(await sendLite('forever', 'x')).toBe('OK');
    await sleep(300);
    expect(b.b.broker.context.lite.table.get('p', 'forever')).toBeDefined();
    const bad = await call(b.b.admin, b.b.admin.CreateTopic, { topic: { name: 'p2', messageType: 'LITE', attributes: { 'lite.ttl.ms': '5' } } });
    expect(bad.status?.code).toBe('BAD_REQUEST');
    const lanes = await call(b.b.admin, b.b.admin.CreateTopic, { topic: { name: 'p3', messageType: 'LITE', queueCount: 4 } });
    expect(lanes.status?.code).toBe('BAD_REQUEST');
  });

  it('quotas: lite topics per broker, subscriptions per client and per broker, with the Lite codes', async () => {
    const b = await start({ lite: { maxTopics: 5, maxSubscriptionsPerClient: 3, maxSubscriptions: 4 } });
    const c = new LiteWireClient(b.b.mq, 'p', 'g', 'c');
    expect((await c.sync('PARTIAL_ADD', ['q1', 'q2', 'q3'])).code).toBe('OK');
    expect((await c.sync('PARTIAL_ADD', ['q4'])).code).toBe('LITE_SUBSCRIPTION_QUOTA_EXCEEDED');
    const d = new LiteWireClient(b.b.mq, 'p', 'g', 'd');
    expect((await d.sync('PARTIAL_ADD', ['q1'])).code).toBe('OK');
    expect((await d.sync('PARTIAL_ADD', ['q2'])).code).toBe('LITE_SUBSCRIPTION_QUOTA_EXCEEDED'); // broker-wide 4
    expect(b.b.broker.context.lite.interests.subscriptions).toBe(4);
    expect(await sendLite('q4', 'x')).toBe('OK');
    expect(await sendLite('q5', 'x')).toBe('OK');
    expect(await sendLite('q6', 'x')).toBe('LITE_TOPIC_QUOTA_EXCEEDED');
    expect(await sendLite('q1', 'existing is fine')).toBe('OK');
    // Group attribute overrides the per-client quota.
    const g = await call(b.b.admin, b.b.admin.CreateGroup, { group: { name: 'big', attributes: { 'lite.sub.client.quota': '1' } } });
    expect(g.status?.code).toBe('OK');
    const e = new LiteWireClient(b.b.mq, 'p', 'big', 'e');
    expect((await e.sync('PARTIAL_ADD', ['q4', 'q5'])).code).toBe('LITE_SUBSCRIPTION_QUOTA_EXCEEDED');
    const badAttr = await call(b.b.admin, b.b.admin.CreateGroup, { group: { name: 'bad', attributes: { 'lite.sub.model': 'sometimes' } } });
    expect(badAttr.status?.code).toBe('BAD_REQUEST');
  });

  it('lease: a client that stops syncing and heartbeating loses its subscriptions; its pending events go to the other client of the shared group', async () => {
    const b = await start({ lite: { leaseMs: 800 } });
    const gone = new LiteWireClient(b.b.mq, 'p', 'shared', 'gone');
    const alive = new LiteWireClient(b.b.mq, 'p', 'shared', 'alive');
    await gone.sync('PARTIAL_ADD', ['job']);
    await alive.sync('PARTIAL_ADD', ['job']);
    // Only `gone` is offered the lite topic first if it is picked; make sure something is pending.
    for (let i = 0; i < 3; i++) expect(await sendLite('job', `j${i}`)).toBe('OK');
    // `alive` keeps its lease with heartbeats; `gone` goes silent.
    const got: string[] = [];
    const until = Date.now() + 4000;
    while (got.length < 3 && Date.now() < until) {
      await alive.heartbeat();
      for (const m of (await alive.receive(300)).messages) {
        got.push(bodyOf(m));
        await alive.ack(m);
      }
    }
    expect(got).toEqual(['j0', 'j1', 'j2']);
    for (let i = 0; i < 4; i++) {
      await alive.heartbeat();
      await sleep(300);
    }
    expect(b.b.broker.context.lite.interests.get(gone.clientId, 'shared', 'p')).toBeUndefined();
    expect(b.b.broker.context.lite.interests.get(alive.clientId, 'shared', 'p')).toBeDefined();
  });

  it('Shared group: two clients on one lite topic share its messages, each delivered once', async () => {
    const b = await start();
    const x = new LiteWireClient(b.b.mq, 'p', 'shared', 'x');
    const y = new LiteWireClient(b.b.mq, 'p', 'shared', 'y');
    await x.sync('PARTIAL_ADD', ['s']);
    await y.sync('PARTIAL_ADD', ['s']);
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) expect(await sendLite('s', `m${i}`)).toBe('OK');
    const seen: string[] = [];
    const until = Date.now() + 8000;
    while (seen.length < 20 && Date.now() < until) {
      const [rx, ry] = await Promise.all([x.receive(200), y.receive(200)]);
      for (const [c, r] of [[x, rx], [y, ry]] as const) {
        for (const m of r.messages) {
          expect(ids.has(m.systemProperties!.messageId)).toBe(false);
          ids.add(m.systemProperties!.messageId);
          seen.push(bodyOf(m));
          await c.ack(m);
        }
      }
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`)); // in order, each once
  });

  it('Shared group: a member that stopped receiving (crashed, lease not yet over) does not hold a lite topic hostage', async () => {
    const b = await start();
    const crashed = new LiteWireClient(b.b.mq, 'p', 'shared', 'crashed');
    await crashed.sync('PARTIAL_ADD', ['h']);
    expect(await sendLite('h', 'm0')).toBe('OK'); // offered to `crashed`, which never receives
    expect(b.b.broker.context.lite.interests.get(crashed.clientId, 'shared', 'p')!.ready.size).toBe(1);
    const fresh = new LiteWireClient(b.b.mq, 'p', 'shared', 'fresh');
    await fresh.sync('PARTIAL_ADD', ['h']);
    expect(await sendLite('h', 'm1')).toBe('OK');
    expect((await receiveUntil(fresh, 2, 3000)).map(bodyOf)).toEqual(['m0', 'm1']);
    // An explicit position (a resume) is offered to the subscriber that asked for it.
    const resumed = new LiteWireClient(b.b.mq, 'p', 'shared', 'resumed');
    await resumed.sync('PARTIAL_ADD', ['h'], { policy: 'MIN' });
    expect((await receiveUntil(resumed, 2, 3000)).map(bodyOf)).toEqual(['m0', 'm1']);
  });

  it('Shared group: a member whose parked receive is cancelled (its connection died) stops counting as receiving at once', async () => {
    const b = await start();
    const dead = new LiteWireClient(b.b.mq, 'p', 'shared', 'dead');
    const live = new LiteWireClient(b.b.mq, 'p', 'shared', 'live');
    await dead.sync('PARTIAL_ADD', ['t']);
    await live.sync('PARTIAL_ADD', ['t']);
    // `dead` parks a receive; then its connection goes away (the call is cancelled): no
    // NotifyClientTermination, its lease still runs.
    const parked = b.b.mq.ReceiveMessage(
      { group: { name: 'shared' }, messageQueue: { topic: { name: 'p' }, id: 0 }, filterExpression: { type: 'TAG', expression: '*' }, batchSize: 32, invisibleDuration: { seconds: 30, nanos: 0 }, longPollingTimeout: { seconds: 20, nanos: 0 } },
      dead.md(),
    );
    parked.on('data', () => undefined);
    parked.on('error', () => undefined);
    await sleep(150);
    expect(b.b.broker.context.lite.interests.get(dead.clientId, 'shared', 'p')!.parked).toBe(1);
    parked.cancel();
    await sleep(150);
    // Every message goes to `live` at once: none waits for `dead` to look silent (5 s).
    const t0 = Date.now();
    for (let i = 0; i < 6; i++) {
      expect(await sendLite('t', `m${i}`)).toBe('OK');
      const [m] = await receiveUntil(live, 1, 3000);
      expect(m && bodyOf(m)).toBe(`m${i}`);
    }
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('Shared group: a member whose Telemetry stream closed (a killed process between two receives) stops counting as receiving at once', async () => {
    const b = await start();
    const gone = new LiteWireClient(b.b.mq, 'p', 'shared', 'gone');
    const live = new LiteWireClient(b.b.mq, 'p', 'shared', 'live');
    await gone.openTelemetry();
    await gone.sync('PARTIAL_ADD', ['u']);
    await live.sync('PARTIAL_ADD', ['u']);
    await gone.receive(0); // it received a moment ago: it counts as receiving for a few seconds
    gone.close(); // ... until its last Telemetry stream goes
    await sleep(150);
    const t0 = Date.now();
    for (let i = 0; i < 6; i++) {
      expect(await sendLite('u', `n${i}`)).toBe('OK');
      const [m] = await receiveUntil(live, 1, 3000);
      expect(m && bodyOf(m)).toBe(`n${i}`);
    }
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('Exclusive group: a second subscriber takes the lite topic over; the first is told over Telemetry and really stops receiving', async () => {
    const b = await start();
    expect((await call(b.b.admin, b.b.admin.CreateGroup, { group: { name: 'excl', attributes: { 'lite.sub.model': 'Exclusive' } } })).status?.code).toBe('OK');
    const first = new LiteWireClient(b.b.mq, 'p', 'excl', 'first');
    const second = new LiteWireClient(b.b.mq, 'p', 'excl', 'second');
    try {
      const settings = await first.openTelemetry();
      expect(settings.settings?.subscription?.liteSubscriptionQuota).toBeGreaterThan(0);
      await first.sync('PARTIAL_ADD', ['own', 'mine-only']);
      const parked = first.receive(1500);
      await second.sync('PARTIAL_ADD', ['own']);
      for (let i = 0; i < 3; i++) expect(await sendLite('own', `o${i}`)).toBe('OK');
      expect((await receiveUntil(second, 3, 4000)).map(bodyOf)).toEqual(['o0', 'o1', 'o2']);
      expect((await parked).messages).toEqual([]);
      await sleep(50);
      expect(first.notices).toEqual(['own']);
      // A full sync from the evicted client still naming it does not take it back; it is told again.
      expect((await first.sync('COMPLETE_ADD', ['own', 'mine-only'])).code).toBe('OK');
      await sleep(50);
      expect(first.notices).toEqual(['own', 'own']);
      expect(await sendLite('own', 'o3')).toBe('OK');
      expect(await sendLite('mine-only', 'm0')).toBe('OK');
      expect((await receiveUntil(first, 1, 1500)).map(bodyOf)).toEqual(['m0']);
      expect((await receiveUntil(second, 1, 1500)).map(bodyOf)).toEqual(['o3']);
    } finally {
      first.close();
    }
  });

  it('restart: lite messages and consume offsets survive; subscriptions come back from the client\'s full sync', async () => {
    const b = await start();
    let c = new LiteWireClient(b.b.mq, 'p', 'g');
    await c.sync('PARTIAL_ADD', ['r1', 'r2']);
    for (let i = 0; i < 4; i++) {
      expect(await sendLite('r1', `a${i}`)).toBe('OK');
      expect(await sendLite('r2', `b${i}`)).toBe('OK');
    }
    const before = [...(await c.receive(1000, 1)).messages, ...(await c.receive(1000, 1)).messages]; // one of each
    for (const m of before) expect(await c.ack(m)).toBe('OK');
    expect(before.map(bodyOf).sort()).toEqual(['a0', 'b0']);
    const id = c.clientId;
    await b.restart();
    expect(b.b.broker.context.lite.table.size).toBe(2);
    c = Object.assign(new LiteWireClient(b.b.mq, 'p', 'g'), { clientId: id });
    expect((await c.sync('COMPLETE_ADD', ['r1', 'r2'])).code).toBe('OK');
    const after = await receiveUntil(c, 6, 4000);
    expect(after.filter((m) => liteOf(m) === 'r1').map(bodyOf)).toEqual(['a1', 'a2', 'a3']);
    expect(after.filter((m) => liteOf(m) === 'r2').map(bodyOf)).toEqual(['b1', 'b2', 'b3']);
    expect((await c.receive(300)).messages).toEqual([]);
  });
});
