import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../broker/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { adminClient, call, messagingClient, receiveAll } from '../helpers/wire.js';

describe('broker - smoke', () => {
  let broker: Broker | undefined;
  let dir: ReturnType<typeof tmpDir> | undefined;
  afterEach(async () => {
    await broker?.close();
    dir?.cleanup();
  });

  it('broker - send, receive, ack over raw wire', async () => {
    dir = tmpDir();
    broker = createBroker({ port: 0, nameservers: [], store: { dataDir: dir.path }, logger: silentLogger });
    await broker.start();
    const addr = `127.0.0.1:${broker.address.port}`;
    const admin = adminClient(addr);
    const created = await call(admin, admin.CreateTopic, { topic: { name: 'orders', queueCount: 2 } });
    expect(created.status?.code).toBe('OK');
    const mq = messagingClient(addr);
    const sent = await call(mq, mq.SendMessage, {
      messages: [1, 2, 3].map((i) => ({
        topic: { name: 'orders' },
        body: Buffer.from(`m${i}`),
        systemProperties: { messageId: `id-${i}`, messageType: 'NORMAL' as const, tag: 'created' },
      })),
    });
    expect(sent.status?.code).toBe('OK');
    expect(sent.entries).toHaveLength(3);
    const frames = await receiveAll(mq, {
      group: { name: 'g1' },
      messageQueue: { topic: { name: 'orders' }, id: 0 },
      filterExpression: { type: 'TAG', expression: '*' },
      batchSize: 10,
      invisibleDuration: { seconds: 30 },
      longPollingTimeout: { seconds: 1 },
    });
    const msgs = frames.filter((f) => f.message).map((f) => f.message!);
    expect(msgs.map((m) => m.body.toString()).sort()).toEqual(['m1', 'm2', 'm3']);
    const ack = await call(mq, mq.AckMessage, {
      group: { name: 'g1' },
      topic: { name: 'orders' },
      entries: msgs.map((m) => ({ messageId: m.systemProperties!.messageId, receiptHandle: m.systemProperties!.receiptHandle! })),
    });
    expect(ack.status?.code).toBe('OK');
    mq.close();
    admin.close();
  });
});
