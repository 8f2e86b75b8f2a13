/**
 * Drives one CallbackSystem through the agent callback pattern: start it, a warm-up phase, the
 * measured phase (`tasks` tasks, at most `inflight` at once: that many lanes, each running one
 * task after the other), verify every task's replies, sample the server's CPU time around the
 * measured phase, stop it.
 *
 * A task counts as completed only when its three replies arrived on its channel, for that task,
 * in order, with nothing after the final one before the channel was cleaned up; anything else
 * (lost, duplicated, reordered reply, timeout, a worker-side failure) is an error, and a run with
 * an error is reported as failed.
 */
import { Histogram } from '../histogram.js';
import type { HistogramSummary } from '../histogram.js';
import { processCpu, systemCpu } from '../servers.js';
import { verifyReplies } from './messages.js';
import { TaskTrace } from './system.js';
import type { CallbackContext, CallbackSystem, RunningCallbackSystem, StageMeans, TaskSpec } from './system.js';

export interface HarnessOptions {
  tasks: number;
  inflight: number;
  warmup: number;
  /** Per task: dispatch → final reply. */
  taskTimeoutMs: number;
  /** Stop dispatching after this many errors. */
  maxErrors: number;
}

export interface CpuSeconds {
  user: number;
  system: number;
}

export interface MeasuredPhase {
  tasks: number;
  completed: number;
  errors: number;
  wallMs: number;
  tasksPerSec: number;
  /** Dispatch → final ("completed") reply received. */
  rtt: HistogramSummary;
  /** The whole supervisor cycle: channel created → task sent → 3 replies → channel removed. */
  cycle: HistogramSummary;
  /** Replies received and verified (3 per completed task). */
  repliesVerified: number;
  /** Tasks the worker handled in the phase (should equal `tasks`). */
  workerHandled: number;
  /** Server processes' CPU in the phase; undefined when the server runs in this process. */
  serverCpu: CpuSeconds | undefined;
  /** This process (supervisor, worker, client libraries; and an in-process server). */
  harnessCpu: CpuSeconds;
  /** CPU used by everything else on the machine, % of one core (noise indicator). */
  otherCpuPct: number | undefined;
  /** The system's own milestones of a task (mean ms after dispatch), when it reports them. */
  stages?: StageMeans;
}

export interface SystemRun {
  id: string;
  label: string;
  role: CallbackSystem['role'];
  durability: string;
  idiom: string;
  status: 'ok' | 'not run' | 'failed';
  reason?: string;
  serverVersion?: string;
  warmup?: { tasks: number; completed: number; wallMs: number };
  measured?: MeasuredPhase;
  errors: number;
  /** The first few error messages. */
  errorSamples: string[];
}

const ERROR_SAMPLES = 10;

/** Mutable state of one system's run: error bookkeeping, the traces in flight, the stop flag. */
class RunState {
  errors = 0;
  readonly samples: string[] = [];
  stopped = false;
  /** Set once the system is being stopped: connection errors from then on are not the run's. */
  closing = false;
  readonly active = new Set<TaskTrace>();

  constructor(private readonly maxErrors: number) {}

  error(message: string, fatal = false): void {
    if (this.closing) return;
    this.errors++;
    if (this.samples.length < ERROR_SAMPLES) this.samples.push(message);
    if (fatal || this.errors >= this.maxErrors) this.halt(message);
  }

  /** Stop dispatching and end every wait in flight. */
  halt(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.active) t.abort(new Error(`run stopped: ${why}`));
  }
}

interface PhaseOutcome {
  completed: number;
  repliesVerified: number;
  rtt: Histogram;
  cycle: Histogram;
  wallMs: number;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
  });
  p.catch(() => undefined); // a late rejection after the guard fired is not unhandled
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** Why a finished trace is wrong, or undefined. */
function checkTrace(trace: TaskTrace): string | undefined {
  const id = trace.task.id;
  if (trace.dispatchedAt === undefined) return `task ${id}: runTask returned without calling trace.dispatched()`;
  if (trace.completedAt === undefined) return `task ${id}: runTask returned before the final reply`;
  const wrong = verifyReplies(id, trace.replies.map((r) => r.message));
  if (wrong) return wrong;
  if (trace.late.length > 0) return `task ${id}: ${trace.late.length} extra repl${trace.late.length === 1 ? 'y' : 'ies'} after "completed" (${trace.late.map((r) => r.message.kind).join(', ')})`;
  return undefined;
}

async function runPhase(running: RunningCallbackSystem, ids: string[], opts: HarnessOptions, state: RunState): Promise<PhaseOutcome> {
  const out: PhaseOutcome = { completed: 0, repliesVerified: 0, rtt: new Histogram(), cycle: new Histogram(), wallMs: 0 };
  let next = 0;
  const runOne = async (task: TaskSpec): Promise<void> => {
    const trace = new TaskTrace(task, opts.taskTimeoutMs);
    state.active.add(trace);
    const t0 = performance.now();
    let wrong: string | undefined;
    try {
      // The guard only matters for a system that hangs in its cleanup.
      await withTimeout(running.runTask(task, trace), opts.taskTimeoutMs + 15_000, `runTask(${task.id})`);
    } catch (err) {
      wrong = message(err);
    }
    const t1 = performance.now();
    trace.abort(new Error('runTask returned')); // no-op when settled; clears the timer otherwise
    state.active.delete(trace);
    wrong ??= checkTrace(trace);
    if (wrong !== undefined) {
      state.error(wrong);
      return;
    }
    out.completed++;
    out.repliesVerified += trace.replies.length;
    out.rtt.recordMs(trace.completedAt! - trace.dispatchedAt!);
    out.cycle.recordMs(t1 - t0);
  };
  const lane = async (): Promise<void> => {
    while (!state.stopped && next < ids.length) {
      const index = next++;
      await runOne({ id: ids[index]!, index });
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(opts.inflight, ids.length) }, lane));
  out.wallMs = performance.now() - start;
  return out;
}

/** Waits (≤ `ms`) until the worker reports `expected` handled tasks; returns the last count. */
async function settleWorker(running: RunningCallbackSystem, expected: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  while (running.workerHandled() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // A moment more to catch duplicates that arrive after the expected count.
  await new Promise((r) => setTimeout(r, 100));
  return running.workerHandled();
}

function serverCpu(pids: number[]): { userUs: number; systemUs: number } | undefined {
  if (pids.length === 0) return undefined;
  let userUs = 0;
  let systemUs = 0;
  for (const pid of pids) {
    const c = processCpu(pid);
    if (!c) return undefined;
    userUs += c.userUs;
    systemUs += c.systemUs;
  }
  return { userUs, systemUs };
}

const seconds = (us: number): number => Math.round(us / 1000) / 1000;

export async function runSystem(
  sys: CallbackSystem,
  opts: HarnessOptions,
  base: Omit<CallbackContext, 'fail' | 'inflight'>,
): Promise<SystemRun> {
  const run: SystemRun = { id: sys.id, label: sys.label, role: sys.role, durability: sys.durability, idiom: sys.idiom, status: 'ok', errors: 0, errorSamples: [] };
  const avail = sys.check({ repoRoot: base.repoRoot });
  if (!avail.ok) {
    run.status = 'not run';
    run.reason = `${avail.reason}${avail.hint ? `; install: ${avail.hint}` : ''}`;
    return run;
  }
  const state = new RunState(opts.maxErrors);
  const ctx: CallbackContext = { ...base, inflight: opts.inflight, fail: (err) => state.error(`worker/connection: ${message(err)}`, true) };
  let running: RunningCallbackSystem | undefined;
  try {
    running = await sys.start(ctx);
    const version = running.serverVersion ?? avail.version;
    if (version) run.serverVersion = version;

    const warmIds = Array.from({ length: opts.warmup }, (_, i) => `${base.runId}-w${i}`);
    const warm = await runPhase(running, warmIds, opts, state);
    run.warmup = { tasks: opts.warmup, completed: warm.completed, wallMs: Math.round(warm.wallMs) };
    const handledBefore = await settleWorker(running, opts.warmup, 5_000);

    const ids = Array.from({ length: opts.tasks }, (_, i) => `${base.runId}-${i}`);
    running.stages?.(); // forget the warm-up
    const cpu0 = serverCpu(running.serverPids);
    const self0 = process.cpuUsage();
    const machine0 = systemCpu();
    const phase = await runPhase(running, ids, opts, state);
    const cpu1 = serverCpu(running.serverPids);
    const self = process.cpuUsage(self0);
    const machine1 = systemCpu();
    const stages = running.stages?.();
    const handledAfter = await settleWorker(running, handledBefore + opts.tasks, 5_000);
    const workerHandled = handledAfter - handledBefore;
    if (!state.stopped && workerHandled !== opts.tasks) {
      state.error(`the worker handled ${workerHandled} tasks in the measured phase, expected ${opts.tasks}${workerHandled > opts.tasks ? ' (duplicate deliveries)' : ''}`);
    }

    const srvUs = cpu0 && cpu1 ? { userUs: cpu1.userUs - cpu0.userUs, systemUs: cpu1.systemUs - cpu0.systemUs } : undefined;
    const busyOthersUs =
      machine0 && machine1 ? machine1.busyUs - machine0.busyUs - self.user - self.system - (srvUs ? srvUs.userUs + srvUs.systemUs : 0) : undefined;
    run.measured = {
      tasks: opts.tasks,
      completed: phase.completed,
      errors: state.errors,
      wallMs: Math.round(phase.wallMs),
      tasksPerSec: phase.wallMs > 0 ? (phase.completed / phase.wallMs) * 1000 : 0,
      rtt: phase.rtt.summary(),
      cycle: phase.cycle.summary(),
      repliesVerified: phase.repliesVerified,
      workerHandled,
      serverCpu: srvUs ? { user: seconds(srvUs.userUs), system: seconds(srvUs.systemUs) } : undefined,
      harnessCpu: { user: seconds(self.user), system: seconds(self.system) },
      otherCpuPct: busyOthersUs === undefined || phase.wallMs <= 0 ? undefined : Math.max(0, Math.round((busyOthersUs / 1000 / phase.wallMs) * 100)),
      ...(stages ? { stages } : {}),
    };
  } catch (err) {
    state.error(`${sys.label}: ${message(err)}`, true);
    if (!running) run.reason = message(err);
  } finally {
    state.halt('system stopping');
    state.closing = true;
    await running?.stop().catch((err: unknown) => base.log(`  ${sys.label}: stop failed: ${message(err)}`));
  }
  run.errors = state.errors;
  run.errorSamples = state.samples;
  if (state.errors > 0) {
    run.status = 'failed';
    run.reason ??= `${state.errors} error(s); first: ${state.samples[0] ?? '?'}`;
  }
  return run;
}
