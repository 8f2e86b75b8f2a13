/**
 * AgentMQ through its own SDK: AdminClient creates the topic, Producer sends (batched and
 * pipelined by the SDK), SimpleConsumer long-polls and acks (acks coalesced by the SDK).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Producer, ReceivedMessage, SimpleConsumer } from '../../client/index.js';
import type { Target } from '../protocol.js';
import type { Driver } from './driver.js';
import { sleep } from './driver.js';

type AgentMqTarget = Extract<Target, { kind: 'agentmq' }>;
type Sdk = typeof import('../../client/index.js');

/** The SDK of the checkout under test (this repository unless --agentmq-dir names another). */
function loadSdk(root: string): Promise<Sdk> {
  return import(pathToFileURL(join(root, 'client', 'index.ts')).href) as Promise<Sdk>;
}

const TOPIC = 'bench';
const GROUP = 'bench-w2';

export class AgentMqDriver implements Driver {
  private producer: Producer | undefined;
  private consumer: SimpleConsumer | undefined;
  private consuming = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly target: AgentMqTarget) {}

  private sdk: Sdk | undefined;

  async setup(): Promise<void> {
    const { nameserver } = this.target;
    const sdk = await loadSdk(this.target.sdkRoot);
    this.sdk = sdk;
    const { AdminClient, Producer, silentLogger } = sdk;
    const admin = new AdminClient({ nameserver, logger: silentLogger });
    try {
      await admin.createTopic({ name: TOPIC, queueCount: this.target.queues }, { ifNotExists: true });
    } finally {
      await admin.close();
    }
    // The broker re-registers its topic table with the NameServer right after the change; wait
    // until the route is there (bounded).
    const producer = new Producer({
      nameserver,
      topics: [TOPIC],
      lingerMs: this.target.linger,
      maxBatchMessages: this.target.maxBatch,
      maxInFlightBatches: this.target.maxInFlightBatches,
      logger: silentLogger,
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await producer.start();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
    this.producer = producer;
  }

  publish(body: Buffer): Promise<void> {
    return this.producer!.send({ topic: TOPIC, body }).then(() => undefined);
  }

  async startConsumer(onMessage: (body: Uint8Array) => void, onError: (err: unknown) => void): Promise<void> {
    const { SimpleConsumer, silentLogger } = this.sdk!;
    const consumer = new SimpleConsumer({
      nameserver: this.target.nameserver,
      group: GROUP,
      subscriptions: { [TOPIC]: '*' },
      awaitDurationMs: 1_000,
      maxMessages: 32,
      logger: silentLogger,
    });
    await consumer.start();
    this.consumer = consumer;
    this.consuming = true;
    this.loop = (async () => {
      while (this.consuming) {
        let msgs: ReceivedMessage[];
        try {
          msgs = await consumer.receive();
        } catch (err) {
          if (!this.consuming) return;
          onError(err);
          await sleep(10);
          continue;
        }
        for (const m of msgs) {
          onMessage(m.body);
          m.ack().catch((err: unknown) => {
            if (this.consuming) onError(err);
          });
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.consuming = false;
    await Promise.allSettled([this.consumer?.close(), this.producer?.close()]);
    await this.loop?.catch(() => undefined);
  }
}
