/**
 * The agent callback pattern of `npm run bench:callback` (the same clients,
 * bench/callback/agentmq-clients.ts, and the same messages and checks from
 * bench/callback/messages.ts and bench/callback/system.ts), against a running cluster instead of
 * its own `agentmq dev`, and run for a fixed duration instead of a fixed task count.
 *
 * Per task: the supervisor subscribes a fresh lite topic `r-<id>` of the LITE parent `replies`
 * (one LiteConsumer for all of them) and dispatches a 1 KiB task to the NORMAL topic `tasks`; the
 * worker (its own SimpleConsumer + Producer) sends the three replies on the lite topic, in order,
 * and acks the task; the supervisor receives them, checks them, unsubscribes. `inflight` lanes run
 * one task after another. Supervisor and worker run in this process, as in bench:callback.
 *
 * Cluster specifics: `tasks` has queues on every broker (the supervisor's producer spreads tasks
 * over them; the worker's receives go round the brokers); each lite topic is owned by one broker
 * (rendezvous hashing), which the worker's producer sends its replies to. The receive loops of
 * the worker and of the supervisor scale with the broker count (default 2 per broker; bench:callback
 * runs 2 against its one broker), so a parked receive waits on every broker most of the time.
 */
import { AdminClient, silentLogger } from '../../client/index.js';
import { Histogram } from '../histogram.js';
import type { HistogramSummary } from '../histogram.js';
import { verifyReplies } from '../callback/messages.js';
import { REPLIES, startAgentmqCallbackClients, TASKS } from '../callback/agentmq-clients.js';
import { TaskTrace } from '../callback/system.js';
import type { TaskSpec } from '../callback/system.js';
import { cpuBetween, interrupted, sampleCpu, waitForBrokers } from './cluster.js';
import type { CpuWindowReport, Proc } from './cluster.js';
import { callCounts, installCallCounter, resetCallCounts } from './rpc-count.js';
import type { CallCounts } from './rpc-count.js';

export { REPLIES, TASKS };
const TASK_TIMEOUT_MS = 30_000;
const MAX_ERRORS = 10;

export interface CallbackOptions {
  nameserver: string;
  brokers: number;
  queues: number;
  inflight: number;
  /** Receive loops per broker, each for the worker and for the supervisor. */
  loopsPerBroker: number;
  warmupMs: number;
  durationMs: number;
}

export interface CallbackOutcome {
  completed: number;
  tasksPerSec: number;
  rtt: HistogramSummary;
  cycle: HistogramSummary;
  repliesVerified: number;
  warmupCompleted: number;
  errors: number;
  errorSamples: string[];
  receiveLoops: { worker: number; supervisor: number };
  cpu: CpuWindowReport;
  /** Broker calls of this process's clients in the measured phase, by method (rpc-count.ts). */
  calls: CallCounts;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

class State {
  errors = 0;
  readonly samples: string[] = [];
  stopped = false;
  readonly active = new Set<TaskTrace>();
  error(msg: string): void {
    if (this.stopped && this.errors >= MAX_ERRORS) return;
    this.errors++;
    if (this.samples.length < 10) this.samples.push(msg);
    if (this.errors >= MAX_ERRORS) this.halt(`${MAX_ERRORS} errors; first: ${this.samples[0]}`);
  }
  halt(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.active) t.abort(new Error(`run stopped: ${why}`));
  }
}

/** Creates `tasks` (queues on every broker) and the LITE parent `replies` on every broker. */
export async function createCallbackTopics(nameserver: string, brokers: number, queues: number): Promise<void> {
  const admin = new AdminClient({ nameserver, logger: silentLogger });
  try {
    await admin.createTopic({ name: TASKS, queueCount: queues }, { ifNotExists: true });
    await admin.createTopic({ name: REPLIES, messageType: 'LITE' }, { ifNotExists: true });
    await waitForBrokers(admin, brokers, [TASKS, REPLIES]);
  } finally {
    await admin.close();
  }
}

export async function runCallback(opts: CallbackOptions, cluster: Proc[]): Promise<CallbackOutcome> {
  const { nameserver } = opts;
  const state = new State();
  const fail = (err: unknown): void => state.error(`worker/connection: ${message(err)}`);
  const loopsEach = opts.loopsPerBroker * opts.brokers;
  installCallCounter();
  let clients: Awaited<ReturnType<typeof startAgentmqCallbackClients>> | undefined;
  try {
    clients = await startAgentmqCallbackClients({ nameserver, workerLoops: loopsEach, supervisorLoops: loopsEach, fail });
    const { runTask } = clients;

    // --- phases -----------------------------------------------------------------------------------
    const runId = Math.random().toString(36).slice(2, 8).replace(/[^a-z0-9]/g, 'x') || 'run';
    let seq = 0;
    const phase = async (ms: number, prefix: string) => {
      const out = { completed: 0, repliesVerified: 0, rtt: new Histogram(), cycle: new Histogram(), wallMs: 0 };
      const until = performance.now() + ms;
      const lane = async (): Promise<void> => {
        while (!state.stopped && !interrupted() && performance.now() < until) {
          const task: TaskSpec = { id: `${runId}-${prefix}${seq}`, index: seq++ };
          const trace = new TaskTrace(task, TASK_TIMEOUT_MS);
          state.active.add(trace);
          const t0 = performance.now();
          let wrong: string | undefined;
          try {
            await runTask(task, trace);
          } catch (err) {
            wrong = message(err);
          }
          const t1 = performance.now();
          trace.abort(new Error('runTask returned'));
          state.active.delete(trace);
          if (wrong === undefined) {
            if (trace.completedAt === undefined || trace.dispatchedAt === undefined) wrong = `task ${task.id}: no final reply`;
            else wrong = verifyReplies(task.id, trace.replies.map((r) => r.message)) ?? (trace.late.length > 0 ? `task ${task.id}: ${trace.late.length} extra replies` : undefined);
          }
          if (wrong !== undefined) {
            state.error(wrong);
            continue;
          }
          out.completed++;
          out.repliesVerified += trace.replies.length;
          out.rtt.recordMs(trace.completedAt! - trace.dispatchedAt!);
          out.cycle.recordMs(t1 - t0);
        }
      };
      const start = performance.now();
      await Promise.all(Array.from({ length: opts.inflight }, lane));
      out.wallMs = performance.now() - start;
      return out;
    };

    const warm = await phase(opts.warmupMs, 'w');
    const procs: Proc[] = [...cluster, { name: 'bench (this process)', role: 'client', pid: undefined }];
    resetCallCounts();
    const a = sampleCpu(procs);
    const measured = await phase(opts.durationMs, 'm');
    const b = sampleCpu(procs);
    const calls = callCounts();
    return {
      completed: measured.completed,
      tasksPerSec: measured.wallMs > 0 ? (measured.completed / measured.wallMs) * 1000 : 0,
      rtt: measured.rtt.summary(),
      cycle: measured.cycle.summary(),
      repliesVerified: measured.repliesVerified,
      warmupCompleted: warm.completed,
      errors: state.errors,
      errorSamples: state.samples,
      receiveLoops: { worker: loopsEach, supervisor: loopsEach },
      cpu: cpuBetween(procs, a, b),
      calls,
    };
  } finally {
    state.halt('stopping');
    await clients?.stop();
  }
}
