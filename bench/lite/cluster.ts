/**
 * The servers of the lite benchmark: `agentmq nameserver` and `agentmq broker` as two child
 * processes (so the broker's RSS is its own), on 127.0.0.1, data in a fresh temp dir. Memory
 * readings from /proc/<pid>/status, and (with the probe preloaded) after a forced full GC.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, removeTempDir, startServer, type ServerProcess } from '../servers.js';

export interface ClusterOptions {
  repoRoot: string;
  tmpBase: string | undefined;
  probe: boolean;
  maxLongPollingMs: number;
  liteMaxTopics: number;
  liteMaxSubscriptions: number;
  liteClientQuota: number;
  /** Extra environment of the broker. */
  brokerEnv: Record<string, string>;
}

export interface Cluster {
  nameserver: ServerProcess;
  broker: ServerProcess;
  brokerAddress: string;
  nameserverAddress: string;
  dataDir: string;
  brokerArgs: string[];
  /** Memory of the broker after a forced full GC (undefined without the probe). */
  probe(): Promise<ProbeReading | undefined>;
  /** Starts recording the broker's event-loop delay and GC pauses (probe only). */
  windowStart(): Promise<void>;
  /** Stops recording; what happened since windowStart (undefined without the probe). */
  windowStop(): Promise<LoopWindow | undefined>;
  /** Writes a V8 heap snapshot of the broker to `file` (probe only); false if it could not. */
  heapSnapshot(file: string): Promise<boolean>;
  /** Starts the broker's CPU profiler (probe only); false if it could not. */
  profileStart(): Promise<boolean>;
  /** Stops it and writes the .cpuprofile to `file`; false if it could not. */
  profileStop(file: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** From /proc/<pid>/status, bytes. */
export interface ProcMemory {
  vmRss: number;
  vmHwm: number;
  rssAnon: number;
  rssFile: number;
}

interface MemUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface LoopWindow {
  wallMs: number;
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
  gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
  gcTotalMs: number;
  gcMaxMs: number;
}

export interface ProbeReading {
  before: MemUsage;
  after: MemUsage;
  gcMs: number | undefined;
  heap: { totalHeapSize: number; usedHeapSize: number; heapSizeLimit: number; mallocedMemory: number; externalMemory: number };
  spaces: Record<string, { size: number; used: number }>;
}

export function procMemory(pid: number): ProcMemory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { vmRss: kb('VmRSS'), vmHwm: kb('VmHWM'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const dir = makeTempDir('lite', o.tmpBase);
  const bin = join(o.repoRoot, 'bin', 'agentmq.js');
  const env = { ...process.env, AGENTMQ_LOG_LEVEL: process.env.AGENTMQ_LOG_LEVEL ?? 'warn' };
  const nsPort = await freePort();
  const nameserver = await startServer({
    name: 'agentmq-nameserver',
    command: process.execPath,
    args: [bin, 'nameserver', '--host', '127.0.0.1', '--port', String(nsPort), '--embedder', 'lexical'],
    cwd: o.repoRoot,
    env,
    readyPattern: /\bready\b/,
    logPath: join(dir, 'nameserver.log'),
  });
  const brokerPort = await freePort();
  const probeOut = join(dir, 'probe.json');
  const execArgv = o.probe ? ['--expose-gc', '--import', join(o.repoRoot, 'bench', 'lite', 'broker-probe.mjs')] : [];
  const brokerArgs = [
    'broker',
    '--host',
    '127.0.0.1',
    '--port',
    String(brokerPort),
    '--nameserver',
    `127.0.0.1:${nsPort}`,
    '--data-dir',
    join(dir, 'broker'),
    '--flush',
    'async',
    '--max-long-polling-ms',
    String(o.maxLongPollingMs),
    '--lite-max-topics',
    String(o.liteMaxTopics),
    '--lite-max-subscriptions',
    String(o.liteMaxSubscriptions),
    '--lite-client-quota',
    String(o.liteClientQuota),
  ];
  let broker: ServerProcess;
  try {
    broker = await startServer({
      name: 'agentmq-broker',
      command: process.execPath,
      args: [...execArgv, bin, ...brokerArgs],
      cwd: o.repoRoot,
      env: { ...env, ...o.brokerEnv, ...(o.probe ? { AGENTMQ_LITE_PROBE_OUT: probeOut } : {}) },
      readyPattern: /\bready\b/,
      logPath: join(dir, 'broker.log'),
      readyTimeoutMs: 60_000,
    });
  } catch (err) {
    await nameserver.stop(3_000);
    throw err;
  }
  let probing: Promise<unknown> = Promise.resolve(undefined);
  /** Sends a command to the probe, resolves with its answer (undefined without the probe or on timeout). */
  const command = <T>(cmd: string): Promise<T | undefined> => {
    if (!o.probe) return Promise.resolve(undefined);
    const next = probing.then(async () => {
      rmSync(probeOut, { force: true });
      writeFileSync(`${probeOut}.cmd`, cmd);
      process.kill(broker.pid, 'SIGUSR2');
      const until = Date.now() + 120_000;
      while (!existsSync(probeOut)) {
        if (Date.now() > until || broker.child.exitCode !== null) return undefined;
        await sleep(50);
      }
      return JSON.parse(readFileSync(probeOut, 'utf8')) as T;
    });
    probing = next.catch(() => undefined);
    return next;
  };
  return {
    nameserver,
    broker,
    brokerAddress: `127.0.0.1:${brokerPort}`,
    nameserverAddress: `127.0.0.1:${nsPort}`,
    dataDir: dir,
    brokerArgs,
    probe: () => command<ProbeReading>('mem'),
    windowStart: async () => {
      await command('window-start');
    },
    windowStop: () => command<LoopWindow>('window-stop'),
    heapSnapshot: async (file) => (await command<{ ok: boolean }>(`heap-snapshot ${file}`))?.ok === true,
    profileStart: async () => (await command<{ ok: boolean }>('prof-start'))?.ok === true,
    profileStop: async (file) => (await command<{ ok: boolean }>(`prof-stop ${file}`))?.ok === true,
    stop: async () => {
      await broker.stop(10_000);
      await nameserver.stop(5_000);
      removeTempDir(dir);
    },
  };
}
