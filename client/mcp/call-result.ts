/**
 * How the MCP server words what happens to a task: progress messages from status updates and
 * artifacts, and `tools/call` results from the task's result or the way it failed.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MqError } from '../../proto/common/errors.js';
import { ClientError } from '../errors.js';
import { isResultArtifact, type Part, type TaskState } from '../agent/protocol.js';
import { TaskError, TaskTimeoutError } from '../agent/task-errors.js';
import type { TaskEvent } from '../agent/task-handle.js';

/** Longest progress message (characters); longer text is cut with an ellipsis. */
export const MAX_PROGRESS_MESSAGE_CHARS = 1000;

/** `_meta` keys of a tools/call result. */
export const MCP_TASK_META_KEYS = {
  taskId: 'dev.agentmq/taskId',
  topic: 'dev.agentmq/topic',
  state: 'dev.agentmq/state',
} as const;

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** `TASK_STATE_WORKING` → `working`. */
export function stateWord(state: TaskState): string {
  return state.replace(/^TASK_STATE_/, '').toLowerCase().replace(/_/g, '-');
}

/** Parts as one line of text: text as it is, data as JSON, a URL as it is, raw bytes by size. */
export function partsText(parts: readonly Part[]): string {
  return parts
    .map((p) => {
      if ('text' in p) return p.text;
      if ('data' in p) return JSON.stringify(p.data) ?? '';
      if ('url' in p) return p.url;
      return `[${Math.floor((p.raw.length * 3) / 4)} bytes]`;
    })
    .filter((s) => s !== '')
    .join(' ');
}

/**
 * The progress message of one task event; undefined for events not worth one (the result
 * artifact: the result itself is the answer).
 */
export function progressMessage(e: TaskEvent): string | undefined {
  if (e.type === 'status') {
    const text = partsText(e.status.message?.parts ?? []).trim();
    return clip(`${stateWord(e.status.state)}${text ? `: ${text}` : ''}`, MAX_PROGRESS_MESSAGE_CHARS);
  }
  if (isResultArtifact(e.artifact)) return undefined;
  const name = e.artifact.name ?? e.artifact.artifactId;
  const text = partsText(e.artifact.parts).trim();
  return clip(`artifact ${name}${e.append ? ' (continued)' : ''}${text ? `: ${text}` : ''}`, MAX_PROGRESS_MESSAGE_CHARS);
}

/** Which task a result is about (its `_meta`). */
export interface TaskRef {
  taskId: string;
  topic: string;
  state: TaskState;
}

function meta(ref: TaskRef | undefined): Record<string, unknown> | undefined {
  if (!ref) return undefined;
  return { [MCP_TASK_META_KEYS.taskId]: ref.taskId, [MCP_TASK_META_KEYS.topic]: ref.topic, [MCP_TASK_META_KEYS.state]: ref.state };
}

/**
 * The result of a completed task: one text block (the value as JSON, a string as it is; the
 * structured content as JSON when there is one) and `structuredContent` when the tool has an
 * output schema.
 */
export function successResult(value: unknown, structured: Record<string, unknown> | undefined, ref: TaskRef): CallToolResult {
  let text: string;
  if (structured !== undefined) text = JSON.stringify(structured);
  else if (value === undefined) text = 'completed (the agent returned no result)';
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value) ?? String(value);
  const m = meta(ref);
  return { content: [{ type: 'text', text }], ...(structured !== undefined ? { structuredContent: structured } : {}), ...(m ? { _meta: m } : {}) };
}

/** A tool error (`isError: true`) with `text` as its one content block. */
export function errorText(text: string, ref?: TaskRef): CallToolResult {
  const m = meta(ref);
  return { content: [{ type: 'text', text }], isError: true, ...(m ? { _meta: m } : {}) };
}

/**
 * What went wrong, as the model should read it: `TASK_FAILED: <the agent's message>`,
 * `TASK_REJECTED: ...`, `TASK_CANCELED: ...`, `TASK_TIMEOUT: ...`, or the client error's code
 * and message (the task could not be sent, the server is closing ...).
 */
export function describeError(err: unknown): string {
  if (err instanceof TaskTimeoutError) return `${err.code}: no answer within ${err.timeoutMs} ms; the agent was told to cancel`;
  if (err instanceof TaskError) return `${err.code}: ${err.message}`;
  if (err instanceof ClientError || err instanceof MqError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export function errorResult(err: unknown, ref?: TaskRef): CallToolResult {
  return errorText(describeError(err), ref);
}
