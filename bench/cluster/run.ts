/**
 * `npm run bench:cluster`: AgentMQ on local multi-process clusters (`agentmq cluster up`).
 *
 * 1. Scaling: for each broker count of --brokers (default 1, 2, 3) a fresh cluster, then W1
 *    (durable produce throughput, the load of `npm run bench`) and the agent callback pattern (the
 *    workload of `npm run bench:callback`) for a fixed duration each; CPU seconds of every process
 *    over each measured phase; work per CPU-second and its ratio vs the first broker count.
 * 2. Failover: kill -9 of one of 3 brokers under a paced producer; NameServer drop time, producer
 *    recovery, new-producer first send; with the default expiry settings and with short ones.
 *
 * Prints the tables (Markdown), writes bench/results/cluster-<date>.json. See --help.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { AdminClient, silentLogger } from '../../client/index.js';
import { describeMachine, machineLines, table } from '../report.js';
import type { Machine } from '../report.js';
import { waitForQuiet } from '../servers.js';
import { createCallbackTopics, runCallback } from './callback.js';
import type { CallbackOutcome } from './callback.js';
import { clusterProcs, interrupted, REPO_ROOT, runClusterMain, startCluster, waitForBrokers } from './cluster.js';
import type { CpuWindowReport } from './cluster.js';
import { runFailover } from './failover.js';
import type { FailoverOutcome } from './failover.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import type { ClusterBenchOptions } from './options.js';
import { runW1, W1_TOPIC } from './w1.js';
import type { W1Outcome } from './w1.js';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const s2 = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'never' : `${(ms / 1000).toFixed(2)} s`);
const msf = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

interface ScalingRun {
  brokers: number;
  nameservers: number;
  command: string;
  status: 'ok' | 'failed';
  reason?: string;
  w1?: W1Outcome & { storedPerBroker: Record<string, number> };
  callback?: CallbackOutcome;
}

interface Report {
  machine: Machine;
  parameters: Omit<ClusterBenchOptions, 'out' | 'save' | 'keep'>;
  scaling: ScalingRun[];
  failover: (FailoverOutcome | { mode: string; status: 'failed'; reason: string })[];
  markdown?: string;
}

function quiet(opts: ClusterBenchOptions): Promise<unknown> {
  if (opts.quietWaitS <= 0) return Promise.resolve();
  return waitForQuiet(opts.quietWaitS * 1000, 15, (pct) =>
    log(`  (machine busy: other processes use ${Math.round(pct)}% of a core; waiting up to ${opts.quietWaitS} s for quiet)`),
  );
}

async function scalingRun(brokers: number, opts: ClusterBenchOptions, tmpBase: string): Promise<ScalingRun> {
  await quiet(opts);
  log(`\n${brokers} broker${brokers === 1 ? '' : 's'}, ${opts.nameservers} NameServer${opts.nameservers === 1 ? '' : 's'}: agentmq cluster up`);
  const cluster = await startCluster({ nameservers: opts.nameservers, brokers, flush: 'async', maxLongPollingMs: 2_000, tmpBase, keep: opts.keep });
  const run: ScalingRun = { brokers, nameservers: opts.nameservers, command: cluster.command, status: 'ok' };
  try {
    log(`  up: ${cluster.processes.map((p) => `${p.name} pid ${p.pid} :${p.port}`).join(', ')}`);
    const admin = new AdminClient({ nameserver: cluster.nameserver, logger: silentLogger });
    try {
      await waitForBrokers(admin, brokers, []);
      await admin.createTopic({ name: W1_TOPIC, queueCount: opts.queues }, { ifNotExists: true });
      await waitForBrokers(admin, brokers, [W1_TOPIC]);
      await createCallbackTopics(cluster.nameserver, brokers, opts.queues);
      const procs = clusterProcs(cluster);
      if (opts.workloads.includes('w1') && !interrupted()) {
        const w1 = await runW1(
          { nameserver: cluster.nameserver, queues: opts.queues, window: opts.window, warmupMs: opts.warmupS * 1000, durationMs: opts.seconds * 1000, sizeBytes: 1024 },
          procs,
        );
        const storedPerBroker: Record<string, number> = {};
        for (const t of await admin.getTopic(W1_TOPIC)) storedPerBroker[t.broker] = t.stats?.messageCount ?? 0;
        run.w1 = { ...w1, storedPerBroker };
        log(`  W1: ${f0(w1.msgsPerSec)} msgs/s, ${f2(w1.cpu.totalCpuS)} CPU-s in ${f1(w1.cpu.wallS)} s (${cpuLine(w1.cpu)}), errors ${w1.result.errors}${w1.result.firstError ? ` (${w1.result.firstError})` : ''}`);
        if (w1.result.acked === 0) throw new Error(`W1: no acknowledgement in the measured window${w1.result.firstError ? `: ${w1.result.firstError}` : ''}`);
      }
      if (opts.workloads.includes('callback') && !interrupted()) {
        await quiet(opts);
        const cb = await runCallback(
          { nameserver: cluster.nameserver, brokers, queues: opts.queues, inflight: opts.inflight, loopsPerBroker: opts.loopsPerBroker, warmupMs: opts.warmupS * 1000, durationMs: opts.seconds * 1000 },
          procs,
        );
        run.callback = cb;
        log(
          `  callback: ${f0(cb.tasksPerSec)} tasks/s (${cb.completed} tasks, RTT p50 ${msf(cb.rtt.p50Ms)} ms, p99 ${msf(cb.rtt.p99Ms)} ms), ` +
            `${f2(cb.cpu.totalCpuS)} CPU-s in ${f1(cb.cpu.wallS)} s (${cpuLine(cb.cpu)}), errors ${cb.errors}`,
        );
        for (const e of cb.errorSamples) log(`    error: ${e}`);
        if (cb.errors > 0) throw new Error(`callback: ${cb.errors} error(s); first: ${cb.errorSamples[0] ?? '?'}`);
      }
    } finally {
      await admin.close();
    }
  } catch (err) {
    run.status = 'failed';
    run.reason = err instanceof Error ? err.message : String(err);
    log(`  FAILED: ${run.reason}`);
    for (const b of cluster.brokers) {
      const tail = cluster.logTail(b.name, 5);
      if (tail) log(`  --- ${b.name} log tail ---\n${tail}`);
    }
  } finally {
    await cluster.down();
  }
  return run;
}

function cpuLine(c: CpuWindowReport): string {
  return c.processes.map((p) => `${p.name} ${f2(p.cpuS)}`).join(', ');
}

// --- report -------------------------------------------------------------------------------------

function ratio(x: number, base: number | undefined): string {
  return base === undefined || base <= 0 ? '–' : `${f2(x / base)}×`;
}

function w1Rows(runs: ScalingRun[]): string[][] {
  const rows = [['brokers', 'msgs/s', 'ack p50 / p99 ms', 'CPU-s total', 'brokers', 'NameServer', 'clients', 'msgs per CPU-s', 'vs first', 'msgs per broker CPU-s', 'vs first', 'stored per broker', 'other CPU %', 'errors']];
  const ok = runs.filter((r) => r.w1);
  const base = ok[0]?.w1;
  const perCpu = (w: W1Outcome): number => (w.result.acked / w.cpu.totalCpuS);
  const perBroker = (w: W1Outcome): number => (w.result.acked / w.cpu.brokerCpuS);
  for (const r of runs) {
    const w = r.w1;
    if (!w) {
      rows.push([String(r.brokers), r.status === 'failed' ? 'FAILED' : 'not run', '', '', '', '', '', '', '', '', '', '', '', '']);
      continue;
    }
    const stored = Object.values(w.storedPerBroker);
    const total = stored.reduce((s, n) => s + n, 0);
    rows.push([
      String(r.brokers),
      f0(w.msgsPerSec),
      `${msf(w.result.ackLatency.p50Ms)} / ${msf(w.result.ackLatency.p99Ms)}`,
      f2(w.cpu.totalCpuS),
      f2(w.cpu.brokerCpuS),
      f2(w.cpu.nameserverCpuS),
      f2(w.cpu.clientCpuS),
      f0(perCpu(w)),
      base ? ratio(perCpu(w), perCpu(base)) : '–',
      f0(perBroker(w)),
      base ? ratio(perBroker(w), perBroker(base)) : '–',
      total > 0 ? stored.map((n) => `${Math.round((n / total) * 100)}%`).join(' / ') : '?',
      w.cpu.otherCpuPct === undefined ? '?' : String(w.cpu.otherCpuPct),
      String(w.result.errors),
    ]);
  }
  return rows;
}

function callbackRows(runs: ScalingRun[]): string[][] {
  const rows = [['brokers', 'tasks/s', 'RTT p50 / p99 ms', 'CPU-s total', 'brokers', 'NameServer', 'client', 'tasks per CPU-s', 'vs first', 'tasks per broker CPU-s', 'vs first', 'receive loops', 'other CPU %', 'errors']];
  const ok = runs.filter((r) => r.callback);
  const base = ok[0]?.callback;
  const perCpu = (c: CallbackOutcome): number => c.completed / c.cpu.totalCpuS;
  const perBroker = (c: CallbackOutcome): number => c.completed / c.cpu.brokerCpuS;
  for (const r of runs) {
    const c = r.callback;
    if (!c) {
      rows.push([String(r.brokers), r.status === 'failed' ? 'FAILED' : 'not run', '', '', '', '', '', '', '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      String(r.brokers),
      f0(c.tasksPerSec),
      `${msf(c.rtt.p50Ms)} / ${msf(c.rtt.p99Ms)}`,
      f2(c.cpu.totalCpuS),
      f2(c.cpu.brokerCpuS),
      f2(c.cpu.nameserverCpuS),
      f2(c.cpu.clientCpuS),
      f1(perCpu(c)),
      base ? ratio(perCpu(c), perCpu(base)) : '–',
      f1(perBroker(c)),
      base ? ratio(perBroker(c), perBroker(base)) : '–',
      `${c.receiveLoops.worker} + ${c.receiveLoops.supervisor}`,
      c.cpu.otherCpuPct === undefined ? '?' : String(c.cpu.otherCpuPct),
      String(c.errors),
    ]);
  }
  return rows;
}

const CALL_METHODS = ['SendMessage', 'ReceiveMessage', 'AckMessage', 'SyncLiteSubscription', 'Heartbeat', 'ChangeInvisibleDuration'];

function callRows(runs: ScalingRun[]): string[][] {
  const rows = [['brokers', 'calls per task', ...CALL_METHODS.slice(0, 4).map((m) => `${m} per task (items per call)`), 'empty receives per task']];
  for (const r of runs) {
    const c = r.callback;
    if (!c || c.completed === 0) continue;
    const per = (n: number): string => f2(n / c.completed);
    const total = Object.values(c.calls).reduce((s, m) => s + m.calls, 0);
    rows.push([
      String(r.brokers),
      per(total),
      ...CALL_METHODS.slice(0, 4).map((m) => {
        const x = c.calls[m];
        return x ? `${per(x.calls)} (${f1(x.items / Math.max(1, x.calls))})` : '0';
      }),
      per(c.calls.ReceiveMessage?.empty ?? 0),
    ]);
  }
  return rows;
}

function processRows(runs: ScalingRun[]): string[][] {
  const rows = [['brokers', 'workload', 'wall s', 'CPU-s (% of a core) per process']];
  for (const r of runs) {
    for (const [label, cpu] of [['W1', r.w1?.cpu], ['callback', r.callback?.cpu]] as const) {
      if (!cpu) continue;
      rows.push([String(r.brokers), label, f1(cpu.wallS), cpu.processes.map((p) => `${p.name} ${f2(p.cpuS)} (${Math.round(p.pctOfCore)}%)`).join(', ')]);
    }
  }
  return rows;
}

function isOutcome(f: Report['failover'][number]): f is FailoverOutcome {
  return 'victim' in f;
}

function failoverRows(runs: Report['failover']): string[][] {
  const rows = [[
    'settings',
    '(i) NameServers drop the broker (expected: expiry − age of its last registration at the kill)',
    '(ii) producer: sends succeed continuously',
    'failed sends',
    'longest gap without an ack (before kill)',
    'send→ack after kill p50 / p99 / max ms',
    '(iii) new producer: first send acked',
    'new producers: failed / sampled, first send p50 / max ms',
    'target (expiry + route refresh)',
    'met',
  ]];
  for (const f of runs) {
    if (!isOutcome(f)) {
      rows.push([f.mode, 'FAILED', f.reason.split('\n')[0] ?? '', '', '', '', '', '', '', '']);
      continue;
    }
    const drops = Object.values(f.nameserverDropMs);
    const worst = Math.max(...[f.producer.recoveryMs, f.newProducers.firstProducerAckMs, ...drops].map((x) => (x === null ? Infinity : x)));
    const recoveredWorst = Math.max(...[f.producer.recoveryMs, f.newProducers.firstProducerAckMs].map((x) => (x === null ? Infinity : x)));
    const lat = f.producer.latencyAfterKill;
    rows.push([
      `${f.mode}: expiry ${f.settings.brokerExpiryMs / 1000} s, register every ${f.settings.registerIntervalMs / 1000} s, route refresh ${f.settings.routeRefreshIntervalMs / 1000} s`,
      `${drops.map((d) => s2(d)).join(' / ')} (expected ${Object.values(f.lastRegistrationAgeAtKillMs).map((a) => (a === null ? '?' : s2(f.settings.brokerExpiryMs - a))).join(' / ')})`,
      s2(f.producer.recoveryMs),
      `${f.producer.failed} of ${f0(f.producer.sent)}`,
      `${f0(f.producer.longestAckGapMs)} ms at +${s2(f.producer.longestAckGapStartMs)} (${f0(f.producer.longestAckGapBeforeKillMs)} ms)`,
      `${msf(lat.p50Ms)} / ${msf(lat.p99Ms)} / ${msf(lat.maxMs)}`,
      s2(f.newProducers.firstProducerAckMs),
      `${f.newProducers.failed} / ${f.newProducers.samples.length}, ${msf(f.newProducers.sendMs.p50Ms)} / ${msf(f.newProducers.sendMs.maxMs)}`,
      `${f.targetMs / 1000} s`,
      recoveredWorst <= f.targetMs ? (worst <= f.targetMs ? 'yes' : 'yes (recovery); NameServer drop over target') : 'NO',
    ]);
  }
  return rows;
}

function shapes(opts: ClusterBenchOptions): { w1: string; callback: string; failover: string } {
  return {
    w1:
      `W1: 1 KiB random bodies, one load process (bench/worker.ts, SDK Producer: linger 0, ≤64 messages per SendMessage, ≤16 calls in flight), ` +
      `${opts.window} sends outstanding, counted on the broker's acknowledgement; topic with ${opts.queues} queues on each broker; ` +
      `${opts.warmupS} s warm-up, ${opts.seconds} s measured.`,
    callback:
      `Callback pattern (bench:callback's AgentMQ workload): a fresh lite topic per task, 1 KiB task to a durable topic (${opts.queues} queues per broker), ` +
      `3 replies per task checked in order, ${opts.inflight} tasks in flight, supervisor and worker in the bench process, ` +
      `${opts.loopsPerBroker} receive loops per broker each for the worker and the supervisor; ${opts.warmupS} s warm-up, ${opts.seconds} s measured.`,
    failover:
      `Failover: ${opts.failoverNameservers} NameServers, 3 brokers (async flush); a producer (SDK defaults) sends 1 KiB at ${opts.rate} msg/s to a topic ` +
      `with ${opts.queues} queues on each broker; after ${opts.preKillS} s, kill -9 of broker-1. (i) listBrokers on each NameServer every 100 ms; ` +
      `(ii) first ack after the kill followed by 1 s without a failed send; (iii) a new producer (start + one send) right after the kill and every second after.`,
  };
}

function markdown(rep: Report, opts: ClusterBenchOptions, command: string): string {
  const sh = shapes(opts);
  const out: string[] = [];
  out.push(`Command: \`${command}\``, '', ...machineLines(rep.machine).filter((l) => !l.startsWith('- peer')), '');
  if (rep.scaling.length > 0) {
    const cmd = rep.scaling[0]?.command;
    if (cmd) out.push(`Clusters: \`${cmd.replace(/--brokers \d+/, '--brokers M').replace(/--base-port \d+/, '--base-port P')}\``, '');
    if (rep.scaling.some((r) => r.w1)) out.push(`#### W1 by broker count`, '', sh.w1, '', table(w1Rows(rep.scaling)), '');
    if (rep.scaling.some((r) => r.callback)) {
      out.push(`#### Callback pattern by broker count`, '', sh.callback, '', table(callbackRows(rep.scaling)), '');
      out.push('Broker calls of the callback clients (supervisor + worker, this process) in the measured phase:', '', table(callRows(rep.scaling)), '');
    }
    out.push('#### CPU per process', '', table(processRows(rep.scaling)), '');
  }
  if (rep.failover.length > 0) out.push('#### Failover (kill -9 of one of 3 brokers)', '', sh.failover, '', table(failoverRows(rep.failover)), '');
  return out.join('\n');
}

function dateStamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main(argv: string[]): Promise<number> {
  let opts: ClusterBenchOptions | undefined;
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
  const startedAt = new Date().toISOString();
  const machine = describeMachine(REPO_ROOT, REPO_ROOT, {}, tmpBase);
  const command = `npm run bench:cluster${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  log(`AgentMQ cluster benchmark ${startedAt}`);
  for (const l of machineLines(machine).filter((x) => !x.startsWith('- peer'))) log(l);

  const scaling: ScalingRun[] = [];
  for (const m of opts.brokers) {
    if (interrupted()) break;
    scaling.push(await scalingRun(m, opts, tmpBase));
  }

  const failover: Report['failover'] = [];
  for (const mode of opts.failover) {
    if (interrupted()) break;
    await quiet(opts);
    const observeMs = (opts.observeS ?? (mode === 'default' ? 65 : 20)) * 1000;
    log(`\nfailover (${mode}): 3 brokers, ${opts.failoverNameservers} NameServers, producer at ${opts.rate} msg/s`);
    try {
      const f = await runFailover({
        mode,
        nameservers: opts.failoverNameservers,
        queues: opts.queues,
        rate: opts.rate,
        preKillMs: opts.preKillS * 1000,
        observeMs,
        tmpBase,
        keep: opts.keep,
        log,
      });
      failover.push(f);
      const p = f.producer;
      log(
        `  producer: recovered ${s2(p.recoveryMs)} after the kill; ${p.failed} failed of ${p.sent} sent; longest ack gap ${f0(p.longestAckGapMs)} ms at +${s2(p.longestAckGapStartMs)}; ` +
          `after-kill latency p99 ${msf(p.latencyAfterKill.p99Ms)} ms, max ${msf(p.latencyAfterKill.maxMs)} ms`,
      );
      log(`  new producers: first acked at +${s2(f.newProducers.firstProducerAckMs)}; ${f.newProducers.failed} of ${f.newProducers.samples.length} failed`);
      for (const e of [...p.failureSamples, ...f.errors]) log(`    error: ${e}`);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      failover.push({ mode, status: 'failed', reason });
      log(`  FAILED: ${reason}`);
    }
  }

  const { out: _out, save: _save, keep: _keep, ...parameters } = opts;
  const report: Report = { machine, parameters, scaling, failover };
  const md = markdown(report, opts, command);
  report.markdown = md;
  console.log(`\n${md}`);
  if (interrupted()) {
    log('\ninterrupted: results not saved');
    return 130;
  }
  if (opts.save) {
    const file = opts.out ? resolve(opts.out) : join(REPO_ROOT, 'bench', 'results', `cluster-${dateStamp(startedAt)}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`\nresults written to ${relative(process.cwd(), file) || file}`);
  }
  const failed = scaling.some((r) => r.status === 'failed') || failover.some((f) => !isOutcome(f));
  return failed ? 1 : 0;
}

runClusterMain(main, log);
