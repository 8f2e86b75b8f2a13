/**
 * Several NameServers (stateless replicas every broker registers with): option parsing, the
 * failover of NameServerFailover, and the SDK against two real in-process NameServers and one
 * broker registered with both, before and after one of them is closed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, ClientError, DiscoveryClient, MqError, Producer, SimpleConsumer, silentLogger, type CatalogEvent } from '../../client/index.js';
import { resolveMcpServerOptions } from '../../client/mcp/mcp-options.js';
import { McpToolCatalog } from '../../client/mcp/tool-catalog.js';
import { DEFAULT_NAMESERVER, resolveClientOptions, type ClientOptions } from '../../client/options.js';
import { ChannelPool } from '../../client/rpc/channels.js';
import { NameServerFailover, NameServerRpc } from '../../client/rpc/nameserver-rpc.js';
import { createBroker, type Broker } from '../../broker/index.js';
import { createNameServer, type NameServer } from '../../nameserver/index.js';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import type { LogFields, Logger } from '../../proto/common/logger.js';
import { BIN, freePort } from '../helpers/dev-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';

interface Line {
  level: string;
  msg: string;
  fields: LogFields | undefined;
}

/** A logger that keeps every line. */
function capture(): Logger & { lines: Line[]; warnings(msg: string): Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void lines.push({ level, msg, fields });
  const log: Logger & { lines: Line[]; warnings(msg: string): Line[] } = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => log,
    warnings: (msg) => lines.filter((l) => l.level === 'warn' && l.msg === msg),
  };
  return log;
}

const SWITCH = 'nameserver unreachable; trying the next';

/** Runs the agentmq command; its exit code and output. */
async function agentmq(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 30_000, env: { ...process.env, AGENTMQ_LOG_LEVEL: 'error' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not reject');
}

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('nameserver failover - options', () => {
  it('nameserver failover - a ;/, list in one string, an array, or both; normalised, deduplicated, order kept', () => {
    expect(resolveClientOptions({ nameserver: '10.0.0.1:9876;10.0.0.2:9876' }).nameservers).toEqual(['10.0.0.1:9876', '10.0.0.2:9876']);
    expect(resolveClientOptions({ nameserver: '10.0.0.2:1,10.0.0.1:2' }).nameservers).toEqual(['10.0.0.2:1', '10.0.0.1:2']);
    expect(resolveClientOptions({ nameserver: ['b.local', 'a.local:1'] }).nameservers).toEqual(['b.local:9876', 'a.local:1']);
    expect(resolveClientOptions({ nameserver: [' a:1 ; b:2 ', 'c:3,[::1]:4'] }).nameservers).toEqual(['a:1', 'b:2', 'c:3', '[::1]:4']);
    // Duplicates (also once normalised) are dropped; empty entries are ignored.
    const r = resolveClientOptions({ nameserver: 'ns.local;ns.local:9876;;10.0.0.1:1, 10.0.0.1:1;' });
    expect(r.nameservers).toEqual(['ns.local:9876', '10.0.0.1:1']);
    expect(r.nameserver).toBe('ns.local:9876');
    // One address and the default: a list of one.
    expect(resolveClientOptions({ nameserver: '10.0.0.1' }).nameservers).toEqual(['10.0.0.1:9876']);
    expect(resolveClientOptions().nameservers).toEqual([DEFAULT_NAMESERVER]);
    expect(resolveClientOptions().nameserver).toBe(DEFAULT_NAMESERVER);
  });

  it('nameserver failover - a bad entry is an InvalidArgumentError naming it; an empty list is one too', () => {
    for (const bad of ['a:1;host:notaport', ['a:1', 'host:notaport'], 'a:1,host:notaport;b:2']) {
      const err = errorOf(() => resolveClientOptions({ nameserver: bad }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe(Code.ILLEGAL_ACCESS_POINT);
      expect(err.message).toMatch(/^nameserver .*"host:notaport"/);
    }
    expect(errorOf(() => resolveClientOptions({ nameserver: 'a:1;b:99999' })).message).toContain('"b:99999"');
    for (const empty of ['', ' ; , ', []]) {
      const err = errorOf(() => resolveClientOptions({ nameserver: empty }));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe(Code.ILLEGAL_ACCESS_POINT);
    }
    expect(errorOf(() => resolveClientOptions({ nameserver: [42] as unknown as string[] }))).toBeInstanceOf(InvalidArgumentError);
  });

  it('nameserver failover - resolved options spread back in keep the whole list unless nameserver is overridden', () => {
    const resolved = resolveClientOptions({ nameserver: 'a:1;b:2', clientId: 'me' });
    // What Agent, Supervisor and the MCP server do to derive their clients' options.
    const derived: ClientOptions = { ...resolved, clientId: 'me-catalog' };
    expect(resolveClientOptions(derived).nameservers).toEqual(['a:1', 'b:2']);
    expect(resolveClientOptions({ ...resolved, nameserver: 'c:3' }).nameservers).toEqual(['c:3']);
    expect(resolveMcpServerOptions({ nameserver: ['a:1', 'b:2;c:3'] }).client.nameservers).toEqual(['a:1', 'b:2', 'c:3']);
  });
});

describe('nameserver failover - NameServerFailover', () => {
  const transport = (endpoint: string) => new ClientError('TRANSPORT', `QueryRoute to ${endpoint} failed: UNAVAILABLE`, { endpoint, method: 'QueryRoute', grpcCode: 14 });

  it('nameserver failover - a transport failure moves to the next NameServer, once each, and sticks to the one that answered', async () => {
    const log = capture();
    const f = new NameServerFailover(['a:1', 'b:2', 'c:3'], log);
    const calls: string[] = [];
    const res = await f.run('QueryRoute', async (e) => {
      calls.push(e);
      if (e !== 'c:3') throw e === 'a:1' ? transport(e) : new ClientError('TIMEOUT', `QueryRoute to ${e} timed out`, { endpoint: e });
      return `answer from ${e}`;
    });
    expect(res).toBe('answer from c:3');
    expect(calls).toEqual(['a:1', 'b:2', 'c:3']);
    expect(f.current).toBe('c:3');
    expect(log.warnings(SWITCH).map((l) => [l.fields?.endpoint, l.fields?.next])).toEqual([
      ['a:1', 'b:2'],
      ['b:2', 'c:3'],
    ]);
    // The next call goes straight to the one that answered.
    calls.length = 0;
    await f.run('QueryRoute', async (e) => (calls.push(e), 'ok'));
    expect(calls).toEqual(['c:3']);
  });

  it('nameserver failover - a status is not retried elsewhere; every NameServer failing rejects once, naming them', async () => {
    const log = capture();
    const f = new NameServerFailover(['a:1', 'b:2'], log);
    const calls: string[] = [];
    const notFound = await rejection(
      f.run('QueryRoute', async (e) => {
        calls.push(e);
        throw new MqError(Code.TOPIC_NOT_FOUND, 'topic x not found');
      }),
    );
    expect((notFound as MqError).code).toBe(Code.TOPIC_NOT_FOUND);
    expect(calls).toEqual(['a:1']);
    expect(log.warnings(SWITCH)).toEqual([]);

    calls.length = 0;
    const all = await rejection(f.run('QueryRoute', async (e) => (calls.push(e), Promise.reject(transport(e)))));
    expect(calls).toEqual(['a:1', 'b:2']);
    expect(all).toBeInstanceOf(ClientError);
    expect((all as ClientError).code).toBe('TRANSPORT');
    expect(all.message).toContain('every NameServer failed: a:1, b:2');
    expect(log.warnings(SWITCH)).toHaveLength(1);

    // An aborted caller is not retried on the next NameServer.
    calls.length = 0;
    const abort = new AbortController();
    abort.abort();
    await rejection(f.run('QueryRoute', async (e) => (calls.push(e), Promise.reject(transport(e))), abort.signal));
    expect(calls).toHaveLength(1);
  });
});

describe('nameserver failover - two NameServers, one broker', () => {
  let nsA: NameServer;
  let nsB: NameServer;
  let A: string;
  let B: string;
  let broker: Broker;
  let dir: ReturnType<typeof tmpDir>;
  let both: string;
  const closing: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(c: T): T => (closing.push(c), c);

  beforeAll(async () => {
    dir = tmpDir();
    nsA = createNameServer({ port: 0, logger: silentLogger, discovery: { embedder: { kind: 'lexical' } } });
    nsB = createNameServer({ port: 0, logger: silentLogger, discovery: { embedder: { kind: 'lexical' } } });
    await Promise.all([nsA.start(), nsB.start()]);
    A = `127.0.0.1:${nsA.address.port}`;
    B = `127.0.0.1:${nsB.address.port}`;
    both = `${A};${B}`;
    broker = createBroker({ port: 0, nameservers: [A, B], logger: silentLogger, store: { dataDir: dir.path } });
    await broker.start();
    const admin = track(new AdminClient({ nameserver: both, logger: silentLogger }));
    await admin.createTopic({ name: 'nsf-orders', queueCount: 2 });
    await admin.registerTopic({
      name: 'nsf-translator',
      description: 'Translates text between English, French and German.',
      tags: ['language'],
      skills: [{ id: 'translate', name: 'Translate', description: 'Translate a passage', tags: [], examples: ['translate this paragraph to German'] }],
    });
    // Both NameServers know the topics (the broker registers with each).
    for (const ns of [A, B]) {
      const one = track(new AdminClient({ nameserver: ns, logger: silentLogger }));
      await until(async () => {
        const brokers = await one.listBrokers();
        const names = brokers.flatMap((b) => b.topics.map((t) => t.name));
        return names.includes('nsf-orders') && names.includes('nsf-translator');
      }, `the topics on ${ns}`);
    }
  });

  afterAll(async () => {
    for (const c of closing.reverse()) await c.close().catch(() => undefined);
    await broker?.close();
    await nsA?.close();
    await nsB?.close();
    dir?.cleanup();
  });

  it('nameserver failover - a Producer and a SimpleConsumer given "A;B" send and receive', async () => {
    const producer = track(new Producer({ nameserver: both, logger: silentLogger }));
    await producer.start();
    const consumer = track(new SimpleConsumer({ nameserver: both, logger: silentLogger, group: 'nsf-g', subscriptions: { 'nsf-orders': '*' }, awaitDurationMs: 1000 }));
    await consumer.start();
    const sent = await producer.send({ topic: 'nsf-orders', body: 'before' });
    let got: string[] = [];
    await until(async () => {
      const batch = await consumer.receive({ maxMessages: 8 });
      for (const m of batch) await m.ack();
      got = [...got, ...batch.map((m) => m.messageId)];
      return got.includes(sent.messageId);
    }, 'the message');
  });

  it('nameserver failover - an application error (TOPIC_NOT_FOUND) is not masked by failover', async () => {
    const log = capture();
    const channels = new ChannelPool();
    try {
      const rpc = new NameServerRpc({ channels, clientId: 'nsf-rpc', requestTimeoutMs: 2000, logger: log }, [A, B]);
      const err = await rejection(rpc.queryRoute('nsf-no-such-topic'));
      expect(err).toBeInstanceOf(MqError);
      expect((err as MqError).code).toBe(Code.TOPIC_NOT_FOUND);
      expect(rpc.accessPoint).toBe(A);
      expect(log.warnings(SWITCH)).toEqual([]);
    } finally {
      channels.close();
    }
    // Through the SDK: the producer's send fails with the NameServer's status, not a transport error.
    const producer = track(new Producer({ nameserver: both, logger: log }));
    await producer.start();
    const sendErr = await rejection(producer.send({ topic: 'nsf-no-such-topic', body: 'x' }));
    expect(sendErr).toBeInstanceOf(MqError);
    expect((sendErr as MqError).code).toBe(Code.TOPIC_NOT_FOUND);
    expect(log.warnings(SWITCH)).toEqual([]);
  });

  it('nameserver failover - a list whose first entry is a dead port works (and says so at warn)', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const log = capture();
    const producer = track(new Producer({ nameserver: `${dead};${B};${A}`, logger: log }));
    await producer.start();
    const r = await producer.send({ topic: 'nsf-orders', body: 'via B' });
    expect(r.messageId).toBeTruthy();
    const switched = log.warnings(SWITCH);
    expect(switched.length).toBeGreaterThanOrEqual(1);
    expect(switched[0]?.fields).toMatchObject({ endpoint: dead, next: B });

    // An application error after a failover still comes through as the status.
    const channels = new ChannelPool();
    try {
      const rpc = new NameServerRpc({ channels, clientId: 'nsf-rpc2', requestTimeoutMs: 2000, logger: log }, [dead, A]);
      const err = await rejection(rpc.queryRoute('nsf-no-such-topic'));
      expect((err as MqError).code).toBe(Code.TOPIC_NOT_FOUND);
      expect(rpc.accessPoint).toBe(A);
      expect((await rpc.queryRoute('nsf-orders')).length).toBe(2);
    } finally {
      channels.close();
    }

    const disco = track(new DiscoveryClient({ nameserver: [dead, A], logger: silentLogger }));
    expect((await disco.discover('translate a paragraph into German', { includeOffline: true })).hits[0]?.topic.name).toBe('nsf-translator');
    expect(disco.nameserver).toBe(A);
  });

  it('nameserver failover - cli: --nameserver takes a ;/, list in one value, or the flag repeated', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const brokers = await agentmq(['brokers', '--json', '--nameserver', `${dead};${A}`]);
    expect(brokers.stderr).toBe('');
    expect((JSON.parse(brokers.stdout) as { name: string }[]).map((b) => b.name)).toEqual(['broker-a']);
    const sent = await agentmq(['send', 'nsf-orders', 'from the cli', '--nameserver', dead, '--nameserver', `${B},${A}`]);
    expect(sent.stderr).toBe('');
    expect(sent.stdout).toMatch(/^sent \S+ offset=\d+/);
    const bad = await agentmq(['brokers', '--nameserver', `${A};host:notaport`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ILLEGAL_ACCESS_POINT.*"host:notaport"/);
    const help = await agentmq(['send', '--help']);
    expect(help.stdout).toMatch(/--nameserver HOST:PORT[\s\S]*HOST:PORT;HOST:PORT/);
  });

  it('nameserver failover - after A is closed: new producers, consumers, discovery and the watch use B', async () => {
    const log = capture();
    const disco = track(new DiscoveryClient({ nameserver: both, logger: log }));
    // A watch stream open on A, and an MCP tool catalog whose watch reconnects with backoff.
    const events: CatalogEvent[] = [];
    let watchEnd: unknown = 'running';
    const watching = (async () => {
      try {
        for await (const e of disco.watch({ includeOffline: true })) events.push(e);
        watchEnd = 'ended';
      } catch (err) {
        watchEnd = err;
      }
    })();
    await until(() => events.some((e) => e.type === 'snapshot-end'), 'the watch snapshot');
    expect(disco.nameserver).toBe(A);
    const mcpOptions = resolveMcpServerOptions({ nameserver: both, logger: log, includeOffline: true, watchRetryMs: { min: 50, max: 200 } });
    const catalogDisco = track(new DiscoveryClient({ ...mcpOptions.client, clientId: `${mcpOptions.client.clientId}-catalog` }));
    const catalog = new McpToolCatalog(mcpOptions, catalogDisco, log);
    closing.push({ close: () => catalog.stop() });
    catalog.start();
    expect(await catalog.whenReady(10_000)).toBe(true);
    expect(catalog.tools.map((t) => t.name).join(',')).toContain('nsf');

    await nsA.close();

    // The open stream ends with a transport error; the next NameServer became current.
    await until(() => watchEnd !== 'running', 'the watch on A to end', 15_000);
    await watching;
    expect(watchEnd).toBeInstanceOf(ClientError);
    expect((watchEnd as ClientError).code).toBe('TRANSPORT');
    expect(disco.nameserver).toBe(B);
    // Calling watch() again continues on B, with its snapshot.
    const again: CatalogEvent[] = [];
    const abort = new AbortController();
    const rewatching = (async () => {
      for await (const e of disco.watch({ includeOffline: true, signal: abort.signal })) again.push(e);
    })();
    await until(() => again.some((e) => e.type === 'snapshot-end'), 'the snapshot from B');
    expect(again.some((e) => e.type === 'snapshot' && e.topic.name === 'nsf-translator')).toBe(true);

    // Unary discovery calls on a fresh client go to B after A refuses.
    const fresh = track(new DiscoveryClient({ nameserver: both, logger: log }));
    expect((await fresh.discover('translate a paragraph into German', { includeOffline: true })).hits[0]?.topic.name).toBe('nsf-translator');
    expect((await fresh.getTopic('nsf-translator'))?.name).toBe('nsf-translator');
    expect((await fresh.listTopics({ includeOffline: true })).map((t) => t.name)).toContain('nsf-translator');
    expect(fresh.nameserver).toBe(B);

    // A new producer (fresh route cache) and consumer with the same list resolve routes on B.
    const producer = track(new Producer({ nameserver: both, logger: log }));
    await producer.start();
    const sent = await producer.send({ topic: 'nsf-orders', body: 'after' });
    const consumer = track(new SimpleConsumer({ nameserver: both, logger: log, group: 'nsf-g2', subscriptions: { 'nsf-orders': '*' }, awaitDurationMs: 1000 }));
    await consumer.start();
    let seen = false;
    await until(async () => {
      for (const m of await consumer.receive({ maxMessages: 16 })) {
        if (m.messageId === sent.messageId) seen = true;
        await m.ack();
      }
      return seen;
    }, 'the message sent after A closed');
    expect(log.warnings(SWITCH).some((l) => l.fields?.endpoint === A && l.fields?.next === B)).toBe(true);

    // The MCP catalog's watch came back on B: a capability registered now reaches its tools.
    const admin = track(new AdminClient({ nameserver: both, logger: silentLogger }));
    await admin.registerTopic({ name: 'nsf-summarizer', description: 'Summarizes long documents into a few sentences.', tags: ['language'], skills: [] });
    await until(() => catalog.tools.some((t) => t.name.includes('nsf-summarizer')), 'the new tool via B', 15_000);

    abort.abort();
    await rewatching;
  });
});
