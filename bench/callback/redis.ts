/**
 * The agent callback pattern on Redis Streams (ioredis), redis-server with appendonly yes,
 * appendfsync everysec.
 *
 * Tasks: the stream `tasks` with the consumer group `workers`. The supervisor XADDs (resolved on
 * the reply: in the AOF buffer, written before the reply). The worker, on its own two
 * connections, reads with XREADGROUP BLOCK (a batch of up to 2× inflight entries) and for each
 * task issues XADD ×3 on `result:<taskId>` and then XACK, pipelined on one connection with no
 * wait in between: Redis executes one connection's commands in order, so the replies are stored,
 * in order, before the task is acknowledged.
 *
 * Replies: the per-task stream `result:<taskId>` is the fresh channel. It needs no creation (the
 * first XADD creates it) and is read from id 0, so "subscribing" before the dispatch is implicit
 * and nothing can be missed. Waiting on many streams at once: a blocking XREAD holds its
 * connection, and one XREAD over all the active streams would have to be interrupted (CLIENT
 * UNBLOCK from another connection: an extra command per task) each time a task starts. Instead
 * the supervisor keeps a pool of `inflight` reader connections; a task takes one and blocks on
 * its own stream (XREAD BLOCK ... STREAMS result:<id> <last id>), so every reply wakes exactly
 * its reader. After the final reply the supervisor DELs the stream (the channel's cleanup).
 */
import type { Redis as RedisClient } from 'ioredis';
import { encodeTask, workerReplies } from './messages.js';
import { checkPeer, startRedisServer } from './servers.js';
import type { PeerServer } from './servers.js';
import type { CallbackContext, CallbackSystem, RunningCallbackSystem, TaskSpec, TaskTrace } from './system.js';

const TASKS = 'tasks';
const GROUP = 'workers';
const resultKey = (taskId: string): string => `result:${taskId}`;
/** A blocking read returns at least this often, so loops notice a settled trace or a stop. */
const BLOCK_MS = 1_000;

type RedisCtor = typeof import('ioredis').Redis;
/** XREAD / XREADGROUP reply: [[key, [[id, [field, value, ...]], ...]], ...] or null. */
type ReadReply = [string, [string, string[]][]][] | null;

async function connect(Redis: RedisCtor, srv: PeerServer, name: string, autoPipeline: boolean): Promise<RedisClient> {
  const r = new Redis({
    host: srv.host,
    port: srv.port,
    connectionName: name,
    lazyConnect: true,
    enableAutoPipelining: autoPipeline,
    maxRetriesPerRequest: 1,
    // A broken connection is an error of the run, not something to ride out.
    retryStrategy: () => null,
  });
  await r.connect();
  return r;
}

class Worker {
  handled = 0;
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    /** XREADGROUP BLOCK (a blocked connection can do nothing else). */
    private readonly reader: RedisClient,
    /** XADD replies + XACK, auto-pipelined. */
    private readonly writer: RedisClient,
    private readonly ctx: CallbackContext,
  ) {}

  start(): void {
    const count = String(Math.max(16, this.ctx.inflight * 2));
    this.loop = (async () => {
      while (this.running) {
        let reply: ReadReply;
        try {
          reply = (await this.reader.xreadgroup('GROUP', GROUP, 'worker-1', 'COUNT', count, 'BLOCK', BLOCK_MS, 'STREAMS', TASKS, '>')) as ReadReply;
        } catch (err) {
          if (this.running) this.ctx.fail(err);
          return;
        }
        for (const [, entries] of reply ?? []) for (const [id, fields] of entries) this.handle(id, fields);
      }
    })();
  }

  /** Not awaited: the next XREADGROUP goes out while these replies are in flight. */
  private handle(id: string, fields: string[]): void {
    let out: ReturnType<typeof workerReplies>;
    try {
      out = workerReplies(fields[1] ?? '');
    } catch (err) {
      this.ctx.fail(err);
      return;
    }
    const key = out.task.replyTo;
    const sends = out.replies.map((body) => this.writer.xadd(key, '*', 'd', body));
    const ack = this.writer.xack(TASKS, GROUP, id);
    Promise.all([...sends, ack]).then(
      () => {
        this.handled++;
      },
      (err: unknown) => {
        if (this.running) this.ctx.fail(err);
      },
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    // Ends the blocked XREADGROUP now instead of after up to BLOCK_MS.
    this.reader.disconnect();
    await this.loop;
  }
}

class Supervisor {
  /** Idle reader connections; a task holds one while it waits for its replies. */
  private readonly idle: RedisClient[];

  constructor(
    /** XADD tasks, DEL: auto-pipelined, shared by all tasks. */
    private readonly cmd: RedisClient,
    readers: RedisClient[],
  ) {
    this.idle = [...readers];
  }

  async runTask(task: TaskSpec, trace: TaskTrace): Promise<void> {
    const key = resultKey(task.id);
    // The harness never runs more tasks than the pool has readers.
    const reader = this.idle.pop();
    if (!reader) throw new Error('no idle reader connection (more tasks in flight than --inflight?)');
    try {
      trace.dispatched();
      await this.cmd.xadd(TASKS, '*', 'd', encodeTask(task.id, key));
      let last = '0';
      while (!trace.settled) {
        const reply = (await reader.xread('COUNT', 16, 'BLOCK', BLOCK_MS, 'STREAMS', key, last)) as ReadReply;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            trace.reply(fields[1] ?? '');
          }
        }
      }
      await trace.completed;
    } finally {
      this.idle.push(reader);
      await this.cmd.del(key);
    }
  }
}

async function start(ctx: CallbackContext): Promise<RunningCallbackSystem> {
  const { Redis } = await import('ioredis');
  const srv = await startRedisServer(ctx.tmpBase);
  const conns: RedisClient[] = [];
  let worker: Worker | undefined;
  const stop = async (): Promise<void> => {
    await worker?.stop();
    for (const c of conns) await c.quit().catch(() => c.disconnect());
    await srv.stop();
  };
  try {
    const open = async (name: string, autoPipeline: boolean): Promise<RedisClient> => {
      const c = await connect(Redis, srv, name, autoPipeline);
      conns.push(c);
      c.on('error', (err: unknown) => ctx.fail(err));
      return c;
    };
    const cmd = await open('supervisor', true);
    await cmd.xgroup('CREATE', TASKS, GROUP, '$', 'MKSTREAM');
    const readers: RedisClient[] = [];
    for (let i = 0; i < ctx.inflight; i++) readers.push(await open(`supervisor-reader-${i}`, false));
    worker = new Worker(await open('worker-reader', false), await open('worker', true), ctx);
    worker.start();
    const supervisor = new Supervisor(cmd, readers);
    const w = worker;
    return {
      serverPids: [srv.server.pid],
      ...(srv.version ? { serverVersion: srv.version } : {}),
      runTask: (task, trace) => supervisor.runTask(task, trace),
      workerHandled: () => w.handled,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

export const redisSystem: CallbackSystem = {
  id: 'redis',
  label: 'Redis Streams (AOF everysec)',
  role: 'peer',
  durability:
    'appendonly yes, appendfsync everysec: every XADD/XACK/DEL is in the AOF (write() before the reply), fsynced once a second — ' +
    'survives a process crash, power loss loses up to ~1-2 s. The consumer group (pending list) is in the AOF too.',
  idiom:
    'tasks: XADD to a stream read by a consumer group (XREADGROUP BLOCK, XACK after the replies, pipelined); ' +
    'replies: XADD to a per-task stream result:<taskId>, read with XREAD BLOCK on a pooled connection per in-flight task, DEL after.',
  check: (ctx) => checkPeer(ctx.repoRoot, 'redis-server', 'redis-server', 'ioredis'),
  start,
};
