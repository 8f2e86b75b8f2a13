/**
 * Lite topics under kill -9: `agentmq dev --flush sync` in a child process; 2,000 lite messages
 * over 50 lite topics, half of them received and acked, then SIGKILL and a restart on the same
 * data dir. The client's full sync brings its subscriptions back; every acknowledged message is
 * delivered, an acknowledged ack is never undone, and each lite topic stays in order.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startDev, freePort, type DevProcess } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { adminClient, call, messagingClient } from '../helpers/wire.js';
import { bodyOf, liteMessage, liteOf, LiteWireClient } from '../helpers/lite-harness.js';

const LITES = Array.from({ length: 50 }, (_, i) => `job-${i}`);
const PER_LITE = 40;

describe('durability - lite topics survive kill -9 with sync flush', () => {
  const dir = tmpDir();
  let dev: DevProcess | undefined;
  afterAll(async () => {
    await dev?.stop();
    dir.cleanup();
  });

  it('durability - lite messages and acks survive kill -9; subscriptions come back from the full sync', async () => {
    const nsPort = await freePort();
    const brokerPort = await freePort();
    const start = () => startDev({ dataDir: dir.path, flush: 'sync', nameserverPort: nsPort, brokerPort });
    dev = await start();
    const admin = adminClient(dev.broker);
    expect((await call(admin, admin.CreateTopic, { topic: { name: 'results', messageType: 'LITE' } })).status?.code).toBe('OK');
    admin.close();
    let mq = messagingClient(dev.broker);
    let c = new LiteWireClient(mq, 'results', 'sup', 'sup');
    const id = c.clientId;
    expect((await c.sync('PARTIAL_ADD', LITES)).code).toBe('OK');

    for (let i = 0; i < PER_LITE; i++) {
      const res = await call(mq, mq.SendMessage, { messages: LITES.map((l) => liteMessage('results', l, `${l}#${i}`)) });
      expect(res.status?.code).toBe('OK');
    }
    const acked = new Set<string>();
    const seen = new Map<string, string[]>(LITES.map((l) => [l, []]));
    for (let round = 0; round < 200 && acked.size < (LITES.length * PER_LITE) / 2; round++) {
      for (const m of (await c.receive(500)).messages) {
        seen.get(liteOf(m))!.push(bodyOf(m));
        if ((await c.ack(m)) === 'OK') acked.add(bodyOf(m));
      }
    }
    expect(acked.size).toBeGreaterThanOrEqual((LITES.length * PER_LITE) / 2);

    await dev.kill9();
    mq.close();
    dev = await start();
    mq = messagingClient(dev.broker);
    c = Object.assign(new LiteWireClient(mq, 'results', 'sup', 'sup'), { clientId: id });
    expect((await c.sync('COMPLETE_ADD', LITES)).code).toBe('OK');
    for (let round = 0; round < 400; round++) {
      const r = await c.receive(500);
      if (r.messages.length === 0 && round > 2) break;
      for (const m of r.messages) {
        expect(acked.has(bodyOf(m)), `${bodyOf(m)} was acked before the kill`).toBe(false);
        seen.get(liteOf(m))!.push(bodyOf(m));
        expect(await c.ack(m)).toBe('OK');
      }
    }
    for (const l of LITES) {
      // Every message, in order; a message may repeat only if its ack was not confirmed.
      const uniq = [...new Set(seen.get(l))];
      expect(uniq).toEqual(Array.from({ length: PER_LITE }, (_, i) => `${l}#${i}`));
    }
    mq.close();
  }, 120_000);
});
