/**
 * Redis Streams through ioredis: XADD on one connection with auto-pipelining (commands issued in
 * one tick go out in one write, as the AgentMQ SDK batches sends), each counted on its reply;
 * XREADGROUP BLOCK on a second connection, XACK pipelined on the first.
 */
import { Redis } from 'ioredis';
import type { Target } from '../protocol.js';
import type { Driver } from './driver.js';
import { sleep } from './driver.js';

type RedisTarget = Extract<Target, { kind: 'redis' }>;

const KEY = 'bench';
const GROUP = 'bench-w2';

/** XREADGROUP's reply: [[key, [[id, [field, value, ...]], ...]], ...] or null. */
type ReadReply = [Buffer, [Buffer, Buffer[]][]][] | null;

export class RedisDriver implements Driver {
  private redis: Redis | undefined;
  private reader: Redis | undefined;
  private consuming = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly target: RedisTarget) {}

  async setup(opts: { consumer: boolean }): Promise<void> {
    const redis = new Redis({
      host: this.target.host,
      port: this.target.port,
      enableAutoPipelining: true,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    this.redis = redis;
    await redis.connect();
    await redis.del(KEY);
    if (opts.consumer) await redis.xgroup('CREATE', KEY, GROUP, '$', 'MKSTREAM');
  }

  publish(body: Buffer): Promise<void> {
    return this.redis!.xadd(KEY, '*', 'd', body).then(() => undefined);
  }

  async startConsumer(onMessage: (body: Uint8Array) => void, onError: (err: unknown) => void): Promise<void> {
    const reader = new Redis({ host: this.target.host, port: this.target.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    this.reader = reader;
    await reader.connect();
    this.consuming = true;
    this.loop = (async () => {
      while (this.consuming) {
        let reply: ReadReply;
        try {
          reply = (await reader.callBuffer('XREADGROUP', 'GROUP', GROUP, 'c1', 'COUNT', '256', 'BLOCK', '200', 'STREAMS', KEY, '>')) as ReadReply;
        } catch (err) {
          if (!this.consuming) return;
          onError(err);
          await sleep(10);
          continue;
        }
        if (!reply) continue;
        const ids: Buffer[] = [];
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            const body = fields[1];
            if (body) onMessage(body);
            ids.push(id);
          }
        }
        if (ids.length > 0) {
          this.redis!.xack(KEY, GROUP, ...ids).catch((err: unknown) => {
            if (this.consuming) onError(err);
          });
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.consuming = false;
    await this.loop?.catch(() => undefined);
    for (const r of [this.reader, this.redis]) {
      if (!r) continue;
      try {
        await r.quit();
      } catch {
        r.disconnect();
      }
    }
  }
}
