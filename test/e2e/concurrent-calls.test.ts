/**
 * 1,000 concurrent calls from one Supervisor (Promise.all) to an agent served by 2 instances
 * (concurrency 64 each) on an in-process NameServer + broker: every call completes with its own
 * result, none lost, none answered twice, and each task ran once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, silentLogger, Supervisor, type Agent } from '../../client/index.js';
import { startAgentEnv, type AgentTestEnv } from '../agent/agent-harness.js';

const CALLS = 1000;

describe('e2e - 1,000 concurrent calls from one supervisor', () => {
  let env: AgentTestEnv;
  const agents: Agent[] = [];
  let sup: Supervisor;

  beforeAll(async () => {
    env = await startAgentEnv();
  });
  afterAll(async () => {
    await sup?.close();
    await Promise.all(agents.map((a) => a.close({ timeoutMs: 200 })));
    await env?.close();
  });

  it(`e2e - ${CALLS} concurrent calls, 2 instances x concurrency 64: each call gets its own result, no loss, no duplicate`, async () => {
    const runs = new Map<number, number>(); // input n -> times a handler ran it
    const served = new Map<string, number>(); // instance -> tasks
    for (const instance of ['a', 'b']) {
      agents.push(
        await registerAgent<{ n: number }, { n: number; square: number; by: string }>({
          nameserver: env.nameserver,
          logger: silentLogger,
          name: 'squarer',
          description: 'Squares a number.',
          inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          concurrency: 64,
          awaitDurationMs: 5000,
          handler: async (t) => {
            runs.set(t.input.n, (runs.get(t.input.n) ?? 0) + 1);
            served.set(instance, (served.get(instance) ?? 0) + 1);
            await new Promise((r) => setTimeout(r, 1)); // a little async work
            return { n: t.input.n, square: t.input.n * t.input.n, by: instance };
          },
        }),
      );
    }
    sup = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 5000 });
    await sup.start();

    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: CALLS }, async (_, n) => {
        const h = await sup.call<{ n: number; square: number; by: string }>('squarer', { n }, { timeoutMs: 25_000 });
        return { taskId: h.taskId, result: await h.result() };
      }),
    );
    const wallMs = performance.now() - t0;
    console.log(
      `[e2e] ${CALLS} concurrent calls completed in ${wallMs.toFixed(0)} ms (${((CALLS / wallMs) * 1000).toFixed(0)} calls/s); served: ${[...served].map(([k, v]) => `${k}=${v}`).join(' ')}`,
    );

    expect(results).toHaveLength(CALLS);
    results.forEach((r, n) => expect(r.result).toMatchObject({ n, square: n * n }));
    expect(new Set(results.map((r) => r.taskId)).size).toBe(CALLS);
    // Each task ran exactly once (no redelivery under load) ...
    expect(runs.size).toBe(CALLS);
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    // ... and both instances took a share.
    expect(served.get('a') ?? 0).toBeGreaterThan(0);
    expect(served.get('b') ?? 0).toBeGreaterThan(0);
    // Every call ended: nothing left running, every status terminal.
    expect(sup.running()).toEqual([]);
    expect(results.every((r) => sup.status(r.taskId) === 'TASK_STATE_COMPLETED')).toBe(true);
  }, 30_000);
});
