/**
 * Lite topic ownership on the wire, with an in-process NameServer and two brokers: whichever
 * broker a raw client reaches, a lite message and a partial subscription land on the lite topic's
 * owner (rendezvous hashing over the parent's brokers), so the owner wakes its subscriber; and
 * when the owner cannot be reached, the broker keeps both itself instead of refusing them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNameServer, type NameServer } from '../../nameserver/index.js';
import { createBroker, type Broker } from '../../broker/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import { liteOwner } from '../../proto/common/lite-owner.js';
import { AdminClient } from '../../client/index.js';
import { messagingClient } from '../helpers/wire.js';
import { send } from '../helpers/broker-fixture.js';
import { LiteWireClient, bodyOf, liteMessage, liteOf, receiveUntil } from '../helpers/lite-harness.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const P = 'routed-replies';
const NAMES = ['b0', 'b1'];

describe('cluster - lite topic routing between brokers (in-process)', () => {
  const dirs = [tmpDir(), tmpDir()];
  let ns: NameServer;
  const brokers: Broker[] = [];
  let admin: AdminClient;
  const mq = () => brokers.map((b) => messagingClient(`127.0.0.1:${b.address.port}`));
  let clients: ReturnType<typeof mq>;
  /** One raw client (one client id) talking to each broker. */
  const pair = (group: string): LiteWireClient[] => {
    const [a, b] = clients.map((c) => new LiteWireClient(c, P, group, 'x'));
    (b as { clientId: string }).clientId = a!.clientId;
    return [a!, b!];
  };
  const ownedBy = (broker: string, prefix: string) => Array.from({ length: 50 }, (_, i) => `${prefix}-${i}`).find((l) => liteOwner(NAMES, P, l) === broker)!;

  beforeAll(async () => {
    ns = createNameServer({ port: 0, logger: silentLogger });
    await ns.start();
    const nameserver = `127.0.0.1:${ns.address.port}`;
    for (const [i, name] of NAMES.entries()) {
      const b = createBroker({ brokerName: name, port: 0, nameservers: [nameserver], logger: silentLogger, registerIntervalMs: 500, store: { dataDir: dirs[i]!.path } });
      await b.start();
      brokers.push(b);
    }
    admin = new AdminClient({ nameserver, logger: silentLogger });
    const deadline = Date.now() + 10_000;
    while ((await admin.listBrokers()).length < 2) {
      if (Date.now() > deadline) throw new Error('brokers did not register');
      await new Promise((r) => setTimeout(r, 50));
    }
    const on = await admin.createTopic({ name: P, messageType: 'LITE' });
    expect(on.map((t) => t.broker).sort()).toEqual(NAMES);
    clients = mq();
  });
  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await admin?.close();
    for (const b of brokers) await b.close();
    await ns?.close();
    for (const d of dirs) d.cleanup();
  });

  it('cluster - a partial add and a lite message sent to the wrong broker both reach the owner, which delivers', async () => {
    const onB1 = ownedBy('b1', 'task');
    const onB0 = ownedBy('b0', 'task');
    const [via0, via1] = pair('routing-1');
    // Both subscriptions go to b0; b0 keeps its own and passes onB1 on to b1.
    expect(await via0!.sync('PARTIAL_ADD', [onB0, onB1])).toMatchObject({ code: 'OK' });
    // A lite message of onB1 sent to b0, one of onB0 sent to b1: each is stored on its owner.
    const m1 = liteMessage(P, onB1, 'for b1 via b0');
    const m0 = liteMessage(P, onB0, 'for b0 via b1');
    const r1 = await send(clients[0]!, [m1]);
    const r0 = await send(clients[1]!, [m0]);
    expect(r1.entries?.[0]?.status?.code).toBe('OK');
    expect(r0.entries?.[0]?.status?.code).toBe('OK');
    expect(await admin.getMessage(m1.systemProperties!.messageId!, { broker: 'b1' })).toBeDefined();
    expect(await admin.getMessage(m1.systemProperties!.messageId!, { broker: 'b0' })).toBeUndefined();
    expect(await admin.getMessage(m0.systemProperties!.messageId!, { broker: 'b0' })).toBeDefined();
    // Each owner delivers to the subscriber, and only its own lite topic.
    const got1 = await receiveUntil(via1!, 1, 5_000);
    expect(got1.map((m) => [liteOf(m), bodyOf(m)])).toEqual([[onB1, 'for b1 via b0']]);
    const got0 = await receiveUntil(via0!, 1, 5_000);
    expect(got0.map((m) => [liteOf(m), bodyOf(m)])).toEqual([[onB0, 'for b0 via b1']]);
  });

  it('cluster - a client that syncs every broker of the route (as the official Java client does) gets each message once, from its owner', async () => {
    const lites = [ownedBy('b0', 'java'), ownedBy('b1', 'java')];
    const [via0, via1] = pair('routing-java');
    for (const c of [via0!, via1!]) {
      expect(await c.sync('PARTIAL_ADD', lites)).toMatchObject({ code: 'OK' });
      expect(await c.sync('COMPLETE_ADD', lites)).toMatchObject({ code: 'OK' });
    }
    for (const l of lites) for (const i of [0, 1]) await send(clients[i]!, [liteMessage(P, l, `${l} via b${i}`)]);
    const got = [...(await receiveUntil(via0!, 2, 3_000)), ...(await receiveUntil(via1!, 2, 3_000))].map((m) => `${liteOf(m)}|${bodyOf(m)}`);
    expect(got.sort()).toEqual(lites.flatMap((l) => [0, 1].map((i) => `${l}|${l} via b${i}`)).sort());
    // Nothing more comes: each message was stored once, on its owner.
    const more = [...(await via0!.receive(300)).messages, ...(await via1!.receive(300)).messages];
    expect(more).toEqual([]);
  });

  it('cluster - a bad lite topic name is refused before anything is forwarded', async () => {
    const [via0] = pair('routing-2');
    expect(await via0!.sync('PARTIAL_ADD', ['bad name!'])).toMatchObject({ code: 'ILLEGAL_LITE_TOPIC' });
  });

  it('cluster - owner unreachable: the broker keeps the subscription and the message itself; nothing is refused or lost', async () => {
    const onB1 = ownedBy('b1', 'late');
    const [via0] = pair('routing-3');
    // b1 stops serving (still in the route until its registration expires).
    await brokers[1]!.close();
    expect(await via0!.sync('PARTIAL_ADD', [onB1])).toMatchObject({ code: 'OK' });
    const m = liteMessage(P, onB1, 'kept on b0');
    const r = await send(clients[0]!, [m]);
    expect(r.entries?.[0]?.status?.code).toBe('OK');
    expect(await admin.getMessage(m.systemProperties!.messageId!, { broker: 'b0' })).toBeDefined();
    const got = await receiveUntil(via0!, 1, 5_000);
    expect(got.map((x) => [liteOf(x), bodyOf(x)])).toEqual([[onB1, 'kept on b0']]);
  });
});

describe('cluster - a broker joins: lite topics it now owns move to it, nothing is lost (in-process, SDK clients)', () => {
  const dirs = [tmpDir(), tmpDir(), tmpDir()];
  let ns: NameServer;
  let nameserver: string;
  const brokers: Broker[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  const startBroker = async (i: number): Promise<void> => {
    const b = createBroker({ brokerName: `g${i}`, port: 0, nameservers: [nameserver], logger: silentLogger, registerIntervalMs: 300, store: { dataDir: dirs[i]!.path } });
    await b.start();
    brokers.push(b);
  };

  beforeAll(async () => {
    ns = createNameServer({ port: 0, logger: silentLogger });
    await ns.start();
    nameserver = `127.0.0.1:${ns.address.port}`;
    await startBroker(0);
    await startBroker(1);
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const b of brokers) await b.close();
    await ns?.close();
    for (const d of dirs) d.cleanup();
  });

  it('cluster - after a third broker joins, lite topics it wins are served from it; the others do not move', async () => {
    const { LiteConsumer, Producer } = await import('../../client/index.js');
    const admin = new AdminClient({ nameserver, logger: silentLogger });
    closers.push(() => admin.close());
    for (const deadline = Date.now() + 10_000; (await admin.listBrokers()).length < 2; ) {
      if (Date.now() > deadline) throw new Error('brokers did not register');
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.createTopic({ name: P, messageType: 'LITE' });
    const lites = Array.from({ length: 30 }, (_, i) => `grow-${i}`);
    const got = new Map<string, string[]>();
    const consumer = new LiteConsumer({ nameserver, logger: silentLogger, group: 'growers', topic: P, awaitDurationMs: 500, routeRefreshIntervalMs: 300 });
    closers.push(() => consumer.close());
    await consumer.start();
    for (const l of lites) await consumer.subscribe(l);
    void consumer.consume((m) => void got.set(m.liteTopic, [...(got.get(m.liteTopic) ?? []), m.body.toString()]));
    const producer = new Producer({ nameserver, logger: silentLogger, routeRefreshIntervalMs: 300 });
    closers.push(() => producer.close());
    await producer.start();
    const until = async (cond: () => boolean, what: string) => {
      for (const deadline = Date.now() + 15_000; !cond(); ) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    for (const l of lites) await producer.send({ topic: P, liteTopic: l, body: `${l}#before` });
    await until(() => lites.every((l) => got.get(l)?.length === 1), 'the messages sent before the join');

    // A third broker joins and gets the parent topic.
    await startBroker(2);
    for (const deadline = Date.now() + 10_000; (await admin.listBrokers()).length < 3; ) {
      if (Date.now() > deadline) throw new Error('g2 did not register');
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.createTopic({ name: P, messageType: 'LITE' }, { broker: 'g2' });
    const three = ['g0', 'g1', 'g2'];
    const moved = lites.filter((l) => liteOwner(three, P, l) === 'g2');
    const stayed = lites.filter((l) => liteOwner(three, P, l) !== 'g2');
    // Only the lite topics g2 wins move (about a third); the others keep their owner.
    expect(moved.length).toBeGreaterThan(0);
    for (const l of stayed) expect(liteOwner(three, P, l)).toBe(liteOwner(['g0', 'g1'], P, l));
    // Clients see the new route within their refresh (the old brokers may still see two brokers for
    // up to 5 s: our SDK sends to the owner directly); then every lite topic still delivers.
    await new Promise((r) => setTimeout(r, 1_000)); // clients re-query routes every 300 ms here
    const stored = new Map<string, string>();
    for (const l of lites) stored.set(l, (await producer.send({ topic: P, liteTopic: l, body: `${l}#after` })).broker);
    await until(() => lites.every((l) => got.get(l)?.length === 2), 'the messages sent after the join');
    for (const l of lites) expect(got.get(l)).toEqual([`${l}#before`, `${l}#after`]);
    // The moved ones went to g2 (the producer sends to the owner), the others where they were.
    const g2 = `127.0.0.1:${brokers[2]!.address.port}`;
    for (const l of moved) expect(stored.get(l), l).toBe(g2);
    for (const l of stayed) expect(stored.get(l), l).not.toBe(g2);
  }, 60_000);
});
