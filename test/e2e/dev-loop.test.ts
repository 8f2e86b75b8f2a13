/**
 * The whole agent loop against `agentmq dev` in a child process, and again against a cluster of
 * 2 NameServers + 2 brokers (`agentmq cluster up`), with the sub-agent instances in
 * child processes of their own (test/e2e/fixtures/agent-process.ts): register, discover, tool
 * rendering for every provider (names checked against each provider's rule), call → stream →
 * result, timeout, cancellation, an agent process SIGKILLed mid-task (the task is redelivered to
 * the other instance and completes), a supervisor restart mid-task (resume → the result).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerAgent,
  silentLogger,
  Supervisor,
  TaskCanceledError,
  TaskTimeoutError,
  tools,
  toolNameRule,
  ClientError,
  type Agent,
  type AnthropicTool,
  type DiscoveredCapability,
  type McpTool,
  type OpenAIChatTool,
  type OpenAIResponsesTool,
  type TaskEvent,
  type ToolProvider,
} from '../../client/index.js';
import { startDev } from '../helpers/dev-process.js';
import { agentmq, clusterProcesses, freePortRange } from '../helpers/cluster-process.js';
import { AdminClient } from '../../client/index.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { startAgentProcess, type AgentProcess } from './agent-procs.js';

const TOPIC = 'ledger-auditor';

interface Env {
  nameserver: string;
  stop(): Promise<void>;
}

/** `agentmq dev`: a NameServer and a broker in one process. */
async function devEnv(dir: string): Promise<Env> {
  const dev = await startDev({ dataDir: dir, flush: 'async', extraArgs: ['--embedder', 'lexical', '--max-long-polling-ms', '2000'] });
  return { nameserver: dev.nameserver, stop: async () => void (await dev.stop()) };
}

/** `agentmq cluster up --nameservers 2 --brokers 2`: clients get both NameServers. */
async function clusterEnv(dir: string): Promise<Env> {
  const base = await freePortRange(4);
  const up = await agentmq(['cluster', 'up', '--data-dir', dir, '--nameservers', '2', '--brokers', '2', '--base-port', String(base), '--embedder', 'lexical', '--max-long-polling-ms', '2000', '--register-interval-ms', '1000']);
  if (up.code !== 0) throw new Error(`cluster up failed:\n${up.stdout}\n${up.stderr}`);
  const nameserver = clusterProcesses(dir).filter((p) => p.role === 'nameserver').map((p) => `127.0.0.1:${p.port}`).join(';');
  // Both brokers registered before the agents create their topics "on every live broker".
  const admin = new AdminClient({ nameserver, logger: silentLogger });
  const deadline = Date.now() + 15_000;
  while ((await admin.listBrokers()).length < 2) {
    if (Date.now() > deadline) throw new Error('the two brokers did not register');
    await new Promise((r) => setTimeout(r, 100));
  }
  await admin.close();
  return { nameserver, stop: async () => void (await agentmq(['cluster', 'down', '--data-dir', dir])) };
}

agentLoop('e2e dev', 'agentmq dev', devEnv);
agentLoop('e2e cluster', '2 NameServers + 2 brokers', clusterEnv);

function agentLoop(label: string, what: string, start: (dir: string) => Promise<Env>): void {
describe(`${label} - the agent loop on ${what} (child processes)`, () => {
  const dir = tmpDir('agentmq-e2e-loop-');
  let env: Env;
  let sup: Supervisor;
  const procs: AgentProcess[] = [];
  const supervisors: Supervisor[] = [];
  const inProcess: Agent[] = [];

  beforeAll(async () => {
    env = await start(dir.path);
    // Two instances of one capability, each in its own process (started one after the other:
    // the first creates the topic).
    procs.push(await startAgentProcess(env.nameserver, 'a'));
    procs.push(await startAgentProcess(env.nameserver, 'b'));
    sup = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 2000, cancelGraceMs: 3000 });
    supervisors.push(sup);
    await sup.start();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(supervisors.map((s) => s.close()));
    await Promise.all(inProcess.map((a) => a.close({ timeoutMs: 200 })));
    await Promise.all(procs.map((p) => p.stop()));
    await env?.stop();
    dir.cleanup();
  }, 30_000);

  const collect = async (events: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> => {
    const out: TaskEvent[] = [];
    for await (const e of events) out.push(e);
    return out;
  };
  const shape = (e: TaskEvent): string => (e.type === 'status' ? e.status.state : `artifact:${e.artifact.artifactId}${e.append ? '+' : ''}`);

  let found: DiscoveredCapability[] = [];

  it(`${label} - register (2 agent processes) and discover: the capability is found first and live`, async () => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      found = await sup.discover('audit these ledger entries and report the total', { topK: 3 });
      if (found[0]?.topic === TOPIC && found[0].live) break;
      if (Date.now() > deadline) throw new Error(`not discovered: ${JSON.stringify(found.map((c) => [c.topic, c.live]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(found[0]).toMatchObject({ topic: TOPIC, name: 'Ledger Auditor', live: true, tags: ['finance', 'accounting'], inputSchema: { required: ['mode'] } });
    expect(found[0]!.skills[0]).toMatchObject({ id: 'audit-a-ledger' });
  });

  it(`${label} - tools() for openai-chat, openai-responses, anthropic and mcp: names follow each rule, calls map back`, async () => {
    // A second capability whose topic is not a legal OpenAI / Anthropic tool name ('%').
    inProcess.push(
      await registerAgent({ nameserver: env.nameserver, logger: silentLogger, topic: 'ledger%fx', name: 'FX Ledger', description: 'Converts ledger amounts between currencies.', awaitDurationMs: 2000, handler: () => 'ok' }),
    );
    // The catalog is eventually consistent (brokers report to every NameServer): wait for it.
    let fx = await sup.capability('ledger%fx');
    for (const deadline = Date.now() + 10_000; !fx && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 100));
      fx = await sup.capability('ledger%fx');
    }
    expect(fx).toBeDefined();
    const caps = [found[0]!, fx!];
    const providers: ToolProvider[] = ['openai-chat', 'openai-responses', 'anthropic', 'mcp'];
    for (const provider of providers) {
      const set = tools(caps, { provider });
      const rule = toolNameRule(provider);
      const names = set.tools.map((t) => {
        switch (provider) {
          case 'openai-chat': {
            const tool = t as OpenAIChatTool;
            expect(tool.type).toBe('function');
            expect(tool.function.parameters).toMatchObject({ type: 'object' });
            return tool.function.name;
          }
          case 'openai-responses': {
            const tool = t as OpenAIResponsesTool;
            expect(tool.type).toBe('function');
            expect(tool.parameters).toMatchObject({ type: 'object' });
            return tool.name;
          }
          case 'anthropic': {
            const tool = t as AnthropicTool;
            expect(tool.input_schema).toMatchObject({ type: 'object' });
            return tool.name;
          }
          case 'mcp': {
            const tool = t as McpTool;
            expect(tool.inputSchema).toMatchObject({ type: 'object' });
            return tool.name;
          }
        }
      });
      expect(names, provider).toHaveLength(2);
      for (const n of names) expect(n, `${provider}: ${n}`).toMatch(rule.pattern);
      expect(new Set(names).size).toBe(2);
      if (provider !== 'mcp') {
        expect(names).toContain(TOPIC);
        expect(names.every((n) => /^[a-zA-Z0-9_-]{1,64}$/.test(n))).toBe(true);
        expect(names.some((n) => n.includes('%'))).toBe(false);
      }
      // The reverse map, and a model's call (arguments as a JSON string, as OpenAI sends them).
      for (const cap of caps) expect(set.names.topicOf(set.names.toolName(cap.topic))).toBe(cap.topic);
      const call = set.parseCall(set.names.toolName(TOPIC), JSON.stringify({ mode: 'stream', numbers: [1, 2] }));
      expect(call.topic).toBe(TOPIC);
      expect(call.args).toMatchObject({ mode: 'stream', numbers: [1, 2] });
    }
    // Discover and render in one step: Supervisor.tools(query, { provider, ...discover options }).
    const direct = await sup.tools('audit these ledger entries and report the total', { provider: 'openai-responses', topK: 1 });
    expect(direct.tools.map((t) => t.name)).toEqual([TOPIC]);
    expect(direct.names.topicOf(TOPIC)).toBe(TOPIC);
    // One of them through the broker: the fx agent answers.
    const set = tools(caps, { provider: 'openai-chat' });
    const fxCall = set.parseCall(set.names.toolName('ledger%fx'), '{}');
    expect(await (await sup.call(fxCall, fxCall.args, { timeoutMs: 10_000 })).result()).toBe('ok');
  });

  it(`${label} - call (from a rendered tool call) → streamed WORKING, artifact chunks, result, COMPLETED in order`, async () => {
    const set = tools(found, { provider: 'anthropic' });
    const toolCall = set.parseCall(set.names.toolName(TOPIC), { mode: 'stream', numbers: [10, 20, 12.5] });
    const h = await sup.call<{ sum: number; by: string }>(toolCall, toolCall.args, { timeoutMs: 10_000 });
    const [events, result] = await Promise.all([collect(h.events()), h.result()]);
    expect(result.sum).toBe(42.5);
    expect(['a', 'b']).toContain(result.by);
    expect(events.map(shape)).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_WORKING', 'artifact:audit', 'artifact:audit+', 'artifact:result', 'TASK_STATE_COMPLETED']);
    expect(h.task().artifacts.find((a) => a.artifactId === 'audit')?.parts).toEqual([{ text: 'entries ok\n' }, { text: 'balance ok\n' }]);
    expect(sup.status(h.taskId)).toBe('TASK_STATE_COMPLETED');
  });

  it(`${label} - timeout: TaskTimeoutError, the agent process aborts the handler`, async () => {
    const h = await sup.call(TOPIC, { mode: 'until-aborted' }, { timeoutMs: 1500 });
    const t0 = Date.now();
    await expect(h.result()).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(Date.now() - t0).toBeLessThan(5000);
    const aborted = await Promise.any(procs.map((p) => p.waitFor((l) => l.event === 'aborted' && l.taskId === h.taskId, 10_000, 'abort')));
    expect(['deadline', 'canceled']).toContain(aborted.cause);
  });

  it(`${label} - cancel(): the handler in the agent process sees the abort, the agent answers CANCELED`, async () => {
    const h = await sup.call(TOPIC, { mode: 'until-aborted' }, { timeoutMs: 20_000 });
    await Promise.any(procs.map((p) => p.waitFor((l) => l.event === 'started' && l.taskId === h.taskId, 10_000, 'start')));
    expect(await h.cancel('no longer needed')).toBe('TASK_STATE_CANCELED');
    await expect(h.result()).rejects.toBeInstanceOf(TaskCanceledError);
    const aborted = await Promise.any(procs.map((p) => p.waitFor((l) => l.event === 'aborted' && l.taskId === h.taskId, 10_000, 'abort')));
    expect(aborted.cause).toBe('canceled');
    const events = await collect(h.events());
    expect(events.at(-1)).toMatchObject({ type: 'status', final: true });
    expect(shape(events.at(-1)!)).toBe('TASK_STATE_CANCELED');
  });

  it(`${label} - supervisor restart mid-task: close, a new Supervisor resume()s, the result arrives`, async () => {
    const first = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 2000 });
    supervisors.push(first);
    const h = await first.call(TOPIC, { mode: 'slow', ms: 1500 }, { timeoutMs: 20_000 });
    const deadline = Date.now() + 10_000;
    while (!h.task().artifacts.some((a) => a.artifactId === 'progress')) {
      if (Date.now() > deadline) throw new Error('no progress artifact');
      await new Promise((r) => setTimeout(r, 20));
    }
    const { taskId, replyLiteTopic } = h;
    await first.close(); // mid-task: the handler is still sleeping
    await expect(h.result()).rejects.toSatisfy((e: unknown) => e instanceof ClientError && e.code === 'CLOSED');

    const second = new Supervisor({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 2000 });
    supervisors.push(second);
    const resumed = await second.resume<{ answer: number }>(taskId, { replyLiteTopic, timeoutMs: 15_000 });
    expect((await resumed.result()).answer).toBe(42);
    expect((await collect(resumed.events())).map(shape)).toEqual(['TASK_STATE_WORKING', 'artifact:progress', 'artifact:result', 'TASK_STATE_COMPLETED']);
    expect(second.status(taskId)).toBe('TASK_STATE_COMPLETED');
  });

  it(`${label} - an agent process SIGKILLed mid-task: the task is redelivered to the other instance and completes`, async () => {
    const h = await sup.call<{ by: string; attempt: number }>(TOPIC, { mode: 'crash-me' }, { timeoutMs: 25_000 });
    const started = await Promise.any(procs.map((p) => p.waitFor((l) => l.event === 'started' && l.taskId === h.taskId, 10_000, 'start')));
    expect(started.attempt).toBe(1);
    const victim = procs.find((p) => p.instance === started.instance)!;
    const survivor = procs.find((p) => p !== victim)!;
    await victim.kill9();
    const t0 = Date.now();
    const result = await h.result();
    console.log(`[${label}] killed ${victim.instance}; redelivered to ${result.by} after ${Date.now() - t0} ms (invisible duration 2000 ms)`);
    expect(result).toEqual({ by: survivor.instance, attempt: 2 });
    const attempts = (await collect(h.events())).flatMap((e) => (e.type === 'status' ? [e.metadata?.['agentmq.attempt']] : []));
    expect(attempts.at(-1)).toBe(2);
    expect(h.status()).toBe('TASK_STATE_COMPLETED');
  });
});
}
