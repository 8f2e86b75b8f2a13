/**
 * `npm run bench:agent`: the overhead of the agent SDK's `Supervisor.call()` over a raw
 * send + receive, on loopback against `agentmq dev` (async flush) in a child process.
 *
 * - raw: a Producer sends a message to the NORMAL topic `raw-tasks`; an echo worker (a
 *   SimpleConsumer of group `raw-workers`, parallel long-polling receives) sends ONE reply on the
 *   request's lite topic `r-<id>` of the LITE parent `raw-replies` and acks; the requester (one
 *   LiteConsumer) subscribed that lite topic BEFORE the clock starts. Measured: send → reply
 *   received.
 * - call(): `Supervisor.call(topic, args)` to an agent (registerAgent, in this process) whose
 *   handler returns at once, then `handle.result()`. Measured: call() → result resolved. This
 *   includes what call() does and raw does not: a fresh task id, subscribing the reply lite topic
 *   (in parallel with the send), the agent's WORKING status + result artifact + COMPLETED (three
 *   replies instead of one), the agent's cancel-channel subscribe/unsubscribe, and the reply
 *   unsubscribe at the end.
 *
 * Sequential (one request at a time), then `--concurrency` levels (that many requests in flight,
 * each new one started as one ends). Prints p50/p99 per case and call() − raw; `--json FILE`
 * writes everything. Bounded: a fixed number of requests per case, and `--max-seconds` for the
 * whole run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  AdminClient,
  LiteConsumer,
  Producer,
  registerAgent,
  SimpleConsumer,
  silentLogger,
  Supervisor,
  type Agent,
  type LiteMessage,
  type ReceivedMessage,
} from '../../client/index.js';
import { Histogram, type HistogramSummary } from '../histogram.js';
import { cleanupAll, cleanupAllSync, freePort, makeTempDir, removeTempDir, startServer } from '../servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

const USAGE = `Usage: npm run bench:agent [-- OPTIONS]

The overhead of Supervisor.call() over a raw send + receive (Producer -> SimpleConsumer echo worker
-> reply on a pre-subscribed lite topic -> LiteConsumer), on loopback against \`agentmq dev\`.

Options:
  --sequential N      requests measured one at a time, per case (default 2000)
  --concurrency LIST  comma-separated in-flight levels (default 8,32,64; max 64, the agent's cap)
  --requests N        requests measured per concurrency level, per case (default 4000)
  --warmup N          unmeasured requests before each case (default 300)
  --max-seconds S     give up (exit 1) if the whole run takes longer (default 300)
  --json FILE         also write the results as JSON
  --help              this text
`;

interface Options {
  sequential: number;
  concurrency: number[];
  requests: number;
  warmup: number;
  maxSeconds: number;
  json?: string;
}

function parse(argv: string[]): Options | undefined {
  const o: Options = { sequential: 2000, concurrency: [8, 32, 64], requests: 4000, warmup: 300, maxSeconds: 300 };
  const int = (name: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: expected an integer in ${min}..${max}, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--help':
      case '-h':
        return undefined;
      case '--sequential':
        o.sequential = int(a, v, 1, 1_000_000);
        i++;
        break;
      case '--requests':
        o.requests = int(a, v, 1, 1_000_000);
        i++;
        break;
      case '--warmup':
        o.warmup = int(a, v, 0, 1_000_000);
        i++;
        break;
      case '--max-seconds':
        o.maxSeconds = int(a, v, 1, 86_400);
        i++;
        break;
      case '--concurrency':
        o.concurrency = String(v ?? '')
          .split(',')
          .filter(Boolean)
          .map((x) => int(a, x, 1, 64));
        i++;
        break;
      case '--json':
        if (!v) throw new Error('--json: expected a file name');
        o.json = v;
        i++;
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** One request: resolves when its reply (raw) or result (call) arrived. */
type Request = (i: number) => Promise<void>;

/** Runs `total` requests with `inflight` at once; returns the latency histogram and the rate. */
async function measure(request: Request, total: number, inflight: number): Promise<{ h: Histogram; perSec: number }> {
  const h = new Histogram();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inflight, total) }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        await request(i);
        h.recordMs(performance.now() - s);
      }
    }),
  );
  return { h, perSec: (total / (performance.now() - t0)) * 1000 };
}

interface CaseResult {
  inflight: number;
  raw: HistogramSummary & { perSec: number };
  call: HistogramSummary & { perSec: number };
}

async function main(): Promise<void> {
  let opts: Options | undefined;
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(USAGE);
    return;
  }
  const o = opts;
  const watchdog = setTimeout(() => {
    log(`bench:agent: gave up after --max-seconds ${o.maxSeconds}`);
    cleanupAllSync();
    process.exit(1);
  }, o.maxSeconds * 1000);
  watchdog.unref();

  const dir = makeTempDir('bench-agent');
  const [nsPort, brokerPort] = [await freePort(), await freePort()];
  log('starting agentmq dev (async flush) ...');
  const server = await startServer({
    name: 'agentmq dev',
    command: process.execPath,
    args: [join(repoRoot, 'bin', 'agentmq.js'), 'dev', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--nameserver-port', String(nsPort), '--broker-port', String(brokerPort), '--flush', 'async', '--max-long-polling-ms', '2000'],
    env: { ...process.env, AGENTMQ_LOG_LEVEL: 'warn' },
    cwd: repoRoot,
    readyPattern: /\bready\b/,
    logPath: join(dir, 'agentmq.log'),
  });
  const nameserver = `127.0.0.1:${nsPort}`;
  const closers: (() => Promise<unknown>)[] = [];
  let running = true;
  const loops: Promise<void>[] = [];
  try {
    // ---- raw: Producer -> SimpleConsumer echo worker -> lite reply -> LiteConsumer -----------
    const admin = new AdminClient({ nameserver, logger: silentLogger });
    closers.push(() => admin.close());
    await admin.createTopic({ name: 'raw-tasks', queueCount: 4 });
    await admin.createTopic({ name: 'raw-replies', messageType: 'LITE' });
    const workerProducer = new Producer({ nameserver, logger: silentLogger, topics: ['raw-replies'] });
    const workerConsumer = new SimpleConsumer({ nameserver, logger: silentLogger, group: 'raw-workers', subscriptions: { 'raw-tasks': '*' }, awaitDurationMs: 2000, maxMessages: 32 });
    const reqProducer = new Producer({ nameserver, logger: silentLogger, topics: ['raw-tasks'] });
    const replies = new LiteConsumer({ nameserver, logger: silentLogger, group: 'raw-requester', topic: 'raw-replies', awaitDurationMs: 2000, batchSize: 64 });
    closers.push(() => replies.close(), () => reqProducer.close(), () => workerConsumer.close(), () => workerProducer.close());
    await Promise.all([workerProducer.start(), workerConsumer.start(), reqProducer.start(), replies.start()]);
    const echo = async (m: ReceivedMessage): Promise<void> => {
      await workerProducer.send({ topic: 'raw-replies', liteTopic: m.body.toString('utf8'), body: m.body });
      await workerConsumer.ack(m);
    };
    const waiting = new Map<string, () => void>();
    const onReply = (m: LiteMessage): void => {
      waiting.get(m.liteTopic)?.();
      void m.ack().catch(() => undefined);
    };
    const loop = (fn: () => Promise<void>): Promise<void> =>
      (async () => {
        while (running) {
          try {
            await fn();
          } catch (err) {
            if (running) log(`receive loop: ${(err as Error).message}`);
          }
        }
      })();
    for (let i = 0; i < 4; i++) loops.push(loop(async () => void (await workerConsumer.receive()).forEach((m) => void echo(m).catch((e: unknown) => running && log(String(e))))));
    for (let i = 0; i < 2; i++) loops.push(loop(async () => (await replies.receive()).forEach(onReply)));

    // The raw request's own clock (send → reply) excludes the subscribe; measure() times the
    // whole function, so raw latencies are taken from rawTimes instead.
    let rawTimes: number[] = [];
    let seq = 0;
    const rawRequest: Request = async () => {
      const lite = `r-${process.pid}-${seq++}`;
      await replies.subscribe(lite); // subscribed before the clock starts
      const got = new Promise<void>((r) => waiting.set(lite, r));
      const s = performance.now();
      await reqProducer.send({ topic: 'raw-tasks', body: lite });
      await got;
      rawTimes.push(performance.now() - s);
      waiting.delete(lite);
      void replies.unsubscribe(lite).catch(() => undefined);
    };

    // ---- call(): Supervisor -> agent -> result ----------------------------------------------
    const agent: Agent = await registerAgent<{ i: number }, { i: number }>({
      nameserver,
      logger: silentLogger,
      name: 'echo-agent',
      description: 'Returns its input at once.',
      concurrency: 64,
      awaitDurationMs: 2000,
      handler: (t) => t.input,
    });
    closers.unshift(() => agent.close({ timeoutMs: 1000 }));
    const sup = new Supervisor({ nameserver, logger: silentLogger, awaitDurationMs: 2000 });
    closers.unshift(() => sup.close());
    await sup.start();
    const callRequest: Request = async (i) => {
      const h = await sup.call<{ i: number }>('echo-agent', { i }, { timeoutMs: 30_000 });
      const r = await h.result();
      if (r.i !== i) throw new Error(`call ${i} got the result of ${r.i}`);
    };

    const runCase = async (inflight: number, total: number): Promise<CaseResult> => {
      // Interleave warm-ups so both paths see a warm JIT and connections.
      await measure(rawRequest, o.warmup, inflight);
      await measure(callRequest, o.warmup, inflight);
      rawTimes = [];
      const rawRun = await measure(rawRequest, total, inflight);
      const rawH = new Histogram();
      for (const t of rawTimes) rawH.recordMs(t);
      const callRun = await measure(callRequest, total, inflight);
      return { inflight, raw: { ...rawH.summary(), perSec: rawRun.perSec }, call: { ...callRun.h.summary(), perSec: callRun.perSec } };
    };

    const results: CaseResult[] = [];
    log(`sequential: ${o.sequential} requests per case (warm-up ${o.warmup}) ...`);
    results.push(await runCase(1, o.sequential));
    for (const c of o.concurrency) {
      log(`concurrency ${c}: ${o.requests} requests per case ...`);
      results.push(await runCase(c, o.requests));
    }

    const f = (n: number): string => n.toFixed(3);
    const rows = [['in flight', 'raw p50 ms', 'raw p99 ms', 'call p50 ms', 'call p99 ms', 'Δ p50 ms', 'Δ p99 ms', 'raw req/s', 'call/s']];
    for (const r of results)
      rows.push([
        r.inflight === 1 ? '1 (sequential)' : String(r.inflight),
        f(r.raw.p50Ms),
        f(r.raw.p99Ms),
        f(r.call.p50Ms),
        f(r.call.p99Ms),
        f(r.call.p50Ms - r.raw.p50Ms),
        f(r.call.p99Ms - r.raw.p99Ms),
        Math.round(r.raw.perSec).toString(),
        Math.round(r.call.perSec).toString(),
      ]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padStart(widths[i]!)).join('  ')}\n`);
    const seqRow = results[0]!;
    const overhead = seqRow.call.p50Ms - seqRow.raw.p50Ms;
    process.stdout.write(`\ncall() overhead, sequential p50: ${f(overhead)} ms — target < 1 ms: ${overhead < 1 ? 'MET' : 'NOT MET'}\n`);
    process.stdout.write('raw = send → reply on a pre-subscribed lite topic (1 reply); call() = call() → result() (subscribe + send, WORKING + result + COMPLETED).\n');
    if (o.json) {
      mkdirSync(dirname(resolve(o.json)), { recursive: true });
      writeFileSync(o.json, `${JSON.stringify({ when: new Date().toISOString(), node: process.version, options: o, results, sequentialOverheadP50Ms: overhead }, null, 2)}\n`);
      log(`wrote ${o.json}`);
    }
  } finally {
    running = false;
    for (const c of closers) await c().catch(() => undefined);
    await Promise.allSettled(loops);
    await server.stop();
    removeTempDir(dir);
    await cleanupAll();
    clearTimeout(watchdog);
  }
}

main().catch((err: unknown) => {
  log(`bench:agent failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  cleanupAllSync();
  process.exit(1);
});
