/**
 * Lite topics from the command line: `agentmq dev` in one child process, `topic create --type
 * lite`, `group create --lite-mode`, `send --lite-topic` and `consume --lite-topic` in others.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startDev, type DevProcess } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const exec = promisify(execFile);

async function agentmq(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = exec(process.execPath, [BIN, ...args], { timeout: 30_000, env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' } });
  if (input !== undefined) child.child.stdin!.end(input);
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('cli - lite topics', () => {
  let dev: DevProcess;
  let dir: ReturnType<typeof tmpDir>;
  let ns: string[];
  beforeAll(async () => {
    dir = tmpDir();
    dev = await startDev({ dataDir: dir.path });
    ns = ['--nameserver', dev.nameserver];
  });
  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
    dir?.cleanup();
  });

  it('cli - lite options are documented in --help', async () => {
    const help = async (args: string[]) => {
      const r = await agentmq([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      return r.stdout;
    };
    expect(await help(['topic'])).toMatch(/--type NORMAL\|FIFO\|DELAY\|PRIORITY\|LITE[\s\S]*--lite-ttl-ms N\|never/);
    expect(await help(['group'])).toMatch(/--lite-mode shared\|exclusive[\s\S]*--lite-client-quota N/);
    expect(await help(['send'])).toMatch(/--lite-topic L/);
    expect(await help(['consume'])).toMatch(/--lite-topic L[\s\S]*--lite-offset/);
  });

  it('cli - topic create --type lite, send --lite-topic, consume --lite-topic in order per lite topic', async () => {
    const created = await agentmq(['topic', 'create', 'cli-replies', '--type', 'lite', '--lite-ttl-ms', 'never', ...ns]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/topic cli-replies on broker-a: 1 queues, LITE/);
    const listed = await agentmq(['topic', 'list', '--json', ...ns]);
    const topic = (JSON.parse(listed.stdout) as { name: string; messageType: string; attributes: Record<string, string> }[]).find((t) => t.name === 'cli-replies');
    expect(topic).toMatchObject({ messageType: 'LITE', attributes: { 'lite.ttl.ms': '-1' } });

    expect((await agentmq(['send', 'cli-replies', 'hello task 1', '--lite-topic', 'task-1', ...ns])).stdout).toMatch(/^sent \S+ offset=0/);
    const piped = await agentmq(['send', 'cli-replies', '--lite-topic', 'task-2', ...ns], 'one\ntwo\nthree\n');
    expect(piped.code).toBe(0);
    expect(piped.stdout.trim().split('\n')).toHaveLength(3);
    await agentmq(['send', 'cli-replies', 'not for us', '--lite-topic', 'task-3', ...ns]);

    const consumed = await agentmq(['consume', 'cli-replies', '--group', 'cli-lite-g', '--lite-topic', 'task-1', '--lite-topic', 'task-2', '--count', '4', '--json', ...ns]);
    expect(consumed.stderr).toBe('');
    expect(consumed.code).toBe(0);
    const lines = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { liteTopic: string; body: string; topic: string });
    expect(lines.every((l) => l.topic === 'cli-replies')).toBe(true);
    expect(lines.filter((l) => l.liteTopic === 'task-1').map((l) => l.body)).toEqual(['hello task 1']);
    expect(lines.filter((l) => l.liteTopic === 'task-2').map((l) => l.body)).toEqual(['one', 'two', 'three']);

    // Acked: the same group finds nothing more; the text output names the lite topic.
    expect((await agentmq(['consume', 'cli-replies', '--group', 'cli-lite-g', '--lite-topic', 'task-1', '--wait-ms', '500', ...ns])).stdout).toBe('');
    await agentmq(['send', 'cli-replies', 'later', '--lite-topic', 'task-1', ...ns]);
    const text = await agentmq(['consume', 'cli-replies', '--group', 'cli-lite-g', '--lite-topic', 'task-1', '--count', '1', ...ns]);
    expect(text.stdout).toMatch(/^\S+ attempt=1 lite=task-1 later$/m);
    // Only new messages with --lite-offset max.
    const fresh = await agentmq(['consume', 'cli-replies', '--group', 'cli-lite-new', '--lite-topic', 'task-2', '--lite-offset', 'max', '--wait-ms', '500', ...ns]);
    expect(fresh.stdout).toBe('');
  });

  it('cli - group create with lite attributes; lite mistakes are clear errors', async () => {
    const created = await agentmq(['group', 'create', 'cli-excl', '--lite-mode', 'exclusive', '--lite-client-quota', '5', ...ns]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/group cli-excl on broker-a: .*lite\.sub\.model=Exclusive.*lite\.sub\.client\.quota=5/);
    const listed = await agentmq(['group', 'list', '--json', ...ns]);
    expect((JSON.parse(listed.stdout) as { name: string; attributes: Record<string, string> }[]).find((g) => g.name === 'cli-excl')?.attributes).toEqual({
      'lite.sub.model': 'Exclusive',
      'lite.sub.client.quota': '5',
    });

    const badMode = await agentmq(['group', 'create', 'cli-bad', '--lite-mode', 'sometimes', ...ns]);
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toMatch(/--lite-mode must be shared or exclusive/);
    const badName = await agentmq(['send', 'cli-replies', 'x', '--lite-topic', 'no spaces!', ...ns]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/ILLEGAL_LITE_TOPIC/);
    const notLite = await agentmq(['topic', 'create', 'cli-plain', ...ns]);
    expect(notLite.code).toBe(0);
    const wrongTopic = await agentmq(['send', 'cli-plain', 'x', '--lite-topic', 'task-1', ...ns]);
    expect(wrongTopic.code).toBe(1);
    expect(wrongTopic.stderr).toMatch(/MESSAGE_PROPERTY_CONFLICT_WITH_TYPE|LITE/);
    const tagAndLite = await agentmq(['consume', 'cli-replies', '--group', 'g', '--lite-topic', 'a', '--tag', 't', ...ns]);
    expect(tagAndLite.code).toBe(2);
    const badTtl = await agentmq(['topic', 'create', 'cli-lite-bad', '--type', 'lite', '--lite-ttl-ms', '5', ...ns]);
    expect(badTtl.code).toBe(1);
    expect(badTtl.stderr).toMatch(/lite\.ttl\.ms/);
  });
});
