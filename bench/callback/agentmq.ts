/**
 * The agent callback pattern on AgentMQ: `agentmq dev` (async flush) in a child process, driven
 * through the AgentMQ SDK; the clients and what they do: ./agentmq-clients.ts.
 */
import { join } from 'node:path';
import { AdminClient, silentLogger } from '../../client/index.js';
import { freePort, makeTempDir, removeTempDir, startServer } from '../servers.js';
import { REPLIES, startAgentmqCallbackClients, TASKS } from './agentmq-clients.js';
import type { CallbackContext, CallbackSystem, RunningCallbackSystem } from './system.js';

/** Parallel long-polling receive loops of the worker and of the supervisor. */
const WORKER_LOOPS = 2;
const SUPERVISOR_LOOPS = 2;

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
  const admin = new AdminClient({ nameserver, logger: silentLogger });
  try {
    await admin.createTopic({ name: TASKS, queueCount: 4 });
    await admin.createTopic({ name: REPLIES, messageType: 'LITE' });
    const clients = await startAgentmqCallbackClients({ nameserver, workerLoops: WORKER_LOOPS, supervisorLoops: SUPERVISOR_LOOPS, fail: (err) => ctx.fail(err) });
    return {
      serverPids: [server.pid],
      runTask: clients.runTask,
      workerHandled: clients.handled,
      stages: clients.stages,
      stop: async () => {
        await clients.stop();
        await server.stop();
        removeTempDir(dir);
      },
    };
  } catch (err) {
    await server.stop();
    removeTempDir(dir);
    throw err;
  } finally {
    await admin.close();
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
