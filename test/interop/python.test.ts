/**
 * Any language: a Python program (test/interop/python/agentmq_client.py) that knows nothing of the
 * TypeScript SDK talks to AgentMQ through stubs generated from proto/ with Debian's
 * python3-grpcio and python3-grpc-tools. It registers a capability (BrokerAdmin.RegisterTopic),
 * discovers it by meaning (Discovery.Discover), subscribes a fresh reply lite topic, sends a task
 * in the agent protocol and receives the replies. A TypeScript agent serves the topic the Python
 * side registered (`registerAgent({ register: false })`).
 *
 * CI installs the packages (.ci/run); without them this test fails and says what to install.
 * AGENTMQ_SKIP_PYTHON=1 skips it (machines without apt).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscoveryClient, registerAgent, silentLogger, type Agent, type TaskState } from '../../client/index.js';
import { startAgentEnv, until, type AgentTestEnv } from '../agent/agent-harness.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { APT_PACKAGES, generatedModules, generatePythonStubs, PYTHON, pythonProblem, type GeneratedStubs } from './python-stubs.js';

const CLIENT = fileURLToPath(new URL('./python/agentmq_client.py', import.meta.url));
const SKIP = process.env.AGENTMQ_SKIP_PYTHON === '1';
const INSTALL_HINT = `install them with: apt-get install -y ${APT_PACKAGES.join(' ')} (Debian's ${PYTHON}; set AGENTMQ_SKIP_PYTHON=1 to skip this test on a machine without apt)`;

interface PythonRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** What agentmq_client.py prints on stdout. */
interface Outcome {
  topic: string;
  taskId: string;
  contextId: string;
  clientId: string;
  discovered: { rank: number; score: number; live: boolean; hits: string[]; routes: string[]; skills: string[]; description: string };
  events: { kind: 'status-update' | 'artifact-update'; taskId: string; contextId: string; state?: TaskState; text?: string; artifactId?: string; append?: boolean; lastChunk?: boolean; result?: boolean }[];
  state: TaskState;
  message: string;
  result: unknown;
}

describe.skipIf(SKIP)('interop - Python over stubs generated from proto/', () => {
  let env: AgentTestEnv;
  let discovery: DiscoveryClient;
  const agents: Agent[] = [];
  let dir: ReturnType<typeof tmpDir>;
  let stubs: GeneratedStubs | undefined;

  beforeAll(async () => {
    dir = tmpDir('agentmq-python-');
    env = await startAgentEnv();
    discovery = new DiscoveryClient({ nameserver: env.nameserver, logger: silentLogger });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.close({ timeoutMs: 500 })));
    await discovery?.close();
    await env?.close();
    dir?.cleanup();
  });

  /** Runs the client; kills it after `budgetMs` (it bounds itself well before that). */
  function runPython(args: string[], budgetMs: number): { done: Promise<PythonRun>; exited: () => boolean; output: () => string } {
    const proc = spawn(PYTHON, [CLIENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' } });
    let stdout = '';
    let stderr = '';
    let exited = false;
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => proc.kill('SIGKILL'), budgetMs);
    const done = new Promise<PythonRun>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('close', (code, signal) => {
        exited = true;
        clearTimeout(killer);
        resolve({ code, signal, stdout, stderr });
      });
    });
    return { done, exited: () => exited, output: () => `stdout:\n${stdout}\nstderr:\n${stderr}` };
  }

  it('python - Debian python3 has grpc and grpc_tools, and the stubs generate from proto/', () => {
    const problem = pythonProblem();
    if (problem) throw new Error(`the Python interop test needs ${APT_PACKAGES.join(' and ')}: ${problem}; ${INSTALL_HINT}`);
    stubs = generatePythonStubs(dir.path);
    expect(stubs.protoc).toMatch(/libprotoc \d+\.\d+/);
    expect(generatedModules(stubs.dir)).toEqual(
      expect.arrayContaining([
        'agentmq/v1/admin_pb2.py',
        'agentmq/v1/admin_pb2_grpc.py',
        'agentmq/v1/discovery_pb2_grpc.py',
        'agentmq/v1/registry_pb2_grpc.py',
        'agentmq/v1/semantic_pb2.py',
        'apache/rocketmq/v2/definition_pb2.py',
        'apache/rocketmq/v2/service_pb2_grpc.py',
      ]),
    );
  });

  it('python - registers a capability, discovers it first, sends a task to a TypeScript agent, receives WORKING, artifacts, the result and COMPLETED in order', async () => {
    if (!stubs) throw new Error(`no Python stubs (see the test above); ${INSTALL_HINT}`);

    // A distractor served by a TypeScript agent, so "first" means something.
    agents.push(
      await registerAgent<{ invoices: string[] }, number>({
        nameserver: env.nameserver,
        logger: silentLogger,
        awaitDurationMs: 5000,
        name: 'Invoice Reconciler',
        description: 'Reconciles supplier invoices against purchase orders and flags mismatches.',
        skills: [{ name: 'Reconcile invoices', examples: ['match these supplier invoices to our purchase orders'] }],
        handler: (t) => t.input.invoices.length,
      }),
    );

    const topic = 'py-arithmetic';
    const inputSchema = {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' }, text: { type: 'string' } },
      required: ['a', 'b', 'text'],
      additionalProperties: false,
    };
    const capability = {
      name: topic,
      displayName: 'Arithmetic Helper',
      description: 'Adds two numbers and returns their sum; also upper-cases a piece of text.',
      tags: ['math', 'text'],
      skills: [
        { id: 'add', name: 'Add numbers', description: 'Sum of two numbers', tags: ['math'], examples: ['what is 2 plus 3?', 'add these two numbers together'] },
        { id: 'shout', name: 'Upper-case text', description: 'The text in capital letters', examples: ['make this text upper case'] },
      ],
      inputSchema,
      outputSchema: { type: 'object', properties: { sum: { type: 'number' }, upper: { type: 'string' } } },
      owner: 'interop-tests',
      version: '1.0.0',
      attributes: { language: 'python' },
    };
    const input = { a: 19.5, b: 22.5, text: 'hello from python' };

    const py = runPython(
      [
        '--stubs', stubs.dir,
        '--nameserver', env.nameserver,
        '--capability', JSON.stringify(capability),
        '--query', 'who can add two numbers together?',
        '--args', JSON.stringify(input),
        '--timeout', '40',
      ],
      55_000,
    );

    // The Python side registered the topic: its metadata is in the NameServer's catalog.
    await until(async () => py.exited() || (await discovery.getTopic(topic)) !== undefined, 20_000, `the Python program to register ${topic}\n${py.output()}`);
    if (py.exited()) throw new Error(`the Python program ended before registering:\n${py.output()}`);
    const registered = (await discovery.getTopic(topic))!;
    expect(registered.live).toBe(false); // nobody serves it yet
    expect(registered.metadata).toMatchObject({
      description: capability.description,
      tags: ['math', 'text'],
      inputSchema,
      owner: 'interop-tests',
      version: '1.0.0',
      attributes: { language: 'python', 'agentmq.agent.protocol': 'a2a/1.0', 'agentmq.agent.name': 'Arithmetic Helper' },
    });
    expect(registered.metadata.skills.map((s) => [s.id, s.name, s.examples])).toEqual([
      ['add', 'Add numbers', capability.skills[0]!.examples],
      ['shout', 'Upper-case text', capability.skills[1]!.examples],
    ]);

    // A TypeScript agent serves the topic the Python side registered (it makes the topic live).
    const computed = new Map<string, { sum: number; upper: string }>();
    const settled = new Map<string, string>();
    const agent = await registerAgent<{ a: number; b: number; text: string }, { sum: number; upper: string }>({
      nameserver: env.nameserver,
      logger: silentLogger,
      awaitDurationMs: 5000,
      topic,
      description: capability.description,
      inputSchema,
      register: false,
      handler: async (t) => {
        await t.status('TASK_STATE_WORKING', `adding ${t.input.a} and ${t.input.b}`);
        await t.artifact({ name: 'steps', parts: [{ text: `${t.input.a} + ${t.input.b}` }], lastChunk: true });
        const out = { sum: t.input.a + t.input.b, upper: t.input.text.toUpperCase() };
        computed.set(t.taskId, out);
        return out;
      },
    });
    agents.push(agent);
    agent.on('taskSettled', (id, outcome) => settled.set(id, outcome));

    const run = await py.done;
    if (run.code !== 0) throw new Error(`the Python program exited with ${run.code ?? run.signal}:\n${py.output()}`);
    const outcome = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Outcome;

    // Discovery: the Python program's topic was the first live hit, ahead of the distractor.
    expect(outcome.topic).toBe(topic);
    expect(outcome.discovered).toMatchObject({ rank: 1, live: true, description: capability.description, skills: ['Add numbers', 'Upper-case text'] });
    expect(outcome.discovered.hits[0]).toBe(topic);
    expect(outcome.discovered.score).toBeGreaterThan(0);
    expect(outcome.discovered.routes).toEqual([`127.0.0.1:${env.broker.address.port}`]);

    // The result is what the agent computed for that task.
    expect(computed.get(outcome.taskId)).toEqual({ sum: 42, upper: 'HELLO FROM PYTHON' });
    expect(outcome.result).toEqual(computed.get(outcome.taskId));
    expect(outcome.state).toBe('TASK_STATE_COMPLETED');
    await until(() => settled.has(outcome.taskId), 5_000, 'the agent to settle the task');
    expect(settled.get(outcome.taskId)).toBe('TASK_STATE_COMPLETED');

    // Every reply arrived, in the order the agent sent them.
    expect(outcome.events.map((e) => (e.kind === 'status-update' ? e.state : `artifact:${e.artifactId}`))).toEqual([
      'TASK_STATE_WORKING',
      'TASK_STATE_WORKING',
      'artifact:steps',
      'artifact:result',
      'TASK_STATE_COMPLETED',
    ]);
    expect(outcome.events[1]!.text).toBe('adding 19.5 and 22.5');
    expect(outcome.events.filter((e) => e.kind === 'artifact-update').map((e) => e.result)).toEqual([false, true]);
    expect(outcome.events.every((e) => e.taskId === outcome.taskId && e.contextId === outcome.contextId)).toBe(true);
    expect(outcome.taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // The calls the program logged, in order.
    const order = ['RegisterTopic', 'CreateTopic', 'Discover', 'SyncLiteSubscription PARTIAL_ADD', 'SendMessage', 'reply 1:', 'reply 5:'];
    const positions = order.map((s) => run.stderr.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
  }, 90_000);
});
