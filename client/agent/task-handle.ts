/**
 * The supervisor's side of one task: a `TaskHandle` collects the agent's replies (routed to it
 * by the task's reply lite topic), keeps the task's state, artifacts and events, and ends the call
 * on the terminal status update, a timeout, a cancel, or the supervisor closing.
 *
 * - `events()` replays every event so far, then follows live ones, in the order the agent
 *   generated them (a lite topic is ordered); each call gets its own iterator. It ends after the
 *   terminal status update, or throws when the call ended locally (TaskTimeoutError,
 *   TaskCanceledError when the agent did not confirm a cancel, ClientError CLOSED).
 * - `result()`: the value the agent's handler returned (its result artifact), or the error of
 *   how the task ended.
 * - After the end, later replies (a redelivered task answering again) are ignored.
 */
import { ClientError } from '../errors.js';
import {
  a2aTimestamp,
  agentMessage,
  isResultArtifact,
  isTerminalState,
  resultValue,
  type Artifact,
  type StreamResponse,
  type Task,
  type TaskArtifactUpdateEvent,
  type TaskState,
  type TaskStatus,
  type TaskStatusUpdateEvent,
} from './protocol.js';
import { TaskCanceledError, TaskFailedError, TaskRejectedError, TaskTimeoutError, type TaskError } from './task-errors.js';

/** A status update of the task, as received (A2A TaskStatusUpdateEvent). */
export interface StatusUpdate extends TaskStatusUpdateEvent {
  type: 'status';
  /** The state is terminal: nothing follows. */
  final: boolean;
}

/** An artifact (or a chunk of one) of the task, as received (A2A TaskArtifactUpdateEvent). */
export interface ArtifactUpdate extends TaskArtifactUpdateEvent {
  type: 'artifact';
}

export type TaskEvent = StatusUpdate | ArtifactUpdate;

export interface TaskHandle<R = unknown> {
  /** Requester-generated UUIDv4. */
  readonly taskId: string;
  /** A2A context id (learned from the first reply for a resumed task). */
  readonly contextId: string;
  /** The capability topic the task was sent to ('' for a task resumed without it). */
  readonly topic: string;
  /** The lite topic (of the supervisor's reply parent) the replies come on; keep it with the task id to `resume()`. */
  readonly replyLiteTopic: string;
  /** Events in generation order: replayed from the start, then live; ends after the terminal status. */
  events(): AsyncIterable<TaskEvent>;
  /** The handler's return value; rejects with TaskFailedError, TaskRejectedError, TaskCanceledError, TaskTimeoutError or ClientError CLOSED. */
  result(): Promise<R>;
  /** The current state (TASK_STATE_SUBMITTED until the agent's first update). */
  status(): TaskState;
  /** A2A Task snapshot: status (with the agent's message) and artifacts so far. */
  task(): Task;
  /** The call has ended (terminal state, timeout, cancel or the supervisor closed). */
  readonly done: boolean;
  /**
   * Asks the agent to cancel (its handler's signal aborts; it answers CANCELED). Resolves with the
   * final state once the agent answered, or CANCELED after the supervisor's `cancelGraceMs`
   * without an answer. A task that completes before the agent sees the cancel stays COMPLETED.
   */
  cancel(reason?: string): Promise<TaskState>;
  /**
   * Multi-turn: answers the agent's INPUT_REQUIRED / AUTH_REQUIRED (its `ask()`) with a follow-up
   * message: a string as text, A2A parts as they are, anything else as one `data` part. Resolves
   * once the message is stored; rejects with ClientError CLOSED after the call ended.
   */
  reply(input: unknown): Promise<void>;
}

/** What a handle needs from its supervisor. */
export interface TaskHandleHooks {
  /** Sends a follow-up message to the agent running the task. */
  sendInput(handle: TaskHandleImpl, input: unknown): Promise<void>;
  /** Sends the cancel request (best effort; failures are logged by the supervisor). */
  sendCancel(handle: TaskHandleImpl, reason: string): Promise<void>;
  /** The call ended: stop routing replies to it and release its lite topic. */
  onEnd(handle: TaskHandleImpl): void;
  cancelGraceMs: number;
}

type Ending = { error: Error | undefined };

/** Text of an A2A message's text parts. */
function messageText(status: TaskStatus): string {
  return (status.message?.parts ?? [])
    .map((p) => ('text' in p ? p.text : ''))
    .filter((t) => t !== '')
    .join('\n');
}

/**
 * A CANCELED answer the supervisor did not ask for, arriving this close to the call's deadline
 * or after it, is the agent giving up at the deadline (clocks of two machines may differ a bit).
 */
const DEADLINE_SKEW_MS = 1_000;

export class TaskHandleImpl implements TaskHandle<unknown> {
  readonly taskId: string;
  readonly topic: string;
  readonly replyLiteTopic: string;
  private ctxId: string;
  private current: TaskStatus;
  private readonly artifactMap = new Map<string, Artifact>();
  private readonly log: TaskEvent[] = [];
  private readonly wakers = new Set<() => void>();
  private ending: Ending | undefined;
  private resolveResult!: (v: unknown) => void;
  private rejectResult!: (e: unknown) => void;
  private readonly resultPromise: Promise<unknown>;
  private timer: NodeJS.Timeout | undefined;
  /** When this call times out (wall clock), and its timeout, once armed. */
  private deadline: { at: number; timeoutMs: number } | undefined;
  private cancelling: Promise<TaskState> | undefined;
  private unhookSignal: (() => void) | undefined;

  constructor(
    init: { taskId: string; contextId: string; topic: string; replyLiteTopic: string },
    private readonly hooks: TaskHandleHooks,
  ) {
    this.taskId = init.taskId;
    this.ctxId = init.contextId;
    this.topic = init.topic;
    this.replyLiteTopic = init.replyLiteTopic;
    this.current = { state: 'TASK_STATE_SUBMITTED', timestamp: a2aTimestamp() };
    this.resultPromise = new Promise<unknown>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Whoever never asks for the result must not see an unhandled rejection.
    this.resultPromise.catch(() => undefined);
  }

  get contextId(): string {
    return this.ctxId;
  }

  get done(): boolean {
    return this.ending !== undefined;
  }

  status(): TaskState {
    return this.current.state;
  }

  task(): Task {
    return {
      id: this.taskId,
      contextId: this.ctxId,
      status: structuredClone(this.current),
      artifacts: [...this.artifactMap.values()].map((a) => structuredClone(a)),
    };
  }

  result(): Promise<unknown> {
    return this.resultPromise;
  }

  events(): AsyncIterable<TaskEvent> {
    return { [Symbol.asyncIterator]: () => this.iterate() };
  }

  reply(input: unknown): Promise<void> {
    if (this.ending) return Promise.reject(new ClientError('CLOSED', `task ${this.taskId} has ended (${this.current.state}); it takes no more messages`));
    return this.hooks.sendInput(this, input);
  }

  cancel(reason = 'canceled by the requester'): Promise<TaskState> {
    if (this.ending) return Promise.resolve(this.current.state);
    this.cancelling ??= (async () => {
      await this.hooks.sendCancel(this, reason);
      if (this.ending) return this.current.state;
      await this.waitForEnd(this.hooks.cancelGraceMs);
      if (!this.ending) {
        this.endLocally('TASK_STATE_CANCELED', `canceled (${reason}); the agent did not confirm within ${this.hooks.cancelGraceMs} ms`, (text) =>
          new TaskCanceledError(text, this.errorOptions('TASK_STATE_CANCELED')),
        );
      }
      return this.current.state;
    })();
    return this.cancelling;
  }

  // --- driven by the supervisor --------------------------------------------------------------------

  /**
   * Arms the call's timeout (`timeoutMs`, 0 = none; it fires `remainingMs` from now) and its
   * abort signal.
   */
  arm(timeoutMs: number, signal: AbortSignal | undefined, remainingMs = timeoutMs): void {
    if (this.ending) return; // answered already (a fast agent)
    if (timeoutMs > 0) {
      this.deadline = { at: Date.now() + remainingMs, timeoutMs };
      this.timer = setTimeout(() => this.onTimeout(timeoutMs), Math.max(1, remainingMs));
      this.timer.unref();
    }
    if (signal) {
      const onAbort = () => void this.cancel('aborted by the caller');
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.unhookSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /** One reply off the task's lite topic. */
  onReply(reply: StreamResponse): void {
    if (this.ending) return;
    if ('statusUpdate' in reply) {
      const u = reply.statusUpdate;
      if (this.ctxId === this.taskId && u.contextId) this.ctxId = u.contextId;
      this.current = u.status;
      const final = isTerminalState(u.status.state);
      this.push({ ...u, type: 'status', final });
      if (final) this.endWithState(u.status);
      return;
    }
    const u = reply.artifactUpdate;
    const prev = this.artifactMap.get(u.artifact.artifactId);
    if (u.append && prev) prev.parts.push(...structuredClone(u.artifact.parts));
    else this.artifactMap.set(u.artifact.artifactId, structuredClone(u.artifact));
    this.push({ ...u, type: 'artifact' });
  }

  /** Ends the call without a terminal answer (e.g. the send failed, the supervisor closed). */
  abandon(error: Error): void {
    if (this.ending) return;
    this.finish({ error });
  }

  // --- internals -----------------------------------------------------------------------------------

  private errorOptions(state: TaskState) {
    return { taskId: this.taskId, topic: this.topic || undefined, state };
  }

  private endWithState(status: TaskStatus): void {
    const text = messageText(status);
    const state = status.state;
    switch (state) {
      case 'TASK_STATE_COMPLETED': {
        const artifact = [...this.artifactMap.values()].find(isResultArtifact);
        this.finish({ error: undefined });
        this.resolveResult(resultValue(artifact));
        return;
      }
      case 'TASK_STATE_REJECTED':
        return this.finish({ error: undefined }, new TaskRejectedError(text || 'the agent rejected the task', this.errorOptions(state)));
      case 'TASK_STATE_CANCELED':
        if (this.cancelling === undefined && this.deadline !== undefined && Date.now() >= this.deadline.at - DEADLINE_SKEW_MS) {
          // Nobody asked for a cancel: the agent gave up because this call's deadline passed, and
          // its answer beat our own timer. For the caller that is the same timeout either way.
          return this.onTimeout(this.deadline.timeoutMs, false);
        }
        return this.finish({ error: undefined }, new TaskCanceledError(text || 'the task was canceled', this.errorOptions(state)));
      default:
        return this.finish({ error: undefined }, new TaskFailedError(text || 'the task failed', this.errorOptions(state)));
    }
  }

  private onTimeout(timeoutMs: number, tellAgent = true): void {
    if (this.ending) return;
    if (tellAgent) void this.hooks.sendCancel(this, `timed out after ${timeoutMs} ms`);
    this.endLocally('TASK_STATE_CANCELED', `no answer within ${timeoutMs} ms; the agent was told to cancel`, (text) =>
      new TaskTimeoutError(text, { ...this.errorOptions('TASK_STATE_CANCELED'), timeoutMs }),
    );
  }

  /** Ends the call with a local state change (no event from the agent): the iterators throw `error`. */
  private endLocally(state: TaskState, text: string, error: (text: string) => TaskError): void {
    this.current = { state, message: agentMessage(this.taskId, this.ctxId, text), timestamp: a2aTimestamp() };
    const err = error(text);
    this.finish({ error: err }, err);
  }

  /** Records the end: iterators end (or throw `ending.error`), result settles with `resultError` if any. */
  private finish(ending: Ending, resultError?: Error): void {
    if (this.ending) return;
    this.ending = ending;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unhookSignal?.();
    this.unhookSignal = undefined;
    const error = resultError ?? ending.error;
    if (error) this.rejectResult(error);
    this.wake();
    this.hooks.onEnd(this);
  }

  /** Marks the call ended by the supervisor closing. */
  detach(): void {
    this.abandon(new ClientError('CLOSED', `supervisor closed before task ${this.taskId} ended; resume(taskId) on another supervisor to follow it`));
  }

  private push(e: TaskEvent): void {
    this.log.push(e);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private waitForEnd(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakers.delete(check);
        resolve();
      }
      const wakers = this.wakers;
      const check = () => {
        if (this.ending) done();
      };
      wakers.add(check);
    });
  }

  private async *iterate(): AsyncGenerator<TaskEvent, void, undefined> {
    let i = 0;
    for (;;) {
      while (i < this.log.length) yield this.log[i++]!;
      if (this.ending) {
        if (this.ending.error) throw this.ending.error;
        return;
      }
      await new Promise<void>((resolve) => {
        const w = () => {
          this.wakers.delete(w);
          resolve();
        };
        this.wakers.add(w);
      });
    }
  }
}
