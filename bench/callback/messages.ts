/**
 * The messages of the agent callback pattern, identical for every system: a 1 KiB task (JSON,
 * carrying the task id and the reply channel's name) and the three replies the worker sends back
 * on that channel — "working" (small), "artifact" (1 KiB) and "completed" (small, the final
 * result). Bodies are JSON so every worker really parses what it received.
 *
 * Systems only move bytes: the supervisor builds the task with `encodeTask`, the worker turns it
 * into its three replies with `workerReplies`, and the harness checks what arrived with
 * `verifyReplies`.
 */

/** Size of a task body and of the artifact reply, bytes. */
export const TASK_BYTES = 1024;
export const ARTIFACT_BYTES = 1024;

/** The replies of one task, in the order the worker sends them and the supervisor must see them. */
export const REPLY_KINDS = ['working', 'artifact', 'completed'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];
export const REPLIES_PER_TASK = REPLY_KINDS.length;

export interface TaskMessage {
  type: 'task';
  id: string;
  /** The system-specific name of the task's reply channel (subject, stream key, topic, lite topic). */
  replyTo: string;
  prompt: string;
}

export interface ReplyMessage {
  type: 'reply';
  task: string;
  /** 0, 1, 2: position in REPLY_KINDS. */
  seq: number;
  kind: ReplyKind;
  /** Filler of the artifact (absent in the small replies). */
  content?: string;
  result?: string;
}

export type Body = Uint8Array | string;

const text = (b: Body): string => (typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));

/** JSON of `obj` with its `pad` field filled so the whole body is exactly `bytes` long (ASCII). */
function padded(obj: Record<string, unknown>, pad: string, bytes: number): Buffer {
  const bare = JSON.stringify({ ...obj, [pad]: '' });
  const fill = Math.max(0, bytes - Buffer.byteLength(bare));
  return Buffer.from(JSON.stringify({ ...obj, [pad]: 'x'.repeat(fill) }));
}

/** The 1 KiB task body the supervisor dispatches. */
export function encodeTask(id: string, replyTo: string): Buffer {
  return padded({ type: 'task', id, replyTo }, 'prompt', TASK_BYTES);
}

export function decodeTask(body: Body): TaskMessage {
  const m = JSON.parse(text(body)) as Partial<TaskMessage>;
  if (m.type !== 'task' || typeof m.id !== 'string' || typeof m.replyTo !== 'string') throw new Error('not a task message');
  return m as TaskMessage;
}

function encodeReply(task: string, seq: number): Buffer {
  const kind = REPLY_KINDS[seq]!;
  const head = { type: 'reply', task, seq, kind };
  if (kind === 'artifact') return padded(head, 'content', ARTIFACT_BYTES);
  if (kind === 'completed') return Buffer.from(JSON.stringify({ ...head, result: `task ${task} done` }));
  return Buffer.from(JSON.stringify(head));
}

export function decodeReply(body: Body): ReplyMessage {
  const m = JSON.parse(text(body)) as Partial<ReplyMessage>;
  if (m.type !== 'reply' || typeof m.task !== 'string' || typeof m.seq !== 'number' || !REPLY_KINDS.includes(m.kind as ReplyKind)) {
    throw new Error('not a reply message');
  }
  return m as ReplyMessage;
}

/**
 * What a worker does with a task body: parse it and build its three replies, in sending order.
 * The worker must send them on `replyTo` in this order, then acknowledge the task.
 */
export function workerReplies(taskBody: Body): { task: TaskMessage; replies: Buffer[] } {
  const task = decodeTask(taskBody);
  return { task, replies: REPLY_KINDS.map((_, seq) => encodeReply(task.id, seq)) };
}

/** Why the replies a supervisor received for `taskId` are wrong, or undefined when they are right. */
export function verifyReplies(taskId: string, replies: readonly ReplyMessage[]): string | undefined {
  if (replies.length !== REPLIES_PER_TASK) {
    return `task ${taskId}: ${replies.length} replies instead of ${REPLIES_PER_TASK} (${replies.map((r) => r.kind).join(', ') || 'none'})`;
  }
  for (let i = 0; i < REPLIES_PER_TASK; i++) {
    const r = replies[i]!;
    if (r.task !== taskId) return `task ${taskId}: reply ${i} belongs to task ${r.task}`;
    if (r.seq !== i || r.kind !== REPLY_KINDS[i]) {
      return `task ${taskId}: out of order: got ${replies.map((x) => `${x.seq}:${x.kind}`).join(', ')}, expected ${REPLY_KINDS.map((k, j) => `${j}:${k}`).join(', ')}`;
    }
  }
  return undefined;
}
