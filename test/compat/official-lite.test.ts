/**
 * Compatibility: the official RocketMQ 5 Node client's LitePushConsumer (unmodified) against
 * `agentmq dev` in a child process. Its SyncLiteSubscription goes to the NameServer (its access
 * point), which forwards it to the broker; receives and acks go to the broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumeResult, LitePushConsumerBuilder, Producer, type LitePushConsumer } from 'rocketmq-client-nodejs';
import { startDev, type DevProcess } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { adminClient, call } from '../helpers/wire.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

describe('compat - official LitePushConsumer', () => {
  let dev: DevProcess;
  let dir: ReturnType<typeof tmpDir>;

  beforeAll(async () => {
    dir = tmpDir();
    // Short long polls: the client's shutdown waits for its parked receive to return.
    dev = await startDev({ dataDir: dir.path, extraArgs: ['--max-long-polling-ms', '3000'] });
    const admin = adminClient(dev.broker);
    const res = await call(admin, admin.CreateTopic, { topic: { name: 'compat-replies', messageType: 'LITE' } });
    expect(res.status?.code).toBe('OK');
    admin.close();
  });

  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
    dir?.cleanup();
  });

  it('compat - LitePushConsumer receives every message of its lite topics, in order per lite topic, and nothing else', async () => {
    const got = new Map<string, string[]>();
    const consumer: LitePushConsumer = await new LitePushConsumerBuilder()
      .setClientConfiguration({ endpoints: dev.nameserver, namespace: '', logger: quiet } as never)
      .setConsumerGroup('compat-supervisor')
      .bindTopic('compat-replies')
      .setMessageListener({
        consume(m) {
          const list = got.get(m.liteTopic ?? '?') ?? [];
          list.push(Buffer.from(m.body).toString());
          got.set(m.liteTopic ?? '?', list);
          return ConsumeResult.SUCCESS;
        },
      })
      .build();
    try {
      await consumer.subscribeLite('task-1');
      await consumer.subscribeLite('task-2');
      expect(consumer.getLiteTopicSet()).toEqual(new Set(['task-1', 'task-2']));

      const producer = new Producer({ endpoints: dev.nameserver, namespace: '', topics: ['compat-replies'], logger: quiet });
      await producer.startup();
      for (let i = 0; i < 10; i++) {
        await producer.send({ topic: 'compat-replies', liteTopic: 'task-1', body: Buffer.from(`t1-${i}`) });
        await producer.send({ topic: 'compat-replies', liteTopic: 'task-2', body: Buffer.from(`t2-${i}`) });
        await producer.send({ topic: 'compat-replies', liteTopic: 'task-3', body: Buffer.from(`t3-${i}`) }); // not subscribed
      }
      await waitFor(() => (got.get('task-1')?.length ?? 0) >= 10 && (got.get('task-2')?.length ?? 0) >= 10, 20_000);
      expect(got.get('task-1')).toEqual(Array.from({ length: 10 }, (_, i) => `t1-${i}`));
      expect(got.get('task-2')).toEqual(Array.from({ length: 10 }, (_, i) => `t2-${i}`));
      expect(got.has('task-3')).toBe(false);

      // Unsubscribed: later messages of task-2 are not delivered to this client.
      await consumer.unsubscribeLite('task-2');
      await producer.send({ topic: 'compat-replies', liteTopic: 'task-2', body: Buffer.from('late') });
      await producer.send({ topic: 'compat-replies', liteTopic: 'task-1', body: Buffer.from('t1-last') });
      await waitFor(() => (got.get('task-1')?.length ?? 0) >= 11, 10_000);
      expect(got.get('task-1')?.at(-1)).toBe('t1-last');
      expect(got.get('task-2')).toHaveLength(10);
      await producer.shutdown();
    } finally {
      await consumer.close();
    }
  }, 60_000);
});
