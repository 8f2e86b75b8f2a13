/**
 * The machine description, result records, derived figures (msgs/s, CPU µs per message, ratios
 * vs AgentMQ async), the console tables and the Markdown block for docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { CpuWindow, W1WorkerResult, W2WorkerResult, WorkloadId } from './protocol.js';
import type { ProfileSummary } from './profile.js';
import type { SystemId } from './systems.js';

export interface Machine {
  date: string;
  cpuModel: string;
  nproc: number;
  memTotalGiB: number;
  kernel: string;
  arch: string;
  node: string;
  agentmq: string;
  peers: Record<string, string>;
  clients: Record<string, string>;
  tmpFilesystem: string;
}

export interface RunRecord {
  workload: WorkloadId;
  system: SystemId;
  label: string;
  durability: string;
  status: 'ok' | 'not run' | 'failed';
  reason?: string;
  w1?: W1WorkerResult;
  w2?: W2WorkerResult;
  serverCpu?: CpuWindow;
  /** CPU µs per server thread name inside the measured window. */
  serverThreads?: Record<string, number>;
  /** CPU other processes used (% of one core) in the 1 s sample just before the run. */
  idleBeforePct?: number;
  /** The whole machine inside the measured window (from /proc/stat). */
  machineCpu?: MachineCpu;
  derived?: Derived;
  /** Event-loop delay and GC pauses of the AgentMQ server in the window (--probe). */
  probe?: ServerProbe;
  profiles?: { label: string; summary: ProfileSummary }[];
}

export interface ServerProbe {
  wallMs: number;
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
  gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
  gcTotalMs: number;
  gcMaxMs: number;
}

export function probeLines(runs: RunRecord[]): string[] {
  const lines: string[] = [];
  for (const r of runs) {
    const p = r.probe;
    if (!p) continue;
    const gcKinds = Object.entries(p.gc)
      .map(([k, s]) => `${k} ${s.count}× (max ${s.maxMs.toFixed(1)} ms)`)
      .join(', ');
    lines.push(
      `- ${r.workload} ${r.label}: event-loop delay p50 ${p.eventLoopDelay.p50Ms} ms, p99 ${p.eventLoopDelay.p99Ms} ms, max ${p.eventLoopDelay.maxMs} ms; ` +
        `GC ${Math.round(p.gcTotalMs)} ms in ${Math.round(p.wallMs)} ms (${((p.gcTotalMs / p.wallMs) * 100).toFixed(1)}%): ${gcKinds || 'none'}`,
    );
  }
  return lines;
}

export interface MachineCpu {
  /** Busy CPU time of every process, µs. */
  busyUs: number;
  /** Time in iowait, µs (all CPUs). */
  iowaitUs: number;
  wallMs: number;
}

export interface Derived {
  /** Acknowledged (W1) or sent (W2) messages per second inside the window. */
  msgsPerSec: number;
  clientCpuUsPerMsg: number;
  serverCpuUsPerMsg: number;
  /** Percent of one core. */
  clientCpuPct: number;
  serverCpuPct: number;
  /** CPU used by processes other than this server and the load worker, % of one core. */
  otherCpuPct: number | undefined;
}

export interface Report {
  machine: Machine;
  parameters: Record<string, unknown>;
  shapes: Record<WorkloadId, string>;
  runs: RunRecord[];
  targets: TargetCheck[];
}

export interface TargetCheck {
  target: string;
  value: string;
  met: boolean | undefined;
}

function safe(f: () => string | undefined): string | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

export function describeMachine(repoRoot: string, agentmqRoot: string, peers: Record<string, string>, tmpBase: string): Machine {
  const cpuinfo = safe(() => readFileSync('/proc/cpuinfo', 'utf8')) ?? '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const pkg = JSON.parse(readFileSync(join(agentmqRoot, 'package.json'), 'utf8')) as { version: string };
  const git = (args: string[]): string | undefined =>
    safe(() => execFileSync('git', args, { cwd: agentmqRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  // Only when agentmqRoot is itself the top of a git work tree (a snapshot inside another
  // repository must not report that repository's commit).
  const top = git(['rev-parse', '--show-toplevel']);
  const inGit = top !== undefined && resolve(top) === resolve(agentmqRoot);
  const commit = inGit ? git(['rev-parse', '--short', 'HEAD']) : undefined;
  const dirty = inGit ? git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench', ':!docs/benchmarks.md', ':!package.json', ':!package-lock.json']) : undefined;
  const require = createRequire(join(repoRoot, 'package.json'));
  const clients: Record<string, string> = {};
  for (const name of ['nats', 'ioredis', '@grpc/grpc-js']) {
    const v = safe(() => (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version);
    clients[name] = v ?? 'not installed';
  }
  const df = safe(() => execFileSync('df', ['-T', tmpBase], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[1]);
  const fs = df?.split(/\s+/);
  return {
    date: new Date().toISOString(),
    cpuModel: model,
    nproc: availableParallelism(),
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    arch: arch(),
    node: process.version,
    agentmq: `${pkg.version}${commit ? ` (${commit}${dirty ? ' + uncommitted changes' : ''})` : ''}${agentmqRoot !== repoRoot ? ` from ${agentmqRoot}` : ''}`,
    peers,
    clients,
    tmpFilesystem: fs ? `${tmpBase} on ${fs[0] ?? '?'} (${fs[1] ?? '?'})` : tmpBase,
  };
}

export function derive(r: RunRecord): Derived | undefined {
  const res = r.w1 ?? r.w2;
  if (!res || !r.serverCpu) return undefined;
  const n = r.w1 ? r.w1.acked : r.w2!.sent;
  const seconds = res.measuredMs / 1000;
  const cpuUs = (c: CpuWindow): number => c.userUs + c.systemUs;
  return {
    msgsPerSec: seconds > 0 ? n / seconds : 0,
    clientCpuUsPerMsg: n > 0 ? cpuUs(res.clientCpu) / n : 0,
    serverCpuUsPerMsg: n > 0 ? cpuUs(r.serverCpu) / n : 0,
    clientCpuPct: res.clientCpu.wallMs > 0 ? (cpuUs(res.clientCpu) / 1000 / res.clientCpu.wallMs) * 100 : 0,
    serverCpuPct: r.serverCpu.wallMs > 0 ? (cpuUs(r.serverCpu) / 1000 / r.serverCpu.wallMs) * 100 : 0,
    otherCpuPct:
      r.machineCpu && r.machineCpu.wallMs > 0
        ? Math.max(0, ((r.machineCpu.busyUs - cpuUs(r.serverCpu) - cpuUs(res.clientCpu)) / 1000 / r.machineCpu.wallMs) * 100)
        : undefined,
  };
}

let bodySize = 1024;
/** Body size the MiB/s column is computed with. */
export function setBodySize(n: number): void {
  bodySize = n;
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function find(runs: RunRecord[], workload: WorkloadId, system: SystemId): RunRecord | undefined {
  return runs.find((r) => r.workload === workload && r.system === system && r.status === 'ok');
}

function statusCell(r: RunRecord): string {
  return r.status === 'not run' ? 'not run' : `FAILED`;
}

export function w1Rows(runs: RunRecord[]): string[][] {
  const base = find(runs, 'W1', 'agentmq-async')?.derived?.msgsPerSec;
  const header = ['system', 'msgs/s', 'MiB/s', 'AgentMQ async ÷ this', 'ack p50 ms', 'ack p99 ms', 'client CPU µs/msg', 'server CPU µs/msg', 'client CPU %', 'server CPU %', 'other CPU %', 'errors'];
  const rows = [header];
  for (const r of runs.filter((x) => x.workload === 'W1')) {
    if (r.status !== 'ok' || !r.w1 || !r.derived) {
      rows.push([r.label, statusCell(r), '', '', '', '', '', '', '', '', '', '']);
      continue;
    }
    const d = r.derived;
    const mib = (d.msgsPerSec * bodySize) / 2 ** 20;
    rows.push([
      r.label,
      f0(d.msgsPerSec),
      f1(mib),
      base !== undefined && d.msgsPerSec > 0 ? `${f2(base / d.msgsPerSec)}×` : '–',
      ms(r.w1.ackLatency.p50Ms),
      ms(r.w1.ackLatency.p99Ms),
      f1(d.clientCpuUsPerMsg),
      f1(d.serverCpuUsPerMsg),
      f0(d.clientCpuPct),
      f0(d.serverCpuPct),
      d.otherCpuPct === undefined ? '?' : f0(d.otherCpuPct),
      String(r.w1.errors),
    ]);
  }
  return rows;
}


export function w2Rows(runs: RunRecord[]): string[][] {
  const base = find(runs, 'W2', 'agentmq-async')?.w2?.endToEnd.p99Ms;
  const header = ['system', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p99: this ÷ AgentMQ async', 'received', 'errors', 'send→ack p50 / p99 ms', 'server CPU %', 'other CPU %'];
  const rows = [header];
  for (const r of runs.filter((x) => x.workload === 'W2')) {
    if (r.status !== 'ok' || !r.w2 || !r.derived) {
      rows.push([r.label, statusCell(r), '', '', '', '', '', '', '', '', '']);
      continue;
    }
    const e = r.w2.endToEnd;
    rows.push([
      r.label,
      ms(e.p50Ms),
      ms(e.p90Ms),
      ms(e.p99Ms),
      ms(e.maxMs),
      base !== undefined && base > 0 ? `${f2(e.p99Ms / base)}×` : '–',
      `${r.w2.received}/${r.w2.sent}${r.w2.duplicates ? ` (+${r.w2.duplicates} dup)` : ''}`,
      String(r.w2.errors),
      `${ms(r.w2.ackLatency.p50Ms)} / ${ms(r.w2.ackLatency.p99Ms)}`,
      f1(r.derived.serverCpuPct),
      r.derived.otherCpuPct === undefined ? '?' : f0(r.derived.otherCpuPct),
    ]);
  }
  return rows;
}

/** A Markdown table padded to column width (readable as plain text too). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 3, [...c].length)));
  const line = (row: string[]): string => `| ${row.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - [...c].length)).join(' | ')} |`;
  const [head, ...body] = rows;
  if (!head) return '';
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), sep, ...body.map(line)].join('\n');
}

export function checkTargets(runs: RunRecord[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const tput = (s: SystemId): number | undefined => find(runs, 'W1', s)?.derived?.msgsPerSec;
  const a = tput('agentmq-async');
  const ratio = (peer: SystemId, label: string, min: number): void => {
    const p = tput(peer);
    if (a === undefined || p === undefined || p <= 0) {
      out.push({ target: `W1: AgentMQ async ≥ ${min}× ${label}`, value: 'not measured', met: undefined });
      return;
    }
    out.push({ target: `W1: AgentMQ async ≥ ${min}× ${label}`, value: `${f2(a / p)}× (${f0(a)} vs ${f0(p)} msgs/s)`, met: a / p >= min });
  };
  // Issue 3's targets are W1 async vs NATS and Redis everysec, and W2 p99 with the default (async)
  // flush; the Redis-always and sync-flush rows are reported alongside and marked so.
  ratio('nats', 'NATS JetStream', 2);
  ratio('redis-everysec', 'Redis Streams (everysec)', 1);
  ratio('redis-always', 'Redis Streams (always) (extra, not a target)', 1);
  for (const s of ['agentmq-async', 'agentmq-sync'] as const) {
    const r = find(runs, 'W2', s)?.w2;
    const label = s === 'agentmq-async' ? 'async' : 'sync (extra, not a target)';
    out.push(
      r
        ? { target: `W2: AgentMQ ${label} p99 < 5 ms`, value: `${ms(r.endToEnd.p99Ms)} ms`, met: r.endToEnd.p99Ms < 5 && r.received === r.sent }
        : { target: `W2: AgentMQ ${label} p99 < 5 ms`, value: 'not measured', met: undefined },
    );
  }
  return out;
}

function targetRows(t: TargetCheck[]): string[][] {
  return [['target (issue 3)', 'measured', 'met'], ...t.map((x) => [x.target, x.value, x.met === undefined ? '–' : x.met ? 'yes' : 'NO'])];
}

export function machineLines(m: Machine): string[] {
  return [
    `- date: ${m.date}`,
    `- machine: ${m.cpuModel}, ${m.nproc} CPUs (nproc), ${m.memTotalGiB} GiB RAM, Linux ${m.kernel} ${m.arch}`,
    `- data dirs: ${m.tmpFilesystem}`,
    `- Node ${m.node}; AgentMQ ${m.agentmq}; @grpc/grpc-js ${m.clients['@grpc/grpc-js'] ?? '?'}`,
    `- peers: ${Object.entries(m.peers).map(([k, v]) => `${k}: ${v}`).join('; ') || 'none'}`,
    `- peer clients (npm): nats ${m.clients.nats ?? '?'}, ioredis ${m.clients.ioredis ?? '?'}`,
  ];
}

export function threadLines(runs: RunRecord[]): string[] {
  const lines: string[] = [];
  for (const r of runs) {
    if (r.status !== 'ok' || !r.serverThreads || !r.derived || r.workload !== 'W1') continue;
    const res = r.w1;
    if (!res) continue;
    const n = res.acked;
    const wall = r.serverCpu?.wallMs ?? 0;
    const parts = Object.entries(r.serverThreads)
      .filter(([, us]) => us > 0)
      .sort((x, y) => y[1] - x[1])
      .map(([name, us]) => `${name} ${f0(wall > 0 ? (us / 1000 / wall) * 100 : 0)}% (${f1(n > 0 ? us / n : 0)} µs/msg)`);
    lines.push(`- ${r.label}: ${parts.join(', ')}`);
  }
  return lines;
}

export function markdown(rep: Report): string {
  const out: string[] = [];
  out.push(`### Run of ${rep.machine.date.slice(0, 10)}`, '', ...machineLines(rep.machine), '');
  if (rep.runs.some((r) => r.workload === 'W1')) {
    out.push('#### W1: durable produce throughput', '', `Shape: ${rep.shapes.W1}`, '', table(w1Rows(rep.runs)), '');
    const threads = threadLines(rep.runs);
    if (threads.length > 0) out.push('Server CPU by thread during W1 (% of one core, µs per message):', '', ...threads, '');
  }
  if (rep.runs.some((r) => r.workload === 'W2')) {
    out.push('#### W2: end-to-end latency', '', `Shape: ${rep.shapes.W2}`, '', table(w2Rows(rep.runs)), '');
  }
  const probes = probeLines(rep.runs);
  if (probes.length > 0) out.push('AgentMQ server event loop and GC in the measured window (--probe):', '', ...probes, '');
  out.push(
    '"other CPU %" is CPU used by other processes on the machine during the measured window (100 = one core); ' +
      'with 2 cores, anything far above a few % means the figures are disturbed.',
    '',
  );
  out.push('#### Targets', '', table(targetRows(rep.targets)), '');
  const notes = rep.runs.filter((r) => r.status !== 'ok');
  if (notes.length > 0) {
    out.push('Not run / failed:', '', ...notes.map((r) => `- ${r.workload} ${r.label}: ${r.status}${r.reason ? ` — ${r.reason.split('\n')[0]}` : ''}`), '');
  }
  return out.join('\n');
}

export { targetRows };
