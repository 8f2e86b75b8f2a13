/**
 * `npm run bench:lite`: lite topics at scale on one AgentMQ broker (issue benchmarks (a), (b)).
 *
 *  (a) scale: N lite topics / N subscriptions over C client ids (PARTIAL_ADD batches): subscribe
 *      rate, broker RSS before/after and per subscription; then send -> receive latency of
 *      messages to random lite topics with one parked receive per client, exactly-once checked.
 *  (b) precise wake-up: K clients with parked receives, messages to a few of them: empty
 *      receives and idle-client wake-ups, against a short-polling baseline on the same workload.
 *
 * The NameServer and the broker run as separate child processes (the broker's RSS is its own),
 * killed at the end, on errors, on Ctrl-C and past --max-seconds; the temp data dir goes too.
 * See `--help` and bench/lite/workload.ts.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { setPriority, tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, machineLines, table, type Machine } from '../report.js';
import { cleanupAll, cleanupAllSync, processCpu, systemCpu, threadCpu, waitForQuiet } from '../servers.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from '../profile.js';
import { inclusiveTimes, type InclusiveEntry } from './inclusive.js';
import { summarizeHeapSnapshot, type HeapSummary } from './heap-summary.js';
import { startCluster, procMemory, type Cluster, type LoopWindow, type ProbeReading, type ProcMemory } from './cluster.js';
import { parseOptions, USAGE, UsageError, type LiteBenchOptions } from './options.js';
import { metadata, Pool, unary } from './wire.js';
import {
  addStats,
  emptyStats,
  heartbeats,
  liteName,
  makeClient,
  pacedSend,
  partOf,
  prng,
  range,
  Receiver,
  sleep,
  subscribeAll,
  Tracker,
  type BenchClient,
  type LoopStats,
  type SendResult,
  type SubscribeResult,
  type SubscribeTask,
  type TrackerResult,
} from './workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

const PARENT = 'lite-bench';
const GROUP_SCALE = 'lite-bench-scale';
const GROUP_WAKE = 'lite-bench-wake';
const GROUP_POLL = 'lite-bench-poll';
const INVISIBLE_MS = 30_000;
const HEARTBEAT_MS = 10_000;
/** Issue targets. */
const TARGET_RSS_BYTES = 1.5 * 2 ** 30;
const TARGET_WAKE_P99_MS = 5;

function log(line: string): void {
  process.stderr.write(`[bench:lite ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n));
const f1 = (n: number): string => n.toFixed(1);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const msf = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

interface MemoryPoint {
  label: string;
  atMs: number;
  broker: ProcMemory | undefined;
  /** The broker's own view, before and after a forced full GC (probe). */
  probe: ProbeReading | undefined;
  /** VmRSS right after the forced GC. */
  brokerRssAfterGc: number | undefined;
  nameserver: ProcMemory | undefined;
}

interface CpuWindow {
  brokerMs: number;
  /** Broker CPU per thread name (main thread, rocksdb:*, libuv-worker, ...), ms. */
  brokerThreads: Record<string, number>;
  /** CPU used by other processes (not the broker, NameServer or this bench), % of one core. */
  otherPct: number;
  /** Machine-wide iowait and steal (time the hypervisor ran something else), % of one core. */
  iowaitPct: number;
  stealPct: number;
  /** This bench process's event-loop delay in the window (its stalls delay receive timestamps). */
  benchLoop: { p50Ms: number; p99Ms: number; maxMs: number };
  /** The broker's event-loop delay and GC pauses in the window (probe). */
  brokerLoop?: LoopWindow;
  benchMs: number;
  wallMs: number;
}

interface LatencyPhase {
  rate: number;
  clients: number;
  send: SendResult;
  tracker: TrackerResult;
  receive: LoopStats;
  drainMs: number;
  cpu: CpuWindow;
}

interface WakePhase {
  mode: 'precise' | 'polling';
  clients: number;
  activeClients: number;
  topicsPerClient: number;
  pollTimeoutMs: number;
  pollSleepMs: number;
  subscribe: SubscribeResult;
  send: SendResult;
  tracker: TrackerResult;
  windowMs: number;
  /** All clients, inside the measured window. */
  receive: LoopStats;
  /** Clients that were sent nothing: any response they got is a wake-up for nothing. */
  idleReceive: LoopStats;
  callsPerDelivered: number;
  emptyPerSecond: number;
  cpu: CpuWindow;
}

interface Report {
  machine: Machine;
  options: LiteBenchOptions;
  brokerArgs: string[];
  liteNameExample: string;
  startedAt: string;
  totalWallMs: number;
  memory: MemoryPoint[];
  scale?: {
    subscribe: SubscribeResult;
    cpu: CpuWindow;
    rssDeltaBytes: number | undefined;
    bytesPerSubscription: number | undefined;
    rssAfterGcDeltaBytes: number | undefined;
    bytesPerSubscriptionAfterGc: number | undefined;
    heapUsedDeltaBytes: number | undefined;
    heapBytesPerSubscription: number | undefined;
    vmHwmBytes: number | undefined;
  };
  latency: LatencyPhase[];
  /** Distinct lite topics the latency runs sent to. */
  latencyTouched?: number;
  /** JS heap (after forced GC) added by the latency runs per lite topic they sent to: consumer state of lite topics in use. */
  heapPerTouchedTopic?: number;
  /** --heap-snapshot: the broker's heap after the subscriptions (and after the latency runs), per kind of object. */
  heap: { point: string; summary: HeapSummary | { file: string; skipped: string } }[];
  wake?: WakePhase;
  polling?: WakePhase;
  heartbeatFailures: number;
  /** CPU other processes used (% of one core) in the 1 s sample before the run. */
  idleBeforePct: number | undefined;
  profiles: { phase: string; summary: ProfileSummary; brokerInclusive: { busyMs: number; entries: InclusiveEntry[] } }[];
  targets: { name: string; value: string; target: string; pass: boolean | undefined }[];
  errors: string[];
}

/** Sets the nice value of every thread of `pid` (Linux: priorities are per thread); false if any failed. */
function renice(pid: number, nice: number): boolean {
  let ok = true;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    tids = [String(pid)];
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      ok = false;
    }
  }
  return ok;
}

/** iowait and steal time of the whole machine so far (ms), from /proc/stat. */
function ioSteal(): { iowaitMs: number; stealMs: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (USER_HZ ticks, 100/s on Linux)
    return { iowaitMs: (f[4] ?? 0) * 10, stealMs: (f[7] ?? 0) * 10 };
  } catch {
    return undefined;
  }
}

/** Event-loop delay of this process (2 ms resolution), reset at each measured window. */
const benchLoop = monitorEventLoopDelay({ resolution: 2 });

function cpuStart(pid: number, nsPid: number): () => CpuWindow {
  benchLoop.reset();
  benchLoop.enable();
  const th0 = threadCpu(pid);
  const b0 = processCpu(pid);
  const n0 = processCpu(nsPid);
  const s0 = systemCpu();
  const io0 = ioSteal();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const b1 = processCpu(pid);
    const c1 = process.cpuUsage(c0);
    const th1 = threadCpu(pid);
    const n1 = processCpu(nsPid);
    const s1 = systemCpu();
    const io1 = ioSteal();
    const brokerThreads: Record<string, number> = {};
    for (const [k, v] of Object.entries(th1)) {
      const ms = (v - (th0[k] ?? 0)) / 1000;
      if (ms >= 1) brokerThreads[k] = Math.round(ms);
    }
    const brokerMs = b0 && b1 ? (b1.userUs + b1.systemUs - b0.userUs - b0.systemUs) / 1000 : NaN;
    const nsMs = n0 && n1 ? (n1.userUs + n1.systemUs - n0.userUs - n0.systemUs) / 1000 : 0;
    const benchMs = (c1.user + c1.system) / 1000;
    const wallMs = performance.now() - t0;
    const machineMs = s0 && s1 ? (s1.busyUs - s0.busyUs) / 1000 : NaN;
    benchLoop.disable();
    const lms = (ns: number): number => Math.max(0, Math.round(ns / 1e3 - 2_000) / 1e3);
    return {
      benchLoop: { p50Ms: lms(benchLoop.percentile(50)), p99Ms: lms(benchLoop.percentile(99)), maxMs: lms(benchLoop.max) },
      otherPct: Math.max(0, ((machineMs - (io0 && io1 ? io1.stealMs - io0.stealMs : 0) - brokerMs - nsMs - benchMs) / wallMs) * 100),
      iowaitPct: io0 && io1 ? ((io1.iowaitMs - io0.iowaitMs) / wallMs) * 100 : NaN,
      stealPct: io0 && io1 ? ((io1.stealMs - io0.stealMs) / wallMs) * 100 : NaN,
      brokerThreads,
      brokerMs,
      benchMs,
      wallMs,
    };
  };
}

function diffStats(a: LoopStats, b: LoopStats): LoopStats {
  const d = emptyStats();
  d.calls = a.calls - b.calls;
  d.withMessages = a.withMessages - b.withMessages;
  d.messages = a.messages - b.messages;
  d.empty = a.empty - b.empty;
  d.earlyEmpty = a.earlyEmpty - b.earlyEmpty;
  for (const [k, v] of Object.entries(a.otherCodes)) d.otherCodes[k] = v - (b.otherCodes[k] ?? 0);
  d.grpcErrors = a.grpcErrors - b.grpcErrors;
  d.firstError = a.firstError;
  d.acks = a.acks - b.acks;
  d.ackFailed = a.ackFailed - b.ackFailed;
  return d;
}

const snapshot = (s: LoopStats): LoopStats => addStats(emptyStats(), s);

/** Waits until every sent message arrived, or `quietMs` pass without progress (bounded by `maxMs`). */
async function drain(t: Tracker, quietMs: number, maxMs: number): Promise<number> {
  const t0 = performance.now();
  let last = t.unique;
  let lastChange = t0;
  while (t.unique < t.sent && performance.now() - t0 < maxMs) {
    await sleep(20);
    if (t.unique !== last) {
      last = t.unique;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > quietMs) break;
  }
  return performance.now() - t0;
}

async function run(o: LiteBenchOptions, report: Report): Promise<void> {
  const tStart = performance.now();
  const perClient = Math.ceil(o.topics / o.clients);
  const wakeTopics = o.skipWakeup ? 0 : o.idleClients * o.idleTopics * (o.skipPolling ? 1 : 2);
  const capacity = o.topics + wakeTopics + 1000;
  log(`starting NameServer + broker (lite quotas: ${f0(capacity)} topics / subscriptions, ${f0(Math.max(perClient, o.idleTopics))} per client)`);
  let cluster: Cluster | undefined;
  let pool: Pool | undefined;
  const receivers: Receiver[] = [];
  const hbClients: BenchClient[] = [];
  const hb = heartbeats(() => hbClients, HEARTBEAT_MS);
  try {
    cluster = await startCluster({
      repoRoot,
      tmpBase: o.tmpBase,
      probe: o.probe,
      maxLongPollingMs: Math.max(30_000, o.longPollMs),
      liteMaxTopics: capacity,
      liteMaxSubscriptions: capacity,
      liteClientQuota: Math.max(perClient, o.idleTopics),
      brokerEnv: o.brokerEnv,
    });
    const cl = cluster;
    report.brokerArgs = cl.brokerArgs;
    log(`broker pid ${cl.broker.pid} at ${cl.brokerAddress}, NameServer pid ${cl.nameserver.pid}; data in ${cl.dataDir}`);
    if (o.nice !== 0) {
      const ok = [process.pid, cl.broker.pid, cl.nameserver.pid].map((pid) => renice(pid, o.nice)).every(Boolean);
      log(ok ? `nice ${o.nice} set on this bench, the broker and the NameServer (every thread)` : `could not set nice ${o.nice} on every thread (negative values need root): running anyway`);
      if (!ok) report.errors.push(`--nice ${o.nice}: could not be applied to every thread`);
    }
    pool = new Pool(cl.brokerAddress, o.channels);
    const p = pool;
    const admin = p.admin;
    const created = await unary(admin, admin.CreateTopic, { topic: { name: PARENT, messageType: 'LITE', queueCount: 1 } }, metadata('lite-bench-admin'));
    if (created.status?.code !== 'OK') throw new Error(`CreateTopic ${PARENT}: ${created.status?.code} ${created.status?.message}`);

    const memoryPoint = async (label: string): Promise<MemoryPoint> => {
      await sleep(o.settleMs);
      const broker = procMemory(cl.broker.pid);
      const probe = await cl.probe();
      const after = probe ? procMemory(cl.broker.pid) : undefined;
      const mp: MemoryPoint = { label, atMs: performance.now() - tStart, broker, probe, brokerRssAfterGc: after?.vmRss, nameserver: procMemory(cl.nameserver.pid) };
      report.memory.push(mp);
      log(
        `memory ${label}: broker RSS ${broker ? mib(broker.vmRss) : '?'} (HWM ${broker ? mib(broker.vmHwm) : '?'})` +
          (probe ? `, after forced GC ${after ? mib(after.vmRss) : '?'}, JS heap used ${mib(probe.after.heapUsed)}` : ''),
      );
      return mp;
    };

    /** Profiles the broker's JavaScript thread from now until the returned function is called (--cpu-prof). */
    const profile = async (phase: string): Promise<() => Promise<void>> => {
      if (!o.cpuProf || !(await cl.profileStart())) return async () => undefined;
      return async () => {
        mkdirSync(o.cpuProf!, { recursive: true });
        const file = resolve(join(o.cpuProf!, `${phase}.cpuprofile`));
        if (await cl.profileStop(file)) {
          const brokerCode = (url: string): boolean => url.includes('/broker/') && !url.includes('/node_modules/');
          report.profiles.push({ phase, summary: summarizeProfile(file, repoRoot, 15), brokerInclusive: inclusiveTimes(file, repoRoot, brokerCode, 15) });
        }
      };
    };

    /** CPU (per thread), event-loop delay and GC of the broker from now until the returned function is called. */
    const measure = async (): Promise<() => Promise<CpuWindow>> => {
      await cl.windowStart();
      const cpu = cpuStart(cl.broker.pid, cl.nameserver.pid);
      return async () => {
        const w = cpu();
        const loop = await cl.windowStop();
        return loop ? { ...w, brokerLoop: loop } : w;
      };
    };

    const m0 = await memoryPoint('idle (LITE parent created)');

    // --- (a) subscribe -------------------------------------------------------------------------
    const scaleClients = Array.from({ length: o.clients }, (_, c) => makeClient(c, `lite-bench@${process.pid}@scale-${c}`, GROUP_SCALE, p.pick(c), o.transport));
    const tasks: SubscribeTask[] = [];
    for (const c of scaleClients) {
      const [start, end] = range(o.topics, o.clients, c.index);
      for (let s = start; s < end; s += o.syncBatch) {
        const names: string[] = [];
        for (let i = s; i < Math.min(end, s + o.syncBatch); i++) names.push(liteName('t', i, o.names));
        tasks.push({ client: c, names });
      }
    }
    hbClients.push(...scaleClients);
    log(`(a) subscribing ${f0(o.topics)} lite topics: ${o.clients} clients x ~${f0(perClient)}, ${tasks.length} PARTIAL_ADD calls of <= ${o.syncBatch}, ${o.syncConcurrency} in flight`);
    const subProf = await profile('subscribe');
    const subCpu = await measure();
    const sub = await subscribeAll(PARENT, tasks, o.syncConcurrency, (done, ms) => {
      const m = procMemory(cl.broker.pid);
      log(`  ${f0(done)} subscribed in ${f1(ms / 1000)} s (${f0(done / (ms / 1000))}/s), broker RSS ${m ? mib(m.vmRss) : '?'}`);
    });
    const subCpuW = await subCpu();
    tasks.length = 0; // 1M names: not kept alive in this process for the rest of the run
    await subProf();
    log(`(a) subscribed ${f0(sub.subscriptions)} in ${f1(sub.wallMs / 1000)} s = ${f0(sub.perSecond)} subs/s (${sub.failedCalls} failed calls${sub.firstError ? `: ${sub.firstError}` : ''}); broker CPU ${f1(subCpuW.brokerMs / 1000)} s`);
    if (sub.failedCalls > 0) report.errors.push(`subscribe: ${sub.failedCalls} calls failed: ${sub.firstError}`);
    const m1 = await memoryPoint(`after ${f0(sub.subscriptions)} subscriptions`);
    const delta = m1.broker && m0.broker ? m1.broker.vmRss - m0.broker.vmRss : undefined;
    const deltaGc = m1.brokerRssAfterGc !== undefined && m0.brokerRssAfterGc !== undefined ? m1.brokerRssAfterGc - m0.brokerRssAfterGc : undefined;
    const heapDelta = m1.probe && m0.probe ? m1.probe.after.heapUsed - m0.probe.after.heapUsed : undefined;
    const per = (b: number | undefined): number | undefined => (b === undefined || sub.subscriptions === 0 ? undefined : b / sub.subscriptions);
    report.scale = {
      subscribe: sub,
      cpu: subCpuW,
      rssDeltaBytes: delta,
      bytesPerSubscription: per(delta),
      rssAfterGcDeltaBytes: deltaGc,
      bytesPerSubscriptionAfterGc: per(deltaGc),
      heapUsedDeltaBytes: heapDelta,
      heapBytesPerSubscription: per(heapDelta),
      vmHwmBytes: m1.broker?.vmHwm,
    };

    /** --heap-snapshot: a snapshot of the broker's heap now, summarized into report.heap. */
    const heapSnapshot = async (point: string, suffix: string): Promise<void> => {
      if (!o.heapSnapshot) return;
      const file = resolve(o.heapSnapshot.replace(/(\.heapsnapshot)?$/, `${suffix}.heapsnapshot`));
      mkdirSync(dirname(file), { recursive: true });
      log(`writing a heap snapshot of the broker to ${file}`);
      if (await cl.heapSnapshot(file)) {
        report.heap.push({ point, summary: summarizeHeapSnapshot(file, 30) });
        log('heap snapshot summarized');
      } else report.errors.push(`heap snapshot ${point} failed`);
    };
    await heapSnapshot(m1.label, '');

    const producer = makeClient(0, `lite-bench@${process.pid}@producer`, 'lite-bench-producer', p.pick(o.channels - 1), o.transport);

    // --- (a) latency ---------------------------------------------------------------------------
    if (!o.skipLatency && o.messages > 0) {
      let tracker = new Tracker(0, 0);
      const cfg = { parent: PARENT, pollMs: o.longPollMs, batchSize: o.batchSize, invisibleMs: INVISIBLE_MS, sleepAfterEmptyMs: 0 };
      const rs = scaleClients.map((c) => new Receiver(c, cfg, (cc, f) => tracker.onFrame(cc.index, f)));
      receivers.push(...rs);
      for (const r of rs) r.start();
      await sleep(1500); // every client's receive is parked
      const rnd = prng(o.seed);
      const touched = new Set<number>();
      for (const [ri, rate] of o.rates.entries()) {
        tracker = new Tracker(10 + ri, o.messages);
        log(`(a) latency: ${f0(o.messages)} messages at ${f0(rate)}/s to random lite topics of ${f0(o.topics)}; ${o.clients} parked receives`);
        const before = rs.map((r) => snapshot(r.stats));
        const prof = await profile(`latency-${rate}`);
        const cpu = await measure();
        const send = await pacedSend({
          client: producer,
          parent: PARENT,
          rate,
          total: o.messages,
          batchMax: o.sendBatch,
          maxInFlight: 64,
          tracker,
          idPrefix: `LB${process.pid.toString(16)}A${ri}`,
          pick: () => {
            const i = Math.floor(rnd() * o.topics);
            touched.add(i);
            return { lite: liteName('t', i, o.names), owner: partOf(o.topics, o.clients, i) };
          },
        });
        const drainMs = await drain(tracker, 10_000, 30_000);
        await sleep(200); // acks of the last messages
        const cpuW = await cpu();
        await prof();
        const recv = emptyStats();
        rs.forEach((r, i) => addStats(recv, diffStats(snapshot(r.stats), before[i]!)));
        const tr = tracker.result();
        report.latency.push({ rate, clients: o.clients, send, tracker: tr, receive: recv, drainMs, cpu: cpuW });
        log(
          `(a) at ${f0(rate)}/s: sent ${f0(send.sent)} (${f0(send.achievedRate)}/s, ${send.failed} failed), received ${f0(tr.uniqueReceived)} unique, ${tr.duplicates} dup, ${tr.missing} missing, ${tr.misrouted} misrouted; ` +
            `latency p50 ${msf(tr.latencyMs.p50Ms)} ms p99 ${msf(tr.latencyMs.p99Ms)} ms max ${msf(tr.latencyMs.maxMs)} ms; acks ${f0(recv.acks)} (${recv.ackFailed} failed); empty receives ${recv.empty}; ` +
            `broker CPU ${f1(cpuW.brokerMs / 1000)} s`,
        );
        if (send.failed > 0) report.errors.push(`latency at ${rate}/s: ${send.failed} sends failed: ${send.firstError}`);
        if (recv.firstError) report.errors.push(`latency at ${rate}/s receive: ${recv.firstError}`);
        if (ri < o.rates.length - 1) await sleep(1000);
      }
      await Promise.all(rs.map((r) => r.stop()));
      const m2 = await memoryPoint('after the latency runs');
      report.latencyTouched = touched.size;
      if (m2.probe && m1.probe && touched.size > 0) report.heapPerTouchedTopic = (m2.probe.after.heapUsed - m1.probe.after.heapUsed) / touched.size;
      await heapSnapshot(m2.label, '-after-latency');
    }

    // --- (b) precise wake-up and polling baseline ------------------------------------------------
    const wakePhase = async (mode: 'precise' | 'polling', tag: number): Promise<WakePhase> => {
      const group = mode === 'precise' ? GROUP_WAKE : GROUP_POLL;
      const prefix = mode === 'precise' ? 'w' : 'p';
      const clients = Array.from({ length: o.idleClients }, (_, k) => makeClient(k, `lite-bench@${process.pid}@${prefix}-${k}`, group, p.pick(k), o.transport));
      const topicOf = (k: number, j: number): string => liteName(prefix, k * o.idleTopics + j, o.names);
      const subTasks: SubscribeTask[] = clients.map((c) => ({ client: c, names: Array.from({ length: o.idleTopics }, (_, j) => topicOf(c.index, j)) }));
      const subscribe = await subscribeAll(PARENT, subTasks, o.syncConcurrency);
      if (subscribe.failedCalls > 0) report.errors.push(`(b) ${mode} subscribe: ${subscribe.failedCalls} calls failed: ${subscribe.firstError}`);
      hbClients.push(...clients);
      // The active clients: a random few (same choice in both modes).
      const rnd = prng(o.seed + 1);
      const order = clients.map((c) => c.index).sort((a, b) => ((a * 7919 + o.seed) % o.idleClients) - ((b * 7919 + o.seed) % o.idleClients));
      const active = order.slice(0, o.activeClients);
      const activeSet = new Set(active);
      const total = o.idleRate * o.idleSeconds;
      const tracker = new Tracker(tag, total);
      const pollMs = mode === 'precise' ? o.longPollMs : o.pollTimeoutMs;
      const cfg = { parent: PARENT, pollMs, batchSize: o.batchSize, invisibleMs: INVISIBLE_MS, sleepAfterEmptyMs: mode === 'precise' ? 0 : o.pollSleepMs };
      const rs = clients.map((c) => new Receiver(c, cfg, (cc, f) => tracker.onFrame(cc.index, f)));
      receivers.push(...rs);
      for (const r of rs) r.start();
      await sleep(1500);
      log(
        `(b) ${mode}: ${o.idleClients} clients x ${o.idleTopics} lite topics (${mode === 'precise' ? `parked receives, long poll ${o.longPollMs} ms` : `polling: long poll ${o.pollTimeoutMs} ms, pause ${o.pollSleepMs} ms`}); ` +
          `${f0(total)} messages at ${o.idleRate}/s to ${o.activeClients} of them`,
      );
      const before = rs.map((r) => snapshot(r.stats));
      const prof = await profile(`wake-${mode}`);
      const cpu = await measure();
      const t0 = performance.now();
      const send = await pacedSend({
        client: producer,
        parent: PARENT,
        rate: o.idleRate,
        total,
        batchMax: o.sendBatch,
        maxInFlight: 64,
        tracker,
        idPrefix: `LB${process.pid.toString(16)}${prefix.toUpperCase()}`,
        pick: () => {
          const k = active[Math.floor(rnd() * active.length)]!;
          return { lite: topicOf(k, Math.floor(rnd() * o.idleTopics)), owner: k };
        },
      });
      await drain(tracker, 5_000, 15_000);
      await sleep(500);
      const windowMs = performance.now() - t0;
      const after = rs.map((r) => snapshot(r.stats));
      const cpuW = await cpu();
      await prof();
      await Promise.all(rs.map((r) => r.stop()));
      const all = emptyStats();
      const idle = emptyStats();
      rs.forEach((r, i) => {
        const d = diffStats(after[i]!, before[i]!);
        addStats(all, d);
        if (!activeSet.has(r.client.index)) addStats(idle, d);
      });
      const tr = tracker.result();
      const res: WakePhase = {
        mode,
        clients: o.idleClients,
        activeClients: o.activeClients,
        topicsPerClient: o.idleTopics,
        pollTimeoutMs: mode === 'precise' ? o.longPollMs : o.pollTimeoutMs,
        pollSleepMs: mode === 'precise' ? 0 : o.pollSleepMs,
        subscribe,
        send,
        tracker: tr,
        windowMs,
        receive: all,
        idleReceive: idle,
        callsPerDelivered: tr.uniqueReceived > 0 ? all.calls / tr.uniqueReceived : NaN,
        emptyPerSecond: all.empty / (windowMs / 1000),
        cpu: cpuW,
      };
      log(
        `(b) ${mode}: ${f0(tr.uniqueReceived)}/${f0(send.sent)} delivered (${tr.duplicates} dup, ${tr.missing} missing), in ${f1(windowMs / 1000)} s: ${f0(all.calls)} receive calls, ` +
          `${f0(all.empty)} empty (${all.earlyEmpty} before their timeout), idle clients answered ${f0(idle.calls)} times; latency p50 ${msf(tr.latencyMs.p50Ms)} ms p99 ${msf(tr.latencyMs.p99Ms)} ms; broker CPU ${f0(cpuW.brokerMs)} ms`,
      );
      if (send.failed > 0) report.errors.push(`(b) ${mode}: ${send.failed} sends failed: ${send.firstError}`);
      if (all.firstError) report.errors.push(`(b) ${mode} receive: ${all.firstError}`);
      return res;
    };

    if (!o.skipWakeup) {
      report.wake = await wakePhase('precise', 2);
      if (!o.skipPolling) report.polling = await wakePhase('polling', 3);
      await memoryPoint('end');
    }
  } finally {
    hb.stop();
    report.heartbeatFailures = hb.failures();
    await Promise.all(receivers.map((r) => r.stop().catch(() => undefined)));
    pool?.close();
    if (cluster) {
      const tail = cluster.broker.logTail();
      if (/error|exception/i.test(tail)) report.errors.push(`broker log tail:\n${tail.slice(-2000)}`);
      await cluster.stop().catch(() => undefined);
    }
    report.totalWallMs = performance.now() - tStart;
  }
}

function checkTargets(r: Report): Report['targets'] {
  const t: Report['targets'] = [];
  const m1 = r.memory[1];
  if (m1?.broker) {
    t.push({ name: `broker RSS after ${f0(r.scale?.subscribe.subscriptions ?? 0)} subscriptions`, value: mib(m1.broker.vmRss), target: '<= 1.5 GiB (at 1M)', pass: m1.broker.vmRss <= TARGET_RSS_BYTES });
    t.push({ name: 'broker peak RSS (VmHWM) by then', value: mib(m1.broker.vmHwm), target: '<= 1.5 GiB (at 1M)', pass: m1.broker.vmHwm <= TARGET_RSS_BYTES });
  }
  if (r.wake) {
    t.push({ name: 'wake-up p99, (b) precise', value: `${msf(r.wake.tracker.latencyMs.p99Ms)} ms`, target: `< ${TARGET_WAKE_P99_MS} ms`, pass: r.wake.tracker.latencyMs.p99Ms < TARGET_WAKE_P99_MS });
    t.push({ name: 'empty receives, (b) precise', value: f0(r.wake.receive.empty), target: '~0', pass: r.wake.receive.empty === 0 });
    t.push({ name: 'idle-client wake-ups, (b) precise', value: f0(r.wake.idleReceive.calls), target: '0', pass: r.wake.idleReceive.calls === 0 });
  }
  for (const l of r.latency) {
    t.push({ name: `send->receive p99, (a) at ${f0(l.rate)}/s`, value: `${msf(l.tracker.latencyMs.p99Ms)} ms`, target: `< ${TARGET_WAKE_P99_MS} ms`, pass: l.tracker.latencyMs.p99Ms < TARGET_WAKE_P99_MS });
    const tr = l.tracker;
    t.push({ name: `exactly once, (a) at ${f0(l.rate)}/s`, value: `${tr.missing} missing, ${tr.duplicates} dup, ${tr.misrouted} misrouted`, target: '0, 0, 0', pass: tr.missing === 0 && tr.duplicates === 0 && tr.misrouted === 0 && tr.sendFailed === 0 });
  }
  return t;
}

function printReport(r: Report): void {
  const out: string[] = [];
  const o = r.options;
  out.push('', `## Lite topics: ${f0(o.topics)} lite topics / subscriptions on one broker`, '', ...machineLines(r.machine));
  out.push(`- broker: agentmq ${r.brokerArgs.join(' ')}${o.probe ? ' (node --expose-gc --import bench/lite/broker-probe.mjs)' : ''}`);
  out.push(`- bench clients' transport: ${o.transport === 'session' ? 'one agentmq.v1.MessagingSession stream per client id (as the AgentMQ SDK)' : 'unary MessagingService calls (as the official clients)'}`);
  if (Object.keys(o.brokerEnv).length > 0) out.push(`- broker environment: ${Object.entries(o.brokerEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (o.nice !== 0) out.push(`- run with nice ${o.nice} on this bench, the broker and the NameServer (every thread), ahead of other processes on the machine`);
  if (r.idleBeforePct !== undefined) out.push(`- CPU used by other processes in the 1 s before the run: ${f0(r.idleBeforePct)}% of one core (the "other processes CPU %" column shows it per phase)`);
  out.push(`- lite topic names like "${r.liteNameExample}"; total run ${f1(r.totalWallMs / 1000)} s`, '');

  out.push('### Memory (broker process alone; NameServer separate)', '');
  const mrows = [['point', 'VmRSS', 'VmHWM', 'RssAnon', 'RSS after forced GC', 'JS heap used (after GC)', 'NameServer RSS']];
  for (const m of r.memory) {
    mrows.push([
      m.label,
      m.broker ? mib(m.broker.vmRss) : '?',
      m.broker ? mib(m.broker.vmHwm) : '?',
      m.broker ? mib(m.broker.rssAnon) : '?',
      m.brokerRssAfterGc !== undefined ? mib(m.brokerRssAfterGc) : '-',
      m.probe ? mib(m.probe.after.heapUsed) : '-',
      m.nameserver ? mib(m.nameserver.vmRss) : '?',
    ]);
  }
  out.push(table(mrows), '');

  if (r.scale) {
    const s = r.scale;
    out.push('### (a) Scale: subscribe', '');
    out.push(
      table([
        ['subscriptions', 'calls (failed)', 'wall s', 'subs/s', 'call p50 ms', 'call p99 ms', 'broker CPU s', 'broker CPU µs/sub', 'RSS Δ', 'bytes/sub (RSS)', 'bytes/sub (RSS after GC)', 'bytes/sub (JS heap)'],
        [
          f0(s.subscribe.subscriptions),
          `${f0(s.subscribe.calls)} (${s.subscribe.failedCalls})`,
          f1(s.subscribe.wallMs / 1000),
          f0(s.subscribe.perSecond),
          msf(s.subscribe.callMs.p50Ms),
          msf(s.subscribe.callMs.p99Ms),
          f1(s.cpu.brokerMs / 1000),
          f1((s.cpu.brokerMs * 1000) / Math.max(1, s.subscribe.subscriptions)),
          s.rssDeltaBytes !== undefined ? mib(s.rssDeltaBytes) : '?',
          s.bytesPerSubscription !== undefined ? f0(s.bytesPerSubscription) : '?',
          s.bytesPerSubscriptionAfterGc !== undefined ? f0(s.bytesPerSubscriptionAfterGc) : '-',
          s.heapBytesPerSubscription !== undefined ? f0(s.heapBytesPerSubscription) : '-',
        ],
      ]),
      '',
    );
  }
  for (const { point, summary: h } of r.heap) {
    if ('skipped' in h) {
      out.push(`Heap snapshot ${h.file} (${point}): ${h.skipped}`, '');
      continue;
    }
    const subs = r.scale?.subscribe.subscriptions ?? 0;
    out.push(`### Broker heap ${point}, by kind of object (snapshot ${h.file}: ${mib(h.totalBytes)} in ${f0(h.nodes)} objects)`, '');
    const rows = [['kind', 'count', 'self size', 'bytes / subscription']];
    for (const k of h.kinds) rows.push([k.kind.replace(/\|/g, '/'), f0(k.count), mib(k.selfBytes), subs > 0 ? f1(k.selfBytes / subs) : '-']);
    out.push(table(rows), '');
  }
  if (r.latency.length > 0) {
    out.push(`### (a) Scale: send -> receive latency (${r.latency[0]!.clients} clients, one parked receive each, messages to random lite topics)`, '');
    const rows = [['target rate/s', 'sent', 'achieved/s', 'received (unique)', 'dup', 'missing', 'misrouted', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'store->receive p50/p99 ms', 'send RTT p99 ms', 'msgs/receive', 'acked (failed)', 'empty receives', 'broker CPU %', 'broker CPU µs/msg']];
    for (const l of r.latency) {
      const h = l.tracker.latencyMs;
      rows.push([
        f0(l.rate),
        f0(l.send.sent),
        f0(l.send.achievedRate),
        f0(l.tracker.uniqueReceived),
        f0(l.tracker.duplicates),
        f0(l.tracker.missing),
        f0(l.tracker.misrouted),
        msf(h.p50Ms),
        msf(h.p90Ms),
        msf(h.p99Ms),
        msf(h.p999Ms),
        msf(h.maxMs),
        `${msf(l.tracker.fromStoreMs.p50Ms)} / ${msf(l.tracker.fromStoreMs.p99Ms)}`,
        msf(l.send.callMs.p99Ms),
        (l.receive.messages / Math.max(1, l.receive.withMessages)).toFixed(2),
        `${f0(l.receive.acks)} (${l.receive.ackFailed})`,
        f0(l.receive.empty),
        f0((l.cpu.brokerMs / l.cpu.wallMs) * 100),
        f1((l.cpu.brokerMs * 1000) / Math.max(1, l.tracker.uniqueReceived)),
      ]);
    }
    out.push(table(rows), '');
    if (r.heapPerTouchedTopic !== undefined) {
      out.push(`JS heap (after forced GC) added by the latency runs: ${f0(r.heapPerTouchedTopic)} bytes per lite topic sent to (${f0(r.latencyTouched ?? 0)} distinct lite topics): the consumer state a lite topic keeps once it has been consumed.`, '');
    }
  }
  const wakes = [r.wake, r.polling].filter((w): w is WakePhase => w !== undefined);
  if (wakes.length > 0) {
    const w0 = wakes[0]!;
    out.push(`### (b) Precise wake-up vs polling (${w0.clients} clients x ${w0.topicsPerClient} lite topics, messages to ${w0.activeClients} of them; ${f0(w0.send.sent)} messages)`, '');
    const rows = [['mode', 'window s', 'delivered', 'missing/dup', 'receive calls', 'calls/delivered msg', 'empty receives', 'of them early', 'empty/s', 'idle-client responses', 'p50 ms', 'p99 ms', 'max ms', 'store->receive p50/p99 ms', 'send RTT p99 ms', 'broker CPU ms', 'broker CPU µs/msg']];
    for (const w of wakes) {
      rows.push([
        w.mode === 'precise' ? `precise (parked, ${w.pollTimeoutMs} ms long poll)` : `polling (${w.pollTimeoutMs} ms long poll${w.pollSleepMs ? ` + ${w.pollSleepMs} ms pause` : ''})`,
        f1(w.windowMs / 1000),
        f0(w.tracker.uniqueReceived),
        `${w.tracker.missing}/${w.tracker.duplicates}`,
        f0(w.receive.calls),
        w.callsPerDelivered.toFixed(2),
        f0(w.receive.empty),
        f0(w.receive.earlyEmpty),
        f1(w.emptyPerSecond),
        f0(w.idleReceive.calls),
        msf(w.tracker.latencyMs.p50Ms),
        msf(w.tracker.latencyMs.p99Ms),
        msf(w.tracker.latencyMs.maxMs),
        `${msf(w.tracker.fromStoreMs.p50Ms)} / ${msf(w.tracker.fromStoreMs.p99Ms)}`,
        msf(w.send.callMs.p99Ms),
        f0(w.cpu.brokerMs),
        f1((w.cpu.brokerMs * 1000) / Math.max(1, w.tracker.uniqueReceived)),
      ]);
    }
    out.push(table(rows), '');
  }
  const phases: [string, CpuWindow | undefined][] = [
    ['(a) subscribe', r.scale?.cpu],
    ...r.latency.map((l): [string, CpuWindow] => [`(a) latency ${f0(l.rate)}/s`, l.cpu]),
    ['(b) precise', r.wake?.cpu],
    ['(b) polling', r.polling?.cpu],
  ];
  const cpuRows = [['phase', 'wall s', 'broker CPU s', 'bench CPU s', 'other processes CPU %', 'iowait / steal %', 'broker CPU by thread (ms)', 'broker event-loop delay p50/p99/max ms', 'broker GC ms (max pause)', 'bench event-loop delay p99/max ms']];
  for (const [name, c] of phases) {
    if (!c) continue;
    const th = Object.entries(c.brokerThreads)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${f0(v)}`)
      .join(', ');
    const l = c.brokerLoop;
    cpuRows.push([
      name,
      f1(c.wallMs / 1000),
      f1(c.brokerMs / 1000),
      f1(c.benchMs / 1000),
      f0(c.otherPct),
      `${f1(c.iowaitPct)} / ${f1(c.stealPct)}`,
      th,
      l ? `${msf(l.eventLoopDelay.p50Ms)} / ${msf(l.eventLoopDelay.p99Ms)} / ${msf(l.eventLoopDelay.maxMs)}` : '-',
      l ? `${f0(l.gcTotalMs)} (${msf(l.gcMaxMs)})` : '-',
      `${msf(c.benchLoop.p99Ms)} / ${msf(c.benchLoop.maxMs)}`,
    ]);
  }
  if (cpuRows.length > 1) out.push('### CPU (2 cores shared by the broker, the NameServer and this bench)', '', table(cpuRows), '');
  if (r.profiles.length > 0) out.push('Broker CPU profiles (JavaScript thread; entries with no file, such as "(anonymous)" or "HierarchicalNSW", are native calls, mostly into the RocksDB binding: V8 labels them arbitrarily):', '');
  for (const p of r.profiles) {
    const incl = p.brokerInclusive.entries.map((e) => `    ${e.pctBusy.toFixed(1).padStart(5)}%  ${String(e.totalMs).padStart(9)} ms  ${e.name}`);
    out.push('```', formatProfile(p.summary, `broker profile, ${p.phase}`), `  broker/ functions, inclusive time (% of ${p.brokerInclusive.busyMs} ms busy):`, ...incl, '```', '');
  }
  out.push(
    'Notes:',
    '- bytes/sub: broker VmRSS delta (idle -> after the subscriptions, after --settle-ms idle) / subscriptions; "after GC": the same with',
    '  both readings taken right after a forced full GC in the broker (probe); "JS heap": heap used after that GC. At small --topics the',
    '  RSS deltas are dominated by noise (allocator and V8 heap growth); the JS-heap figure is the stable one.',
    '- latency: send time (in the body, taken just before the SendMessage call) -> the message frame arriving at its subscriber, in this',
    '  process (one clock). store->receive: from the broker\'s store timestamp (whole ms, taken when it starts handling the SendMessage).',
    '- empty receives: ReceiveMessage responses with MESSAGE_NOT_FOUND; "early": returned well before their long-polling timeout',
    '  (a spurious wake-up). idle-client responses: any response to a client that was sent nothing.',
    '- every phase runs this bench (all clients and the sender, one process) on the same 2 cores as the broker; see the CPU table.',
    '',
  );
  out.push('### Targets', '');
  out.push(table([['check', 'value', 'target', 'result'], ...r.targets.map((t) => [t.name, t.value, t.target, t.pass === undefined ? '-' : t.pass ? 'PASS' : 'FAIL'])]), '');
  if (r.heartbeatFailures > 0) out.push(`heartbeat failures: ${r.heartbeatFailures}`);
  if (r.errors.length > 0) out.push('### Errors', '', ...r.errors.map((e) => `- ${e}`), '');
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(argv: string[]): Promise<number> {
  let o: LiteBenchOptions | 'help';
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (o === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const opts = o;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping servers, removing temp dirs`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
  const deadline = setTimeout(() => {
    log(`run exceeded --max-seconds ${opts.maxSeconds}: aborting`);
    void cleanupAll().finally(() => process.exit(3));
  }, opts.maxSeconds * 1000);
  deadline.unref();

  const report: Report = {
    machine: describeMachine(repoRoot, repoRoot, {}, opts.tmpBase ?? tmpdir()),
    options: opts,
    brokerArgs: [],
    liteNameExample: liteName('t', 123456, opts.names),
    startedAt: new Date().toISOString(),
    totalWallMs: 0,
    memory: [],
    latency: [],
    heap: [],
    heartbeatFailures: 0,
    idleBeforePct: undefined,
    profiles: [],
    targets: [],
    errors: [],
  };
  let failed = false;
  try {
    if (opts.quietWaitS > 0) {
      report.idleBeforePct = await waitForQuiet(opts.quietWaitS * 1000, 15, (pct) => log(`other processes use ${f0(pct)}% of a core; waiting up to ${opts.quietWaitS} s for the machine to be quiet`));
      if (report.idleBeforePct !== undefined && report.idleBeforePct >= 15) log(`machine still busy (${f0(report.idleBeforePct)}% of a core used by others): running anyway, figures may be disturbed`);
    }
    await run(opts, report);
  } catch (err) {
    failed = true;
    report.errors.push(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    log(`run failed: ${String(err)}`);
  } finally {
    await cleanupAll();
  }
  report.targets = checkTargets(report);
  printReport(report);
  if (opts.json) {
    mkdirSync(dirname(resolve(opts.json)), { recursive: true });
    writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${opts.json}`);
  }
  clearTimeout(deadline);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
