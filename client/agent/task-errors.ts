/**
 * How a task call ends when it does not complete: one error class per outcome, so callers can
 * `catch (e) { if (e instanceof TaskTimeoutError) ... }`. They are local to the SDK (they never
 * cross the wire as errors: the agent's FAILED / REJECTED / CANCELED status does) and carry the
 * task id, its final state and the agent's status message text.
 *
 * An agent handler may throw `TaskRejectedError` (the task is answered REJECTED) or
 * `TaskCanceledError` (CANCELED) itself; any other error is answered FAILED.
 */
import type { TaskState } from './protocol.js';

/** Which way a task call ended without a result. */
export type TaskErrorCode = 'TASK_FAILED' | 'TASK_REJECTED' | 'TASK_CANCELED' | 'TASK_TIMEOUT';

export interface TaskErrorOptions {
  cause?: unknown;
  taskId?: string;
  /** The capability topic the task was sent to. */
  topic?: string;
  /** The task's state when the error was raised. */
  state?: TaskState;
}

export abstract class TaskError extends Error {
  abstract readonly code: TaskErrorCode;
  /** The task id ('' when raised by a handler before it is known). */
  readonly taskId: string;
  readonly topic: string | undefined;
  readonly state: TaskState | undefined;
  constructor(message: string, options: TaskErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.taskId = options.taskId ?? '';
    this.topic = options.topic;
    this.state = options.state;
  }
}

/** The agent answered FAILED (its handler threw); the message is the agent's. */
export class TaskFailedError extends TaskError {
  override name = 'TaskFailedError';
  readonly code = 'TASK_FAILED' as const;
}

/** The agent answered REJECTED: the input did not match its input schema, or it refused the task. */
export class TaskRejectedError extends TaskError {
  override name = 'TaskRejectedError';
  readonly code = 'TASK_REJECTED' as const;
}

/** The task was canceled (`cancel()`, the call's `signal`, or the agent's handler canceled it). */
export class TaskCanceledError extends TaskError {
  override name = 'TaskCanceledError';
  readonly code = 'TASK_CANCELED' as const;
}

/** No terminal answer within the call's `timeoutMs`; the agent was told to cancel. */
export class TaskTimeoutError extends TaskError {
  override name = 'TaskTimeoutError';
  readonly code = 'TASK_TIMEOUT' as const;
  readonly timeoutMs: number;
  constructor(message: string, options: TaskErrorOptions & { timeoutMs: number }) {
    super(message, options);
    this.timeoutMs = options.timeoutMs;
  }
}
