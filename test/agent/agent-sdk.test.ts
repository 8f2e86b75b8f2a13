/**
 * The agent SDK end to end on an in-process NameServer + broker: registerAgent (serve tasks in a
 * group, schema checks, cancel, release on close) and Supervisor (discover, call, events, result,
 * timeouts, cancel, fan-out, status, resume).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientError,
  Producer,
  registerAgent,
  silentLogger,
  Supervisor,
  TaskCanceledError,
  TaskFailedError,
  TaskRejectedError,
  TaskTimeoutError,
  type Agent,
  type RegisterAgentOptions,
  type TaskAbortCause,
  type TaskEvent,
  type TaskState,
} from '../../client/index.js';
import { tools } from '../../client/agent/tools.js';
import { gate, sleep, startAgentEnv, until, untilAborted, type AgentTestEnv } from './agent-harness.js';

describe('agents - sub-agents and supervisors', () => {
  let env: AgentTestEnv;
  let sup: Supervisor;
  const agents: Agent[] = [];
  const supervisors: Supervisor[] = [];

  beforeAll(async () => {
    env = await startAgentEnv();
    sup = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 5000, cancelGraceMs: 3000 });
    supervisors.push(sup);
    await sup.start();
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close({ timeoutMs: 200 })));
    await Promise.all(supervisors.map((s) => s.close()));
    await env?.close();
  });

  const agent = async <I, O>(options: Omit<RegisterAgentOptions<I, O>, 'nameserver'>): Promise<Agent> => {
    const a = await registerAgent<I, O>({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 5000, ...options });
    agents.push(a);
    return a;
  };
  const collect = async (events: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> => {
    const out: TaskEvent[] = [];
    for await (const e of events) out.push(e);
    return out;
  };
  const settledStates = (a: Agent): Map<string, TaskState | 'released'> => {
    const m = new Map<string, TaskState | 'released'>();
    a.on('taskSettled', (id, outcome) => m.set(id, outcome));
    return m;
  };

  it('agents - register, discover (live), call: WORKING, artifact chunks, result, COMPLETED in order', async () => {
    const reconciler = await agent<{ invoices: string[] }, { matched: number }>({
      name: 'Invoice Reconciler',
      description: 'Reconciles supplier invoices against purchase orders and flags mismatches.',
      tags: ['finance'],
      skills: [{ name: 'Reconcile invoices', description: 'Match invoices to purchase orders', examples: ['reconcile these supplier invoices with our purchase orders'] }],
      inputSchema: { type: 'object', properties: { invoices: { type: 'array', items: { type: 'string' } } }, required: ['invoices'] },
      outputSchema: { type: 'object', properties: { matched: { type: 'integer' } } },
      handler: async (t) => {
        await t.status('TASK_STATE_WORKING', `reconciling ${t.input.invoices.length} invoices`);
        await t.artifact({ name: 'report', parts: [{ text: 'line 1\n' }], append: false, lastChunk: false });
        await t.artifact({ name: 'report', parts: [{ text: 'line 2\n' }], append: true, lastChunk: true });
        return { matched: t.input.invoices.length };
      },
    });
    expect(reconciler.topic).toBe('invoice-reconciler');
    expect(reconciler.group).toBe('agent-invoice-reconciler');

    let found: Awaited<ReturnType<Supervisor['discover']>> = [];
    await until(async () => {
      found = await sup.discover('reconcile supplier invoices against purchase orders', { topK: 3 });
      return found.some((c) => c.topic === 'invoice-reconciler' && c.live);
    }, 10_000, 'the agent to be discoverable and live');
    const cap = found.find((c) => c.topic === 'invoice-reconciler')!;
    expect(cap).toMatchObject({ name: 'Invoice Reconciler', live: true, tags: ['finance'], inputSchema: { required: ['invoices'] } });
    expect(cap.score).toBeGreaterThan(0);
    expect(cap.skills[0]).toMatchObject({ id: 'reconcile-invoices', name: 'Reconcile invoices' });

    // The capability as an LLM tool; the model's call maps back to the topic and the arguments.
    const set = tools(found, { provider: 'anthropic' });
    const toolCall = set.parseCall(set.names.toolName(cap.topic), { invoices: ['inv-1', 'inv-2', 'inv-3'] });
    const h = await sup.call<{ matched: number }>(toolCall, toolCall.args, { timeoutMs: 10_000 });
    expect(h.taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(h.replyLiteTopic).toBe(`task.${h.taskId}`);
    const [events, result] = await Promise.all([collect(h.events()), h.result()]);
    expect(result).toEqual({ matched: 3 });
    expect(events.map((e) => (e.type === 'status' ? e.status.state : `artifact:${e.artifact.artifactId}${e.append ? '+' : ''}`))).toEqual([
      'TASK_STATE_WORKING',
      'TASK_STATE_WORKING',
      'artifact:report',
      'artifact:report+',
      'artifact:result',
      'TASK_STATE_COMPLETED',
    ]);
    const working = events[1]!;
    expect(working.type === 'status' && working.status.message?.parts).toEqual([{ text: 'reconciling 3 invoices' }]);
    expect(events.every((e) => e.taskId === h.taskId && e.contextId === h.contextId)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'status', final: true });
    expect(h.status()).toBe('TASK_STATE_COMPLETED');
    expect(h.done).toBe(true);
    const snapshot = h.task();
    expect(snapshot.artifacts.find((a) => a.artifactId === 'report')?.parts).toEqual([{ text: 'line 1\n' }, { text: 'line 2\n' }]);
    expect(snapshot.status.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // A second events() replays the same stream.
    expect((await collect(h.events())).length).toBe(events.length);
  });

  it('agents - input that does not match the input schema is REJECTED with the reason, the handler never runs', async () => {
    let runs = 0;
    await agent<{ amount: number }, number>({
      name: 'vat-calculator',
      description: 'Computes VAT for an amount.',
      inputSchema: { type: 'object', properties: { amount: { type: 'number' }, country: { enum: ['FR', 'DE'] } }, required: ['amount'], additionalProperties: false },
      handler: (t) => {
        runs++;
        return t.input.amount * 0.2;
      },
    });
    const h = await sup.call('vat-calculator', { amount: 'ten', country: 'IT', extra: 1 }, { timeoutMs: 10_000 });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskRejectedError);
    const message = (err as Error).message;
    expect(message).toContain('input/amount must be number');
    expect(message).toContain('input/country must be one of "FR", "DE"');
    expect(message).toContain('input must not have property "extra"');
    expect(h.status()).toBe('TASK_STATE_REJECTED');
    expect((await collect(h.events())).map((e) => e.type === 'status' && e.status.state)).toEqual(['TASK_STATE_REJECTED']);
    expect(await (await sup.call('vat-calculator', { amount: 10 })).result()).toBe(2);
    expect(runs).toBe(1);
  });

  it('agents - a handler that throws answers FAILED with its message', async () => {
    await agent({
      name: 'always-fails',
      description: 'Fails every task.',
      handler: () => {
        throw new Error('the ledger is locked');
      },
    });
    const h = await sup.call('always-fails', {});
    await expect(h.result()).rejects.toSatisfy((e: unknown) => e instanceof TaskFailedError && e.message === 'the ledger is locked' && e.taskId === h.taskId && e.topic === 'always-fails');
    expect(h.status()).toBe('TASK_STATE_FAILED');
    expect(sup.task(h.taskId)?.status.message?.parts).toEqual([{ text: 'the ledger is locked' }]);
  });

  it('agents - a result that does not match the output schema ends the task FAILED with the reason (validateOutput: false lets it through)', async () => {
    const outputSchema = { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] } as const;
    await agent<{ bad?: boolean }, unknown>({
      name: 'summer',
      description: 'Adds numbers.',
      outputSchema,
      handler: (t) => (t.input.bad ? { sum: 'seven' } : { sum: 7 }),
    });
    expect(await (await sup.call('summer', {})).result()).toEqual({ sum: 7 });
    const h = await sup.call('summer', { bad: true });
    await expect(h.result()).rejects.toSatisfy((e: unknown) => e instanceof TaskFailedError && e.message === 'result rejected by summer: result/sum must be number');
    expect(h.status()).toBe('TASK_STATE_FAILED');
    expect(h.task().artifacts).toEqual([]); // the wrong result never reached the requester
    await agent<{ bad?: boolean }, unknown>({ name: 'loose-summer', description: 'Adds numbers, unchecked.', outputSchema, validateOutput: false, handler: () => ({ sum: 'seven' }) });
    expect(await (await sup.call('loose-summer', {})).result()).toEqual({ sum: 'seven' });
  });

  it('agents - multi-turn: ask() reports INPUT_REQUIRED / AUTH_REQUIRED with a prompt, reply() answers, the task goes on with the answer', async () => {
    await agent<{ amount: number }, string>({
      name: 'payer',
      description: 'Pays invoices after a confirmation.',
      handler: async (t) => {
        const { input } = await t.ask<{ confirm: boolean }>(`Pay ${t.input.amount} EUR?`);
        if (!input.confirm) return 'not paid';
        const account = await t.ask<string>('Sign in to the bank: which account?', { state: 'TASK_STATE_AUTH_REQUIRED' });
        return `paid ${t.input.amount} from ${account.input}`;
      },
    });
    const waitFor = async (h: { status(): string }, state: string) => {
      for (const deadline = Date.now() + 5000; h.status() !== state; ) {
        if (Date.now() > deadline) throw new Error(`no ${state} (status ${h.status()})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const h = await sup.call<string>('payer', { amount: 40 });
    await waitFor(h, 'TASK_STATE_INPUT_REQUIRED');
    expect(h.task().status.message?.parts).toEqual([{ text: 'Pay 40 EUR?' }]);
    await h.reply({ confirm: true });
    await waitFor(h, 'TASK_STATE_AUTH_REQUIRED');
    await h.reply('ops-account');
    expect(await h.result()).toBe('paid 40 from ops-account');
    const states = (await collect(h.events())).flatMap((e) => (e.type === 'status' ? [e.status.state] : []));
    expect(states).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_WORKING', 'TASK_STATE_AUTH_REQUIRED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    await expect(h.reply('too late')).rejects.toSatisfy((e: unknown) => e instanceof ClientError && e.code === 'CLOSED');

    // A follow-up sent before the question is kept for it; a cancel while waiting aborts ask().
    const early = await sup.call<string>('payer', { amount: 5 });
    await early.reply({ confirm: false });
    expect(await early.result()).toBe('not paid');
    const waiting = await sup.call<string>('payer', { amount: 7 });
    await waitFor(waiting, 'TASK_STATE_INPUT_REQUIRED');
    expect(await waiting.cancel('changed my mind')).toBe('TASK_STATE_CANCELED');
  });

  it('agents - a timeout rejects with TaskTimeoutError and aborts the handler', async () => {
    const aborted: TaskAbortCause[] = [];
    const slow = await agent({
      name: 'slow-timeout',
      description: 'Takes forever.',
      handler: async (t) => {
        try {
          return await untilAborted(t.signal);
        } finally {
          aborted.push(t.abortCause!);
        }
      },
    });
    const settled = settledStates(slow);
    const t0 = Date.now();
    const h = await sup.call('slow-timeout', { x: 1 }, { timeoutMs: 600 });
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskTimeoutError);
    expect(err).toMatchObject({ timeoutMs: 600, taskId: h.taskId, code: 'TASK_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(h.status()).toBe('TASK_STATE_CANCELED');
    await expect(collect(h.events())).rejects.toBeInstanceOf(TaskTimeoutError);
    await until(() => aborted.length === 1, 5000, 'the handler to see the abort');
    expect(['canceled', 'deadline']).toContain(aborted[0]);
    await until(() => settled.get(h.taskId) === 'TASK_STATE_CANCELED', 5000, 'the agent to answer CANCELED');
  });

  it('agents - cancel(): the handler sees the abort, the agent answers CANCELED', async () => {
    const aborted: { cause: TaskAbortCause | undefined; reason: unknown }[] = [];
    await agent({
      name: 'slow-cancel',
      description: 'Works until canceled.',
      handler: async (t) => {
        try {
          return await untilAborted(t.signal);
        } finally {
          aborted.push({ cause: t.abortCause, reason: t.signal.reason });
        }
      },
    });
    const h = await sup.call('slow-cancel', {}, { timeoutMs: 20_000 });
    const it = h.events()[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: 'status', status: { state: 'TASK_STATE_WORKING' } });
    expect(sup.status(h.taskId)).toBe('TASK_STATE_WORKING');
    expect(await h.cancel('the user changed their mind')).toBe('TASK_STATE_CANCELED');
    await expect(h.result()).rejects.toBeInstanceOf(TaskCanceledError);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]!.cause).toBe('canceled');
    expect(aborted[0]!.reason).toBeInstanceOf(TaskCanceledError);
    // The agent's own CANCELED update ended the stream (not the supervisor's grace period).
    const last = (await it.next()).value as TaskEvent;
    expect(last).toMatchObject({ type: 'status', final: true, status: { state: 'TASK_STATE_CANCELED' } });
    expect(last.type === 'status' && last.status.message?.parts[0]).toMatchObject({ text: expect.stringContaining('the user changed their mind') });
    expect((await it.next()).done).toBe(true);

    // An AbortSignal cancels too.
    const ac = new AbortController();
    const h2 = await sup.call('slow-cancel', {}, { signal: ac.signal });
    await until(() => h2.status() === 'TASK_STATE_WORKING', 5000, 'the second task to start');
    ac.abort();
    await expect(h2.result()).rejects.toBeInstanceOf(TaskCanceledError);
    expect(aborted.map((a) => a.cause)).toEqual(['canceled', 'canceled']);
  });

  it('agents - instances of one group share the tasks, each task runs once', async () => {
    const ranOn = new Map<string, string[]>();
    const worker = (instance: string) =>
      agent<{ n: number }, string>({
        name: 'shared-worker',
        description: 'Squares numbers slowly.',
        concurrency: 1,
        handler: async (t) => {
          ranOn.set(t.taskId, [...(ranOn.get(t.taskId) ?? []), instance]);
          await sleep(80);
          return `${t.input.n * t.input.n}@${instance}`;
        },
      });
    await worker('a');
    await worker('b');
    const calls = Array.from({ length: 8 }, (_, n) => ({ target: 'shared-worker', args: { n } }));
    const results = await sup.callMany<string>(calls, { timeoutMs: 20_000 });
    expect(results.map((r) => r.split('@')[0])).toEqual(['0', '1', '4', '9', '16', '25', '36', '49']);
    expect(ranOn.size).toBe(8);
    expect([...ranOn.values()].every((v) => v.length === 1)).toBe(true);
    const perInstance = (i: string) => results.filter((r) => r.endsWith(`@${i}`)).length;
    expect(perInstance('a')).toBeGreaterThan(0);
    expect(perInstance('b')).toBeGreaterThan(0);
  });

  it('agents - callMany: all (gather), first (the rest canceled), settled (partial results)', async () => {
    const echo = await agent<{ value: string; delayMs?: number; fail?: boolean }, string>({
      name: 'echo',
      description: 'Echoes a value after a delay.',
      handler: async (t) => {
        await sleep(t.input.delayMs ?? 0, t.signal);
        if (t.input.fail) throw new Error(`failed ${t.input.value}`);
        return t.input.value;
      },
    });
    const settled = settledStates(echo);
    expect(await sup.callMany([{ target: 'echo', args: { value: 'a' } }, { target: 'echo', args: { value: 'b', delayMs: 50 } }])).toEqual(['a', 'b']);

    const first = await sup.callMany<string>(
      [
        { target: 'echo', args: { value: 'slow', delayMs: 10_000 } },
        { target: 'echo', args: { value: 'fast', delayMs: 30 } },
      ],
      { mode: 'first', timeoutMs: 20_000 },
    );
    expect(first).toMatchObject({ index: 1, value: 'fast' });
    await until(() => [...settled.values()].filter((s) => s === 'TASK_STATE_CANCELED').length === 1, 5000, 'the slow call to be canceled');

    const partial = await sup.callMany<string>(
      [
        { target: 'echo', args: { value: 'ok' } },
        { target: 'echo', args: { value: 'bad', fail: true } },
        { target: 'no-such-topic-anywhere', args: {} },
      ],
      { mode: 'settled' },
    );
    expect(partial[0]).toMatchObject({ index: 0, status: 'fulfilled', value: 'ok' });
    expect(partial[1]).toMatchObject({ index: 1, status: 'rejected' });
    expect(partial[1]!.status === 'rejected' && partial[1]!.reason).toBeInstanceOf(TaskFailedError);
    expect(partial[2]).toMatchObject({ index: 2, status: 'rejected', taskId: undefined });

    await expect(sup.callMany([{ target: 'echo', args: { value: 'x', fail: true } }, { target: 'echo', args: { value: 'y', delayMs: 5000 } }])).rejects.toBeInstanceOf(TaskFailedError);
    await expect(sup.callMany([{ target: 'echo', args: { value: 'x', fail: true } }], { mode: 'first' })).rejects.toBeInstanceOf(AggregateError);
  });

  it('agents - status(taskId) answers from the supervisor state, also after the agent is gone', async () => {
    const open = gate();
    const gated = await agent({
      name: 'gated-status',
      description: 'Waits for a gate.',
      handler: async (t) => {
        await t.artifact({ name: 'partial', parts: [{ data: { step: 1 } }] });
        await open.wait;
        return 'done';
      },
    });
    const h = await sup.call('gated-status', {});
    expect(sup.status(h.taskId)).toBe('TASK_STATE_SUBMITTED');
    await until(() => sup.task(h.taskId)?.artifacts.length === 1, 5000, 'the partial artifact');
    expect(sup.status(h.taskId)).toBe('TASK_STATE_WORKING');
    expect(sup.running()).toContain(h.taskId);
    open.open();
    expect(await h.result()).toBe('done');
    await gated.close();
    expect(sup.status(h.taskId)).toBe('TASK_STATE_COMPLETED');
    expect(sup.task(h.taskId)?.artifacts.map((a) => a.artifactId)).toEqual(['partial', 'result']);
    expect(sup.running()).not.toContain(h.taskId);
    expect(sup.status('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('agents - close() releases an unfinished task to another instance', async () => {
    const seen: { instance: string; attempt: number; cause?: TaskAbortCause }[] = [];
    const options = (instance: string): Omit<RegisterAgentOptions<unknown, string>, 'nameserver'> => ({
      name: 'releasing-worker',
      description: 'Finishes tasks, unless it is closing.',
      concurrency: 1,
      closeTimeoutMs: 200,
      handler: async (t) => {
        seen.push({ instance, attempt: t.attempt });
        if (instance === 'a') {
          await untilAborted(t.signal).catch(() => undefined);
          seen.push({ instance, attempt: t.attempt, cause: t.abortCause! });
          return 'never sent';
        }
        return `done by ${instance} (attempt ${t.attempt})`;
      },
    });
    const a = await agent(options('a'));
    const outcomes = settledStates(a);
    const started = new Promise<string>((resolve) => a.once('taskStarted', (id) => resolve(id)));
    const h = await sup.call<string>('releasing-worker', {}, { timeoutMs: 20_000 });
    expect(await started).toBe(h.taskId);
    await agent(options('b'));
    await a.close();
    expect(outcomes.get(h.taskId)).toBe('released');
    expect(await h.result()).toBe('done by b (attempt 2)');
    expect(seen).toEqual([
      { instance: 'a', attempt: 1 },
      { instance: 'a', attempt: 1, cause: 'shutdown' },
      { instance: 'b', attempt: 2 },
    ]);
    await a.close(); // idempotent
  });

  it('agents - a task whose instance crashed is redelivered to another instance (at-least-once)', async () => {
    const options = (instance: string): Omit<RegisterAgentOptions<unknown, string>, 'nameserver'> => ({
      name: 'crashing-worker',
      description: 'Loses its process mid-task.',
      concurrency: 1,
      invisibleDurationMs: 1000,
      closeTimeoutMs: 100,
      handler: async (t) => {
        if (instance === 'a') await new Promise(() => undefined); // hangs: its process "dies" below
        return `done by ${instance} (attempt ${t.attempt})`;
      },
    });
    const a = await agent(options('a'));
    const started = new Promise<string>((resolve) => a.once('taskStarted', (id) => resolve(id)));
    const h = await sup.call<string>('crashing-worker', {}, { timeoutMs: 20_000 });
    expect(await started).toBe(h.taskId);
    // a reported WORKING (sent right after its handler started); then it "crashes".
    for (const deadline = Date.now() + 5000; h.status() !== 'TASK_STATE_WORKING' && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect(h.status()).toBe('TASK_STATE_WORKING');
    // The crash: a's clients stop talking to the broker (no lease renewal, no nack, no replies).
    const inner = a as unknown as { tasks: { close(): Promise<void> }; producer: { close(): Promise<void> } };
    await Promise.all([inner.tasks.close(), inner.producer.close()]);
    await agent(options('b'));
    expect(await h.result()).toBe('done by b (attempt 2)');
    expect(h.task().status.state).toBe('TASK_STATE_COMPLETED');
    const attempts = (await collect(h.events())).flatMap((e) => (e.type === 'status' ? [e.metadata?.['agentmq.attempt']] : []));
    expect(attempts).toEqual([1, 2, 2]);
  });

  it('agents - a copy of a running task joins it instead of running twice; a raw JSON task is served', async () => {
    const open = gate();
    const inputs: unknown[] = [];
    await agent({
      name: 'dedup-worker',
      description: 'Counts its runs.',
      handler: async (t) => {
        inputs.push(t.input);
        await open.wait;
        return 'ok';
      },
    });
    const producer = new Producer({ nameserver: env.nameserver, logger: silentLogger });
    await producer.start();
    try {
      const h = await sup.call('dedup-worker', { copy: 0 });
      await until(() => inputs.length === 1, 5000, 'the task to start');
      // Another task runs alongside; a copy of the first (same task id, as a redelivery would bring
      // it; no dedup key, so the broker stores it) joins the running one.
      const again = await sup.call('dedup-worker', { copy: 1 });
      await producer.send({
        topic: 'dedup-worker',
        body: JSON.stringify({ messageId: 'm-copy', taskId: h.taskId, contextId: h.contextId, role: 'ROLE_USER', parts: [{ data: { copy: 2 } }] }),
        properties: { 'agentmq.kind': 'task', 'agentmq.task.id': h.taskId },
      });
      await sleep(300);
      expect(inputs).toEqual([{ copy: 0 }, { copy: 1 }]);
      open.open();
      expect(await h.result()).toBe('ok');
      expect(await again.result()).toBe('ok');
      // A message that is plain JSON (no A2A envelope, no reply channel) runs with it as input.
      await producer.send({ topic: 'dedup-worker', body: '{"raw":true}' });
      await until(() => inputs.length === 3, 5000, 'the raw task to run');
      expect(inputs[2]).toEqual({ raw: true });
    } finally {
      await producer.close();
    }
  });

  it('agents - resume(): a new supervisor follows a task the closed one started', async () => {
    const open = gate();
    const worker = await agent({
      name: 'resumable',
      description: 'Finishes when the gate opens.',
      handler: async (t) => {
        await t.artifact({ name: 'progress', parts: [{ text: 'half way' }] });
        await open.wait;
        return { answer: 42 };
      },
    });
    const outcomes = settledStates(worker);
    const first = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 5000 });
    supervisors.push(first);
    const h = await first.call('resumable', {}, { timeoutMs: 20_000 });
    await until(() => h.task().artifacts.length === 1, 5000, 'the progress artifact');
    const { taskId, replyLiteTopic } = h;
    await first.close();
    await expect(h.result()).rejects.toSatisfy((e: unknown) => e instanceof ClientError && e.code === 'CLOSED');
    open.open();
    await until(() => outcomes.get(taskId) === 'TASK_STATE_COMPLETED', 5000, 'the agent to finish meanwhile');

    const second = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 5000 });
    supervisors.push(second);
    const resumed = await second.resume<{ answer: number }>(taskId, replyLiteTopic);
    expect(await resumed.result()).toEqual({ answer: 42 });
    expect((await collect(resumed.events())).map((e) => (e.type === 'status' ? e.status.state : e.artifact.artifactId))).toEqual([
      'TASK_STATE_WORKING',
      'progress',
      'result',
      'TASK_STATE_COMPLETED',
    ]);
    expect(resumed.contextId).toBe(h.contextId);
    expect(second.status(taskId)).toBe('TASK_STATE_COMPLETED');
  });

  it('agents - bad options and targets fail fast with the field named', async () => {
    await expect(registerAgent({ nameserver: env.nameserver, logger: silentLogger, handler: () => 1 })).rejects.toThrow(/name is required/);
    await expect(
      registerAgent({ nameserver: env.nameserver, logger: silentLogger, name: 'bad-schema', description: 'x', inputSchema: { type: 'object', properties: { a: { type: 'nonsense' } } }, handler: () => 1 }),
    ).rejects.toThrow(/inputSchema/);
    await expect(sup.call('not a topic!', {})).rejects.toThrow(/target/);
    await expect(sup.call('no-such-capability', {})).rejects.toBeDefined();
    expect(sup.running()).not.toContain(undefined);
  });
});
