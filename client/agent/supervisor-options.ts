/**
 * Supervisor options, per-call options, their defaults and validation.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import { checkAwaitDuration } from '../consumer/simple-consumer-options.js';
import { checkPositiveMs, resolveClientOptions } from '../options.js';
import type { ClientOptions, ResolvedClientOptions } from '../options.js';
import { DEFAULT_CONTROL_TOPIC, DEFAULT_REPLY_TOPIC } from './protocol.js';

/** Consumer group of supervisors' reply consumers (lite topics are per task, so one group serves all). */
export const DEFAULT_SUPERVISOR_GROUP = 'agentmq-supervisor';
/** A call without `timeoutMs` gives up after 5 minutes. */
export const DEFAULT_CALL_TIMEOUT_MS = 300_000;
/** How long `cancel()` waits for the agent to confirm before ending the call locally. */
export const DEFAULT_CANCEL_GRACE_MS = 5_000;
/** Finished tasks whose state `status(taskId)` still answers. */
export const DEFAULT_MAX_FINISHED_TASKS = 1_000;
/** Reply channels subscribed ahead of use, so a call does not wait for its subscribe. */
export const DEFAULT_SPARE_REPLY_CHANNELS = 4;
/** Reply lite topics processed at the same time. */
export const DEFAULT_SUPERVISOR_CONCURRENCY = 64;

export interface SupervisorOptions extends ClientOptions {
  /** LITE parent of the reply channels (one lite topic per task), created if missing. @default 'agentmq-replies' */
  replyTopic?: string;
  /** Consumer group of the reply consumer. @default 'agentmq-supervisor' */
  group?: string;
  /** LITE parent of the cancel channels, created if missing. @default 'agentmq-control' */
  controlTopic?: string;
  /** Create the reply and control parents when missing (needs admin rights). @default true */
  createTopics?: boolean;
  /** `lite.ttl.ms` of the reply parent when this supervisor creates it. @default the broker's (24 h) */
  replyTtlMs?: number;
  /** Default `timeoutMs` of a call; 0 = no timeout. @default 300000 */
  timeoutMs?: number;
  /** How long `cancel()` waits for the agent's CANCELED before ending the call locally. @default 5000 */
  cancelGraceMs?: number;
  /** Finished tasks kept for `status(taskId)` / `task(taskId)` (oldest forgotten first). @default 1000 */
  maxFinishedTasks?: number;
  /** Reply lite topics handled at the same time (replies of one task are always in order). @default 64 */
  concurrency?: number;
  /** Long-poll time of the reply receives (0 .. 60000). @default 20000 */
  awaitDurationMs?: number;
  /**
   * Reply channels (fresh task ids with their reply lite topics) subscribed ahead of use: a call
   * takes one and its subscribe is already done, so only the task's send is on its path. 0 = a
   * call subscribes its own channel (in parallel with the send). Unused ones expire with the
   * reply parent's lite TTL. @default 4
   */
  spareReplyChannels?: number;
}

/** Per-call options of `call()`, `callMany()` and `resume()`. */
export interface CallOptions {
  /** Give up after this long (the agent is told to cancel; the call rejects with TaskTimeoutError); 0 = never. @default the supervisor's `timeoutMs` */
  timeoutMs?: number;
  /** Cancels the task when it aborts (the agent is told). */
  signal?: AbortSignal;
  /** A2A context id (a conversation several tasks belong to). @default a fresh UUID */
  contextId?: string;
  /** A2A `Message.metadata` of the task message. */
  metadata?: Record<string, unknown>;
}

export interface ResolvedSupervisorOptions {
  client: ResolvedClientOptions;
  replyTopic: string;
  group: string;
  controlTopic: string;
  createTopics: boolean;
  replyTtlMs: number | undefined;
  timeoutMs: number;
  cancelGraceMs: number;
  maxFinishedTasks: number;
  concurrency: number;
  awaitDurationMs: number;
  spareReplyChannels: number;
}

export function checkTimeoutMs(field: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0) throw InvalidArgumentError.format(field, `must be a non-negative integer number of milliseconds (0 = none; got ${String(ms)})`);
  return ms;
}

function checkName(field: string, name: string, code: Code): string {
  const problem = nameProblem(name);
  if (problem) throw InvalidArgumentError.format(field, problem, code);
  return name;
}

export function resolveSupervisorOptions(options: SupervisorOptions = {}): ResolvedSupervisorOptions {
  if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
  const maxFinishedTasks = options.maxFinishedTasks ?? DEFAULT_MAX_FINISHED_TASKS;
  if (!Number.isSafeInteger(maxFinishedTasks) || maxFinishedTasks < 0) throw InvalidArgumentError.format('maxFinishedTasks', `must be a non-negative integer (got ${String(maxFinishedTasks)})`);
  const concurrency = options.concurrency ?? DEFAULT_SUPERVISOR_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw InvalidArgumentError.format('concurrency', `must be an integer between 1 and 1024 (got ${String(concurrency)})`);
  const spareReplyChannels = options.spareReplyChannels ?? DEFAULT_SPARE_REPLY_CHANNELS;
  if (!Number.isSafeInteger(spareReplyChannels) || spareReplyChannels < 0 || spareReplyChannels > 1024) {
    throw InvalidArgumentError.format('spareReplyChannels', `must be an integer between 0 and 1024 (got ${String(spareReplyChannels)})`);
  }
  const replyTtlMs = options.replyTtlMs;
  if (replyTtlMs !== undefined && replyTtlMs !== -1) checkPositiveMs('replyTtlMs', replyTtlMs);
  return {
    client: resolveClientOptions(options),
    replyTopic: checkName('replyTopic', options.replyTopic ?? DEFAULT_REPLY_TOPIC, Code.ILLEGAL_TOPIC),
    group: checkName('group', options.group ?? DEFAULT_SUPERVISOR_GROUP, Code.ILLEGAL_CONSUMER_GROUP),
    controlTopic: checkName('controlTopic', options.controlTopic ?? DEFAULT_CONTROL_TOPIC, Code.ILLEGAL_TOPIC),
    createTopics: options.createTopics ?? true,
    replyTtlMs,
    timeoutMs: checkTimeoutMs('timeoutMs', options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS),
    cancelGraceMs: checkPositiveMs('cancelGraceMs', options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS),
    maxFinishedTasks,
    concurrency,
    awaitDurationMs: checkAwaitDuration('awaitDurationMs', options.awaitDurationMs ?? 20_000),
    spareReplyChannels,
  };
}
