/**
 * Local clusters for the cluster benchmark, started and stopped the way a user does it:
 * `agentmq cluster up|down --data-dir DIR` (bin/agentmq.js child processes; the NameServers and
 * brokers are detached processes described by DIR/cluster.json).
 *
 * Every cluster started here is registered until it is stopped: `runClusterMain()` (bench/servers.ts
 * runMain plus the clusters) stops the ones still registered with `agentmq cluster down` at the
 * end, on errors, on SIGINT / SIGTERM, and (synchronously) on exit. The normal path stops each
 * cluster itself (`down()`) at the end of its phase, also when the phase fails.
 *
 * Also: the CPU time of a set of processes (cluster, load worker, this process) between two
 * samples, and waiting until the NameServers list every broker with the benchmark's topics.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminClient } from '../../client/index.js';
import { cleanupAll, cleanupAllSync, processCpu, systemCpu, track } from '../servers.js';
import type { SystemCpu } from '../servers.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO_ROOT, 'bin', 'agentmq.js');

export interface ClusterProcess {
  role: 'nameserver' | 'broker';
  name: string;
  port: number;
  pid?: number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `agentmq ...args` to completion (killed after `timeoutMs`). */
export function agentmqCli(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Inherited by the cluster's processes: no per-request info logging in the measured paths.
      env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' },
    });
    track(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`agentmq ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A base port P such that P .. P+count-1 are all free on 127.0.0.1 right now. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export interface ClusterSpec {
  nameservers: number;
  brokers: number;
  flush: 'sync' | 'async';
  brokerExpiryMs?: number;
  registerIntervalMs?: number;
  maxLongPollingMs?: number;
  tmpBase?: string;
  /** Leave the data dir (and logs) behind after down(). */
  keep?: boolean;
}

export interface RunningCluster {
  dir: string;
  spec: ClusterSpec;
  /** The `cluster up` command line (for the report). */
  command: string;
  /** `host:port` of each NameServer, in order. */
  nameservers: string[];
  /** The SDK's `nameserver` option: every NameServer, `;`-separated. */
  nameserver: string;
  processes: ClusterProcess[];
  brokers: ClusterProcess[];
  /** Last lines of a process's log (DIR/logs/NAME.log). */
  logTail(name: string, lines?: number): string;
  /** `agentmq cluster down`, then removes the data dir (unless kept). Idempotent. */
  down(): Promise<void>;
}

/** Clusters up and not yet down, by data dir. */
const live = new Map<string, { keep: boolean; down(): Promise<void> }>();

function readProcesses(dir: string): ClusterProcess[] {
  return (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { processes: ClusterProcess[] }).processes;
}

/** `agentmq cluster up` in a fresh temp dir; resolves once every process printed "ready". */
export async function startCluster(spec: ClusterSpec): Promise<RunningCluster> {
  const dir = mkdtempSync(join(spec.tmpBase ?? tmpdir(), 'agentmq-bench-cluster-'));
  const basePort = await freePortRange(spec.nameservers + spec.brokers);
  const args = [
    'cluster', 'up',
    '--data-dir', dir,
    '--nameservers', String(spec.nameservers),
    '--brokers', String(spec.brokers),
    '--base-port', String(basePort),
    '--flush', spec.flush,
    '--embedder', 'lexical',
  ];
  if (spec.brokerExpiryMs !== undefined) args.push('--broker-expiry-ms', String(spec.brokerExpiryMs));
  if (spec.registerIntervalMs !== undefined) args.push('--register-interval-ms', String(spec.registerIntervalMs));
  if (spec.maxLongPollingMs !== undefined) args.push('--max-long-polling-ms', String(spec.maxLongPollingMs));
  const command = `agentmq ${args.join(' ').replace(dir, 'DIR')}`;
  let downPromise: Promise<void> | undefined;
  const down = (): Promise<void> => {
    downPromise ??= (async () => {
      if (!live.has(dir)) return;
      try {
        const r = await agentmqCli(['cluster', 'down', '--data-dir', dir], 60_000);
        if (r.code !== 0) process.stderr.write(`  agentmq cluster down --data-dir ${dir} exited ${String(r.code)}: ${r.stderr.trim()}\n`);
      } finally {
        live.delete(dir);
        if (spec.keep) process.stderr.write(`  cluster data and logs kept in ${dir}\n`);
        else rmSync(dir, { recursive: true, force: true });
      }
    })();
    return downPromise;
  };
  live.set(dir, { keep: spec.keep ?? false, down });
  const r = await agentmqCli(args);
  if (r.code !== 0) {
    await down().catch(() => undefined);
    throw new Error(`agentmq cluster up failed (exit ${String(r.code)}):\n${r.stderr.trim()}\n${r.stdout.trim()}`);
  }
  const processes = readProcesses(dir);
  const nameservers = processes.filter((p) => p.role === 'nameserver').map((p) => `127.0.0.1:${p.port}`);
  return {
    dir,
    spec,
    command,
    nameservers,
    nameserver: nameservers.join(';'),
    processes,
    brokers: processes.filter((p) => p.role === 'broker'),
    logTail: (name, lines = 20) => {
      try {
        return readFileSync(join(dir, 'logs', `${name}.log`), 'utf8').trim().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    down,
  };
}

/** Stops every registered cluster now (blocking): the last resort of the exit handler. */
export function downAllSync(): void {
  for (const [dir, { keep }] of [...live]) {
    live.delete(dir);
    try {
      execFileSync(process.execPath, [BIN, 'cluster', 'down', '--data-dir', dir], { stdio: 'ignore', timeout: 30_000, env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' } });
    } catch {
      // best effort: kill what cluster.json names
      try {
        for (const p of readProcesses(dir)) if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL');
      } catch {
        // nothing more to do
      }
    }
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

let interruptedFlag = false;

/** True once SIGINT/SIGTERM arrived: loops stop starting work. */
export function interrupted(): boolean {
  return interruptedFlag;
}

/**
 * runMain (bench/servers.ts) for the cluster benchmark: the same exit code and cleanup, plus
 * the clusters. On SIGINT / SIGTERM every cluster still up is stopped with `agentmq cluster down`
 * while this process keeps running (its clients stay responsive, so the brokers' graceful
 * shutdown does not wait for them), then the load worker and temp dirs go (cleanupAll); the
 * exit handler stops whatever is left, synchronously.
 */
export function runClusterMain(main: (argv: string[]) => Promise<number>, log: (line: string) => void): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interruptedFlag) return;
    interruptedFlag = true;
    log(`\n${sig}: stopping ${live.size} cluster(s) (agentmq cluster down), workers, temp dirs...`);
    const downs = Promise.allSettled([...live.values()].map((c) => c.down()));
    const bound = new Promise((r) => setTimeout(r, 45_000).unref());
    void Promise.race([downs, bound])
      .then(() => cleanupAll())
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    downAllSync();
    cleanupAllSync();
  });
  main(process.argv.slice(2)).then(
    async (code) => {
      await Promise.allSettled([...live.values()].map((c) => c.down()));
      await cleanupAll();
      process.exitCode = code;
    },
    async (err: unknown) => {
      log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await Promise.allSettled([...live.values()].map((c) => c.down()));
      await cleanupAll();
      process.exitCode = 1;
    },
  );
}

/** True once `pid` has exited: gone, or a zombie not reaped yet (state Z in /proc/<pid>/stat). */
function exited(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/**
 * kill -9 of one cluster process; resolves once it has exited. The cluster's processes are
 * detached (their parent is init once `cluster up` is gone), and init may take a second or more
 * to reap them: a zombie counts as exited (its sockets are closed already).
 */
export async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  const until = Date.now() + 10_000;
  while (!exited(pid)) {
    if (Date.now() > until) throw new Error(`pid ${pid} still alive after SIGKILL`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Waits until the NameServer `admin` asks lists `brokers` brokers, each holding every topic of
 * `topics` (the broker re-registers its topic table right after a change).
 */
export async function waitForBrokers(admin: AdminClient, brokers: number, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const all = await admin.listBrokers();
      const ready = all.filter((b) => topics.every((t) => b.topics.some((x) => x.name === t)));
      if (all.length >= brokers && ready.length >= brokers) return;
      last = `${all.length} brokers listed, ${ready.length} with ${topics.join(', ') || 'no topics asked'}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`brokers not registered after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- CPU accounting -----------------------------------------------------------------------------

export interface Proc {
  /** `ns-0`, `broker-1`, `load worker`, `bench (this process)`. */
  name: string;
  role: 'nameserver' | 'broker' | 'client';
  /** Undefined: this process (process.cpuUsage()). */
  pid: number | undefined;
}

export interface CpuSample {
  at: number;
  /** µs of CPU per process name (undefined: gone). */
  us: Map<string, number | undefined>;
  machine: SystemCpu | undefined;
}

export function sampleCpu(procs: Proc[]): CpuSample {
  const us = new Map<string, number | undefined>();
  for (const p of procs) {
    if (p.pid === undefined) {
      const c = process.cpuUsage();
      us.set(p.name, c.user + c.system);
    } else {
      const c = processCpu(p.pid);
      us.set(p.name, c === undefined ? undefined : c.userUs + c.systemUs);
    }
  }
  return { at: performance.now(), us, machine: systemCpu() };
}

export interface ProcessCpu {
  name: string;
  role: Proc['role'];
  cpuS: number;
  /** % of one core over the window. */
  pctOfCore: number;
}

export interface CpuWindowReport {
  wallS: number;
  processes: ProcessCpu[];
  totalCpuS: number;
  brokerCpuS: number;
  nameserverCpuS: number;
  clientCpuS: number;
  /** CPU of everything else on the machine, % of one core (noise indicator). */
  otherCpuPct: number | undefined;
}

const r3 = (n: number): number => Math.round(n * 1000) / 1000;

export function cpuBetween(procs: Proc[], a: CpuSample, b: CpuSample): CpuWindowReport {
  const wallS = (b.at - a.at) / 1000;
  const processes: ProcessCpu[] = procs.map((p) => {
    const x = a.us.get(p.name);
    const y = b.us.get(p.name);
    const cpuS = x === undefined || y === undefined ? NaN : (y - x) / 1e6;
    return { name: p.name, role: p.role, cpuS: r3(cpuS), pctOfCore: Math.round((cpuS / wallS) * 1000) / 10 };
  });
  const sum = (f: (p: ProcessCpu) => boolean): number => r3(processes.filter(f).reduce((s, p) => s + (Number.isFinite(p.cpuS) ? p.cpuS : 0), 0));
  const totalCpuS = sum(() => true);
  const machineBusyS = a.machine && b.machine ? (b.machine.busyUs - a.machine.busyUs) / 1e6 : undefined;
  return {
    wallS: r3(wallS),
    processes,
    totalCpuS,
    brokerCpuS: sum((p) => p.role === 'broker'),
    nameserverCpuS: sum((p) => p.role === 'nameserver'),
    clientCpuS: sum((p) => p.role === 'client'),
    otherCpuPct: machineBusyS === undefined ? undefined : Math.max(0, Math.round(((machineBusyS - totalCpuS) / wallS) * 100)),
  };
}

/** The cluster's processes as CPU-accounted Procs. */
export function clusterProcs(c: RunningCluster): Proc[] {
  return c.processes.map((p) => ({ name: p.name, role: p.role, pid: p.pid }));
}
