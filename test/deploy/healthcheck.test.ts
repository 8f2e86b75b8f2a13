/** deploy/healthcheck.mjs: exit 0 when the port accepts a TCP connection, 1 otherwise. */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './helpers.js';

const SCRIPT = join(root, 'deploy/healthcheck.mjs');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTMQ_HEALTH_')));
    execFile(process.execPath, [SCRIPT, ...args], { env: { ...clean, ...env }, timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
    });
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : -1);
    });
  });
}

describe('deploy/healthcheck.mjs', () => {
  const server = createServer((s) => s.end());
  let open = 0;
  let closed = 0;
  beforeAll(async () => {
    open = await listen(server);
    // A port that was just free and is closed again: nothing listens there.
    const tmp = createServer();
    closed = await listen(tmp);
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('deploy - healthy when HOST:PORT accepts connections', { timeout: 30_000 }, async () => {
    expect(await run([`127.0.0.1:${open}`])).toEqual({ code: 0, stderr: '' });
  });

  it('deploy - healthy with PORT only, and with AGENTMQ_HEALTH_PORT / AGENTMQ_HEALTH_HOST', { timeout: 30_000 }, async () => {
    expect((await run([String(open)])).code).toBe(0);
    expect((await run([], { AGENTMQ_HEALTH_PORT: String(open) })).code).toBe(0);
    expect((await run([], { AGENTMQ_HEALTH_HOST: '127.0.0.1', AGENTMQ_HEALTH_PORT: String(open) })).code).toBe(0);
  });

  it('deploy - unhealthy (exit 1, reason on stderr) when nothing listens', { timeout: 30_000 }, async () => {
    const r = await run([`127.0.0.1:${closed}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed} unhealthy: ECONNREFUSED`));
    expect((await run([], { AGENTMQ_HEALTH_PORT: String(closed) })).code).toBe(1);
  });

  it('deploy - several targets: healthy only when every one accepts connections', { timeout: 30_000 }, async () => {
    expect((await run([String(open), `127.0.0.1:${open}`])).code).toBe(0);
    expect((await run([], { AGENTMQ_HEALTH_PORT: `${open},${open}` })).code).toBe(0);
    const r = await run([String(open), String(closed)]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`healthcheck: 127.0.0.1:${closed} unhealthy: ECONNREFUSED`]);
    expect((await run([], { AGENTMQ_HEALTH_PORT: `${open},${closed}` })).code).toBe(1);
  });

  it('deploy - unhealthy on a bad target instead of checking the default port', { timeout: 30_000 }, async () => {
    const r = await run(['not a target'], { AGENTMQ_HEALTH_PORT: String(open) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad target/);
    expect((await run(['127.0.0.1:70000'])).stderr).toMatch(/bad port/);
  });
});
