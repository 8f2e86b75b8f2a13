/**
 * The interface every system of the agent callback benchmark implements (AgentMQ, NATS
 * JetStream, Redis Streams, Mosquitto), and the per-task trace the harness hands to it.
 *
 * The pattern, per task (bench/callback/harness.ts drives it, `--inflight` tasks at a time):
 *   1. the supervisor creates a fresh reply channel for the task and subscribes to it;
 *   2. it dispatches the task (messages.ts `encodeTask`, 1 KiB, naming the channel) to the
 *      durable "tasks" queue — calling `trace.dispatched()` right before sending;
 *   3. a worker (its own connection/client, started by `start()`) receives the task, sends the
 *      three replies of `workerReplies()` on the task's channel, in order, then acknowledges the
 *      task;
 *   4. the supervisor feeds every message arriving on the channel to `trace.reply(body)` and
 *      waits for `trace.completed` (resolves on the final "completed" reply, rejects on timeout);
 *   5. it unsubscribes and removes the channel, then returns.
 * The harness then checks the trace (exactly 3 replies, in order, for this task), records the
 * round trip (dispatch → final reply) and the whole cycle (1 → 5).
 *
 * A system owns everything it needs: servers (child processes via ../servers.ts helpers, or an
 * embedded server in this process), the worker and the supervisor connections. Only one system
 * runs at a time.
 */
import { REPLY_KINDS, decodeReply } from './messages.js';
import type { Body, ReplyMessage } from './messages.js';

/** Mean ms after dispatch of each milestone, in the order a task reaches them; `tasks` = how many were averaged. */
export interface StageMeans {
  tasks: number;
  meanMs: Array<{ stage: string; ms: number }>;
}

/**
 * Collects per-task milestone times (ms after the task's start) and averages them per stage.
 * Worker and supervisor run in the bench process, so one clock serves both.
 */
export class StageClock {
  private readonly open = new Map<string, { t0: number; marks: Map<string, number> }>();
  private sums = new Map<string, { total: number; n: number }>();
  private tasks = 0;

  constructor(private readonly order: readonly string[]) {}

  start(key: string): void {
    this.open.set(key, { t0: performance.now(), marks: new Map() });
  }

  /** Records `stage` for `key` (the first time only). */
  mark(key: string, stage: string): void {
    const t = this.open.get(key);
    if (t && !t.marks.has(stage)) t.marks.set(stage, performance.now() - t.t0);
  }

  finish(key: string): void {
    const t = this.open.get(key);
    if (!t) return;
    this.open.delete(key);
    this.tasks++;
    for (const [stage, ms] of t.marks) {
      const s = this.sums.get(stage) ?? { total: 0, n: 0 };
      s.total += ms;
      s.n++;
      this.sums.set(stage, s);
    }
  }

  /** The means since the last call, then starts over. */
  take(): StageMeans {
    const meanMs = this.order.flatMap((stage) => {
      const s = this.sums.get(stage);
      return s && s.n > 0 ? [{ stage, ms: s.total / s.n }] : [];
    });
    const out = { tasks: this.tasks, meanMs };
    this.sums = new Map();
    this.tasks = 0;
    return out;
  }
}

/** Whether a system can run on this machine (binaries, npm clients). */
export type Availability = { ok: true; version?: string } | { ok: false; reason: string; hint?: string };

export interface CallbackContext {
  /** The AgentMQ checkout (bin/agentmq.js, client/). */
  repoRoot: string;
  /** Parent directory for temp dirs (pass it to ../servers.ts makeTempDir). */
  tmpBase: string;
  /** Most tasks the harness keeps in flight: size prefetch windows and connection pools by it. */
  inflight: number;
  /** Short random id of this run ([a-z0-9]); task ids start with it. */
  runId: string;
  log(line: string): void;
  /**
   * Reports a failure the supervisor cannot see (the worker could not publish a reply or ack a
   * task, a connection dropped ...). The harness counts it as an error and stops dispatching.
   */
  fail(err: unknown): void;
}

export interface TaskSpec {
  /** Unique in the run: `<runId>-<n>` or `<runId>-w<n>` (warm-up); [a-z0-9-] only. */
  id: string;
  /** 0-based position in its phase. */
  index: number;
}

export interface RunningCallbackSystem {
  /**
   * Server processes whose CPU time the harness samples (summed). Empty when the server runs
   * inside this process: its CPU is then part of the harness's own figure.
   */
  serverPids: number[];
  /** Server version for the report, when known. */
  serverVersion?: string;
  /**
   * One task's full cycle on the supervisor side (steps 1, 2, 4, 5 above). Must call
   * `trace.dispatched()` right before sending the task and `trace.reply()` for every message the
   * channel delivers; must clean the channel up also when `trace.completed` rejects. Called
   * concurrently, up to `ctx.inflight` times.
   */
  runTask(task: TaskSpec, trace: TaskTrace): Promise<void>;
  /** Tasks the worker has handled (replied to and acknowledged) so far, duplicates included. */
  workerHandled(): number;
  /**
   * Optional: milestones of a task's critical path, as mean ms after dispatch over the tasks
   * completed since the last call (the harness calls it before and after the measured phase).
   */
  stages?(): StageMeans;
  /** Closes every connection, stops the servers it started, removes its temp dirs. */
  stop(): Promise<void>;
}

export interface CallbackSystem {
  /** CLI name: agentmq, nats, redis, mqtt. */
  id: string;
  label: string;
  /** AgentMQ is the subject; the others are the peers it is compared with. */
  role: 'subject' | 'peer';
  /** What "dispatched", "replied" and "acked" survive, one or two sentences (printed). */
  durability: string;
  /** How the pattern maps onto this system's idioms, one or two sentences (printed). */
  idiom: string;
  check(ctx: Pick<CallbackContext, 'repoRoot'>): Availability;
  start(ctx: CallbackContext): Promise<RunningCallbackSystem>;
}

export interface ReceivedReply {
  /** performance.now() when the supervisor got it. */
  at: number;
  message: ReplyMessage;
}

/**
 * What happened to one task on the supervisor side. Created by the harness; the system calls
 * `dispatched()` and `reply()`, and awaits `completed`.
 */
export class TaskTrace {
  dispatchedAt: number | undefined;
  completedAt: number | undefined;
  readonly replies: ReceivedReply[] = [];
  /** Replies that arrived after the final one (before runTask returned). */
  readonly late: ReceivedReply[] = [];
  /** Resolves when the final ("completed") reply arrived; rejects on timeout or `abort()`. */
  readonly completed: Promise<void>;
  private state: 'open' | 'done' | 'failed' = 'open';
  private resolveFn!: () => void;
  private rejectFn!: (err: Error) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly task: TaskSpec,
    timeoutMs: number,
  ) {
    this.completed = new Promise<void>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // A system that fails before awaiting `completed` must not cause an unhandled rejection.
    this.completed.catch(() => undefined);
    this.timer = setTimeout(() => {
      const got = this.replies.map((r) => r.message.kind).join(', ') || 'none';
      this.abort(new Error(`task ${task.id}: no "completed" reply within ${timeoutMs} ms (got: ${got}${this.dispatchedAt === undefined ? '; never dispatched' : ''})`));
    }, timeoutMs);
  }

  /** True once `completed` resolved or rejected: stop reading the channel. */
  get settled(): boolean {
    return this.state !== 'open';
  }

  /** Call right before sending the task: the round trip starts here. */
  dispatched(): void {
    this.dispatchedAt ??= performance.now();
  }

  /** Call for every message the task's channel delivers, in delivery order. */
  reply(body: Body): void {
    const at = performance.now();
    let message: ReplyMessage;
    try {
      message = decodeReply(body);
    } catch (err) {
      this.abort(new Error(`task ${this.task.id}: undecodable reply: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    if (this.state !== 'open') {
      this.late.push({ at, message });
      return;
    }
    this.replies.push({ at, message });
    if (message.kind === REPLY_KINDS[REPLY_KINDS.length - 1]) {
      this.completedAt = at;
      this.state = 'done';
      clearTimeout(this.timer);
      this.resolveFn();
    }
  }

  /** Ends the wait with an error (timeout, the harness stopping, a broken channel). */
  abort(err: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    clearTimeout(this.timer);
    this.rejectFn(err);
  }
}
