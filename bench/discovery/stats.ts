/** Measurement helpers of the discovery benchmark: latency summaries, memory, GC, CPU windows, machine. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { systemCpu } from '../servers.js';

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Completed calls per second of wall time, one call at a time. */
  perSecond: number;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Exact quantile (nearest rank) of sorted samples. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarize(samplesMs: number[], wallMs: number): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    count: s.length,
    meanMs: r3(s.length ? sum / s.length : 0),
    p50Ms: r3(quantile(s, 0.5)),
    p90Ms: r3(quantile(s, 0.9)),
    p99Ms: r3(quantile(s, 0.99)),
    maxMs: r3(s[s.length - 1] ?? 0),
    perSecond: wallMs > 0 ? Math.round((s.length / wallMs) * 1000 * 10) / 10 : 0,
  };
}

export interface MemorySnapshot {
  rssBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Full GC (twice, when node runs with --expose-gc), then process.memoryUsage(). */
export function memory(): MemorySnapshot {
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
}

export function memoryDelta(after: MemorySnapshot, before: MemorySnapshot): MemorySnapshot {
  return {
    rssBytes: after.rssBytes - before.rssBytes,
    heapTotalBytes: after.heapTotalBytes - before.heapTotalBytes,
    heapUsedBytes: after.heapUsedBytes - before.heapUsedBytes,
    externalBytes: after.externalBytes - before.externalBytes,
    arrayBuffersBytes: after.arrayBuffersBytes - before.arrayBuffersBytes,
  };
}

export interface GcSummary {
  count: number;
  totalMs: number;
  maxMs: number;
}

/**
 * Records GC pauses (PerformanceObserver 'gc') until `stop()`. The entries are delivered from the
 * event loop, so `stop()` first yields to it (a loop of awaited searches never does).
 */
export function gcRecorder(): { stop(): Promise<GcSummary> } {
  const s: GcSummary = { count: 0, totalMs: 0, maxMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceEntry[]) {
      s.count++;
      s.totalMs += e.duration;
      if (e.duration > s.maxMs) s.maxMs = e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 30));
      obs.disconnect();
      return { count: s.count, totalMs: Math.round(s.totalMs * 10) / 10, maxMs: Math.round(s.maxMs * 10) / 10 };
    },
  };
}

export interface CpuWindowResult {
  wallMs: number;
  /** This process's CPU, % of one core. */
  ownCpuPct: number;
  /** CPU used by every other process on the machine in the window, % of one core. */
  otherCpuPct: number | undefined;
}

/** Starts a CPU window: this process (process.cpuUsage) and the machine (/proc/stat). */
export function cpuWindow(): { stop(): CpuWindowResult } {
  const t0 = performance.now();
  const own0 = process.cpuUsage();
  const sys0 = systemCpu();
  return {
    stop() {
      const wallMs = performance.now() - t0;
      const own = process.cpuUsage(own0);
      const ownUs = own.user + own.system;
      const sys1 = systemCpu();
      const other = sys0 && sys1 ? Math.max(0, ((sys1.busyUs - sys0.busyUs - ownUs) / 1000 / wallMs) * 100) : undefined;
      return {
        wallMs: Math.round(wallMs),
        ownCpuPct: Math.round((ownUs / 1000 / wallMs) * 100),
        otherCpuPct: other === undefined ? undefined : Math.round(other),
      };
    },
  };
}

export interface MachineInfo {
  date: string;
  cpuModel: string;
  nproc: number;
  memTotalGiB: number;
  kernel: string;
  arch: string;
  node: string;
  agentmq: string;
  packages: Record<string, string>;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

export function describeMachine(repoRoot: string): MachineInfo {
  const cpuinfo = safe(() => readFileSync('/proc/cpuinfo', 'utf8')) ?? '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const git = (args: string[]): string | undefined =>
    safe(() => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  const top = git(['rev-parse', '--show-toplevel']);
  const inGit = top !== undefined && resolve(top) === resolve(repoRoot);
  const commit = inGit ? git(['rev-parse', '--short', 'HEAD']) : undefined;
  const dirty = inGit ? git(['status', '--porcelain', '--untracked-files=no', '--', 'nameserver/semantic']) : undefined;
  const require = createRequire(join(repoRoot, 'package.json'));
  const packages: Record<string, string> = {};
  for (const name of ['hnswlib-node', '@xenova/transformers', 'onnxruntime-node']) {
    const v = safe(() => (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version);
    packages[name] = v ?? 'not installed';
  }
  return {
    date: new Date().toISOString(),
    cpuModel: model,
    nproc: availableParallelism(),
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    arch: arch(),
    node: process.version,
    agentmq: `${pkg.version}${commit ? ` (${commit}${dirty ? ', nameserver/semantic/ with uncommitted changes' : ''})` : ''}`,
    packages,
  };
}
