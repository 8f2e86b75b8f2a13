/**
 * Sub-agent instances as child processes (test/e2e/fixtures/agent-process.ts), so an end-to-end
 * test can SIGKILL one mid-task. Each prints JSON lines; `waitFor` finds one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/agent-process.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface AgentLine {
  instance: string;
  event: string;
  taskId?: string;
  attempt?: number;
  cause?: string;
  [k: string]: unknown;
}

export interface AgentProcess {
  instance: string;
  proc: ChildProcess;
  lines: AgentLine[];
  output(): string;
  /** The first line (already printed or to come) matching `pred`; fails after `timeoutMs`. */
  waitFor(pred: (l: AgentLine) => boolean, timeoutMs: number, what: string): Promise<AgentLine>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAgentProcess(nameserver: string, instance: string, invisibleDurationMs = 2000): Promise<AgentProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, nameserver, instance, String(invisibleDurationMs)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' },
  });
  const lines: AgentLine[] = [];
  const waiters = new Set<() => void>();
  let out = '';
  let buf = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as AgentLine);
      } catch {
        continue;
      }
      for (const w of waiters) w();
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const waitFor = (pred: (l: AgentLine) => boolean, timeoutMs: number, what: string): Promise<AgentLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find(pred);
        if (hit) {
          done();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`agent ${instance}: no ${what} within ${timeoutMs} ms; output:\n${out}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      void exited.then(() => {
        if (!lines.find(pred)) {
          done();
          reject(new Error(`agent ${instance} exited (${String(proc.exitCode ?? proc.signalCode)}) before ${what}; output:\n${out}`));
        }
      });
      check();
    });
  const ap: AgentProcess = {
    instance,
    proc,
    lines,
    output: () => out,
    waitFor,
    kill9: async () => {
      if (running()) proc.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (running()) proc.kill('SIGTERM');
      const t = setTimeout(() => running() && proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  await waitFor((l) => l.event === 'ready', 25_000, 'ready line');
  return ap;
}
