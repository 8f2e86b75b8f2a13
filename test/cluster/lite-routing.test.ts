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
