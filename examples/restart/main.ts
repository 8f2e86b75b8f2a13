/**
 * `npm run example:restart`: a supervisor survives a restart mid-task and still gets the result.
 *
 *   1. supervisor-1 sends a slow task (the agent takes ~2 s: four steps, each a WORKING status and
 *      a chunk of a report artifact), and saves the task id and its reply lite topic to a JSON file;
 *   2. supervisor-1 goes away mid-task: `close()` (default), or with --kill it runs in a child
 *      process that is killed with SIGKILL (no goodbye at all);
 *   3. for a while no supervisor runs: the agent keeps working, its updates are stored by the
 *      broker on the task's reply lite topic;
 *   4. supervisor-2, a new instance, reads the file and calls `resume(taskId, ...)`: every update
 *      is replayed from the broker in order (those supervisor-1 saw, those sent while nobody
 *      listened), then the live ones, then the result.
 *
 * Runs an in-process NameServer + broker unless --nameserver is given; the agent runs here.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientError, registerAgent, Supervisor, type Agent, type TaskEvent } from '../../client/index.js';
import { COMMON_HELP, exampleLogger, more, parseFlags, runMain, say, shortId, sleep, startedAt, startServers, stateName, type Servers } from '../shared/setup.js';

const USAGE = `Usage: npm run example:restart -- [options]

A supervisor sends a slow task, saves its id, and goes away mid-task; a new supervisor resumes
the task from the saved id and receives every update, in order, and the result.

Options:
  --kill                  run supervisor-1 in a child process and kill it with SIGKILL
                          (default: supervisor-1 is closed in this process)
  --gap-ms N              how long no supervisor runs (default 1000)
  --state FILE            where the task id is saved (default: a file in a temporary directory)
${COMMON_HELP}`;

const TOPIC = 'report-writer';
const STEPS = ['collecting sources', 'extracting figures', 'drafting sections', 'proofreading'] as const;
const STEP_MS = 500;

/** What supervisor-1 saves and supervisor-2 reads. */
interface SavedTask {
  taskId: string;
  replyLiteTopic: string;
  topic: string;
  sentAt: string;
}

interface ReportResult {
  subject: string;
  sections: number;
  words: number;
}

const { values } = parseFlags(USAGE, {
  kill: { type: 'boolean' },
  'gap-ms': { type: 'string' },
  state: { type: 'string' },
  // Internal: the child process of --kill runs only supervisor-1.
  'supervisor-1-only': { type: 'boolean' },
});
const gapMs = Number(values['gap-ms'] ?? 1000);
if (!Number.isInteger(gapMs) || gapMs < 0) {
  console.error(`--gap-ms must be a non-negative integer (got ${values['gap-ms']})\n\n${USAGE}`);
  process.exit(2);
}
const logger = exampleLogger('example', values.verbose);

let servers: Servers | undefined;
let agent: Agent | undefined;
const supervisors: Supervisor[] = [];
let stateDir: string | undefined;

function describe(e: TaskEvent): string {
  if (e.type === 'status') {
    const text = (e.status.message?.parts ?? []).map((p) => ('text' in p ? p.text : '')).join(' ');
    const note = text || (e.status.state === 'TASK_STATE_WORKING' ? '(an agent instance took the task)' : '');
    return note ? `${stateName(e.status.state)}  ${note}` : stateName(e.status.state);
  }
  const part = e.artifact.parts[0];
  if (e.artifact.metadata?.['agentmq.result'] === true) return `result  ${part && 'data' in part ? JSON.stringify(part.data) : ''}`;
  return `artifact ${e.artifact.name}${e.append ? ' (+chunk)' : ''}  ${part && 'text' in part ? JSON.stringify(part.text.trim()) : ''}`;
}

/** When the agent emitted an event (status timestamp, or the `emittedAt` it puts on its chunks). */
function emittedAt(e: TaskEvent): number | undefined {
  if (e.type === 'status') return Date.parse(e.status.timestamp);
  const at = e.artifact.metadata?.emittedAt;
  return typeof at === 'number' ? at : undefined;
}

async function startAgent(nameserver: string): Promise<Agent> {
  return registerAgent<{ subject: string }, ReportResult>({
    nameserver,
    logger,
    awaitDurationMs: 5000,
    name: 'Report Writer',
    topic: TOPIC,
    description: 'Writes a short market report on a subject (slow: about two seconds).',
    skills: [{ name: 'Write a report', examples: ['write a market report on electric bikes'] }],
    inputSchema: { type: 'object', properties: { subject: { type: 'string' } }, required: ['subject'] },
    handler: async (task) => {
      let words = 0;
      for (const [i, step] of STEPS.entries()) {
        await task.status('TASK_STATE_WORKING', `step ${i + 1}/${STEPS.length}: ${step}`);
        await sleep(STEP_MS, task.signal);
        words += 120 + 37 * i;
        await task.artifact({ name: 'report', parts: [{ text: `section ${i + 1} (${step}) done\n` }], append: i > 0, lastChunk: i === STEPS.length - 1, metadata: { step: i + 1, emittedAt: Date.now() } });
      }
      return { subject: task.input.subject, sections: STEPS.length, words };
    },
  });
}

// --- supervisor-1 ---------------------------------------------------------------------------------

/**
 * Sends the task, saves it, follows it until the first report chunk, and returns the supervisor
 * (still open) and the handle.
 */
async function supervisor1(nameserver: string, stateFile: string) {
  const sup = new Supervisor({ nameserver, logger, awaitDurationMs: 5000 });
  supervisors.push(sup);
  const handle = await sup.call<ReportResult>(TOPIC, { subject: 'electric cargo bikes in Europe' }, { timeoutMs: 60_000 });
  say('supervisor-1', `sent task ${handle.taskId} to ${TOPIC}`);
  const saved: SavedTask = { taskId: handle.taskId, replyLiteTopic: handle.replyLiteTopic, topic: handle.topic, sentAt: new Date().toISOString() };
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(saved, null, 2));
  say('supervisor-1', `saved ${stateFile}: ${JSON.stringify({ taskId: shortId(saved.taskId), replyLiteTopic: `${saved.replyLiteTopic.slice(0, 13)}…` })}`);
  for await (const e of handle.events()) {
    say('supervisor-1', describe(e));
    if (e.type === 'artifact') break; // the first report chunk: time to "crash"
  }
  return { sup, handle };
}

/** The child process of --kill: supervisor-1 alone; prints CRASH-ME and waits to be killed. */
async function supervisor1Only(): Promise<boolean> {
  if (!values.nameserver || !values.state) throw new Error('--supervisor-1-only needs --nameserver and --state');
  await supervisor1(values.nameserver, values.state);
  console.log('CRASH-ME');
  await new Promise(() => undefined); // until SIGKILL
  return true;
}

/** --kill: supervisor-1 in a child process, killed with SIGKILL once it saw the first chunk. */
async function supervisor1InChild(nameserver: string, stateFile: string): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--supervisor-1-only', '--nameserver', nameserver, '--state', stateFile, ...(values.verbose ? ['-v'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AGENTMQ_EXAMPLE_T0: String(startedAt) },
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`)));
  say('supervisor-1', `running in child process ${child.pid}`);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'CRASH-ME') return resolve();
        console.log(line);
      }
    });
    void exited.then((how) => reject(new Error(`supervisor-1 ended (${how}) before it was killed`)));
  });
  child.kill('SIGKILL');
  say('crash', `supervisor-1 (pid ${child.pid}) killed: ${await exited}, mid-task, without closing anything`);
}

// --- the example ----------------------------------------------------------------------------------

async function main(): Promise<boolean> {
  if (values['supervisor-1-only']) return supervisor1Only();
  console.log('AgentMQ example: a supervisor survives a restart mid-task\n');
  servers = await startServers(values.nameserver, values.verbose);
  say('setup', servers.description);
  agent = await startAgent(servers.nameserver);
  say('agent', `${TOPIC} serving (each task: ${STEPS.length} steps of ${STEP_MS} ms, a WORKING status and a report chunk each)`);
  const stateFile = values.state ?? join((stateDir = mkdtempSync(join(tmpdir(), 'agentmq-example-restart-'))), 'task.json');

  // 1-2. supervisor-1 sends the task, saves it, and goes away mid-task.
  if (values.kill) await supervisor1InChild(servers.nameserver, stateFile);
  else {
    const { sup, handle } = await supervisor1(servers.nameserver, stateFile);
    await sup.close();
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    say('crash', `supervisor-1 closed mid-task (agent state: ${agent.running().length ? 'still working' : 'idle'}); its result() → ${err instanceof ClientError ? `ClientError ${err.code}` : String(err)}`);
  }

  const crashedAt = Date.now();

  // 3. Nobody listens; the agent goes on, the broker stores its updates.
  say('gap', `no supervisor for ${gapMs} ms; the agent keeps working and the broker stores its updates`);
  await sleep(gapMs);

  // 4. A new supervisor resumes from the saved task id.
  const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as SavedTask;
  // After a kill, supervisor-1's subscriptions stay on the broker until their lease runs out, but
  // the broker does not keep offering the lite topic to a member that stopped receiving, and
  // resume() subscribes with an explicit position, which is offered to the resuming client.
  const sup2 = new Supervisor({ nameserver: servers.nameserver, logger, awaitDurationMs: 5000 });
  supervisors.push(sup2);
  const resumeAt = Date.now();
  const handle = await sup2.resume<ReportResult>(saved.taskId, { replyLiteTopic: saved.replyLiteTopic, topic: saved.topic, timeoutMs: 30_000 });
  say('supervisor-2', `read ${stateFile}; resumed task ${saved.taskId}`);
  const seen: string[] = [];
  const origin = { beforeCrash: 0, whileDown: 0, live: 0 };
  let last = 'beforeCrash' as 'beforeCrash' | 'whileDown' | 'live';
  for await (const e of handle.events()) {
    const at = emittedAt(e);
    const when: 'beforeCrash' | 'whileDown' | 'live' = at === undefined ? last : at < crashedAt ? 'beforeCrash' : at < resumeAt ? 'whileDown' : 'live';
    last = when;
    origin[when]++;
    seen.push(describe(e));
    say('supervisor-2', `${String(seen.length).padStart(2)}. ${describe(e)}   [${when === 'live' ? 'live' : when === 'whileDown' ? 'replayed: sent while no supervisor ran' : 'replayed: sent before supervisor-1 went away'}]`);
  }
  const result = await handle.result();
  say('result', JSON.stringify(result));

  // Every update, in order: the automatic WORKING, then per step a WORKING and a chunk, the result, COMPLETED.
  const expected = [
    'WORKING',
    ...STEPS.flatMap((s, i) => [`WORKING step ${i + 1}/${STEPS.length}`, `artifact report #${i + 1}`]),
    'result',
    'COMPLETED',
  ];
  const got = seen.map((d) => d.replace(/^(WORKING)\s+step (\d+\/\d+).*$/, '$1 step $2').replace(/^WORKING\s+\(.*$/, 'WORKING').replace(/^COMPLETED.*$/, 'COMPLETED').replace(/^result.*$/, 'result'));
  let chunk = 0;
  const normalized = got.map((d) => (d.startsWith('artifact report') ? `artifact report #${++chunk}` : d));
  const ok = JSON.stringify(normalized) === JSON.stringify(expected) && handle.status() === 'TASK_STATE_COMPLETED';
  if (ok) {
    say('check', `supervisor-2 got all ${seen.length} updates in order: ${origin.beforeCrash} sent before supervisor-1 went away, ${origin.whileDown} while no supervisor ran (both replayed by the broker), ${origin.live} live`);
  } else {
    say('check', 'FAILED: the updates are not the expected sequence');
    more(`expected: ${expected.join(', ')}`);
    more(`got:      ${normalized.join(', ')}`);
  }
  return ok;
}

runMain(main, async () => {
  for (const s of supervisors) await s.close();
  await agent?.close({ timeoutMs: 2000 });
  await servers?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});
