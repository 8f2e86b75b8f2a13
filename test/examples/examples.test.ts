/**
 * The examples (examples/), run as a user runs them: `npm run example:planner` and
 * `npm run example:restart` in child processes, each on its own in-process NameServer + broker.
 * The planner runs with the scripted planner (no OpenAI variables), and once against a local mock
 * of an OpenAI-compatible Chat Completions endpoint (the LLM path, no network).
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Each example run must finish within this. */
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `npm run --silent SCRIPT -- ARGS` with the OpenAI variables removed and `env` added. */
function npmRun(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_MODEL']) if (!(k in env)) delete childEnv[k];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // npm and the example under it
      } catch {
        // already gone
      }
    }, RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Fails with the whole output when the run did not exit 0 in time. */
function expectOk(run: Run): void {
  if (run.code !== 0 || run.ms >= RUN_TIMEOUT_MS) {
    throw new Error(`exit ${run.code} after ${run.ms} ms\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  }
}

/** The output lines tagged `[tag]`, without their time stamps. */
function tagged(stdout: string, tag: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.includes(`[${tag}]`))
    .map((l) => l.slice(l.indexOf(`[${tag}]`) + tag.length + 2).trim());
}

const TOPICS = ['flight-search', 'hotel-search', 'weather-forecast'];

describe('examples', () => {
  it('examples - example:planner (scripted): discovery → tools → tool calls → streamed status → aggregated answer', async () => {
    const run = await npmRun('example:planner');
    expectOk(run);
    const out = run.stdout;
    expect(out).toContain('[scripted planner — set OPENAI_BASE_URL/OPENAI_API_KEY to plan with an LLM]');
    expect(out).toMatch(/\[discover\]\s+3 live capabilities for the goal/);
    expect(out).toContain('flight-search(origin, destination, date, passengers?)');
    expect(out).toContain('hotel-search(city, checkIn, nights, guests?, maxPricePerNight?)');
    expect(out).toContain('weather-forecast(city, startDate, days?)');
    expect(out).toMatch(/\[plan\]\s+round 1: 3 tool call\(s\)/);
    // Each call streams: sent, WORKING (the SDK's, then the agent's), artifacts, result, COMPLETED.
    for (const topic of TOPICS) {
      const lines = tagged(out, topic);
      expect(lines[0]).toMatch(new RegExp(`^task [0-9a-f]{8}… sent to topic ${topic}`));
      expect(lines[1]).toBe('WORKING  (an agent instance took the task)');
      expect(lines[2]).toMatch(/^WORKING {2}\S/);
      expect(lines.some((l) => l.startsWith('artifact '))).toBe(true);
      expect(lines.at(-2)).toMatch(/^result {2}\{/);
      expect(lines.at(-1)).toBe('COMPLETED');
    }
    // The fake data is deterministic: the same answer every run.
    expect(out).toMatch(/\[answer\]\s+after 2 planning round\(s\) and 3 task\(s\)/);
    expect(out).toContain('Trip: Berlin → Lisbon, 2026-05-14, 3 night(s), 2 traveller(s), hotel budget €180/night');
    expect(out).toContain('Flight: FR 529 (Ryanair) 2026-05-14 11:36 → 16:10, 1 stop, €132 for 2 — cheapest of 5');
    expect(out).toContain('Hotel: Old Town Lisbon Suites, 2★, rated 8.3, waterfront, €119/night × 3 = €357 (check-out 2026-05-17)');
    expect(out).toContain('pack an umbrella for 2026-05-15');
    expect(out).toContain('Total: €489 (flights + hotel)');
    expect(out).toMatch(/\[done\]\s+ok/);
  });

  describe('with an OpenAI-compatible endpoint (a local mock)', () => {
    let server: Server;
    let baseUrl: string;
    const requests: { auth: string | undefined; body: Record<string, unknown> }[] = [];

    const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
      let s = '';
      for await (const chunk of req) s += String(chunk);
      return JSON.parse(s) as Record<string, unknown>;
    };

    beforeAll(async () => {
      // Round 1 (no tool results yet): a call of every tool offered. Round 2: a text answer that
      // counts the tool results it got.
      server = createServer((req, res) => {
        void readBody(req).then((body) => {
          requests.push({ auth: req.headers.authorization, body });
          if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
            res.writeHead(404).end('{}');
            return;
          }
          const messages = body.messages as { role: string; content: string | null }[];
          const toolResults = messages.filter((m) => m.role === 'tool');
          const args: Record<string, unknown> = {
            'flight-search': { origin: 'Paris', destination: 'Rome', date: '2026-06-01' },
            'hotel-search': { city: 'Rome', checkIn: '2026-06-01', nights: 2 },
            'weather-forecast': { city: 'Rome', startDate: '2026-06-01', days: 2 },
          };
          const message =
            toolResults.length === 0
              ? {
                  role: 'assistant',
                  content: null,
                  tool_calls: (body.tools as { function: { name: string } }[]).map((t, i) => ({
                    id: `call_${i}`,
                    type: 'function',
                    function: { name: t.function.name, arguments: JSON.stringify(args[t.function.name] ?? {}) },
                  })),
                }
              : { role: 'assistant', content: `MOCK PLAN from ${toolResults.length} tool results: ${toolResults.every((m) => m.content && !m.content.includes('"error"')) ? 'all ok' : 'some failed'}` };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop' }] }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    });

    it('examples - example:planner plans through the Chat Completions API when OPENAI_BASE_URL is set', async () => {
      const run = await npmRun('example:planner', [], { OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: 'test-key', OPENAI_MODEL: 'mock-model' });
      expectOk(run);
      expect(run.stdout).toContain(`[LLM planner: mock-model at ${baseUrl}]`);
      expect(run.stdout).not.toContain('scripted planner');
      expect(run.stdout).toContain('MOCK PLAN from 3 tool results: all ok');
      expect(run.stdout).toContain('→ flight-search {"origin":"Paris","destination":"Rome","date":"2026-06-01"}');
      expect(requests).toHaveLength(2);
      const [first, second] = requests as [(typeof requests)[0], (typeof requests)[0]];
      expect(first.auth).toBe('Bearer test-key');
      expect(first.body).toMatchObject({ model: 'mock-model', tool_choice: 'auto' });
      const tools = first.body.tools as { type: string; function: { name: string; parameters: { type: string } } }[];
      expect(tools.map((t) => t.function.name).sort()).toEqual(TOPICS);
      expect(tools.every((t) => t.type === 'function' && t.function.parameters.type === 'object')).toBe(true);
      // Round 2 carries the assistant's tool calls and one tool message per call, with the results.
      const msgs = second.body.messages as { role: string; tool_call_id?: string; content: string | null; tool_calls?: unknown[] }[];
      expect(msgs.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool', 'tool']);
      expect(msgs[2]!.tool_calls).toHaveLength(3);
      const results = msgs.slice(3).map((m) => JSON.parse(m.content!) as Record<string, unknown>);
      expect(results.find((r) => 'offers' in r)).toMatchObject({ origin: 'Paris', destination: 'Rome', passengers: 1 });
      expect(results.find((r) => 'hotels' in r)).toMatchObject({ city: 'Rome', checkOut: '2026-06-03' });
      expect(results.find((r) => 'days' in r && !('hotels' in r))).toMatchObject({ city: 'Rome' });
    });
  });

  it('examples - example:restart: a new supervisor resumes the task after a close() and gets every update and the result', async () => {
    const run = await npmRun('example:restart');
    expectOk(run);
    const out = run.stdout;
    expect(out).toMatch(/\[supervisor-1\]\s+sent task [0-9a-f-]{36} to report-writer/);
    expect(out).toMatch(/\[crash\]\s+supervisor-1 closed mid-task \(agent state: still working\); its result\(\) → ClientError CLOSED/);
    expect(out).toMatch(/\[supervisor-2\]\s+read .*task\.json; resumed task [0-9a-f-]{36}/);
    const events = tagged(out, 'supervisor-2').filter((l) => /^\d+\./.test(l));
    expect(events).toHaveLength(11);
    expect(events.some((l) => l.includes('[replayed: sent while no supervisor ran]'))).toBe(true);
    expect(events.at(-1)).toMatch(/^11\. COMPLETED/);
    expect(out).toContain('[result]');
    expect(out).toContain('{"subject":"electric cargo bikes in Europe","sections":4,"words":702}');
    expect(out).toMatch(/\[check\]\s+supervisor-2 got all 11 updates in order/);
  });

  it('examples - example:restart --kill: the first supervisor is killed with SIGKILL, the new one still gets the result', async () => {
    const run = await npmRun('example:restart', ['--kill']);
    expectOk(run);
    expect(run.stdout).toMatch(/\[crash\]\s+supervisor-1 \(pid \d+\) killed: SIGKILL/);
    expect(run.stdout).toContain('{"subject":"electric cargo bikes in Europe","sections":4,"words":702}');
    expect(run.stdout).toMatch(/\[check\]\s+supervisor-2 got all 11 updates in order/);
  });
});
