/**
 * `agentmq cluster up|down|status` as a user runs them (bin/agentmq.js child processes), for
 * tests on a local multi-process cluster. The processes are described by DIR/cluster.json.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BIN } from './dev-process.js';

export interface ClusterProcess {
  role: 'nameserver' | 'broker';
  name: string;
  port: number;
  pid?: number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `agentmq ...args` to completion (bounded by `timeoutMs`). */
export function agentmq(args: string[], timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`agentmq ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A base port P such that P .. P+count-1 are all free on 127.0.0.1 right now. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await bindable(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export function clusterProcesses(dir: string): ClusterProcess[] {
  return (JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { processes: ClusterProcess[] }).processes;
}

export function processNamed(dir: string, name: string): ClusterProcess {
  const p = clusterProcesses(dir).find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name} in ${dir}`);
  return p;
}

/** kill -9 of one cluster process; resolves once it is gone. */
export async function kill9(dir: string, name: string): Promise<void> {
  const p = processNamed(dir, name);
  if (p.pid === undefined) throw new Error(`${name} has no pid`);
  process.kill(p.pid, 'SIGKILL');
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      process.kill(p.pid, 0);
    } catch {
      return;
    }
    if (Date.now() > until) throw new Error(`${name} (pid ${p.pid}) still alive after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
