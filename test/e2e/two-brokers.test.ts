/**
 * The agent loop on a 2-broker cluster: `agentmq nameserver` + 2 × `agentmq broker` child
 * processes. The capability topic and the reply / control LITE parents are created up front on
 * both brokers (AdminClient.createTopic goes to every live broker); then register (2 instances),
 * discover, call → stream → result, several calls spread over both brokers' queues.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, registerAgent, silentLogger, Supervisor, type Agent, type TaskEvent } from '../../client/index.js';
import { BIN, freePort } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';

interface Server {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function startServer(args: string[], timeoutMs = 20_000): Promise<Server> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' } });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/\bready\b/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited before ready:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

describe('e2e - the agent loop on a 2-broker cluster (child processes)', () => {
  const dir = tmpDir('agentmq-e2e-2b-');
  const servers: Server[] = [];
  const agents: Agent[] = [];
  let nameserver: string;
  let admin: AdminClient;
  let sup: Supervisor;

  beforeAll(async () => {
    const nsPort = await freePort();
    nameserver = `127.0.0.1:${nsPort}`;
    servers.push(await startServer(['nameserver', '--port', String(nsPort), '--embedder', 'lexical']));
    for (const name of ['broker-a', 'broker-b']) {
      const port = await freePort();
      servers.push(await startServer(['broker', '--nameserver', nameserver, '--port', String(port), '--data-dir', join(dir.path, name), '--broker-name', name, '--flush', 'async', '--max-long-polling-ms', '2000']));
    }
    admin = new AdminClient({ nameserver, logger: silentLogger });
    // Both brokers registered with the NameServer, then every topic on both.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const on = await admin.createTopic({ name: 'ledger-auditor', queueCount: 4 }, { ifNotExists: true });
      if (new Set(on.map((t) => t.broker)).size === 2) break;
      if (Date.now() > deadline) throw new Error(`only ${on.length} broker(s) registered`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const name of ['agentmq-replies', 'agentmq-control']) {
      const on = await admin.createTopic({ name, messageType: 'LITE' }, { ifNotExists: true });
      expect(on.map((t) => t.broker).sort()).toEqual(['broker-a', 'broker-b']);
    }
  }, 60_000);
  afterAll(async () => {
    await sup?.close();
    await Promise.all(agents.map((a) => a.close({ timeoutMs: 200 })));
    await admin?.close();
    for (const s of servers.reverse()) await s.stop();
    dir.cleanup();
  }, 30_000);

  const collect = async (events: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> => {
    const out: TaskEvent[] = [];
    for await (const e of events) out.push(e);
    return out;
  };

  it('e2e 2 brokers - register, discover, call → stream → result; 40 calls over both brokers all complete', async () => {
    for (const instance of ['a', 'b']) {
      agents.push(
        await registerAgent<{ numbers: number[] }, { sum: number; by: string }>({
          nameserver,
          logger: silentLogger,
          name: 'Ledger Auditor',
          description: 'Audits ledger entries: sums amounts, checks balances and reports discrepancies in accounting ledgers.',
          inputSchema: { type: 'object', properties: { numbers: { type: 'array', items: { type: 'number' } } }, required: ['numbers'] },
          awaitDurationMs: 2000,
          handler: async (t) => {
            await t.artifact({ name: 'audit', parts: [{ text: 'ok' }] });
            return { sum: t.input.numbers.reduce((a, b) => a + b, 0), by: instance };
          },
        }),
      );
    }
    // The capability topic is on both brokers.
    expect((await admin.getTopic('ledger-auditor')).map((t) => t.broker).sort()).toEqual(['broker-a', 'broker-b']);

    sup = new Supervisor({ nameserver, logger: silentLogger, awaitDurationMs: 2000 });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = await sup.discover('audit these ledger entries and report the total', { topK: 3 });
      if (found[0]?.topic === 'ledger-auditor' && found[0].live) break;
      if (Date.now() > deadline) throw new Error(`not discovered: ${JSON.stringify(found.map((c) => [c.topic, c.live]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const h = await sup.call<{ sum: number }>('ledger-auditor', { numbers: [1, 2, 3] }, { timeoutMs: 10_000 });
    const [events, result] = await Promise.all([collect(h.events()), h.result()]);
    expect(result.sum).toBe(6);
    expect(events.map((e) => (e.type === 'status' ? e.status.state : `artifact:${e.artifact.artifactId}`))).toEqual(['TASK_STATE_WORKING', 'artifact:audit', 'artifact:result', 'TASK_STATE_COMPLETED']);

    // Many calls: the producer spreads them over the queues of both brokers.
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, n) => (await sup.call<{ sum: number }>('ledger-auditor', { numbers: [n, 1] }, { timeoutMs: 15_000 })).result()),
    );
    results.forEach((r, n) => expect(r.sum).toBe(n + 1));
    // Both brokers stored tasks, so calls really crossed brokers (a LITE parent's stats do not
    // count its lite topics' messages, so the replies' placement is not checked here).
    const stored = async (topic: string) => Object.fromEntries((await admin.getTopic(topic)).map((t) => [t.broker, t.stats?.maxOffset ?? 0]));
    const tasks = await stored('ledger-auditor');
    console.log(`[e2e 2 brokers] task messages per broker: ${JSON.stringify(tasks)}`);
    expect(tasks['broker-a']).toBeGreaterThan(0);
    expect(tasks['broker-b']).toBeGreaterThan(0);
  }, 30_000);
});
