/**
 * Child processes of the benchmark: servers under test (AgentMQ, nats-server, redis-server) and
 * their temp directories. Everything started here is registered, so `cleanupAll()` (called at
 * the end, on Ctrl-C and on errors) kills every live child and removes every temp dir.
 *
 * Also: free ports, finding binaries on PATH (and the sbin dirs Debian installs servers to), and
 * the CPU time a process (and each of its threads) has used, read from /proc.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ServerProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  logPath: string;
  /** Last few KiB of its stdout+stderr. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const liveProcesses = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Registers a child so cleanupAll() kills it if it is still running. */
export function track(child: ChildProcess): void {
  liveProcesses.add(child);
  child.once('exit', () => liveProcesses.delete(child));
}

export function makeTempDir(prefix: string, base = tmpdir()): string {
  const dir = mkdtempSync(join(base, `agentmq-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  if (await waitExit(child, graceMs)) return;
  child.kill('SIGKILL');
  await waitExit(child, 5_000);
}

/** Kills every live child (SIGTERM, SIGKILL after 3 s) and removes every temp dir. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...liveProcesses].map((c) => terminate(c, 3_000).catch(() => undefined)));
  for (const dir of [...tempDirs]) {
    try {
      removeTempDir(dir);
    } catch {
      // best effort
    }
  }
}

/** Synchronous last resort (process 'exit' handler): SIGKILL what is left, remove temp dirs. */
export function cleanupAllSync(): void {
  for (const c of liveProcesses) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

let interrupted = false;

/** True once SIGINT/SIGTERM arrived in a process started with runMain: loops stop starting work. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/**
 * Runs a benchmark's `main` as the process entry point: exit code from `main` (1 if it throws),
 * children and temp dirs cleaned up on the way out, on SIGINT/SIGTERM and on 'exit'.
 */
export function runMain(main: (argv: string[]) => Promise<number>, log: (line: string) => void, stopping = 'stopping servers, removing temp dirs...'): void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${sig}: ${stopping}`);
    void cleanupAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', cleanupAllSync);
  main(process.argv.slice(2)).then(
    async (code) => {
      await cleanupAll();
      process.exitCode = code;
    },
    async (err: unknown) => {
      log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await cleanupAll();
      process.exitCode = 1;
    },
  );
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Full path of an executable named `name` on PATH or in the sbin dirs, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** First line of `bin args...`, or undefined if it fails. */
export function commandOutput(bin: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(bin, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim().split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Matched against stdout+stderr; the process is ready once it appears. */
  readyPattern: RegExp;
  readyTimeoutMs?: number;
  logPath: string;
}

/** Spawns a server, logs its output to `logPath`, resolves once `readyPattern` appeared. */
export function startServer(opts: StartOptions): Promise<ServerProcess> {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const log = createWriteStream(opts.logPath);
  let tail = '';
  let seen = '';
  let stopPromise: Promise<void> | undefined;
  const server: ServerProcess = {
    name: opts.name,
    pid: child.pid ?? -1,
    child,
    logPath: opts.logPath,
    logTail: () => tail,
    stop: (graceMs = 10_000) => {
      stopPromise ??= terminate(child, graceMs).finally(() => log.end());
      return stopPromise;
    },
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void server.stop(2_000);
      reject(new Error(`${opts.name}: ${why}${tail ? `\n--- last output of ${opts.name} ---\n${tail.trimEnd()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4096);
      if (settled) return;
      seen = (seen + text).slice(-65536);
      if (opts.readyPattern.test(seen)) {
        settled = true;
        clearTimeout(timer);
        resolve(server);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited before ready (code ${String(code)}, signal ${String(signal)})`));
  });
}

let clockTicks: number | undefined;

/** Clock ticks per second (the unit of utime/stime in /proc). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = commandOutput('getconf', ['CLK_TCK']);
    const n = out === undefined ? NaN : Number(out);
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

export interface CpuTimes {
  userUs: number;
  systemUs: number;
}

/** utime and stime of a /proc stat line, in µs (fields 14 and 15; the name may hold spaces). */
function parseStat(stat: string): CpuTimes | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  const us = 1e6 / ticksPerSecond();
  return { userUs: utime * us, systemUs: stime * us };
}

/** CPU time a process (all its threads) has used so far, or undefined if it is gone. */
export function processCpu(pid: number): CpuTimes | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * CPU time per thread name (`comm`: node's main thread is the process name, libuv's pool threads
 * "libuv-worker", V8's "V8 DefaultWorke", RocksDB's "rocksdb:low"/"rocksdb:high" ...), in µs,
 * summed over threads of the same name.
 */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      const name = tid === String(pid) ? 'main thread' : stat.slice(open + 1, close);
      const t = parseStat(stat);
      if (t) out[name] = (out[name] ?? 0) + t.userUs + t.systemUs;
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

export interface SystemCpu {
  /** Busy time of all CPUs (user, nice, system, irq, softirq, steal), µs. */
  busyUs: number;
  iowaitUs: number;
}

/** Machine-wide CPU time so far (first line of /proc/stat), or undefined off Linux. */
export function systemCpu(): SystemCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const us = 1e6 / ticksPerSecond();
    return { busyUs: (user + nice + system + irq + softirq + steal) * us, iowaitUs: iowait * us };
  } catch {
    return undefined;
  }
}

/**
 * Waits (at most `maxWaitMs`) until the machine is quiet: less than `thresholdPct` of one core
 * busy over a 1 s sample (nothing of ours is running at that moment). Resolves with the last
 * sample's busy percentage.
 */
export async function waitForQuiet(maxWaitMs: number, thresholdPct: number, onBusy: (pct: number) => void): Promise<number | undefined> {
  const deadline = Date.now() + maxWaitMs;
  let told = false;
  for (;;) {
    const a = systemCpu();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1_000));
    const b = systemCpu();
    if (!a || !b) return undefined;
    const pct = ((b.busyUs - a.busyUs) / 1000 / (performance.now() - t0)) * 100;
    if (pct < thresholdPct || Date.now() >= deadline) return pct;
    if (!told) {
      onBusy(pct);
      told = true;
    }
  }
}
