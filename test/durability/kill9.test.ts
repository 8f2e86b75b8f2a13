/**
 * Durability under kill -9: `agentmq dev --flush sync` in a child process; a producer sends
 * 10,000 messages (batched, pipelined) while a consumer receives and acks; the process is
 * SIGKILLed mid-run and restarted on the same data dir and ports. Every message whose send was
 * acknowledged must be delivered; a message may be delivered twice only if an earlier delivery
 * of it was not acknowledged (at-least-once, never "lost after ack").
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startDev, freePort, type DevProcess } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { adminClient, call, messagingClient, receiveAll, wireMetadata } from '../helpers/wire.js';

const TOTAL = 10_000;
const BATCH = 100;
const TOPIC = 'durable';
const GROUP = 'durable-group';

describe('durability - kill -9 with sync flush', () => {
  const dir = tmpDir();
  let dev: DevProcess | undefined;
  afterAll(async () => {
    await dev?.stop();
    dir.cleanup();
  });

  it('durability - 10,000 messages survive kill -9 mid-run; duplicates only for unacked deliveries', async () => {
    const nsPort = await freePort();
    const brokerPort = await freePort();
    const start = () => startDev({ dataDir: dir.path, flush: 'sync', nameserverPort: nsPort, brokerPort });
    dev = await start();
    const admin = adminClient(dev.broker);
    expect((await call(admin, admin.CreateTopic, { topic: { name: TOPIC, queueCount: 4 } })).status?.code).toBe('OK');
    admin.close();

    const mq = messagingClient(dev.broker);
    const md = () => wireMetadata('kill9-client');
    const sentAcked = new Set<string>();
    /** per message id: deliveries seen, and whether an earlier delivery's ack was confirmed */
    const deliveries = new Map<string, { count: number; acked: boolean; dupAfterAck: boolean }>();
    /** ids whose ack call failed (e.g. in flight at the kill): the broker may or may not have applied it */
    const ackUnknown = new Set<string>();
    let restartedAt = Infinity;
    let seq = 0;
    let up = true;
    let restarted: Promise<void> = Promise.resolve();
    let killAt = TOTAL / 2;
    let deliveredBeforeKill = 0;

    const sendLoop = async () => {
      while (sentAcked.size < TOTAL) {
        await restarted;
        const ids = Array.from({ length: Math.min(BATCH, TOTAL - sentAcked.size) }, () => `m-${seq++}`);
        try {
          const res = await call(mq, mq.SendMessage, {
            messages: ids.map((id) => ({ topic: { name: TOPIC }, body: Buffer.from(`body of ${id}`), systemProperties: { messageId: id, messageType: 'NORMAL' as const } })),
          }, md(), 5000);
          if (res.status?.code !== 'OK') continue;
          for (const e of res.entries) if (e.status?.code === 'OK') sentAcked.add(e.messageId);
        } catch {
          // Broker down: these ids are not acknowledged; new ids are sent after the restart.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };

    const consumeLoop = async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        // Done when every acknowledged send was delivered and every delivery was acked (or its ack
        // was in flight at the kill), and redeliveries have had time to come back (invisibility 2 s).
        const allDelivered =
          sentAcked.size >= TOTAL &&
          Date.now() > restartedAt + 4000 &&
          [...sentAcked].every((id) => deliveries.get(id)?.acked || (deliveries.has(id) && ackUnknown.has(id)));
        if (allDelivered || Date.now() > deadline) return;
        await restarted;
        try {
          const frames = await receiveAll(mq, {
            group: { name: GROUP },
            messageQueue: { topic: { name: TOPIC }, id: 0 },
            filterExpression: { type: 'TAG', expression: '*' },
            batchSize: 32,
            invisibleDuration: { seconds: 2 },
            longPollingTimeout: { seconds: 1 },
          }, md(), 5000);
          const msgs = frames.filter((f) => f.message).map((f) => f.message!);
          for (const m of msgs) {
            const id = m.systemProperties!.messageId;
            const d = deliveries.get(id) ?? { count: 0, acked: false, dupAfterAck: false };
            if (d.acked) d.dupAfterAck = true;
            d.count++;
            deliveries.set(id, d);
          }
          if (msgs.length === 0) continue;
          const ids = msgs.map((m) => m.systemProperties!.messageId);
          try {
            const ack = await call(mq, mq.AckMessage, {
              group: { name: GROUP },
              topic: { name: TOPIC },
              entries: msgs.map((m) => ({ messageId: m.systemProperties!.messageId, receiptHandle: m.systemProperties!.receiptHandle! })),
            }, md(), 5000);
            for (const e of ack.entries) {
              if (e.status?.code === 'OK') {
                deliveries.get(e.messageId)!.acked = true;
                ackUnknown.delete(e.messageId);
              }
            }
          } catch {
            for (const id of ids) if (!deliveries.get(id)!.acked) ackUnknown.add(id);
          }
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };

    const killer = async () => {
      while (sentAcked.size < killAt) await new Promise((r) => setTimeout(r, 5));
      let release!: () => void;
      restarted = new Promise((r) => (release = r));
      // Kill while calls are in flight: loops that already passed `await restarted` are mid-call.
      up = false;
      const before = sentAcked.size;
      deliveredBeforeKill = deliveries.size;
      await dev!.kill9();
      dev = await start();
      restartedAt = Date.now();
      up = true;
      release();
      killAt = Infinity;
      return before;
    };

    const [, , ackedBeforeKill] = await Promise.all([sendLoop(), consumeLoop(), killer()]);
    mq.close();
    expect(up).toBe(true);
    expect(ackedBeforeKill).toBeGreaterThanOrEqual(TOTAL / 2);
    expect(sentAcked.size).toBe(TOTAL);
    // Lost = acknowledged by the broker on send, never delivered.
    const lost = [...sentAcked].filter((id) => !deliveries.has(id));
    // Delivered but neither acked nor with an ack in flight at the kill: the broker dropped it.
    const unsettled = [...sentAcked].filter((id) => !deliveries.get(id)?.acked && !ackUnknown.has(id));
    expect(unsettled).toEqual([]);
    expect(lost).toEqual([]);
    const redelivered = [...deliveries.values()].filter((d) => d.count > 1).length;
    console.log(`kill -9 after ${ackedBeforeKill} acknowledged sends and ${deliveredBeforeKill} deliveries; ${redelivered} messages delivered more than once; ${ackUnknown.size} with an ack in flight at the kill`);
    expect(deliveredBeforeKill).toBeGreaterThan(0);
    const dupAfterAck = [...deliveries.entries()].filter(([, d]) => d.dupAfterAck).map(([id]) => id);
    expect(dupAfterAck).toEqual([]);
  }, 180_000);
});
