/**
 * NATS JetStream through the `nats` npm client: one file-backed stream (R1), `js.publish()`
 * resolving on the PubAck, and a durable pull consumer (`consume()`, explicit acks).
 */
import { AckPolicy, connect, DeliverPolicy, RetentionPolicy, StorageType } from 'nats';
import type { ConsumerMessages, JetStreamClient, NatsConnection } from 'nats';
import type { Target } from '../protocol.js';
import type { Driver } from './driver.js';

type NatsTarget = Extract<Target, { kind: 'nats' }>;

const STREAM = 'BENCH';
const SUBJECT = 'bench.msg';
const CONSUMER = 'bench-w2';

export class NatsDriver implements Driver {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private consuming = false;

  constructor(private readonly target: NatsTarget) {}

  async setup(opts: { consumer: boolean }): Promise<void> {
    const nc = await connect({ servers: this.target.url, name: 'agentmq-bench' });
    this.nc = nc;
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({
      name: STREAM,
      subjects: [SUBJECT],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: 1,
    });
    if (opts.consumer) {
      await jsm.consumers.add(STREAM, {
        durable_name: CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: 10_000,
      });
    }
    this.js = nc.jetstream();
  }

  publish(body: Buffer): Promise<void> {
    return this.js!.publish(SUBJECT, body).then(() => undefined);
  }

  async startConsumer(onMessage: (body: Uint8Array) => void, onError: (err: unknown) => void): Promise<void> {
    const consumer = await this.js!.consumers.get(STREAM, CONSUMER);
    const messages = await consumer.consume({ max_messages: 256 });
    this.messages = messages;
    this.consuming = true;
    this.loop = (async () => {
      try {
        for await (const m of messages) {
          onMessage(m.data);
          m.ack();
        }
      } catch (err) {
        if (this.consuming) onError(err);
      }
    })();
  }

  async close(): Promise<void> {
    this.consuming = false;
    try {
      this.messages?.stop();
      await this.loop;
    } catch {
      // closing anyway
    }
    try {
      await this.nc?.drain();
    } catch {
      await this.nc?.close().catch(() => undefined);
    }
  }
}
