/**
 * One task being served by an agent instance, from its receipt to the settlement of its message:
 *
 *   received ─► (deadline passed? CANCELED) ─► (input invalid? REJECTED) ─► WORKING ─► handler
 *     handler returns ─► result artifact + COMPLETED │ throws ─► FAILED / REJECTED / CANCELED
 *     canceled or deadline meanwhile ─► CANCELED     │ released by close() ─► message given back
 *   ─► the terminal update is stored ─► the task message is acked (or nacked if the update failed)
 *
 * WORKING is sent just after the handler starts (next macrotask), or before the handler's first
 * update, whichever comes first: a handler that answers at once has WORKING, the result artifact
 * and COMPLETED travel in one batch (one round trip, one wake-up of the requester).
 *
 * While the handler runs, the task message's invisibility is renewed every third of
 * `invisibleDurationMs`, so only a crashed instance's tasks come back to the group. A copy of the
 * same task delivered meanwhile (same task id) joins this run instead of running again: its message
 * is settled with the original's.
 */
import { ClientError } from '../errors.js';
import type { Logger } from '../../proto/common/logger.js';
import type { ReceivedMessage } from '../consumer/received-message.js';
import type { Producer } from '../producer/producer.js';
import type { InputValidator } from './input-validator.js';
import {
  a2aTimestamp,
  agentMessage,
  ATTEMPT_METADATA,
  checkParts,
  isTerminalState,
  newId,
  replyProperties,
  RESULT_ARTIFACT_ID,
  RESULT_ARTIFACT_METADATA,
  resultParts,
  taskInput,
  type A2AMessage,
  type InterimTaskState,
  type Part,
  type StreamResponse,
  type TaskEnvelope,
  type TaskState,
} from './protocol.js';
import type { TaskHandler } from './agent-options.js';
import type { ArtifactChunk, TaskAbortCause, TaskContext } from './task-context.js';
import { TaskCanceledError, TaskRejectedError, TaskTimeoutError } from './task-errors.js';

/** What a run needs from its agent. */
export interface TaskRunDeps {
  topic: string;
  producer: Producer;
  logger: Logger;
  handler: TaskHandler<unknown, unknown>;
  validator: InputValidator | undefined;
  /** Checks the handler's result against the output schema (a mismatch ends the task FAILED). */
  outputValidator?: InputValidator | undefined;
  invisibleDurationMs: number;
}

type RunState = 'running' | 'finishing' | 'released' | 'done';

const INTERIM_STATES: ReadonlySet<string> = new Set(['TASK_STATE_WORKING', 'TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED']);

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

export class TaskRun {
  readonly taskId: string;
  /** How the run ends: the terminal state it sends, or 'released'. Set once decided. */
  outcome: TaskState | 'released' | undefined;
  private state: RunState = 'running';
  /** Follow-ups (answers to INPUT_REQUIRED) received and not yet asked for, oldest first. */
  private readonly followUps: A2AMessage[] = [];
  private followUpWaiter: ((m: A2AMessage) => void) | undefined;
  /** WORKING: not due yet, due (to go before anything else is sent), or sent. */
  private working: 'none' | 'due' | 'sent' = 'none';
  private readonly controller = new AbortController();
  private cause: TaskAbortCause | undefined;
  /** The task message and any copies of it delivered while this run holds it. */
  private readonly messages: ReceivedMessage[];
  /** Reply sends not yet settled (the terminal update waits for them). */
  private readonly pending = new Set<Promise<unknown>>();
  private leaseTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private releaseRun: (() => void) | undefined;
  private readonly releasedPromise = new Promise<void>((resolve) => (this.releaseRun = resolve));
  /** Resolves once the task message is acked or given back. */
  readonly settled: Promise<void>;

  constructor(
    private readonly env: TaskEnvelope,
    message: ReceivedMessage,
    private readonly deps: TaskRunDeps,
  ) {
    this.taskId = env.taskId;
    this.messages = [message];
    this.settled = this.execute().catch((err: unknown) => {
      this.deps.logger.error('task run failed unexpectedly', { taskId: this.taskId, err });
    });
  }

  /** Another delivery of the same task while this run holds it: settled together with it. */
  adopt(message: ReceivedMessage): void {
    if (this.state === 'running' || this.state === 'finishing') this.messages.push(message);
    else if (this.state === 'done') void message.ack().catch(() => undefined); // answered already
    else void message.nack(0).catch(() => undefined); // released: another instance takes it
  }

  /** A follow-up message from the requester (multi-turn): to the waiting `ask()`, or kept for the next. */
  followUp(message: A2AMessage): void {
    const w = this.followUpWaiter;
    if (w) {
      this.followUpWaiter = undefined;
      w(message);
    } else this.followUps.push(message);
  }

  /** The requester asked to cancel: the handler's signal aborts. */
  cancel(reason?: string): void {
    this.abort('canceled', new TaskCanceledError(reason ? `task canceled: ${reason}` : 'task canceled by the requester', { taskId: this.taskId, topic: this.deps.topic, state: 'TASK_STATE_CANCELED' }));
  }

  /**
   * The agent is closing: aborts the handler and gives the task message back at once so another
   * instance takes it. No terminal update is sent. False if the run is already finishing.
   */
  async release(): Promise<boolean> {
    if (this.state !== 'running') return false;
    this.state = 'released';
    this.outcome = 'released';
    this.abort('shutdown', new ClientError('CLOSED', 'the agent is closing; the task is released to another instance'));
    this.stopTimers();
    this.releaseRun?.();
    await Promise.all(
      this.messages.map((m) =>
        m.nack(0).catch((err: unknown) => this.deps.logger.warn('releasing a task failed; it comes back after its invisible duration', { taskId: this.taskId, err })),
      ),
    );
    return true;
  }

  /** The handler is running (not finishing, released or done). */
  get running(): boolean {
    return this.state === 'running';
  }

  /** Counts against the agent's concurrency: running or sending its final update. */
  get holdsSlot(): boolean {
    return this.state === 'running' || this.state === 'finishing';
  }

  // --- the run -------------------------------------------------------------------------------------

  private async execute(): Promise<void> {
    const { deadlineMs } = this.env;
    if (deadlineMs !== undefined && Date.now() >= deadlineMs) {
      return this.finish('TASK_STATE_CANCELED', 'the requester stopped waiting before the task started');
    }
    const input = taskInput(this.env.message);
    const problem = this.deps.validator?.check(input);
    if (problem !== undefined) {
      return this.finish('TASK_STATE_REJECTED', `input rejected by ${this.deps.topic}: ${problem}`);
    }
    this.startTimers();
    this.working = 'due';
    setImmediate(() => this.flushWorking());

    let value: unknown;
    let error: unknown;
    let failed = false;
    try {
      const result = await Promise.race([Promise.resolve().then(() => this.deps.handler(this.context(input))), this.releasedPromise.then(() => RELEASED)]);
      if (result === RELEASED) return;
      value = result;
    } catch (err) {
      failed = true;
      error = err;
    }
    if (this.state === 'released') return;
    if (this.cause === 'canceled') return this.finish('TASK_STATE_CANCELED', errorText(this.controller.signal.reason));
    if (this.cause === 'deadline') return this.finish('TASK_STATE_CANCELED', 'the requester stopped waiting (deadline passed)');
    if (!failed) {
      const wrong = value === undefined ? undefined : this.deps.outputValidator?.check(value);
      if (wrong !== undefined) {
        this.deps.logger.warn('task result does not match the output schema; the task fails', { taskId: this.taskId, topic: this.deps.topic, problem: wrong });
        return this.finish('TASK_STATE_FAILED', `result rejected by ${this.deps.topic}: ${wrong}`);
      }
      return this.finish('TASK_STATE_COMPLETED', undefined, value);
    }
    if (error instanceof TaskRejectedError) return this.finish('TASK_STATE_REJECTED', errorText(error));
    if (error instanceof TaskCanceledError) return this.finish('TASK_STATE_CANCELED', errorText(error));
    this.deps.logger.debug('task handler failed', { taskId: this.taskId, topic: this.deps.topic, err: error });
    return this.finish('TASK_STATE_FAILED', errorText(error));
  }

  /** Sends the terminal update (after the result artifact), then settles the task message. */
  private async finish(state: TaskState, text: string | undefined, value?: unknown): Promise<void> {
    this.state = 'finishing';
    this.outcome = state;
    this.stopTimers();
    if (!this.controller.signal.aborted) this.controller.abort(new ClientError('CLOSED', `task finished (${state})`));
    let ok = true;
    try {
      // Queued at once, behind any interim update still in flight: the producer keeps a lite
      // topic's messages in send order (one ordered lane), so the result artifact and the
      // terminal status travel together in the next batch instead of one round trip each.
      const finals: Promise<void>[] = [];
      if (state === 'TASK_STATE_COMPLETED' && value !== undefined) {
        finals.push(
          this.send({
            artifactUpdate: {
              taskId: this.taskId,
              contextId: this.env.contextId,
              artifact: { artifactId: RESULT_ARTIFACT_ID, name: RESULT_ARTIFACT_ID, parts: resultParts(value), metadata: { [RESULT_ARTIFACT_METADATA]: true } },
              append: false,
              lastChunk: true,
            },
          }),
        );
      }
      finals.push(this.send({ statusUpdate: this.statusEvent(state, text) }));
      await Promise.allSettled([...this.pending]);
      await Promise.all(finals);
    } catch (err) {
      ok = false;
      this.deps.logger.warn('sending the final task update failed; the task is given back for another attempt', { taskId: this.taskId, state, err });
    }
    this.state = 'done';
    await Promise.all(
      this.messages.map((m) =>
        (ok ? m.ack() : m.nack()).catch((err: unknown) =>
          this.deps.logger.warn(ok ? 'acking a finished task failed; it may be delivered again' : 'giving a task back failed', { taskId: this.taskId, err }),
        ),
      ),
    );
  }

  // --- replies -------------------------------------------------------------------------------------

  private statusEvent(state: TaskState, message?: string | Part[] | A2AMessage): Extract<StreamResponse, { statusUpdate: unknown }>['statusUpdate'] {
    const { taskId, contextId } = this.env;
    return {
      taskId,
      contextId,
      status: { state, ...(message !== undefined ? { message: agentMessage(taskId, contextId, message) } : {}), timestamp: a2aTimestamp() },
      metadata: { [ATTEMPT_METADATA]: this.messages[0]!.deliveryAttempt },
    };
  }

  /** Queues WORKING if it is due (synchronously: it goes before whatever is sent next). */
  private flushWorking(): void {
    if (this.working !== 'due') return;
    if (this.state === 'released' || this.state === 'done') return void (this.working = 'none');
    this.working = 'sent';
    void this.track(this.sendNow({ statusUpdate: this.statusEvent('TASK_STATE_WORKING') }));
  }

  /** Stores one reply on the task's lite topic, after WORKING if that is still due. */
  private send(reply: StreamResponse): Promise<void> {
    this.flushWorking();
    return this.sendNow(reply);
  }

  private async sendNow(reply: StreamResponse): Promise<void> {
    const channels = this.env.channels;
    if (!channels) return;
    await this.deps.producer.send({
      topic: channels.replyTopic,
      liteTopic: channels.replyLite,
      body: JSON.stringify(reply),
      tag: 'statusUpdate' in reply ? 'status-update' : 'artifact-update',
      keys: [this.taskId],
      properties: replyProperties(this.taskId, reply),
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, (err: unknown) => {
      done();
      this.deps.logger.warn('sending a task update failed', { taskId: this.taskId, err });
    });
    return p;
  }

  /** A reply from the handler: only while the handler runs. */
  private interim(reply: StreamResponse): Promise<void> {
    if (this.state !== 'running') {
      return Promise.reject(new ClientError('CLOSED', this.state === 'released' ? 'the task was released (the agent is closing)' : 'the task is finished'));
    }
    return this.track(this.send(reply));
  }

  private context(input: unknown): TaskContext {
    const run = this;
    const { taskId, contextId, message, deadlineMs } = this.env;
    return {
      taskId,
      contextId,
      input,
      message,
      signal: this.controller.signal,
      get abortCause() {
        return run.cause;
      },
      attempt: this.messages[0]!.deliveryAttempt,
      deadlineMs,
      topic: this.deps.topic,
      logger: this.deps.logger,
      status(state: InterimTaskState, msg?: string | Part[] | A2AMessage): Promise<void> {
        if (!INTERIM_STATES.has(state)) {
          const why = isTerminalState(state as TaskState) ? 'terminal states come from returning or throwing' : 'not an interim A2A TaskState';
          return Promise.reject(new TypeError(`status(${JSON.stringify(state)}): ${why}`));
        }
        return run.interim({ statusUpdate: run.statusEvent(state, msg) });
      },
      async ask<T>(prompt: string | Part[] | A2AMessage, options: { state?: 'TASK_STATE_INPUT_REQUIRED' | 'TASK_STATE_AUTH_REQUIRED' } = {}): Promise<{ input: T; message: A2AMessage }> {
        const state = options.state ?? 'TASK_STATE_INPUT_REQUIRED';
        if (state !== 'TASK_STATE_INPUT_REQUIRED' && state !== 'TASK_STATE_AUTH_REQUIRED') throw new TypeError(`ask(): state must be TASK_STATE_INPUT_REQUIRED or TASK_STATE_AUTH_REQUIRED (got ${JSON.stringify(state)})`);
        const signal = run.controller.signal;
        if (signal.aborted) throw signal.reason;
        await run.interim({ statusUpdate: run.statusEvent(state, prompt) });
        const message =
          run.followUps.shift() ??
          (await new Promise<A2AMessage>((resolve, reject) => {
            const onAbort = () => {
              run.followUpWaiter = undefined;
              reject(signal.reason);
            };
            if (signal.aborted) return onAbort();
            signal.addEventListener('abort', onAbort, { once: true });
            run.followUpWaiter = (m) => {
              signal.removeEventListener('abort', onAbort);
              resolve(m);
            };
          }));
        await run.interim({ statusUpdate: run.statusEvent('TASK_STATE_WORKING') });
        return { input: taskInput(message) as T, message };
      },
      artifact(chunk: ArtifactChunk): Promise<void> {
        let parts: Part[];
        try {
          parts = checkParts('artifact.parts', chunk?.parts);
        } catch (err) {
          return Promise.reject(err);
        }
        const append = chunk.append ?? false;
        return run.interim({
          artifactUpdate: {
            taskId,
            contextId,
            artifact: {
              artifactId: chunk.artifactId ?? chunk.name ?? newId(),
              ...(chunk.name !== undefined ? { name: chunk.name } : {}),
              ...(chunk.description !== undefined ? { description: chunk.description } : {}),
              parts,
              ...(chunk.metadata !== undefined ? { metadata: chunk.metadata } : {}),
            },
            append,
            lastChunk: chunk.lastChunk ?? !append,
          },
        });
      },
    };
  }

  // --- abort, lease, deadline ----------------------------------------------------------------------

  private abort(cause: TaskAbortCause, reason: Error): void {
    if (this.controller.signal.aborted || this.state === 'done' || this.state === 'finishing') return;
    this.cause = cause;
    this.controller.abort(reason);
  }

  private startTimers(): void {
    const every = Math.max(500, Math.floor(this.deps.invisibleDurationMs / 3));
    this.leaseTimer = setInterval(() => {
      for (const m of this.messages) {
        m.extend(this.deps.invisibleDurationMs).catch((err: unknown) => this.deps.logger.warn('renewing a task lease failed', { taskId: this.taskId, err }));
      }
    }, every);
    this.leaseTimer.unref();
    const { deadlineMs } = this.env;
    if (deadlineMs !== undefined) {
      this.deadlineTimer = setTimeout(
        () =>
          this.abort(
            'deadline',
            new TaskTimeoutError('the requester stopped waiting (deadline passed)', {
              taskId: this.taskId,
              topic: this.deps.topic,
              // The requester's timeout, as far as the agent can tell: from when the task was sent.
              timeoutMs: Math.max(0, deadlineMs - this.messages[0]!.bornTimestampMs),
            }),
          ),
        Math.max(0, deadlineMs - Date.now()),
      );
      this.deadlineTimer.unref();
    }
  }

  private stopTimers(): void {
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.leaseTimer = undefined;
    this.deadlineTimer = undefined;
  }
}

/** What the handler race resolves with when the run is released. */
const RELEASED = Symbol('released');
