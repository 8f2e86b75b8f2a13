/**
 * The AgentMQ agent wire protocol: every shape that travels between a Supervisor and an agent,
 * and the one place that encodes and decodes them. docs/agents.md#wire-protocol describes it.
 *
 * Payloads are A2A v1.0 ProtoJSON (camelCase names, enums as their proto names, oneofs as member
 * names with no `kind`, timestamps ISO-8601 UTC with `Z`), so an A2A client library can read them:
 *
 * - **Task**: a message on the capability topic. Body: an A2A `Message` (role `ROLE_USER`, the
 *   arguments as a `data` part); keys `[taskId]`; dedup key `taskId`; tag `task`; user
 *   properties naming the reply channel (`agentmq.reply.topic` = LITE parent,
 *   `agentmq.reply.lite` = the task's lite topic) and the cancel channel.
 * - **Replies**: on the task's lite topic, one A2A `StreamResponse` per message
 *   (`{"statusUpdate": ...}` or `{"artifactUpdate": ...}`), in generation order; a status update
 *   with a terminal state ends the stream.
 * - **Cancel**: on the lite topic `cancel.<taskId>` of the LITE parent `agentmq-control`, an A2A
 *   `CancelTaskRequest` (`{"id": taskId, "metadata": {...}}`). The agent instance running the task
 *   subscribes that lite topic from its oldest message while the task runs, so a cancel sent
 *   before the task started is seen too.
 *
 * Decoders are lenient about extra fields and strict about what the SDK relies on; they return
 * a problem string rather than throw, so a bad message is logged and dropped, never fatal.
 */
import { randomUUID } from 'node:crypto';
import { isPlainObject } from '../../proto/common/topic-document.js';

// --- A2A v1.0 shapes (JSON) ------------------------------------------------------------------------

/** A2A v1.0 `TaskState`, as its ProtoJSON name. */
export type TaskState =
  | 'TASK_STATE_SUBMITTED'
  | 'TASK_STATE_WORKING'
  | 'TASK_STATE_INPUT_REQUIRED'
  | 'TASK_STATE_COMPLETED'
  | 'TASK_STATE_FAILED'
  | 'TASK_STATE_CANCELED'
  | 'TASK_STATE_REJECTED'
  | 'TASK_STATE_AUTH_REQUIRED';

export const TASK_STATES: readonly TaskState[] = [
  'TASK_STATE_SUBMITTED',
  'TASK_STATE_WORKING',
  'TASK_STATE_INPUT_REQUIRED',
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_REJECTED',
  'TASK_STATE_AUTH_REQUIRED',
];

/** States after which nothing more happens to a task: COMPLETED, FAILED, CANCELED, REJECTED. */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_STATE_COMPLETED',
  'TASK_STATE_FAILED',
  'TASK_STATE_CANCELED',
  'TASK_STATE_REJECTED',
]);

/** States an agent may report while it works (the rest are reached by returning or throwing). */
export type InterimTaskState = 'TASK_STATE_WORKING' | 'TASK_STATE_INPUT_REQUIRED' | 'TASK_STATE_AUTH_REQUIRED';

export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

export function isTaskState(v: unknown): v is TaskState {
  return typeof v === 'string' && (TASK_STATES as readonly string[]).includes(v);
}

/** Fields every A2A `Part` may carry besides its content. */
export interface PartCommon {
  metadata?: Record<string, unknown>;
  filename?: string;
  mediaType?: string;
}

/**
 * A2A v1.0 `Part`: exactly one of `text`, `data` (any JSON value), `url`, `raw` (bytes as
 * base64), as a member name (no `kind`).
 */
export type Part =
  | (PartCommon & { text: string })
  | (PartCommon & { data: unknown })
  | (PartCommon & { url: string })
  | (PartCommon & { raw: string });

export type Role = 'ROLE_USER' | 'ROLE_AGENT';

/** A2A v1.0 `Message`. */
export interface A2AMessage {
  messageId: string;
  contextId?: string;
  taskId?: string;
  role: Role;
  parts: Part[];
  metadata?: Record<string, unknown>;
  extensions?: string[];
  referenceTaskIds?: string[];
}

/** A2A v1.0 `TaskStatus`. */
export interface TaskStatus {
  state: TaskState;
  message?: A2AMessage;
  /** ISO-8601 UTC, `YYYY-MM-DDTHH:mm:ss.sssZ`. */
  timestamp: string;
}

/** A2A v1.0 `Artifact`. */
export interface Artifact {
  artifactId: string;
  name?: string;
  description?: string;
  parts: Part[];
  metadata?: Record<string, unknown>;
}

/** A2A v1.0 `TaskStatusUpdateEvent`. */
export interface TaskStatusUpdateEvent {
  taskId: string;
  contextId: string;
  status: TaskStatus;
  metadata?: Record<string, unknown>;
}

/** A2A v1.0 `TaskArtifactUpdateEvent`. */
export interface TaskArtifactUpdateEvent {
  taskId: string;
  contextId: string;
  artifact: Artifact;
  /** The parts add to the artifact of the same id received before (a streamed chunk). */
  append?: boolean;
  /** The last chunk of this artifact. */
  lastChunk?: boolean;
  metadata?: Record<string, unknown>;
}

/** The A2A v1.0 `StreamResponse` members a reply carries (one per message). */
export type StreamResponse = { statusUpdate: TaskStatusUpdateEvent } | { artifactUpdate: TaskArtifactUpdateEvent };

/** A2A v1.0 `Task` (what `GetTask` returns): the supervisor's view of a task. */
export interface Task {
  id: string;
  contextId: string;
  status: TaskStatus;
  artifacts: Artifact[];
  metadata?: Record<string, unknown>;
}

/** A2A v1.0 `CancelTaskRequest` (tenant unused). */
export interface CancelTaskRequest {
  id: string;
  metadata?: Record<string, unknown>;
}

// --- AgentMQ transport: topics, lite topics, properties ------------------------------------------------

/** Default LITE parent of reply channels (one lite topic per task). */
export const DEFAULT_REPLY_TOPIC = 'agentmq-replies';
/** Default LITE parent of cancel channels (one lite topic per task, `cancel.<taskId>`). */
export const DEFAULT_CONTROL_TOPIC = 'agentmq-control';
/**
 * `lite.ttl.ms` the control parent is created with: a cancel channel lives one hour after its
 * last write (cancel channels are short-lived; every task makes one, so they must not pile up).
 */
export const DEFAULT_CONTROL_TTL_MS = 3_600_000;

/** User properties of AgentMQ agent messages. */
export const AGENT_PROPERTIES = {
  /** What the message is: `task`, `status-update`, `artifact-update`, `cancel`, `input` (a follow-up message). */
  kind: 'agentmq.kind',
  /** The task id (also the message key). */
  taskId: 'agentmq.task.id',
  /** The A2A protocol version of the body (`1.0`). */
  a2aVersion: 'agentmq.a2a.version',
  /** On a task: the LITE parent topic replies go to. */
  replyTopic: 'agentmq.reply.topic',
  /** On a task: the lite topic (inside `agentmq.reply.topic`) replies go to. */
  replyLite: 'agentmq.reply.lite',
  /** On a task: the LITE parent topic of its cancel channel. */
  cancelTopic: 'agentmq.cancel.topic',
  /** On a task: the lite topic (inside `agentmq.cancel.topic`) a cancel request arrives on. */
  cancelLite: 'agentmq.cancel.lite',
  /** On a task: when the requester stops waiting (ms since the epoch); the agent aborts then. */
  deadline: 'agentmq.task.deadline',
  /** On a status update: its state (so tools can filter without parsing the body). */
  state: 'agentmq.task.state',
} as const;

export type AgentMessageKind = 'task' | 'status-update' | 'artifact-update' | 'cancel';

export const A2A_VERSION = '1.0';
/** Message tag of tasks on a capability topic. */
export const TASK_TAG = 'task';
/** Metadata key marking the artifact that carries the handler's return value. */
export const RESULT_ARTIFACT_METADATA = 'agentmq.result';
/** Artifact id (and name) of the result artifact. */
export const RESULT_ARTIFACT_ID = 'result';
/** Status update metadata key: the delivery attempt of the task message that produced it (1 = first). */
export const ATTEMPT_METADATA = 'agentmq.attempt';

/** The reply lite topic of a task (inside the reply parent). */
export function replyLiteTopicOf(taskId: string): string {
  return `task.${taskId}`;
}

/** The cancel lite topic of a task (inside the control parent). */
export function cancelLiteTopicOf(taskId: string): string {
  return `cancel.${taskId}`;
}

/** A2A timestamp: ISO-8601 UTC with milliseconds and `Z`. */
export function a2aTimestamp(ms: number = Date.now()): string {
  return new Date(ms).toISOString();
}

export function newId(): string {
  return randomUUID();
}

// --- task messages -------------------------------------------------------------------------------

/** The reply and cancel channels of a task, as its properties name them. */
export interface TaskChannels {
  replyTopic: string;
  replyLite: string;
  cancelTopic: string;
  cancelLite: string;
}

/** What travels on a capability topic (before it is a producer message). */
export interface TaskEnvelope {
  taskId: string;
  contextId: string;
  message: A2AMessage;
  /** Where replies and cancels go; absent for a fire-and-forget task (no one listens). */
  channels?: TaskChannels;
  /** When the requester stops waiting (ms since the epoch). */
  deadlineMs?: number;
}

/** The A2A Message of a task call: the arguments as one `data` part. */
export function taskMessage(taskId: string, contextId: string, args: unknown, metadata?: Record<string, unknown>): A2AMessage {
  const m: A2AMessage = { messageId: newId(), taskId, contextId, role: 'ROLE_USER', parts: [{ data: args === undefined ? null : args }] };
  if (metadata && Object.keys(metadata).length > 0) m.metadata = metadata;
  return m;
}

/** User properties of a task message. */
export function taskProperties(env: TaskEnvelope): Record<string, string> {
  const p: Record<string, string> = {
    [AGENT_PROPERTIES.kind]: 'task',
    [AGENT_PROPERTIES.taskId]: env.taskId,
    [AGENT_PROPERTIES.a2aVersion]: A2A_VERSION,
  };
  if (env.channels) {
    p[AGENT_PROPERTIES.replyTopic] = env.channels.replyTopic;
    p[AGENT_PROPERTIES.replyLite] = env.channels.replyLite;
    p[AGENT_PROPERTIES.cancelTopic] = env.channels.cancelTopic;
    p[AGENT_PROPERTIES.cancelLite] = env.channels.cancelLite;
  }
  if (env.deadlineMs !== undefined) p[AGENT_PROPERTIES.deadline] = String(env.deadlineMs);
  return p;
}

/**
 * Reads a task off a capability-topic message. The body is an A2A Message; a body that is some
 * other JSON value (a task sent by hand, e.g. `agentmq send TOPIC '{"x":1}'`) is taken as the
 * arguments, with the message id as task id and no reply channel. Returns a problem string for a
 * body that is not JSON.
 */
export function decodeTask(body: string, properties: Readonly<Record<string, string>>, messageId: string): TaskEnvelope | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch (err) {
    return { problem: `task body is not JSON (${(err as Error).message})` };
  }
  const prop = (k: string): string | undefined => {
    const v = properties[k];
    return v === undefined || v === '' ? undefined : v;
  };
  let message: A2AMessage;
  const problem = isPlainObject(parsed) ? messageProblem(parsed) : 'not an object';
  if (problem === undefined) {
    message = parsed as unknown as A2AMessage;
  } else {
    // Not an A2A Message: the whole body is the arguments.
    message = { messageId: messageId, role: 'ROLE_USER', parts: [{ data: parsed }] };
  }
  const taskId = prop(AGENT_PROPERTIES.taskId) ?? message.taskId ?? messageId;
  const contextId = message.contextId ?? taskId;
  message.taskId ??= taskId;
  message.contextId ??= contextId;
  const env: TaskEnvelope = { taskId, contextId, message };
  const replyTopic = prop(AGENT_PROPERTIES.replyTopic);
  const replyLite = prop(AGENT_PROPERTIES.replyLite);
  if (replyTopic && replyLite) {
    env.channels = {
      replyTopic,
      replyLite,
      cancelTopic: prop(AGENT_PROPERTIES.cancelTopic) ?? DEFAULT_CONTROL_TOPIC,
      cancelLite: prop(AGENT_PROPERTIES.cancelLite) ?? cancelLiteTopicOf(taskId),
    };
  }
  const deadline = Number(prop(AGENT_PROPERTIES.deadline));
  if (Number.isSafeInteger(deadline) && deadline > 0) env.deadlineMs = deadline;
  return env;
}

/**
 * The task's input: the first `data` part's value; else the text of its `text` parts joined by
 * newlines; else undefined.
 */
export function taskInput(message: A2AMessage): unknown {
  for (const p of message.parts) if ('data' in p) return p.data;
  const texts = message.parts.filter((p): p is PartCommon & { text: string } => 'text' in p).map((p) => p.text);
  return texts.length > 0 ? texts.join('\n') : undefined;
}

// --- replies -------------------------------------------------------------------------------------

/** An agent's message in a status: its text as one `text` part. */
export function agentMessage(taskId: string, contextId: string, content: string | Part[] | A2AMessage): A2AMessage {
  if (typeof content === 'object' && !Array.isArray(content)) return { ...content, taskId, contextId, role: content.role ?? 'ROLE_AGENT' };
  return { messageId: newId(), taskId, contextId, role: 'ROLE_AGENT', parts: typeof content === 'string' ? [{ text: content }] : content };
}

/** The parts of a handler's return value: a string as text, anything else as data. */
export function resultParts(value: unknown): Part[] {
  return typeof value === 'string' ? [{ text: value }] : [{ data: value }];
}

/** The value `resultParts` encoded: one data part's value, one text part's text, else the parts. */
export function resultValue(artifact: Artifact | undefined): unknown {
  if (!artifact) return undefined;
  const [only, ...rest] = artifact.parts;
  if (only && rest.length === 0) {
    if ('data' in only) return only.data;
    if ('text' in only) return only.text;
  }
  return artifact.parts;
}

export function isResultArtifact(artifact: Artifact): boolean {
  return artifact.metadata?.[RESULT_ARTIFACT_METADATA] === true;
}

/** Properties of a reply message. */
export function replyProperties(taskId: string, reply: StreamResponse): Record<string, string> {
  const p: Record<string, string> = { [AGENT_PROPERTIES.taskId]: taskId, [AGENT_PROPERTIES.a2aVersion]: A2A_VERSION };
  if ('statusUpdate' in reply) {
    p[AGENT_PROPERTIES.kind] = 'status-update';
    p[AGENT_PROPERTIES.state] = reply.statusUpdate.status.state;
  } else {
    p[AGENT_PROPERTIES.kind] = 'artifact-update';
  }
  return p;
}

/** Parses one reply message body; a problem string when it is not a StreamResponse the SDK can use. */
export function decodeStreamResponse(body: string): StreamResponse | { problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(body) as unknown;
  } catch (err) {
    return { problem: `reply is not JSON (${(err as Error).message})` };
  }
  if (!isPlainObject(v)) return { problem: 'reply is not a JSON object' };
  if (isPlainObject(v.statusUpdate)) {
    const u = v.statusUpdate;
    if (typeof u.taskId !== 'string') return { problem: 'statusUpdate.taskId is missing' };
    if (!isPlainObject(u.status) || !isTaskState(u.status.state)) return { problem: `statusUpdate.status.state is not a TaskState (${JSON.stringify(isPlainObject(u.status) ? u.status.state : u.status)})` };
    if (u.status.message !== undefined && (!isPlainObject(u.status.message) || messageProblem(u.status.message) !== undefined)) {
      return { problem: 'statusUpdate.status.message is not an A2A Message' };
    }
    return { statusUpdate: { ...(u as unknown as TaskStatusUpdateEvent), contextId: typeof u.contextId === 'string' ? u.contextId : u.taskId } };
  }
  if (isPlainObject(v.artifactUpdate)) {
    const u = v.artifactUpdate;
    if (typeof u.taskId !== 'string') return { problem: 'artifactUpdate.taskId is missing' };
    if (!isPlainObject(u.artifact) || typeof u.artifact.artifactId !== 'string' || !Array.isArray(u.artifact.parts)) {
      return { problem: 'artifactUpdate.artifact needs an artifactId and parts' };
    }
    const bad = (u.artifact.parts as unknown[]).findIndex((p) => partProblem(p) !== undefined);
    if (bad >= 0) return { problem: `artifactUpdate.artifact.parts[${bad}] ${partProblem((u.artifact.parts as unknown[])[bad])}` };
    return { artifactUpdate: { ...(u as unknown as TaskArtifactUpdateEvent), contextId: typeof u.contextId === 'string' ? u.contextId : u.taskId } };
  }
  return { problem: 'reply is neither a statusUpdate nor an artifactUpdate' };
}

/** Properties of a cancel request. */
export function cancelProperties(taskId: string): Record<string, string> {
  return { [AGENT_PROPERTIES.kind]: 'cancel', [AGENT_PROPERTIES.taskId]: taskId, [AGENT_PROPERTIES.a2aVersion]: A2A_VERSION };
}

/** Properties of a follow-up message to a task (the answer to INPUT_REQUIRED / AUTH_REQUIRED). */
export function inputProperties(taskId: string): Record<string, string> {
  return { [AGENT_PROPERTIES.kind]: 'input', [AGENT_PROPERTIES.taskId]: taskId, [AGENT_PROPERTIES.a2aVersion]: A2A_VERSION };
}

/**
 * The requester's follow-up as an A2A Message of the task: a string as one text part, an array of
 * A2A parts as they are, anything else as one `data` part.
 */
export function userMessage(taskId: string, contextId: string, content: unknown): A2AMessage {
  const parts: Part[] = typeof content === 'string' ? [{ text: content }] : Array.isArray(content) && content.every((p) => partProblem(p) === undefined) && content.length > 0 ? (content as Part[]) : [{ data: content === undefined ? null : content }];
  return { messageId: newId(), taskId, contextId, role: 'ROLE_USER', parts };
}

/** A follow-up message's body: `{"message": <A2A Message>}` (an A2A SendMessageRequest). */
export function decodeInput(body: string): { message: A2AMessage } | { problem: string } {
  try {
    const v = JSON.parse(body) as unknown;
    if (!isPlainObject(v) || !isPlainObject(v.message)) return { problem: 'follow-up has no message' };
    const problem = messageProblem(v.message);
    if (problem) return { problem: `follow-up message ${problem}` };
    return { message: v.message as unknown as A2AMessage };
  } catch (err) {
    return { problem: `follow-up is not JSON (${(err as Error).message})` };
  }
}

export function decodeCancel(body: string): CancelTaskRequest | { problem: string } {
  try {
    const v = JSON.parse(body) as unknown;
    if (isPlainObject(v) && typeof v.id === 'string' && v.id !== '') return v as unknown as CancelTaskRequest;
    return { problem: 'cancel request has no id' };
  } catch (err) {
    return { problem: `cancel request is not JSON (${(err as Error).message})` };
  }
}

// --- checks --------------------------------------------------------------------------------------

const PART_MEMBERS = ['text', 'data', 'url', 'raw'] as const;

/** Why `p` is not an A2A v1.0 Part, or undefined. */
export function partProblem(p: unknown): string | undefined {
  if (!isPlainObject(p)) return 'must be an object';
  const members = PART_MEMBERS.filter((k) => k in p);
  if (members.length !== 1) return `must have exactly one of ${PART_MEMBERS.join(', ')} (got ${members.length === 0 ? 'none' : members.join(', ')})`;
  const m = members[0]!;
  if (m !== 'data' && typeof p[m] !== 'string') return `${m} must be a string`;
  if ('kind' in p) return 'must not have a kind (A2A v1.0 parts are told apart by their member name)';
  return undefined;
}

/** Why `m` is not an A2A v1.0 Message, or undefined. */
export function messageProblem(m: Record<string, unknown>): string | undefined {
  if (typeof m.messageId !== 'string') return 'messageId is missing';
  if (m.role !== 'ROLE_USER' && m.role !== 'ROLE_AGENT') return `role must be ROLE_USER or ROLE_AGENT (got ${JSON.stringify(m.role)})`;
  if (!Array.isArray(m.parts)) return 'parts must be an array';
  for (const [i, p] of (m.parts as unknown[]).entries()) {
    const problem = partProblem(p);
    if (problem) return `parts[${i}] ${problem}`;
  }
  return undefined;
}

/** `parts` checked as A2A parts; throws a TypeError naming the first bad one. */
export function checkParts(field: string, parts: unknown): Part[] {
  if (!Array.isArray(parts) || parts.length === 0) throw new TypeError(`${field} must be a non-empty array of A2A parts`);
  for (const [i, p] of parts.entries()) {
    const problem = partProblem(p);
    if (problem) throw new TypeError(`${field}[${i}] ${problem}`);
  }
  return parts as Part[];
}
