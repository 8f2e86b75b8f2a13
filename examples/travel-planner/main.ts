/**
 * `npm run example:planner`: a supervisor plans a trip with three sub-agents.
 *
 *   discovery  supervisor.discover(goal) → the live capabilities that fit the goal
 *   tools      tools(capabilities, { provider: 'openai-chat' }) → function tools for the planner
 *   planning   an LLM (any OpenAI-compatible endpoint) or the scripted planner picks tool calls
 *   calls      each tool call → set.parseCall → supervisor.call; every status update and artifact
 *              chunk is printed as it streams in over the task's reply lite topic
 *   answer     the results go back to the planner, which writes the aggregated answer
 *
 * Runs an in-process NameServer + broker unless --nameserver is given; runs the three agents in
 * this process unless --no-agents (then serve them elsewhere: examples/travel-planner/agents.ts).
 */
import { Supervisor, tools, type Agent, type DiscoveredCapability, type TaskEvent, type ToolSet, type OpenAIChatTool } from '../../client/index.js';
import { COMMON_HELP, exampleLogger, more, parseFlags, runMain, say, shortId, startServers, stateName, waitFor, type Servers } from '../shared/setup.js';
import { startTravelAgents, TRAVEL_TOPICS } from './agents.js';
import { LlmPlanner, llmConfigFromEnv, ScriptedPlanner, SYSTEM_PROMPT, type ChatMessage, type Planner, type ToolCallMessage } from './planner.js';

const USAGE = `Usage: npm run example:planner -- [options] ["GOAL"]

A supervisor discovers three sub-agents (flights, hotels, weather), hands them to a planner as
OpenAI function tools, runs the tool calls through the broker while printing the streamed
status, and prints the aggregated answer.

Planner: an LLM through any OpenAI-compatible Chat Completions endpoint when OPENAI_BASE_URL or
OPENAI_API_KEY is set (OPENAI_MODEL, default gpt-4o-mini; OPENAI_TIMEOUT_MS, default 60000);
otherwise a deterministic scripted planner.

Options:
  --scripted              use the scripted planner even if an LLM is configured
  --no-agents             do not start the agents here (they run elsewhere, e.g.
                          node --import tsx examples/travel-planner/agents.ts --nameserver HOST:PORT)
  --max-rounds N          planning rounds before giving up (default 4)
${COMMON_HELP}`;

const DEFAULT_GOAL = 'Plan a 3-night trip from Berlin to Lisbon departing 2026-05-14 for 2 travellers, hotel budget 180 EUR per night.';
const CALL_TIMEOUT_MS = 30_000;

const { values, positionals } = parseFlags(USAGE, {
  scripted: { type: 'boolean' },
  'no-agents': { type: 'boolean' },
  'max-rounds': { type: 'string' },
});
const goal = positionals.join(' ').trim() || DEFAULT_GOAL;
const maxRounds = Number(values['max-rounds'] ?? 4);
if (!Number.isInteger(maxRounds) || maxRounds < 1) {
  console.error(`--max-rounds must be a positive integer (got ${values['max-rounds']})\n\n${USAGE}`);
  process.exit(2);
}

let servers: Servers | undefined;
let agents: Agent[] = [];
let supervisor: Supervisor | undefined;

function describeEvent(e: TaskEvent): string {
  if (e.type === 'status') {
    const text = (e.status.message?.parts ?? []).map((p) => ('text' in p ? p.text : '')).join(' ');
    const note = text || (e.status.state === 'TASK_STATE_WORKING' ? '(an agent instance took the task)' : '');
    return note ? `${stateName(e.status.state)}  ${note}` : stateName(e.status.state);
  }
  const part = e.artifact.parts[0];
  const body = part && 'text' in part ? part.text.trimEnd().replace(/\n/g, ' | ') : part && 'data' in part ? JSON.stringify(part.data) : '';
  const what = e.artifact.metadata?.['agentmq.result'] === true ? 'result' : `artifact ${e.artifact.name ?? e.artifact.artifactId}${e.append ? ' (+chunk)' : ''}`;
  return `${what}  ${body.length > 90 ? `${body.slice(0, 87)}...` : body}`;
}

/** Runs one tool call as a task, printing its events as they stream in; the tool message for the planner. */
async function runToolCall(set: ToolSet<OpenAIChatTool>, call: ToolCallMessage): Promise<ChatMessage> {
  const reply = (content: unknown): ChatMessage => ({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(content) });
  let parsed;
  try {
    parsed = set.parseCall(call.function.name, call.function.arguments);
  } catch (err) {
    say('call', `${call.function.name}: not a valid tool call (${(err as Error).message})`);
    return reply({ error: (err as Error).message });
  }
  const tag = parsed.topic.slice(0, 16);
  try {
    const handle = await supervisor!.call(parsed, parsed.args, { timeoutMs: CALL_TIMEOUT_MS });
    say(tag, `task ${shortId(handle.taskId)} sent to topic ${parsed.topic}; replies on lite topic ${handle.replyLiteTopic.slice(0, 13)}…`);
    for await (const e of handle.events()) say(tag, describeEvent(e));
    return reply(await handle.result());
  } catch (err) {
    say(tag, `failed: ${(err as Error).message}`);
    return reply({ error: (err as Error).message });
  }
}

async function discover(expected: readonly string[]): Promise<DiscoveredCapability[]> {
  // Registration reaches the NameServer's index asynchronously (broker → NameServer): wait for it.
  const found = await waitFor(async () => {
    const caps = await supervisor!.discover(goal, { topK: 8 });
    return expected.every((t) => caps.some((c) => c.topic === t)) && caps.length > 0 ? caps : undefined;
  }, 15_000);
  return found ?? supervisor!.discover(goal, { topK: 8 });
}

async function main(): Promise<boolean> {
  console.log('AgentMQ example: a supervisor plans a trip with three sub-agents\n');
  const logger = exampleLogger('example', values.verbose);
  servers = await startServers(values.nameserver, values.verbose);
  say('setup', servers.description);
  if (!values['no-agents']) {
    agents = await startTravelAgents(servers.nameserver, logger);
    say('agents', `registered and serving: ${agents.map((a) => `${a.topic} (group ${a.group})`).join(', ')}`);
  }

  const llm = values.scripted ? undefined : llmConfigFromEnv();
  const planner: Planner = llm ? new LlmPlanner(llm) : new ScriptedPlanner();
  say('planner', `[${planner.label}]`);
  say('goal', goal);

  // 1. Discovery: who can help with this goal?
  supervisor = new Supervisor({ nameserver: servers.nameserver, logger, awaitDurationMs: 5000 });
  await supervisor.start();
  const caps = await discover(values['no-agents'] ? [] : TRAVEL_TOPICS);
  if (caps.length === 0) {
    say('discover', 'no live capability fits the goal; is an agent running?');
    return false;
  }
  say('discover', `${caps.length} live capabilit${caps.length === 1 ? 'y' : 'ies'} for the goal:`);
  for (const c of caps) more(`${c.score.toFixed(3)}  ${c.topic.padEnd(17)} ${c.name}: ${c.description.slice(0, 70)}…`);

  // 2. The capabilities as OpenAI function tools.
  const set = tools(caps, { provider: 'openai-chat' });
  say('tools', `${set.tools.length} openai-chat tools:`);
  for (const t of set.tools) {
    const props = Object.keys(t.function.parameters.properties ?? {});
    const required = new Set(t.function.parameters.required ?? []);
    more(`${t.function.name}(${props.map((p) => (required.has(p) ? p : `${p}?`)).join(', ')})`);
  }

  // 3. Plan → call → stream → feed the results back, until the planner answers.
  const messages: ChatMessage[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: goal },
  ];
  let tasks = 0;
  for (let round = 1; round <= maxRounds; round++) {
    let reply;
    try {
      reply = await planner.next(messages, set.tools, { final: round === maxRounds });
    } catch (err) {
      say('planner', `failed: ${(err as Error).message}`);
      more('(--scripted, or unsetting OPENAI_BASE_URL and OPENAI_API_KEY, plans without an LLM)');
      return false;
    }
    messages.push(reply);
    const calls = reply.tool_calls ?? [];
    if (calls.length > 0 && reply.content?.trim()) say('plan', reply.content.trim());
    if (calls.length === 0) {
      say('answer', `after ${round} planning round(s) and ${tasks} task(s):`);
      console.log(`\n${(reply.content ?? '').trim()}\n`);
      say('done', 'ok');
      return true;
    }
    say('plan', `round ${round}: ${calls.length} tool call(s)`);
    for (const c of calls) more(`→ ${c.function.name} ${c.function.arguments}`);
    tasks += calls.length;
    // The calls run at once; each streams its own status lines.
    messages.push(...(await Promise.all(calls.map((c) => runToolCall(set, c)))));
  }
  say('answer', `none after ${maxRounds} planning rounds`);
  return false;
}

runMain(main, async () => {
  await supervisor?.close();
  await Promise.all(agents.map((a) => a.close({ timeoutMs: 2000 })));
  await servers?.close();
});
