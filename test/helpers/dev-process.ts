/**
 * Runs `agentmq dev` (bin/agentmq.js) as a real child process on loopback, as a user would, and
 * waits for its "ready" line. Ports are chosen free up front so a restarted process (e.g. after
 * kill -9) comes back on the same endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/agentmq.js', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface DevProcess {
  proc: ChildProcess;
  nameserver: string;
  broker: string;
  /** Everything the process wrote so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill9(): Promise<void>;
}

export interface DevOptions {
  dataDir: string;
  nameserverPort?: number;
  brokerPort?: number;
  flush?: 'sync' | 'async';
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startDev(o: DevOptions): Promise<DevProcess> {
  const nsPort = o.nameserverPort ?? (await freePort());
  const brokerPort = o.brokerPort ?? (await freePort());
  const args = [BIN, 'dev', '--data-dir', o.dataDir, '--nameserver-port', String(nsPort), '--broker-port', String(brokerPort), ...(o.flush ? ['--flush', o.flush] : []), ...(o.extraArgs ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTMQ_LOG_LEVEL: process.env.AGENTMQ_LOG_LEVEL ?? 'warn' } });
  let out = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agentmq dev not ready after ${o.readyTimeoutMs ?? 20000} ms:\n${out}`)), o.readyTimeoutMs ?? 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/ready/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agentmq dev exited with ${code} before ready:\n${out}`));
    });
  });
  return {
    proc,
    nameserver: `127.0.0.1:${nsPort}`,
    broker: `127.0.0.1:${brokerPort}`,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `fn` until it returns truthy (for tests only; bounded by `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
