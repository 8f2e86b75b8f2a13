/**
 * The systems under test and how to start each one: AgentMQ (`agentmq dev`, async and sync
 * flush), NATS JetStream (Debian's nats-server, file storage) and Redis Streams (Debian's
 * redis-server, AOF with appendfsync everysec and always). Every server listens on 127.0.0.1 on a
 * random free port and keeps its data in a fresh temp dir.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Target } from './protocol.js';
import { commandOutput, findBinary, freePort, makeTempDir, removeTempDir, startServer } from './servers.js';
import type { ServerProcess } from './servers.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export type SystemId = 'agentmq-async' | 'agentmq-sync' | 'nats' | 'redis-everysec' | 'redis-always';

export const SYSTEM_IDS: readonly SystemId[] = ['agentmq-async', 'agentmq-sync', 'nats', 'redis-everysec', 'redis-always'];

export interface StartContext {
  /** The AgentMQ checkout to run (bin/agentmq.js) and whose SDK the worker loads. */
  agentmqRoot: string;
  /** Where temp dirs go (default: the OS temp dir). */
  tmpBase: string | undefined;
  /** When set, AgentMQ's server runs under `node --cpu-prof` writing into this dir. */
  cpuProfDir: string | undefined;
  /** When set, AgentMQ's server preloads bench/server-probe.mjs, which writes this file. */
  probeOut: string | undefined;
  agentmq: { linger: number; maxBatch: number; maxInFlightBatches: number; queues: number };
}

export interface RunningSystem {
  target: Target;
  /** The server process to measure (its CPU time). */
  server: ServerProcess;
  stop(): Promise<void>;
}

export interface SystemDef {
  id: SystemId;
  label: string;
  /** What an acknowledgement means, one line. */
  durability: string;
  /** The binary it needs, how to install it when it is missing. */
  binary?: { name: string; install: string };
  /** The npm client it needs (a devDependency). */
  npmClient?: string;
  start(ctx: StartContext, binaryPath: string | undefined): Promise<RunningSystem>;
}

async function startAgentMq(ctx: StartContext, flush: 'async' | 'sync'): Promise<RunningSystem> {
  const dir = makeTempDir(`agentmq-${flush}`, ctx.tmpBase);
  const [nsPort, brokerPort] = [await freePort(), await freePort()];
  const execArgv: string[] = [];
  if (ctx.cpuProfDir) {
    mkdirSync(ctx.cpuProfDir, { recursive: true });
    // Default file names (CPU.<date>.<time>.<pid>.<thread>.<seq>): every thread (tsx's loader
    // thread too) writes its own profile; thread 0 is the JavaScript main thread.
    execArgv.push('--cpu-prof', '--cpu-prof-dir', ctx.cpuProfDir);
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (ctx.probeOut) {
    execArgv.push('--import', pathToFileURL(join(BENCH_DIR, 'server-probe.mjs')).href);
    env.AGENTMQ_BENCH_PROBE_OUT = ctx.probeOut;
  }
  const server = await startServer({
    name: `agentmq (${flush} flush)`,
    env,
    command: process.execPath,
    args: [
      ...execArgv,
      join(ctx.agentmqRoot, 'bin', 'agentmq.js'),
      'dev',
      '--host',
      '127.0.0.1',
      '--data-dir',
      join(dir, 'data'),
      '--nameserver-port',
      String(nsPort),
      '--broker-port',
      String(brokerPort),
      '--flush',
      flush,
    ],
    cwd: ctx.agentmqRoot,
    readyPattern: /\bready\b/,
    logPath: join(dir, 'agentmq.log'),
  });
  return {
    target: { kind: 'agentmq', nameserver: `127.0.0.1:${nsPort}`, sdkRoot: ctx.agentmqRoot, ...ctx.agentmq },
    server,
    stop: async () => {
      await server.stop(ctx.cpuProfDir ? 30_000 : 10_000);
      removeTempDir(dir);
    },
  };
}

async function startNats(ctx: StartContext, bin: string): Promise<RunningSystem> {
  const dir = makeTempDir('nats', ctx.tmpBase);
  const port = await freePort();
  const server = await startServer({
    name: 'nats-server',
    command: bin,
    // -js: JetStream on; -sd: its file store; no monitoring port, no cluster.
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'store')],
    readyPattern: /Server is ready/,
    logPath: join(dir, 'nats.log'),
  });
  return {
    target: { kind: 'nats', url: `127.0.0.1:${port}` },
    server,
    stop: async () => {
      await server.stop();
      removeTempDir(dir);
    },
  };
}

async function startRedis(ctx: StartContext, bin: string, fsync: 'everysec' | 'always'): Promise<RunningSystem> {
  const dir = makeTempDir(`redis-${fsync}`, ctx.tmpBase);
  const port = await freePort();
  const server = await startServer({
    name: `redis-server (appendfsync ${fsync})`,
    command: bin,
    args: [
      '--bind', '127.0.0.1',
      '--port', String(port),
      '--dir', dir,
      '--daemonize', 'no',
      '--protected-mode', 'no',
      '--logfile', '',
      '--appendonly', 'yes',
      '--appendfsync', fsync,
      // No RDB snapshots and no AOF rewrites during a run: both fork a child whose CPU would not
      // be counted, and neither the brokers nor NATS pay such a cost within a run.
      '--save', '',
      '--auto-aof-rewrite-percentage', '0',
    ],
    readyPattern: /Ready to accept connections/,
    logPath: join(dir, 'redis.log'),
  });
  return {
    target: { kind: 'redis', host: '127.0.0.1', port },
    server,
    stop: async () => {
      await server.stop();
      removeTempDir(dir);
    },
  };
}

const NATS_INSTALL = 'sudo apt-get update && sudo apt-get install -y nats-server   # Debian/Ubuntu (as root: drop sudo)';
const REDIS_INSTALL = 'sudo apt-get update && sudo apt-get install -y redis-server   # Debian/Ubuntu (as root: drop sudo)';

export const SYSTEMS: Record<SystemId, SystemDef> = {
  'agentmq-async': {
    id: 'agentmq-async',
    label: 'AgentMQ (async flush)',
    durability: 'RocksDB WAL written to the OS page cache before the answer; no fsync (survives a process crash, not power loss)',
    start: (ctx) => startAgentMq(ctx, 'async'),
  },
  'agentmq-sync': {
    id: 'agentmq-sync',
    label: 'AgentMQ (sync flush)',
    durability: 'RocksDB WAL fsynced per group-committed batch before the answer (survives power loss)',
    start: (ctx) => startAgentMq(ctx, 'sync'),
  },
  nats: {
    id: 'nats',
    label: 'NATS JetStream (file)',
    durability: 'file store, R1, defaults: PubAck after the write to the block file (page cache); fsync only every 2 min (survives a process crash, not power loss)',
    binary: { name: 'nats-server', install: NATS_INSTALL },
    npmClient: 'nats',
    start: (ctx, bin) => startNats(ctx, bin!),
  },
  'redis-everysec': {
    id: 'redis-everysec',
    label: 'Redis Streams (AOF everysec)',
    durability: 'appendonly yes, appendfsync everysec: AOF write() before the reply, fsync once a second in the background (survives a process crash; power loss loses ~1-2 s)',
    binary: { name: 'redis-server', install: REDIS_INSTALL },
    npmClient: 'ioredis',
    start: (ctx, bin) => startRedis(ctx, bin!, 'everysec'),
  },
  'redis-always': {
    id: 'redis-always',
    label: 'Redis Streams (AOF always)',
    durability: 'appendonly yes, appendfsync always: AOF write()+fsync per event-loop iteration before the replies (survives power loss)',
    binary: { name: 'redis-server', install: REDIS_INSTALL },
    npmClient: 'ioredis',
    start: (ctx, bin) => startRedis(ctx, bin!, 'always'),
  },
};

/** Where the binary a system needs is, or why it cannot run. */
export function locate(def: SystemDef, explicit: Record<string, string> = {}): { ok: true; path: string | undefined } | { ok: false; reason: string; hint: string } {
  if (!def.binary) return { ok: true, path: undefined };
  const given = explicit[def.binary.name];
  if (given !== undefined) {
    try {
      accessSync(given, constants.X_OK);
      return { ok: true, path: given };
    } catch {
      return { ok: false, reason: `${given} (--${def.binary.name}) is not an executable`, hint: def.binary.install };
    }
  }
  const path = findBinary(def.binary.name);
  if (!path) return { ok: false, reason: `${def.binary.name} not found on PATH`, hint: def.binary.install };
  return { ok: true, path };
}

/** Version line of a peer binary (`nats-server --version`, `redis-server --version`). */
export function binaryVersion(path: string): string | undefined {
  const line = commandOutput(path, ['--version']);
  if (line === undefined) return undefined;
  // "nats-server: v2.9.10", "Redis server v=7.0.15 sha=... malloc=... bits=64 build=..."
  const v = /\bv=?(\d+\.\d+\.\d+\S*)/.exec(line)?.[1];
  return v ?? line;
}
