/**
 * The load generator: a separate Node process (forked by bench/run.ts) so that client and server
 * CPU are measured apart. It receives one WorkerSpec over IPC, runs it against one system, tells
 * the orchestrator when the measured window starts and ends (so it can sample the servers' CPU
 * at the same moments), and sends back one result.
 *
 * W1: keeps `window` sends outstanding (a new send for every acknowledgement) and counts the
 * acknowledgements that arrive inside the measured window.
 * W2: sends at a fixed rate, each body starting with "<seq>|<send time>|", while a consumer in
 * this same process computes receive time − send time on one clock.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDriver, sleep } from './drivers/driver.js';
import type { Driver } from './drivers/driver.js';
import { Histogram } from './histogram.js';
import type { CpuWindow, OrchestratorMessage, W1Spec, W1WorkerResult, W2Spec, W2WorkerResult, WorkerMessage, WorkerSpec } from './protocol.js';

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

class CpuMeter {
  private cpu0 = process.cpuUsage();
  private t0 = performance.now();
  start(): void {
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
  }
  stop(): CpuWindow {
    const d = process.cpuUsage(this.cpu0);
    return { userUs: d.user, systemUs: d.system, wallMs: performance.now() - this.t0 };
  }
}

async function runW1(spec: W1Spec, driver: Driver): Promise<W1WorkerResult> {
  await driver.setup({ consumer: false });
  const body = randomBytes(spec.sizeBytes);
  const hist = new Histogram();
  const cpu = new CpuMeter();
  let inflight = 0;
  let stopped = false;
  let measuring = false;
  let acked = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measureStart = 0;
  let measureEnd = 0;
  let onDrained: (() => void) | undefined;
  let onCountReached: (() => void) | undefined;

  const settle = (t0: number, err: unknown): void => {
    inflight--;
    if (err !== undefined) {
      errors++;
      firstError ??= errorText(err);
    } else if (measuring) {
      acked++;
      hist.recordMs(performance.now() - t0);
      if (spec.count !== undefined && acked >= spec.count) onCountReached?.();
    }
    if (stopped) {
      if (inflight === 0) onDrained?.();
    } else if (err !== undefined) {
      setTimeout(pump, 10); // back off instead of spinning on a failing server
    } else {
      pump();
    }
  };
  const pump = (): void => {
    while (!stopped && inflight < spec.window) {
      inflight++;
      const t0 = performance.now();
      driver.publish(body).then(
        () => settle(t0, undefined),
        (err: unknown) => settle(t0, err ?? new Error('send failed')),
      );
    }
  };

  pump();
  await sleep(spec.warmupMs);
  if (errors > 0 && acked === 0 && inflight === 0) throw new Error(`every send failed during warm-up: ${firstError}`);
  await send({ type: 'phase', phase: 'measure-start' });
  cpu.start();
  measuring = true;
  measureStart = performance.now();
  const cap = spec.count !== undefined ? Math.max(spec.durationMs, 300_000) : spec.durationMs;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, cap);
    onCountReached = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  measuring = false;
  measureEnd = performance.now();
  const clientCpu = cpu.stop();
  await send({ type: 'phase', phase: 'measure-end' });
  stopped = true;
  if (inflight > 0) {
    await Promise.race([new Promise<void>((r) => (onDrained = r)), sleep(30_000)]);
  }
  return {
    workload: 'W1',
    acked,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    measuredMs: measureEnd - measureStart,
    ackLatency: hist.summary(),
    clientCpu,
  };
}

/** A body of `size` bytes starting with "<seq>|<send time ms>|". */
function stampedBody(size: number, seq: number, sentAt: number): Buffer {
  const head = `${seq}|${sentAt.toFixed(4)}|`;
  const buf = Buffer.alloc(Math.max(size, head.length + 1), 0x2e);
  buf.write(head, 0, 'latin1');
  return buf;
}

function parseStamp(body: Uint8Array): { seq: number; sentAt: number } | undefined {
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 64)).toString('latin1');
  const a = text.indexOf('|');
  const b = text.indexOf('|', a + 1);
  if (a < 0 || b < 0) return undefined;
  const seq = Number(text.slice(0, a));
  const sentAt = Number(text.slice(a + 1, b));
  if (!Number.isSafeInteger(seq) || !Number.isFinite(sentAt)) return undefined;
  return { seq, sentAt };
}

async function runW2(spec: W2Spec, driver: Driver): Promise<W2WorkerResult> {
  await driver.setup({ consumer: true });
  const interval = 1000 / spec.rate;
  const warmupCount = Math.round((spec.warmupMs / 1000) * spec.rate);
  const measuredCount = Math.max(1, Math.round((spec.durationMs / 1000) * spec.rate));
  const total = warmupCount + measuredCount;
  const seen = new Uint8Array(total);
  const e2e = new Histogram();
  const ackHist = new Histogram();
  const cpu = new CpuMeter();
  let received = 0;
  let duplicates = 0;
  let errors = 0;
  let firstError: string | undefined;
  let onAllReceived: (() => void) | undefined;
  const noteError = (err: unknown): void => {
    errors++;
    firstError ??= errorText(err);
  };

  await driver.startConsumer((body) => {
    const now = performance.now();
    const stamp = parseStamp(body);
    if (!stamp || stamp.seq < 0 || stamp.seq >= total) return;
    if (seen[stamp.seq]) {
      duplicates++;
      return;
    }
    seen[stamp.seq] = 1;
    if (stamp.seq < warmupCount) return;
    e2e.recordMs(now - stamp.sentAt);
    received++;
    if (received >= measuredCount) onAllReceived?.();
  }, noteError);

  const t0 = performance.now();
  let measureStart = t0;
  let firstMeasuredSend = 0;
  let lastSend = 0;
  for (let seq = 0; seq < total; seq++) {
    const due = t0 + seq * interval;
    const wait = due - performance.now();
    if (wait > 0.5) await sleep(Math.floor(wait));
    else if (wait > 0) await new Promise((r) => setImmediate(r));
    if (seq === warmupCount) {
      await send({ type: 'phase', phase: 'measure-start' });
      cpu.start();
      measureStart = performance.now();
    }
    const sentAt = performance.now();
    if (seq === warmupCount) firstMeasuredSend = sentAt;
    lastSend = sentAt;
    const measured = seq >= warmupCount;
    driver.publish(stampedBody(spec.sizeBytes, seq, sentAt)).then(
      () => {
        if (measured) ackHist.recordMs(performance.now() - sentAt);
      },
      noteError,
    );
  }
  const clientCpu = cpu.stop();
  const measuredMs = performance.now() - measureStart;
  await send({ type: 'phase', phase: 'measure-end' });
  if (received < measuredCount) {
    await Promise.race([new Promise<void>((r) => (onAllReceived = r)), sleep(spec.drainMs)]);
  }
  const sendSpanS = (lastSend - firstMeasuredSend) / 1000;
  return {
    workload: 'W2',
    sent: measuredCount,
    received,
    duplicates,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    measuredMs,
    endToEnd: e2e.summary(),
    ackLatency: ackHist.summary(),
    sendRate: sendSpanS > 0 ? (measuredCount - 1) / sendSpanS : 0,
    clientCpu,
  };
}

async function run(spec: WorkerSpec): Promise<void> {
  const driver = await createDriver(spec.target);
  try {
    const result = spec.workload === 'W1' ? await runW1(spec, driver) : await runW2(spec, driver);
    await send({ type: 'result', result });
  } finally {
    await Promise.race([driver.close(), sleep(10_000)]);
  }
}

process.on('disconnect', () => process.exit(2));
process.once('message', (msg: OrchestratorMessage) => {
  if (msg.type !== 'run') return;
  run(msg.spec).then(
    () => process.exit(0),
    async (err: unknown) => {
      await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exit(1);
    },
  );
});
