/**
 * `npm run bench`: runs the workloads (W1 durable produce throughput, W2 end-to-end latency)
 * against AgentMQ (async and sync flush), NATS JetStream and Redis Streams, one system at a time,
 * each on a fresh server; prints the tables and a Markdown block, writes the JSON results.
 *
 * For each (workload, system): start the server → fork bench/worker.ts (the load, in its own
 * process) → sample the server's CPU (and per-thread CPU) when the worker says the measured
 * window starts and ends → stop the server, remove its temp dir.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions, USAGE, UsageError } from './options.js';
import type { BenchOptions } from './options.js';
import { formatProfile, summarizeProfile } from './profile.js';
import type { CpuWindow, OrchestratorMessage, WorkerMessage, WorkerResult, WorkerSpec, WorkloadId } from './protocol.js';
import { checkTargets, derive, describeMachine, machineLines, markdown, probeLines, setBodySize, table, targetRows, threadLines, w1Rows, w2Rows } from './report.js';
import type { MachineCpu, Report, RunRecord, ServerProbe } from './report.js';
import { makeTempDir, processCpu, removeTempDir, runMain, wasInterrupted, systemCpu, terminate, threadCpu, track, waitForQuiet } from './servers.js';
import type { SystemCpu } from './servers.js';
import { binaryVersion, locate, SYSTEMS } from './systems.js';
import type { RunningSystem, StartContext, SystemDef } from './systems.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface Sample {
  at: number;
  cpu: { userUs: number; systemUs: number } | undefined;
  threads: Record<string, number>;
  machine: SystemCpu | undefined;
}

function sample(pid: number): Sample {
  return { at: performance.now(), cpu: processCpu(pid), threads: threadCpu(pid), machine: systemCpu() };
}

/** Runs one spec in a forked worker while sampling `serverPid` at the window's start and end. */
function runWorker(
  spec: WorkerSpec,
  serverPid: number,
  opts: BenchOptions,
  profDir: string | undefined,
  /** Signal the server's probe (SIGUSR2) when the window starts and ends. */
  probe: boolean,
): Promise<{ result: WorkerResult; serverCpu: CpuWindow; serverThreads: Record<string, number>; machineCpu: MachineCpu | undefined }> {
  const execArgv = ['--import', 'tsx'];
  if (profDir) execArgv.push('--cpu-prof', '--cpu-prof-dir', profDir);
  const child = fork(join(here, 'worker.ts'), [], {
    cwd: repoRoot,
    execArgv,
    stdio: ['ignore', opts.verbose ? 'inherit' : 'pipe', opts.verbose ? 'inherit' : 'pipe', 'ipc'],
    serialization: 'json',
  });
  track(child);
  let errTail = '';
  const keep = (chunk: Buffer): void => {
    errTail = (errTail + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const budgetMs =
    spec.workload === 'W1'
      ? spec.warmupMs + (spec.count !== undefined ? 300_000 : spec.durationMs) + 90_000
      : spec.warmupMs + spec.durationMs + spec.drainMs + 90_000;
  return new Promise((resolvePromise, reject) => {
    let start: Sample | undefined;
    let end: Sample | undefined;
    let done = false;
    const finish = (err: Error | undefined, result?: WorkerResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        void terminate(child, 2_000);
        reject(err);
        return;
      }
      if (!result || !start?.cpu || !end?.cpu) {
        reject(new Error('worker finished without a measured window'));
        return;
      }
      const serverThreads: Record<string, number> = {};
      for (const [name, us] of Object.entries(end.threads)) serverThreads[name] = Math.max(0, us - (start.threads[name] ?? 0));
      resolvePromise({
        result,
        serverCpu: { userUs: end.cpu.userUs - start.cpu.userUs, systemUs: end.cpu.systemUs - start.cpu.systemUs, wallMs: end.at - start.at },
        serverThreads,
        machineCpu:
          start.machine && end.machine
            ? { busyUs: end.machine.busyUs - start.machine.busyUs, iowaitUs: end.machine.iowaitUs - start.machine.iowaitUs, wallMs: end.at - start.at }
            : undefined,
      });
    };
    const timer = setTimeout(() => finish(new Error(`worker did not finish within ${budgetMs} ms`)), budgetMs);
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'phase') {
        if (msg.phase === 'measure-start') start = sample(serverPid);
        else end = sample(serverPid);
        if (probe) {
          try {
            process.kill(serverPid, 'SIGUSR2');
          } catch {
            // server gone; the run fails elsewhere
          }
        }
      } else if (msg.type === 'result') {
        // Let the worker close its connections and exit (its CPU profile is written on exit).
        const result = msg.result;
        const t = setTimeout(() => void terminate(child, 2_000), 15_000);
        child.once('exit', () => {
          clearTimeout(t);
          finish(undefined, result);
        });
      } else {
        finish(new Error(`worker failed: ${msg.message}`));
      }
    });
    child.once('error', (err) => finish(new Error(`worker could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (!done && code !== 0) finish(new Error(`worker exited (code ${String(code)}, signal ${String(signal)})${errTail ? `\n--- worker output ---\n${errTail.trimEnd()}` : ''}`));
    });
    const msg: OrchestratorMessage = { type: 'run', spec };
    child.send(msg);
  });
}

function specFor(workload: WorkloadId, running: RunningSystem, opts: BenchOptions): WorkerSpec {
  if (workload === 'W1') {
    return {
      workload,
      target: running.target,
      sizeBytes: opts.sizeBytes,
      window: opts.window,
      warmupMs: opts.warmupS * 1000,
      durationMs: opts.durationS * 1000,
      ...(opts.count !== undefined ? { count: opts.count } : {}),
    };
  }
  return {
    workload,
    target: running.target,
    sizeBytes: opts.sizeBytes,
    rate: opts.rate,
    warmupMs: opts.w2WarmupS * 1000,
    durationMs: opts.durationS * 1000,
    drainMs: 5_000,
  };
}

function npmClientMissing(def: SystemDef): string | undefined {
  if (!def.npmClient) return undefined;
  try {
    createRequire(join(repoRoot, 'package.json')).resolve(def.npmClient);
    return undefined;
  } catch {
    return def.npmClient;
  }
}

async function runOne(workload: WorkloadId, def: SystemDef, binPath: string | undefined, opts: BenchOptions, ctx: StartContext): Promise<RunRecord> {
  const record: RunRecord = { workload, system: def.id, label: def.label, durability: def.durability, status: 'ok' };
  const isAgentMq = def.id.startsWith('agentmq');
  const profDir = opts.profile && isAgentMq && ctx.cpuProfDir ? join(ctx.cpuProfDir, `${workload}-${def.id}`) : undefined;
  const probeDir = opts.probe && isAgentMq ? makeTempDir('probe', ctx.tmpBase) : undefined;
  const probeOut = probeDir && join(probeDir, 'probe.json');
  let running: RunningSystem | undefined;
  if (opts.quietWaitS > 0) {
    const idle = await waitForQuiet(opts.quietWaitS * 1000, 15, (pct) =>
      log(`  (machine busy: other processes use ${Math.round(pct)}% of a core; waiting up to ${opts.quietWaitS} s for quiet)`),
    );
    if (idle !== undefined) record.idleBeforePct = Math.round(idle);
  }
  const t0 = Date.now();
  try {
    running = await def.start({ ...ctx, cpuProfDir: profDir && join(profDir, 'server'), probeOut }, binPath);
    const { result, serverCpu, serverThreads, machineCpu } = await runWorker(
      specFor(workload, running, opts),
      running.server.pid,
      opts,
      profDir && join(profDir, 'worker'),
      probeOut !== undefined,
    );
    if (machineCpu) record.machineCpu = machineCpu;
    if (result.workload === 'W1') record.w1 = result;
    else record.w2 = result;
    record.serverCpu = serverCpu;
    record.serverThreads = serverThreads;
    const d = derive(record);
    if (d) record.derived = d;
    if (result.workload === 'W1' && result.acked === 0) {
      record.status = 'failed';
      record.reason = `no acknowledgement in the measured window${result.firstError ? `: ${result.firstError}` : ''}`;
    }
    if (result.workload === 'W2' && result.received === 0) {
      record.status = 'failed';
      record.reason = `no message received in the measured window${result.firstError ? `: ${result.firstError}` : ''}`;
    }
  } catch (err) {
    record.status = 'failed';
    record.reason = err instanceof Error ? err.message : String(err);
    if (running) record.reason += `\n--- last server output ---\n${running.server.logTail().trimEnd()}`;
  } finally {
    await running?.stop().catch(() => undefined);
  }
  if (probeDir && probeOut) {
    try {
      record.probe = JSON.parse(readFileSync(probeOut, 'utf8')) as ServerProbe;
    } catch {
      // no probe output (the run failed before the window ended)
    }
    removeTempDir(probeDir);
  }
  if (profDir) {
    for (const side of ['server', 'worker'] as const) {
      const file = mainThreadProfile(join(profDir, side));
      if (!file) continue;
      try {
        (record.profiles ??= []).push({ label: `${workload} ${def.label}, ${side === 'server' ? 'server process' : 'load worker'}`, summary: summarizeProfile(file, repoRoot) });
      } catch (err) {
        log(`  could not summarize ${file}: ${String(err)}`);
      }
    }
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (record.status === 'ok' && record.derived) {
    if (record.w1) {
      const w = record.w1;
      log(`  ${workload} ${def.label}: ${Math.round(record.derived.msgsPerSec).toLocaleString('en-US')} msgs/s, ack p99 ${w.ackLatency.p99Ms} ms, errors ${w.errors}${w.firstError ? ` (${w.firstError})` : ''} [${secs} s]`);
    } else if (record.w2) {
      const w = record.w2;
      log(`  ${workload} ${def.label}: p50 ${w.endToEnd.p50Ms} ms, p99 ${w.endToEnd.p99Ms} ms, received ${w.received}/${w.sent}, errors ${w.errors}${w.firstError ? ` (${w.firstError})` : ''} [${secs} s]`);
    }
  } else {
    log(`  ${workload} ${def.label}: ${record.status}: ${record.reason ?? ''} [${secs} s]`);
  }
  return record;
}

/** The main thread's profile in `dir` (Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>). */
function mainThreadProfile(dir: string): string | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return undefined;
  }
  const main = files.filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)).sort();
  const pick = main.at(-1) ?? files.sort().at(-1);
  return pick === undefined ? undefined : join(dir, pick);
}

function shapes(opts: BenchOptions): Record<WorkloadId, string> {
  const kib = opts.sizeBytes % 1024 === 0 ? `${opts.sizeBytes / 1024} KiB` : `${opts.sizeBytes} B`;
  const measure = opts.count !== undefined ? `until ${opts.count} acknowledgements` : `${opts.durationS} s measured`;
  return {
    W1:
      `${kib} random bodies, one load process with one client (connection) per system, ${opts.window} sends outstanding ` +
      `(each acknowledgement releases the next send), counted on acknowledgement; ${opts.warmupS} s warm-up, ${measure}. ` +
      `AgentMQ: SDK Producer.send() (lingerMs ${opts.linger}, ≤${opts.maxBatch} messages per SendMessage, ≤${opts.maxInFlightBatches} calls in flight), ` +
      `topic with ${opts.queues} queues; NATS: js.publish() awaiting the PubAck; Redis: XADD through ioredis with auto-pipelining, counted on the reply.`,
    W2:
      `${kib} bodies at ${opts.rate} msg/s for ${opts.durationS} s (after ${opts.w2WarmupS} s not measured); producer and consumer in one load process, ` +
      `send time stamped in the body, latency = consumer receipt − send (same clock), before the ack. ` +
      `AgentMQ: SimpleConsumer long-poll receive (≤32 per call) + ack; NATS: durable pull consumer (consume(), explicit ack); ` +
      `Redis: XREADGROUP BLOCK on a second connection + XACK.`,
  };
}

function dateStamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions | undefined;
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
  setBodySize(opts.sizeBytes);
  const tmpBase = opts.tmpDir ? resolve(opts.tmpDir) : tmpdir();
  mkdirSync(tmpBase, { recursive: true });
  const startedAt = new Date().toISOString();
  const stamp = dateStamp(startedAt);
  const outDir = resolve(repoRoot, opts.outDir);
  const profRoot = opts.profile ? join(outDir, `profile-${stamp}`) : undefined;

  // Which systems can run here.
  const available = new Map<string, string | undefined>();
  const unavailable = new Map<string, string>();
  const peers: Record<string, string> = {};
  for (const id of opts.systems) {
    const def = SYSTEMS[id];
    const where = locate(def, opts.binaries);
    if (!where.ok) {
      unavailable.set(id, `${where.reason}; install: ${where.hint}`);
      if (def.binary) peers[def.binary.name] ??= 'not found';
      log(`! ${def.label}: ${where.reason}. Install it with:\n    ${where.hint}\n  (or put it on PATH). Skipping it: marked "not run".`);
      continue;
    }
    const missingClient = npmClientMissing(def);
    if (missingClient) {
      unavailable.set(id, `npm package ${missingClient} not installed; run: npm install`);
      log(`! ${def.label}: the npm client "${missingClient}" is not installed (a devDependency): run \`npm install\`. Skipping it: marked "not run".`);
      continue;
    }
    available.set(id, where.path);
    if (where.path && def.binary) peers[def.binary.name] ??= binaryVersion(where.path) ?? 'unknown version';
  }

  const agentmqRoot = opts.agentmqDir ? resolve(opts.agentmqDir) : repoRoot;
  if (!existsSync(join(agentmqRoot, 'bin', 'agentmq.js')) || !existsSync(join(agentmqRoot, 'client', 'index.ts'))) {
    log(`error: ${agentmqRoot} is not an AgentMQ checkout (no bin/agentmq.js or client/index.ts)`);
    return 2;
  }
  const machine = describeMachine(repoRoot, agentmqRoot, peers, tmpBase);
  const sh = shapes(opts);
  log(`AgentMQ benchmark ${startedAt}: ${opts.workloads.join(', ')} on ${opts.systems.join(', ')}`);
  for (const l of machineLines(machine)) log(l);

  const ctx: StartContext = {
    agentmqRoot,
    tmpBase,
    cpuProfDir: profRoot,
    probeOut: undefined,
    agentmq: { linger: opts.linger, maxBatch: opts.maxBatch, maxInFlightBatches: opts.maxInFlightBatches, queues: opts.queues },
  };
  const runs: RunRecord[] = [];
  for (const workload of opts.workloads) {
    log(`\n${workload}: ${sh[workload]}`);
    for (const id of opts.systems) {
      const def = SYSTEMS[id];
      const why = unavailable.get(id);
      if (why !== undefined) {
        runs.push({ workload, system: id, label: def.label, durability: def.durability, status: 'not run', reason: why });
        log(`  ${workload} ${def.label}: not run`);
        continue;
      }
      if (wasInterrupted()) break;
      runs.push(await runOne(workload, def, available.get(id), opts, ctx));
    }
  }

  const report: Report = {
    machine,
    parameters: {
      workloads: opts.workloads,
      systems: opts.systems,
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      w2WarmupS: opts.w2WarmupS,
      count: opts.count ?? null,
      rate: opts.rate,
      sizeBytes: opts.sizeBytes,
      window: opts.window,
      queues: opts.queues,
      agentmqProducer: { lingerMs: opts.linger, maxBatchMessages: opts.maxBatch, maxInFlightBatches: opts.maxInFlightBatches },
      profiled: opts.profile,
      probed: opts.probe,
    },
    shapes: sh,
    runs,
    targets: checkTargets(runs),
  };

  // Console: tables, durability, thread breakdown, targets.
  const out: string[] = [''];
  out.push('== Machine ==', ...machineLines(machine), '');
  out.push('== Durability of an acknowledgement ==', ...opts.systems.map((id) => `- ${SYSTEMS[id].label}: ${SYSTEMS[id].durability}`), '');
  if (opts.workloads.includes('W1')) {
    out.push('== W1: durable produce throughput ==', sh.W1, '', table(w1Rows(runs)), '');
    const tl = threadLines(runs);
    if (tl.length > 0) out.push('Server CPU by thread during W1:', ...tl, '');
  }
  if (opts.workloads.includes('W2')) out.push('== W2: end-to-end latency ==', sh.W2, '', table(w2Rows(runs)), '');
  const probes = probeLines(runs);
  if (probes.length > 0) out.push('AgentMQ server event loop and GC in the measured window:', ...probes, '');
  out.push('== Targets (issue 3) ==', table(targetRows(report.targets)), '');
  for (const r of runs.filter((x) => x.status !== 'ok')) out.push(`${r.workload} ${r.label}: ${r.status}${r.reason ? `: ${r.reason}` : ''}`);

  const profiles = runs.flatMap((r) => r.profiles ?? []);
  if (profiles.length > 0) {
    out.push('', '== CPU profiles (JavaScript main thread, whole process life; idle included) ==');
    for (const p of profiles) out.push('', formatProfile(p.summary, p.label));
  }
  console.log(out.join('\n'));

  const md = markdown(report);
  console.log(`\n----- Markdown for docs/benchmarks.md (begin) -----\n${md}\n----- Markdown for docs/benchmarks.md (end) -----`);

  if (opts.save) {
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${stamp}.json`);
    writeFileSync(file, `${JSON.stringify({ ...report, markdown: md }, null, 2)}\n`);
    log(`\nresults written to ${relative(process.cwd(), file)}`);
  }
  return runs.some((r) => r.status === 'failed') ? 1 : 0;
}

runMain(main, log, 'stopping servers and workers, removing temp dirs...');
