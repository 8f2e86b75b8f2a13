/**
 * The agentmq command as a user runs it: `agentmq dev` in one child process, client commands in
 * others, against the same NameServer.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startDev, type DevProcess } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const exec = promisify(execFile);

async function agentmq(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = exec(process.execPath, [BIN, ...args], { timeout: 30_000, env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' } });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('cli', () => {
  let dev: DevProcess;
  let dir: ReturnType<typeof tmpDir>;
  beforeAll(async () => {
    dir = tmpDir();
    dev = await startDev({ dataDir: dir.path });
  });
  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
    expect(dev.output()).toContain('ready');
    dir?.cleanup();
  });

  it('cli - --help everywhere, unknown commands and options are usage errors', async () => {
    const top = await agentmq(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: agentmq <command>/);
    for (const cmd of [['dev'], ['topic'], ['send'], ['consume']]) {
      const r = await agentmq([...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout, cmd.join(' ')).toMatch(/Usage:/);
    }
    expect((await agentmq(['frobnicate'])).code).toBe(2);
    const bad = await agentmq(['dev', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bogus/);
    const badHnsw = await agentmq(['nameserver', '--port', '0', '--hnsw-m', '1']);
    expect(badHnsw.code).toBe(2);
    expect(badHnsw.stderr).toMatch(/--hnsw-m: m must be an integer from 2 to 100 \(got 1\)/);
    expect((await agentmq(['nameserver', '--hnsw-ef-search', 'many'])).code).toBe(2);
    expect((await agentmq(['nameserver', '--help'])).stdout).toMatch(/--hnsw-ef-search N/);
  });

  it('cli - topic create/list, send (argument and stdin), consume with ack', async () => {
    const ns = ['--nameserver', dev.nameserver];
    const created = await agentmq(['topic', 'create', 'cli-orders', '--queues', '2', ...ns]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/topic cli-orders on broker-a: 2 queues/);
    const listed = await agentmq(['topic', 'list', ...ns]);
    expect(listed.stdout).toMatch(/cli-orders\s+NORMAL\s+2/);

    expect((await agentmq(['send', 'cli-orders', 'hello', '--tag', 'greeting', '--key', 'k1', ...ns])).stdout).toMatch(/^sent \S+ offset=\d+/);
    const piped = await agentmq(['send', 'cli-orders', '--tag', 'line', ...ns], 'one\ntwo\nthree\n');
    expect(piped.stdout.trim().split('\n')).toHaveLength(3);

    const consumed = await agentmq(['consume', 'cli-orders', '--group', 'cli-g', '--count', '4', '--json', ...ns]);
    expect(consumed.code).toBe(0);
    const bodies = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l).body as string);
    expect(bodies.sort()).toEqual(['hello', 'one', 'three', 'two']);
    // Acked: a second consumer of the same group finds nothing.
    const again = await agentmq(['consume', 'cli-orders', '--group', 'cli-g', '--wait-ms', '500', ...ns]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('cli - bad input is a clear error with a non-zero exit', async () => {
    const ns = ['--nameserver', dev.nameserver];
    const badName = await agentmq(['topic', 'create', 'bad name!', ...ns]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/ILLEGAL_TOPIC/);
    const noTopic = await agentmq(['send', 'no-such-topic', 'x', ...ns]);
    expect(noTopic.code).toBe(1);
    expect(noTopic.stderr).toMatch(/not found|TOPIC_NOT_FOUND/i);
    const noGroup = await agentmq(['consume', 'cli-orders', ...ns]);
    expect(noGroup.code).toBe(2);
    expect(noGroup.stderr).toMatch(/--group/);
  });

  it('cli - message find/get by key and id; delayed send prints a recall handle', async () => {
    const ns = ['--nameserver', dev.nameserver];
    const sent = await agentmq(['send', 'cli-orders', 'find me', '--key', 'order-99', '--tag', 't', ...ns]);
    const id = /^sent (\S+)/.exec(sent.stdout)?.[1];
    expect(id).toBeTruthy();
    const found = await agentmq(['message', 'find', 'cli-orders', 'order-99', '--json', ...ns]);
    expect(found.code).toBe(0);
    expect(JSON.parse(found.stdout.trim().split('\n')[0]!).messageId).toBe(id);
    const got = await agentmq(['message', 'get', id!, '--body', ...ns]);
    expect(got.stdout).toMatch(/state=stored/);
    expect(got.stdout).toMatch(/body find me/);
    const delayed = await agentmq(['send', 'cli-orders', 'later', '--delay-ms', '60000', ...ns]);
    expect(delayed.stdout).toMatch(/^scheduled \S+ recall-handle=\S+/);
    const missing = await agentmq(['message', 'get', 'NO-SUCH-ID', ...ns]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
  });

  it('cli - topic register (fields and AgentCard) and discover', async () => {
    const ns = ['--nameserver', dev.nameserver];
    const reg = await agentmq(['topic', 'register', 'cli-invoices', '--description', 'Reconciles supplier invoices against purchase orders', '--tag', 'finance', '--skill', 'Reconcile:match invoices to purchase orders', ...ns]);
    expect(reg.stdout).toMatch(/topic cli-invoices registered on broker-a/);
    const card = await agentmq(['topic', 'register', '--agent-card', new URL('../fixtures/agent-card-v1.json', import.meta.url).pathname, ...ns]);
    expect(card.stdout).toMatch(/registered on broker-a/);
    const found = await agentmq(['discover', 'who can reconcile supplier invoices?', '--all', '--json', ...ns]);
    expect(found.code).toBe(0);
    const res = JSON.parse(found.stdout) as { hits: { topic: { name: string } }[]; noMatch: boolean };
    expect(res.hits[0]?.topic.name).toBe('cli-invoices');
    expect(res.noMatch).toBe(false);
    const bad = await agentmq(['topic', 'register', 'cli-bad', '--description', ' ', ...ns]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/BAD_REQUEST.*description/);
  });
});
