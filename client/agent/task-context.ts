/**
 * What an agent's handler gets for one task: its ids, its validated input, the A2A message it
 * came in, an AbortSignal, and the calls that stream status updates and artifacts back to the
 * requester (in call order, on the task's reply lite topic).
 */
import type { Logger } from '../../proto/common/logger.js';
import type { A2AMessage, InterimTaskState, Part } from './protocol.js';

/** Why a handler's `signal` aborted (its `reason` is the matching error). */
export type TaskAbortCause =
  /** The requester canceled the task (`signal.reason` is a TaskCanceledError). */
  | 'canceled'
  /** The requester's deadline passed (`signal.reason` is a TaskTimeoutError). */
  | 'deadline'
  /** The agent is closing and released the task to another instance (`signal.reason` is a ClientError CLOSED). */
  | 'shutdown';

/** One artifact update (a whole artifact, or a chunk of one with `append`). */
export interface ArtifactChunk {
  /**
   * Identifies the artifact across chunks.
   * @default `name` when given, else a fresh UUID
   */
  artifactId?: string;
  name?: string;
  description?: string;
  /** A2A parts: `{ text }`, `{ data }`, `{ url, mediaType? }`, `{ raw }` (base64). */
  parts: Part[];
  /** These parts add to what was sent before under the same `artifactId`. @default false */
  append?: boolean;
  /** The last chunk of this artifact. @default true unless `append` */
  lastChunk?: boolean;
  metadata?: Record<string, unknown>;
}

export interface TaskContext<I = unknown> {
  /** Requester-generated (UUIDv4); the same on a redelivery. */
  readonly taskId: string;
  readonly contextId: string;
  /** The task's arguments (its first `data` part), checked against the input schema. */
  readonly input: I;
  /** The A2A Message the task came in. */
  readonly message: A2AMessage;
  /**
   * Aborted when the requester cancels, its deadline passes, or the agent shuts down and releases
   * the task (`abortCause` says which). Long work should watch it.
   */
  readonly signal: AbortSignal;
  /** Why `signal` aborted; undefined while it has not. */
  readonly abortCause: TaskAbortCause | undefined;
  /** Delivery attempt of the task (1 = first; more after a crash or a release). */
  readonly attempt: number;
  /** When the requester stops waiting (ms since the epoch), if it said. */
  readonly deadlineMs: number | undefined;
  /** The capability topic the task came from. */
  readonly topic: string;
  readonly logger: Logger;
  /**
   * Reports an interim state (WORKING, INPUT_REQUIRED, AUTH_REQUIRED) with an optional message
   * (text, parts or an A2A Message). Terminal states come from returning or throwing. Resolves
   * once the update is stored.
   */
  status(state: InterimTaskState, message?: string | Part[] | A2AMessage): Promise<void>;
  /** Sends an artifact, or a chunk of one (`append`, `lastChunk`). Resolves once stored. */
  artifact(artifact: ArtifactChunk): Promise<void>;
  /**
   * Multi-turn: asks the requester for more (status INPUT_REQUIRED, or AUTH_REQUIRED with
   * `{ state }`, carrying `prompt`) and waits for its follow-up (`TaskHandle.reply()`); then
   * reports WORKING again and resolves with the follow-up: its `input` is the first `data` part
   * (else its text), `message` the whole A2A Message. Follow-ups are taken in order; one sent
   * before the question is kept for it. Rejects with the signal's reason when the task is
   * canceled, times out or is released meanwhile.
   */
  ask<T = unknown>(prompt: string | Part[] | A2AMessage, options?: { state?: 'TASK_STATE_INPUT_REQUIRED' | 'TASK_STATE_AUTH_REQUIRED' }): Promise<{ input: T; message: A2AMessage }>;
}
