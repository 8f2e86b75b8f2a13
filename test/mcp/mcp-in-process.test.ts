/**
 * AgentMqMcpServer in process (the SDK's in-memory transport): catalog updates and liveness
 * flips with includeOffline, close(); and the wording of progress messages and errors.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, ClientError, registerAgent, silentLogger, TaskFailedError, TaskTimeoutError, type Agent } from '../../client/index.js';
import { AgentMqMcpServer, describeError, MCP_LIVE_META_KEY, progressMessage, resolveMcpServerOptions } from '../../client/mcp/index.js';
import { startAgentEnv, until, type AgentTestEnv } from '../agent/agent-harness.js';

describe('mcp - the MCP server in process', () => {
  let env: AgentTestEnv;
  const agents: Agent[] = [];
  beforeAll(async () => {
    env = await startAgentEnv();
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close({ timeoutMs: 200 })));
    await env?.close();
  });

  it('mcp - includeOffline: updates and liveness flips change the list (list_changed), close() ends it', async () => {
    const first = await registerAgent<{ q: string }, string>({
      nameserver: env.nameserver,
      logger: silentLogger,
      awaitDurationMs: 5000,
      name: 'inproc-answerer',
      description: 'Answers questions about queues.',
      inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
      handler: (t) => `about ${t.input.q}`,
    });
    agents.push(first);
    const server = new AgentMqMcpServer({ nameserver: env.nameserver, logger: silentLogger, includeOffline: true, supervisor: { awaitDurationMs: 5000 } });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.start(serverSide);
    const client = new Client({ name: 'inproc', version: '1.0.0' });
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes++;
    });
    await client.connect(clientSide);
    let tools: Tool[] = [];
    await until(async () => {
      tools = (await client.listTools()).tools;
      return tools.some((t) => t.name === 'inproc-answerer' && t._meta?.[MCP_LIVE_META_KEY] === true);
    }, 10_000, 'the agent, live');
    expect(server.tools().map((t) => t.name)).toEqual(['inproc-answerer']);

    // Its description is updated: list_changed, the new text.
    const admin = new AdminClient({ nameserver: env.nameserver, logger: silentLogger });
    let seen = changes;
    await admin.registerTopic({ name: 'inproc-answerer', description: 'Answers questions about queues and topics.', inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } });
    await admin.close();
    await until(() => changes > seen, 10_000, 'list_changed after the update');
    await until(async () => (await client.listTools()).tools[0]?.description?.startsWith('Answers questions about queues and topics.') === true, 5_000, 'the new description');

    // The agent closes: with includeOffline the tool stays, marked offline.
    seen = changes;
    await first.close({ timeoutMs: 200 });
    await until(() => changes > seen, 15_000, 'list_changed after the liveness flip');
    await until(async () => (await client.listTools()).tools[0]?._meta?.[MCP_LIVE_META_KEY] === false, 5_000, 'the tool marked offline');

    await server.close();
    await server.closed;
    await client.close();
  });

  it('mcp - options are checked; progress messages and errors read well', () => {
    expect(() => resolveMcpServerOptions({ query: '  ' })).toThrow(/query/);
    expect(() => resolveMcpServerOptions({ topK: 0 })).toThrow(/topK/);
    expect(() => resolveMcpServerOptions({ timeoutMs: -1 })).toThrow(/timeoutMs/);
    expect(resolveMcpServerOptions({ nameserver: '127.0.0.1:1', logger: silentLogger })).toMatchObject({ topK: 10, timeoutMs: 300_000, includeOffline: false, strict: false, tags: [] });

    const base = { taskId: 't', contextId: 'c' };
    expect(progressMessage({ ...base, type: 'status', final: false, status: { state: 'TASK_STATE_INPUT_REQUIRED', timestamp: '' } })).toBe('input-required');
    expect(progressMessage({ ...base, type: 'artifact', artifact: { artifactId: 'a', parts: [{ text: 'x' }, { data: { n: 1 } }] }, append: true, lastChunk: false })).toBe('artifact a (continued): x {"n":1}');
    expect(progressMessage({ ...base, type: 'artifact', artifact: { artifactId: 'result', name: 'result', parts: [{ data: 1 }], metadata: { 'agentmq.result': true } }, append: false, lastChunk: true })).toBeUndefined();
    expect(progressMessage({ ...base, type: 'artifact', artifact: { artifactId: 'big', parts: [{ text: 'y'.repeat(5000) }] }, append: false, lastChunk: true })!.length).toBe(1000);

    expect(describeError(new TaskFailedError('disk full', { taskId: 't' }))).toBe('TASK_FAILED: disk full');
    expect(describeError(new TaskTimeoutError('whatever', { timeoutMs: 50 }))).toBe('TASK_TIMEOUT: no answer within 50 ms; the agent was told to cancel');
    expect(describeError(new ClientError('CLOSED', 'supervisor is closed'))).toBe('CLOSED: supervisor is closed');
  });
});
