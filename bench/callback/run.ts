/**
 * `npm run bench:callback`: the agent callback pattern (a fresh reply channel per task, 3 replies
 * per task, --inflight tasks at once) on AgentMQ, NATS JetStream, Redis Streams and Mosquitto,
 * one system after the other in one run, each on a fresh server. Prints the durability notes, a
 * table (tasks/s, round-trip and cycle p50/p99, server CPU, ratio vs the best peer) and the
 * target check; `--json FILE` writes everything. See `--help`, bench/callback/system.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, machineLines, table } from '../report.js';
import { runMain, wasInterrupted, waitForQuiet } from '../servers.js';
import { agentmqSystem } from './agentmq.js';
import { runSystem } from './harness.js';
import type { HarnessOptions, SystemRun } from './harness.js';
import { mqttSystem } from './mqtt.js';
import { natsSystem } from './nats.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import type { CallbackOptions, CallbackSystemId } from './options.js';
import { redisSystem } from './redis.js';
import type { CallbackSystem } from './system.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

const SYSTEMS: Record<CallbackSystemId, CallbackSystem> = {
  agentmq: agentmqSystem,
  nats: natsSystem,
  redis: redisSystem,
  mqtt: mqttSystem,
};

/** The server each system runs (for the machine description). */
const SERVER_NAMES: Record<CallbackSystemId, string> = { agentmq: 'agentmq', nats: 'nats-server', redis: 'redis-server', mqtt: 'mosquitto' };

/** AgentMQ must do at least this many times the best peer's tasks/s (issue target). */
const TARGET_RATIO = 2;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f2 = (n: number): string => n.toFixed(2);
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function bestPeer(runs: SystemRun[]): SystemRun | undefined {
  const peers = runs.filter((r) => r.role === 'peer' && r.status === 'ok' && r.measured);
  return peers.sort((a, b) => b.measured!.tasksPerSec - a.measured!.tasksPerSec)[0];
}

function resultRows(runs: SystemRun[], opts: CallbackOptions): string[][] {
  const best = bestPeer(runs)?.measured?.tasksPerSec;
  const header = [
    'system',
    'tasks/s',
    '÷ best peer',
    'RTT p50 ms',
    'RTT p99 ms',
    'cycle p50 ms',
    'cycle p99 ms',
    'server CPU s',
    'server CPU µs/task',
    'harness CPU s',
    'other CPU %',
    'verified',
    'errors',
  ];
  const rows = [header];
  for (const r of runs) {
    const m = r.measured;
    if (!m || r.status === 'not run') {
      rows.push([r.label, r.status === 'not run' ? 'not run' : 'FAILED', '', '', '', '', '', '', '', '', '', '', String(r.errors)]);
      continue;
    }
    const srv = m.serverCpu ? m.serverCpu.user + m.serverCpu.system : undefined;
    rows.push([
      r.label + (r.status === 'failed' ? ' (FAILED)' : ''),
      f0(m.tasksPerSec),
      best !== undefined && best > 0 ? `${f2(m.tasksPerSec / best)}×` : '–',
      ms(m.rtt.p50Ms),
      ms(m.rtt.p99Ms),
      ms(m.cycle.p50Ms),
      ms(m.cycle.p99Ms),
      srv === undefined ? 'in-process' : f2(srv),
      srv === undefined || m.completed === 0 ? '–' : f0((srv * 1e6) / m.completed),
      f2(m.harnessCpu.user + m.harnessCpu.system),
      m.otherCpuPct === undefined ? '?' : String(m.otherCpuPct),
      `${m.completed}/${opts.tasks} tasks, ${m.repliesVerified} replies`,
      String(r.errors),
    ]);
  }
  return rows;
}

interface TargetCheck {
  target: string;
  value: string;
  met: boolean | undefined;
}

function checkTarget(runs: SystemRun[]): TargetCheck {
  const target = `AgentMQ tasks/s ≥ ${TARGET_RATIO}× the best peer's`;
  const a = runs.find((r) => r.role === 'subject' && r.status === 'ok')?.measured?.tasksPerSec;
  const best = bestPeer(runs);
  if (a === undefined || !best?.measured) return { target, value: 'not measured (needs AgentMQ and at least one peer, both ok)', met: undefined };
  const ratio = a / best.measured.tasksPerSec;
  return { target, value: `${f2(ratio)}× (${f0(a)} vs ${best.label} ${f0(best.measured.tasksPerSec)} tasks/s)`, met: ratio >= TARGET_RATIO };
}

function clientVersions(): Record<string, string> {
  const require = createRequire(join(repoRoot, 'package.json'));
  const out: Record<string, string> = {};
  for (const name of ['nats', 'ioredis', 'mqtt']) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

function shape(opts: CallbackOptions): string {
  return (
    `${opts.tasks} tasks (after ${opts.warmup} warm-up tasks), ${opts.inflight} in flight; per task: fresh reply channel + subscribe, ` +
    `1 KiB task to a durable queue, worker (own connection) sends working + 1 KiB artifact + completed on the channel and acks, ` +
    `supervisor receives all 3 in order, removes the channel. RTT = dispatch → final reply; cycle = channel created → channel removed. ` +
    `Supervisor, worker and harness share this Node process; servers are separate processes on 127.0.0.1.`
  );
}

async function main(argv: string[]): Promise<number> {
  let opts: CallbackOptions | undefined;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      log(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  const tmpBase = opts.tmpDir ? resolve(opts.tmpDir) : tmpdir();
  mkdirSync(tmpBase, { recursive: true });
  const runId = Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x') || 'run';
  const harness: HarnessOptions = { tasks: opts.tasks, inflight: opts.inflight, warmup: opts.warmup, taskTimeoutMs: opts.taskTimeoutMs, maxErrors: opts.maxErrors };

  const peers: Record<string, string> = {};
  const machine = describeMachine(repoRoot, repoRoot, peers, tmpBase);
  const clients = clientVersions();
  log(`agent callback benchmark: ${opts.systems.join(', ')}; ${shape(opts)}`);

  const runs: SystemRun[] = [];
  for (const id of opts.systems) {
    if (wasInterrupted()) break;
    const sys = SYSTEMS[id];
    if (opts.quietWaitS > 0) {
      await waitForQuiet(opts.quietWaitS * 1000, 15, (pct) =>
        log(`  (machine busy: other processes use ${Math.round(pct)}% of a core; waiting up to ${opts.quietWaitS} s for quiet)`),
      );
    }
    log(`\n${sys.label}: ${sys.idiom}`);
    const t0 = Date.now();
    const run = await runSystem(sys, harness, { repoRoot, tmpBase, runId: `${runId}${id.slice(0, 1)}`, log });
    runs.push(run);
    if (run.serverVersion) peers[SERVER_NAMES[id]] = run.serverVersion;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const m = run.measured;
    if (run.status === 'not run') {
      log(`! ${sys.label}: not run: ${run.reason ?? ''}`);
    } else if (m) {
      log(
        `  ${run.status === 'ok' ? 'ok' : 'FAILED'}: ${f0(m.tasksPerSec)} tasks/s, RTT p50 ${ms(m.rtt.p50Ms)} ms, p99 ${ms(m.rtt.p99Ms)} ms, ` +
          `${m.completed}/${m.tasks} tasks, ${m.repliesVerified} replies verified, errors ${run.errors} [${secs} s]`,
      );
    } else {
      log(`  FAILED: ${run.reason ?? ''} [${secs} s]`);
    }
    for (const e of run.errorSamples) log(`    error: ${e}`);
  }

  const target = checkTarget(runs);
  const out: string[] = [''];
  out.push('== Machine ==', ...machineLines({ ...machine, peers }).filter((l) => !l.startsWith('- peer clients')));
  out.push(`- peer clients (npm): ${Object.entries(clients).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
  out.push('== Agent callback pattern ==', shape(opts), '');
  out.push('How each system does it:', ...runs.map((r) => `- ${r.label}: ${r.idiom}`), '');
  out.push('Durability:', ...runs.map((r) => `- ${r.label}: ${r.durability}`), '');
  out.push(table(resultRows(runs, opts)), '');
  out.push(
    '"÷ best peer" = tasks/s ÷ the fastest peer\'s in this run; "harness CPU" = this process (supervisor + worker + clients, ' +
      'and the server too when it is "in-process"); "other CPU %" = the rest of the machine during the measured phase (100 = one core).',
    '',
  );
  for (const r of runs) {
    const st = r.measured?.stages;
    if (st && st.meanMs.length > 0) {
      out.push(`${r.label}, a task's path (mean ms after dispatch, ${st.tasks} tasks): ${st.meanMs.map((s) => `${s.stage} ${s.ms.toFixed(2)}`).join(' · ')}`, '');
    }
  }
  out.push(table([['target', 'measured', 'met'], [target.target, target.value, target.met === undefined ? '–' : target.met ? 'yes' : 'NO']]), '');
  for (const r of runs.filter((x) => x.status !== 'ok')) out.push(`${r.label}: ${r.status}${r.reason ? `: ${r.reason}` : ''}`);
  console.log(out.join('\n'));

  if (opts.json) {
    const file = resolve(opts.json);
    mkdirSync(dirname(file), { recursive: true });
    const parameters = { ...harness, systems: opts.systems, tmpBase };
    writeFileSync(file, `${JSON.stringify({ machine: { ...machine, peers, clients }, parameters, shape: shape(opts), runs, target }, null, 2)}\n`);
    log(`results written to ${relative(process.cwd(), file) || file}`);
  }
  return runs.some((r) => r.status === 'failed') ? 1 : 0;
}

runMain(main, log);
