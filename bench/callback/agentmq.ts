/**
 * The agent callback pattern on AgentMQ: `agentmq dev` (async flush) in a child process, driven
 * through the AgentMQ SDK.
 *
 * Tasks: the durable NORMAL topic `tasks`, consumed by the group `workers` with a SimpleConsumer
 * (long-polling receives of up to 32 tasks, several in parallel). For each task the worker sends
 * the three replies on the task's lite topic with one Producer (the SDK keeps one lite topic's
 * messages in send order and batches different ones together), waits for their
 * acknowledgements, then acks the task.
 *
 * Replies: the LITE parent `replies`; each task gets the fresh lite topic `r-<taskId>`. The
 * supervisor runs ONE LiteConsumer (one client id, one parked receive covering all of its lite
 * topics, woken only when one of them has a message): a task subscribes its lite topic (the SDK
 * coalesces concurrent subscribes into one SyncLiteSubscription per round trip) while it
 * dispatches (nothing is missed: a new subscriber starts at the lite topic's oldest message),
 * and its replies are routed by `liteTopic` to the task's trace; acks are batched by the SDK.
 * Cleanup: unsubscribe (coalesced too); the empty lite topic expires after its TTL.
 */
import { join } from 'node:path';
import { AdminClient, LiteConsumer, Producer, SimpleConsumer, silentLogger, type LiteMessage, type ReceivedMessage } from '../../client/index.js';
import { freePort, makeTempDir, removeTempDir, startServer } from '../servers.js';
import { encodeTask, workerReplies } from './messages.js';
import type { CallbackContext, CallbackSystem, RunningCallbackSystem, TaskSpec, TaskTrace } from './system.js';

const TASKS = 'tasks';
const REPLIES = 'replies';
/** Parallel long-polling receive loops of the worker and of the supervisor. */
const WORKER_LOOPS = 2;
const SUPERVISOR_LOOPS = 2;

/** Runs `fn` until `running()` is false; errors go to `fail` (unless stopping). */
function loop(running: () => boolean, fn: () => Promise<void>, fail: (err: unknown) => void): Promise<void> {
  return (async () => {
    while (running()) {
      try {
        await fn();
      } catch (err) {
        if (running()) fail(err);
        return;
      }
    }
  })();
}

async function start(ctx: CallbackContext): Promise<RunningCallbackSystem> {
  const dir = makeTempDir('callback-agentmq', ctx.tmpBase);
  const [nsPort, brokerPort] = [await freePort(), await freePort()];
  const server = await startServer({
    name: 'agentmq dev (async flush)',
    command: process.execPath,
    args: [
      // AGENTMQ_BENCH_CPU_PROF=DIR: write a V8 CPU profile of the server there (bench/profile.ts reads it).
      ...(process.env.AGENTMQ_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.AGENTMQ_BENCH_CPU_PROF] : []),
      join(ctx.repoRoot, 'bin', 'agentmq.js'),
      'dev',
      '--host', '127.0.0.1',
      '--data-dir', join(dir, 'data'),
      '--nameserver-port', String(nsPort),
      '--broker-port', String(brokerPort),
      '--flush', 'async',
      // Receives return within 2 s when idle, so stop() does not wait out a 30 s long poll.
      '--max-long-polling-ms', '2000',
    ],
    env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' },
    cwd: ctx.repoRoot,
    readyPattern: /\bready\b/,
    logPath: join(dir, 'agentmq.log'),
  });
  const nameserver = `127.0.0.1:${nsPort}`;
  const clients: { close(): Promise<void> }[] = [];
  let running = true;
  const loops: Promise<void>[] = [];
  try {
    const admin = new AdminClient({ nameserver, logger: silentLogger });
    clients.push(admin);
    await admin.createTopic({ name: TASKS, queueCount: 4 });
    await admin.createTopic({ name: REPLIES, messageType: 'LITE' });

    // --- worker -------------------------------------------------------------------------------
    const workerProducer = new Producer({ nameserver, logger: silentLogger, topics: [REPLIES] });
    const taskConsumer = new SimpleConsumer({ nameserver, logger: silentLogger, group: 'workers', subscriptions: { [TASKS]: '*' }, awaitDurationMs: 2000, maxMessages: 32 });
    clients.push(taskConsumer, workerProducer);
    await workerProducer.start();
    await taskConsumer.start();
    let handled = 0;
    const handle = async (m: ReceivedMessage): Promise<void> => {
      const { task, replies } = workerReplies(m.body);
      // Sent back to back: one lite topic's messages are stored in send order.
      await Promise.all(replies.map((body) => workerProducer.send({ topic: REPLIES, liteTopic: task.replyTo, body })));
      await taskConsumer.ack(m);
      handled++;
    };
    for (let i = 0; i < WORKER_LOOPS; i++) {
      loops.push(
        loop(
          () => running,
          async () => {
            for (const m of await taskConsumer.receive()) void handle(m).catch((err: unknown) => running && ctx.fail(err));
          },
          (err) => ctx.fail(err),
        ),
      );
    }

    // --- supervisor ---------------------------------------------------------------------------
    const supervisorProducer = new Producer({ nameserver, logger: silentLogger, topics: [TASKS] });
    const replies = new LiteConsumer({ nameserver, logger: silentLogger, group: 'supervisor', topic: REPLIES, awaitDurationMs: 2000, batchSize: 64 });
    clients.push(replies, supervisorProducer);
    await supervisorProducer.start();
    await replies.start();
    const traces = new Map<string, TaskTrace>();
    const route = (m: LiteMessage): void => {
      traces.get(m.liteTopic)?.reply(m.body);
      void m.ack().catch((err: unknown) => running && ctx.fail(err));
    };
    for (let i = 0; i < SUPERVISOR_LOOPS; i++) {
      loops.push(
        loop(
          () => running,
          async () => {
            for (const m of await replies.receive()) route(m);
          },
          (err) => ctx.fail(err),
        ),
      );
    }

    const runTask = async (task: TaskSpec, trace: TaskTrace): Promise<void> => {
      const lite = `r-${task.id}`;
      traces.set(lite, trace);
      try {
        // Subscribe and dispatch at once: a group new to a lite topic starts at its oldest message,
        // so replies stored before the subscription lands are delivered when it does.
        const subscribed = replies.subscribe(lite);
        trace.dispatched();
        await Promise.all([subscribed, supervisorProducer.send({ topic: TASKS, body: encodeTask(task.id, lite) })]);
        await trace.completed;
      } finally {
        traces.delete(lite);
        await replies.unsubscribe(lite).catch(() => undefined);
      }
    };

    return {
      serverPids: [server.pid],
      runTask,
      workerHandled: () => handled,
      stop: async () => {
        running = false;
        for (const c of clients.reverse()) await c.close().catch(() => undefined);
        await Promise.allSettled(loops);
        await server.stop();
        removeTempDir(dir);
      },
    };
  } catch (err) {
    running = false;
    for (const c of clients.reverse()) await c.close().catch(() => undefined);
    await server.stop();
    removeTempDir(dir);
    throw err;
  }
}

export const agentmqSystem: CallbackSystem = {
  id: 'agentmq',
  label: 'AgentMQ (lite topics)',
  role: 'subject',
  durability:
    'async flush: a send is acknowledged once its group-committed RocksDB write batch is in the WAL (page cache): survives a process crash / kill -9, not a power cut (`--flush sync` fsyncs each batch); subscriptions are re-sent by the client every 30 s.',
  idiom:
    'tasks on a durable topic consumed by a worker group; a fresh lite topic per task as the reply channel, one LiteConsumer for all of them (one parked receive per supervisor, woken only for its lite topics).',
  check: () => ({ ok: true }),
  start,
};
