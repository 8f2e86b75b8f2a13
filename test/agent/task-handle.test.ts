/**
 * TaskHandle unit: a CANCELED answer the supervisor did not ask for, arriving at the call's
 * deadline before the supervisor's own timer fires, is reported as the timeout it is.
 */
import { describe, expect, it } from 'vitest';
import { TaskHandleImpl } from '../../client/agent/task-handle.js';
import { TaskCanceledError, TaskTimeoutError } from '../../client/agent/task-errors.js';

function handle() {
  const cancels: string[] = [];
  const h = new TaskHandleImpl(
    { taskId: 't1', contextId: 't1', topic: 'cap', replyLiteTopic: 'r1' },
    { sendInput: async () => {}, sendCancel: async (_h, reason) => void cancels.push(reason), onEnd: () => {}, cancelGraceMs: 1000 },
  );
  return { h, cancels };
}

const canceled = (text: string) =>
  ({ statusUpdate: { taskId: 't1', contextId: 't1', status: { state: 'TASK_STATE_CANCELED', message: { role: 'ROLE_AGENT', messageId: 'm', parts: [{ text }] }, timestamp: new Date().toISOString() } } }) as never;

/** Blocks the event loop for `ms` (so a due timer cannot run before the next reply is handled). */
const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};

describe('agent - task handle', () => {
  it('task handle - the agent canceling at the deadline before our timer fires is a TASK_TIMEOUT, and no cancel is sent', async () => {
    const { h, cancels } = handle();
    h.arm(50, undefined);
    busy(60); // the deadline passes while this process is busy: the agent's answer is handled first
    h.onReply(canceled('the requester stopped waiting (deadline passed)'));
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskTimeoutError);
    expect((err as Error).message).toBe('no answer within 50 ms; the agent was told to cancel');
    expect(h.status()).toBe('TASK_STATE_CANCELED');
    expect(h.done).toBe(true);
    expect(cancels).toEqual([]);
  });

  it('task handle - a CANCELED answer long before the deadline stays a TASK_CANCELED', async () => {
    const { h } = handle();
    h.arm(60_000, undefined);
    h.onReply(canceled('canceled by an operator'));
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskCanceledError);
    expect((err as Error).message).toBe('canceled by an operator');
  });
});
