/**
 * `agentmq mcp` as an MCP client runs it: the official MCP TypeScript SDK's Client and
 * StdioClientTransport spawn `node bin/agentmq.js mcp --nameserver …` against an in-process
 * NameServer + broker whose agents are registered in this process.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema, type CallToolResult, type Progress, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, silentLogger, type Agent, type RegisterAgentOptions, type TaskAbortCause } from '../../client/index.js';
import { MCP_TOPIC_META_KEY } from '../../client/agent/tools.js';
import { MCP_LIVE_META_KEY, MCP_TASK_META_KEYS } from '../../client/mcp/index.js';
import { sleep, startAgentEnv, until, untilAborted, type AgentTestEnv } from '../agent/agent-harness.js';
import { BIN } from '../helpers/dev-process.js';

const exec = promisify(execFile);

interface McpChild {
  client: Client;
  transport: StdioClientTransport;
  proc: ChildProcess;
  /** How many notifications/tools/list_changed arrived. */
  changes(): number;
  /** Errors the client saw (e.g. a stdout line that is not a JSON-RPC message). */
  errors: Error[];
  stderr(): string;
  /** Resolves with how the child ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startMcp(args: string[]): Promise<McpChild> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...args],
    stderr: 'pipe',
    env: { AGENTMQ_LOG_LEVEL: 'info' },
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: 'agentmq-mcp-test', version: '1.0.0' });
  let changes = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes++;
  });
  const errors: Error[] = [];
  client.onerror = (e) => errors.push(e);
  await client.connect(transport);
  // The SDK keeps its child process private; the exit code is what this test is about.
  const proc = (transport as unknown as { _process?: ChildProcess })._process;
  if (!proc) throw new Error('StdioClientTransport has no child process');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode });
    else proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { client, transport, proc, changes: () => changes, errors, stderr: () => err, exited };
}

function text(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

const ECHO_INPUT = {
  type: 'object',
  properties: { text: { type: 'string', description: 'what to echo' }, upper: { type: 'boolean' } },
  required: ['text'],
  additionalProperties: false,
};
const ECHO_OUTPUT = { type: 'object', properties: { echo: { type: 'string' } }, required: ['echo'] };
const VAT_INPUT = { type: 'object', properties: { amount: { type: 'number' }, rate: { type: 'number' }, delayMs: { type: 'integer' } }, required: ['amount'] };
const SUMMARY_INPUT = { type: 'object', properties: { text: { type: 'string' }, wait: { type: 'boolean' } }, required: ['text'] };

describe('mcp - agentmq mcp over stdio with the official MCP SDK client', () => {
  let env: AgentTestEnv;
  const agents: Agent[] = [];
  let vatRuns = 0;
  let vatAbort: TaskAbortCause | undefined;
  let mcp: McpChild;

  const agent = async <I, O>(options: Omit<RegisterAgentOptions<I, O>, 'nameserver'>): Promise<Agent> => {
    const a = await registerAgent<I, O>({ nameserver: env.nameserver, logger: silentLogger, awaitDurationMs: 5000, ...options });
    agents.push(a);
    return a;
  };
  const toolNames = async (c: Client): Promise<string[]> => (await c.listTools()).tools.map((t) => t.name).sort();

  beforeAll(async () => {
    env = await startAgentEnv();
    await agent<{ text: string; upper?: boolean }, { echo: string }>({
      name: 'Text Echoer',
      description: 'Echoes a text back, upper-cased on request.',
      tags: ['text'],
      skills: [{ name: 'Echo text', examples: ['say this back to me'] }],
      inputSchema: ECHO_INPUT,
      outputSchema: ECHO_OUTPUT,
      handler: async (t) => {
        await t.status('TASK_STATE_WORKING', `echoing ${t.input.text.length} characters`);
        await t.artifact({ name: 'draft', parts: [{ text: `draft: ${t.input.text}` }] });
        if (t.input.text === 'boom') throw new Error('cannot echo boom');
        return { echo: t.input.upper ? t.input.text.toUpperCase() : t.input.text };
      },
    });
    await agent<{ amount: number; rate?: number; delayMs?: number }, number>({
      name: 'vat-calculator',
      description: 'Calculates value added tax (VAT) for an amount at a rate.',
      tags: ['finance'],
      inputSchema: VAT_INPUT,
      handler: async (t) => {
        vatRuns++;
        if (t.input.delayMs) {
          await sleep(t.input.delayMs, t.signal).finally(() => (vatAbort = t.abortCause));
        }
        return Math.round(t.input.amount * (t.input.rate ?? 0.2) * 100) / 100;
      },
    });
    mcp = await startMcp(['--nameserver', env.nameserver, '--timeout-ms', '20000']);
  });

  afterAll(async () => {
    await mcp?.client.close().catch(() => undefined);
    await Promise.all(agents.map((a) => a.close({ timeoutMs: 200 })));
    await env?.close();
  });

  it('mcp - listTools shows both live agents with their input and output schemas', async () => {
    expect(mcp.client.getServerCapabilities()?.tools?.listChanged).toBe(true);
    let tools: Tool[] = [];
    await until(async () => {
      tools = (await mcp.client.listTools()).tools;
      return tools.length === 2;
    }, 10_000, 'both agents as MCP tools');
    const echo = tools.find((t) => t.name === 'text-echoer')!;
    const vat = tools.find((t) => t.name === 'vat-calculator')!;
    expect(echo).toMatchObject({ title: 'Text Echoer', inputSchema: ECHO_INPUT, outputSchema: ECHO_OUTPUT });
    expect(echo.description).toMatch(/^Echoes a text back/);
    expect(echo._meta).toEqual({ [MCP_TOPIC_META_KEY]: 'text-echoer', [MCP_LIVE_META_KEY]: true });
    expect(vat.inputSchema).toEqual(VAT_INPUT);
    expect(vat.outputSchema).toBeUndefined();
    expect(vat.title).toBeUndefined();
  });

  it('mcp - callTool runs the task: the result as text + structuredContent, status and artifacts as progress', async () => {
    const progress: Progress[] = [];
    const r = (await mcp.client.callTool({ name: 'text-echoer', arguments: { text: 'hello', upper: true } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p),
    })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ echo: 'HELLO' });
    expect(JSON.parse(text(r))).toEqual({ echo: 'HELLO' });
    expect(r._meta).toMatchObject({ [MCP_TASK_META_KEYS.topic]: 'text-echoer', [MCP_TASK_META_KEYS.state]: 'TASK_STATE_COMPLETED' });
    const taskId = r._meta?.[MCP_TASK_META_KEYS.taskId] as string;
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
    // Progress: the task sent, WORKING (twice: the SDK's own, then the handler's), the artifact, COMPLETED; increasing.
    expect(progress.map((p) => p.message)).toEqual([
      `task ${taskId} sent to text-echoer`,
      'working',
      'working: echoing 5 characters',
      'artifact draft: draft: hello',
      'completed',
    ]);
    expect(progress.map((p) => p.progress)).toEqual([0, 1, 2, 3, 4]);

    // No output schema: the value as JSON text, no structured content.
    const vat = (await mcp.client.callTool({ name: 'vat-calculator', arguments: { amount: 200, rate: 0.25 } })) as CallToolResult;
    expect(vat.isError).toBeFalsy();
    expect(text(vat)).toBe('50');
    expect(vat.structuredContent).toBeUndefined();
  });

  it('mcp - a handler that throws, input the agent rejects, bad arguments and unknown tools are errors', async () => {
    const failed = (await mcp.client.callTool({ name: 'text-echoer', arguments: { text: 'boom' } })) as CallToolResult;
    expect(failed.isError).toBe(true);
    expect(text(failed)).toBe('TASK_FAILED: cannot echo boom');
    expect(failed._meta).toMatchObject({ [MCP_TASK_META_KEYS.state]: 'TASK_STATE_FAILED' });

    const rejected = (await mcp.client.callTool({ name: 'vat-calculator', arguments: { amount: 'ten' } })) as CallToolResult;
    expect(rejected.isError).toBe(true);
    expect(text(rejected)).toMatch(/^TASK_REJECTED: .*amount must be number/);

    const notObject = (await mcp.client.callTool({ name: 'vat-calculator', arguments: 'nope' as never }).catch((e: Error) => e)) as Error;
    expect(notObject).toBeInstanceOf(Error); // the SDK refuses non-object arguments itself

    await expect(mcp.client.callTool({ name: 'no-such-agent', arguments: {} })).rejects.toThrow(/Unknown tool: no-such-agent/);
  });

  it('mcp - an agent registered later appears after list_changed; cancelling a call cancels its task; a closed agent disappears', async () => {
    const before = mcp.changes();
    let started = 0;
    let cause: TaskAbortCause | undefined;
    const late = await agent<{ text: string; wait?: boolean }, string>({
      name: 'Slow Summarizer',
      description: 'Summarizes a text in one line, slowly.',
      tags: ['text'],
      inputSchema: SUMMARY_INPUT,
      handler: async (t) => {
        if (!t.input.wait) return `summary: ${t.input.text.slice(0, 12)}`;
        started++;
        try {
          return await untilAborted(t.signal);
        } finally {
          cause = t.abortCause;
        }
      },
    });
    await until(() => mcp.changes() > before, 10_000, 'notifications/tools/list_changed after a new agent registered');
    await until(async () => (await toolNames(mcp.client)).includes('slow-summarizer'), 5_000, 'the new agent in tools/list');
    expect(await toolNames(mcp.client)).toEqual(['slow-summarizer', 'text-echoer', 'vat-calculator']);
    const summary = (await mcp.client.callTool({ name: 'slow-summarizer', arguments: { text: 'a long story about queues' } })) as CallToolResult;
    expect(text(summary)).toBe('summary: a long story');

    // The client cancels its request (notifications/cancelled): the agent's handler is aborted.
    const abort = new AbortController();
    const pending = mcp.client.callTool({ name: 'slow-summarizer', arguments: { text: 'x', wait: true } }, CallToolResultSchema, { signal: abort.signal });
    await until(() => started === 1, 10_000, 'the long task to start');
    abort.abort('the user changed their mind');
    await expect(pending).rejects.toThrow();
    await until(() => cause !== undefined, 10_000, 'the agent to see the cancel');
    expect(cause).toBe('canceled');

    // The agent goes away: its tool goes too (liveness), announced by list_changed.
    const beforeClose = mcp.changes();
    await late.close({ timeoutMs: 200 });
    await until(() => mcp.changes() > beforeClose, 15_000, 'notifications/tools/list_changed after the agent closed');
    await until(async () => !(await toolNames(mcp.client)).includes('slow-summarizer'), 5_000, 'the closed agent to leave tools/list');
    expect(await toolNames(mcp.client)).toEqual(['text-echoer', 'vat-calculator']);
    await expect(mcp.client.callTool({ name: 'slow-summarizer', arguments: { text: 'x' } })).rejects.toThrow(/Unknown tool/);
  });

  it('mcp - --tag, --query and --strict narrow the tools and check arguments before sending; --timeout-ms; SIGTERM exits 0', async () => {
    const child = await startMcp(['--nameserver', env.nameserver, '--tag', 'finance', '--query', 'calculate the VAT of an amount', '--top-k', '3', '--strict', '--timeout-ms', '1500']);
    try {
      expect(await toolNames(child.client)).toEqual(['vat-calculator']);
      const runs = vatRuns;
      const bad = (await child.client.callTool({ name: 'vat-calculator', arguments: { amount: 'ten' } })) as CallToolResult;
      expect(bad.isError).toBe(true);
      expect(text(bad)).toBe('INVALID_ARGUMENTS: input/amount must be number');
      expect(bad._meta).toBeUndefined(); // no task was sent
      const ok = (await child.client.callTool({ name: 'vat-calculator', arguments: { amount: 10 } })) as CallToolResult;
      expect(text(ok)).toBe('2');
      expect(vatRuns).toBe(runs + 1);

      // A task slower than --timeout-ms: a tool error saying so, and the agent is told to cancel.
      const slow = (await child.client.callTool({ name: 'vat-calculator', arguments: { amount: 10, delayMs: 60_000 } })) as CallToolResult;
      expect(slow.isError).toBe(true);
      expect(text(slow)).toBe('TASK_TIMEOUT: no answer within 1500 ms; the agent was told to cancel');
      expect(slow._meta).toMatchObject({ [MCP_TASK_META_KEYS.state]: 'TASK_STATE_CANCELED' });
      await until(() => vatAbort !== undefined, 10_000, 'the agent to abort the timed-out task');
      expect(['canceled', 'deadline']).toContain(vatAbort);

      child.proc.kill('SIGTERM');
      expect(await child.exited).toEqual({ code: 0, signal: null });
      expect(child.stderr()).toMatch(/MCP server closed reason=SIGTERM/);
    } finally {
      await child.client.close().catch(() => undefined);
    }
  });

  it('mcp - --include-offline also offers capabilities nobody serves, marked in _meta', async () => {
    const child = await startMcp(['--nameserver', env.nameserver, '--include-offline', '--tag', 'text']);
    try {
      const tools = (await child.client.listTools()).tools;
      expect(tools.map((t) => [t.name, t._meta?.[MCP_LIVE_META_KEY]])).toEqual([
        ['slow-summarizer', false],
        ['text-echoer', true],
      ]);
    } finally {
      await child.client.close();
    }
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });

  it('mcp - closing the client (stdin ends) cancels running tasks and stops the server cleanly: exit 0, nothing but MCP on stdout', async () => {
    vatAbort = undefined;
    const runs = vatRuns;
    const running = mcp.client.callTool({ name: 'vat-calculator', arguments: { amount: 1, delayMs: 60_000 } }).catch((e: Error) => e);
    await until(() => vatRuns === runs + 1, 10_000, 'the long task to start');
    const started = Date.now();
    await mcp.client.close();
    expect(await running).toBeInstanceOf(Error); // connection closed
    await until(() => vatAbort !== undefined, 10_000, 'the agent to see the cancel');
    expect(vatAbort).toBe('canceled');
    expect(await mcp.exited).toEqual({ code: 0, signal: null });
    // StdioClientTransport.close() sends SIGTERM after 2 s: the server left on stdin's end, before that.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(mcp.stderr()).toMatch(/MCP server closed reason="stdin closed"/);
    expect(mcp.errors).toEqual([]);
  });

  it('mcp - agentmq mcp --help documents the options; bad options are usage errors', async () => {
    const help = await exec(process.execPath, [BIN, 'mcp', '--help'], { timeout: 30_000 });
    expect(help.stdout).toMatch(/^Usage: agentmq mcp/);
    for (const flag of ['--nameserver', '--query', '--tag', '--include-offline', '--timeout-ms', '--strict']) expect(help.stdout).toContain(flag);
    const bad = await exec(process.execPath, [BIN, 'mcp', '--bogus'], { timeout: 30_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/bogus/);
    const top = await exec(process.execPath, [BIN, '--help'], { timeout: 30_000 });
    expect(top.stdout).toMatch(/\bmcp\b.*MCP server/);
  });
});
