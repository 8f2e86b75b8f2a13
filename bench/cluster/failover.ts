/**
 * Failover recovery: a cluster (N NameServers, 3 brokers), a producer sending 1 KiB messages at a
 * fixed rate to a NORMAL topic with queues on every broker (the SDK round-robins over the
 * brokers), then kill -9 of one broker. Measured, from the kill:
 *
 *   (i)   when each NameServer stops listing the broker (AdminClient.listBrokers on that one
 *         NameServer, polled every 100 ms);
 *   (ii)  when the running producer's sends succeed again continuously: the first acknowledgement
 *         after the kill followed by 1 s in which no send failed (failures are counted when they
 *         settle); also the failed sends, the longest gap between two acknowledgements and the
 *         send → ack latency after the kill;
 *   (iii) how long a NEW producer takes for its first send: one producer is created right after
 *         the kill and then one every second (start() + one send() + close()), each timed.
 *
 * Nothing is tuned for the measurement: SDK defaults (routeRefreshIntervalMs 30000, maxAttempts
 * 3), cluster defaults unless the mode sets them.
 */
import { randomBytes } from 'node:crypto';
import { AdminClient, Producer, silentLogger, type SendReceipt } from '../../client/index.js';
import { DEFAULT_ROUTE_REFRESH_INTERVAL_MS } from '../../client/options.js';
import { Histogram } from '../histogram.js';
import type { HistogramSummary } from '../histogram.js';
import { interrupted, kill9, startCluster, waitForBrokers } from './cluster.js';
import type { FailoverMode } from './options.js';

const TOPIC = 'failover';
/** NameServer defaults (nameserver/options.ts, cli/cluster.ts). */
const DEFAULT_BROKER_EXPIRY_MS = 30_000;
const DEFAULT_REGISTER_INTERVAL_MS = 10_000;
const CLEAN_WINDOW_MS = 1_000;

export interface FailoverOptions {
  mode: FailoverMode;
  nameservers: number;
  queues: number;
  rate: number;
  preKillMs: number;
  observeMs: number;
  tmpBase: string | undefined;
  keep: boolean;
  log(line: string): void;
}

export interface NewProducerSample {
  /** ms after the kill when it was created. */
  createdAtMs: number;
  ok: boolean;
  startMs: number | undefined;
  /** The first send: call → acknowledgement (or failure). */
  sendMs: number | undefined;
  /** ms after the kill when its first send was acknowledged. */
  ackedAtMs: number | undefined;
  broker?: string;
  error?: string;
}

export interface FailoverOutcome {
  mode: FailoverMode;
  command: string;
  settings: { brokerExpiryMs: number; registerIntervalMs: number; routeRefreshIntervalMs: number; rate: number; preKillMs: number; observeMs: number };
  /** Broker expiry + one SDK route refresh interval (the bound). */
  targetMs: number;
  victim: { name: string; endpoint: string; /** SIGKILL → process exited (zombie), ms. */ exitedMs: number };
  /** Per NameServer: how long before the kill the victim last registered (from listBrokers). */
  lastRegistrationAgeAtKillMs: Record<string, number | null>;
  /** (i) Per NameServer: ms after the kill when listBrokers no longer had the victim (null: never). */
  nameserverDropMs: Record<string, number | null>;
  producer: {
    sent: number;
    acked: number;
    failed: number;
    firstFailureMs: number | null;
    lastFailureMs: number | null;
    failureSamples: string[];
    /** (ii) ms after the kill: first ack followed by CLEAN_WINDOW_MS without a failure. */
    recoveryMs: number | null;
    /** First ack of a send issued after the kill, ms after the kill. */
    firstAckAfterKillMs: number | null;
    /** Longest time without any ack, after the kill (and where it started, ms after the kill). */
    longestAckGapMs: number;
    longestAckGapStartMs: number;
    /** The same before the kill (the baseline at this rate). */
    longestAckGapBeforeKillMs: number;
    latencyBeforeKill: HistogramSummary;
    latencyAfterKill: HistogramSummary;
    /** Sends acknowledged per broker endpoint, before / after the kill. */
    ackedByBrokerBeforeKill: Record<string, number>;
    ackedByBrokerAfterKill: Record<string, number>;
    /** Sends after the kill slower than 100 ms (retries on another broker). */
    slowAfterKill: number;
  };
  newProducers: {
    samples: NewProducerSample[];
    /** (iii) The first one (created at the kill): ms after the kill when its first send was acknowledged. */
    firstProducerAckMs: number | null;
    /** First acknowledged first-send of any new producer, ms after the kill. */
    firstSuccessMs: number | null;
    failed: number;
    sendMs: HistogramSummary;
    startMs: HistogramSummary;
  };
  errors: string[];
}

interface SendRecord {
  sentAt: number;
  doneAt: number;
  ok: boolean;
  broker?: string;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const r1 = (n: number): number => Math.round(n * 10) / 10;

export async function runFailover(opts: FailoverOptions): Promise<FailoverOutcome> {
  const short = opts.mode === 'short';
  const brokerExpiryMs = short ? 4_000 : DEFAULT_BROKER_EXPIRY_MS;
  const registerIntervalMs = short ? 1_000 : DEFAULT_REGISTER_INTERVAL_MS;
  const cluster = await startCluster({
    nameservers: opts.nameservers,
    brokers: 3,
    flush: 'async',
    ...(short ? { brokerExpiryMs, registerIntervalMs } : {}),
    maxLongPollingMs: 2_000,
    ...(opts.tmpBase !== undefined ? { tmpBase: opts.tmpBase } : {}),
    keep: opts.keep,
  });
  const errors: string[] = [];
  const closers: { close(): Promise<void> }[] = [];
  try {
    const victim = cluster.brokers[1]!;
    const victimEndpoint = `127.0.0.1:${victim.port}`;
    const admin = new AdminClient({ nameserver: cluster.nameserver, logger: silentLogger });
    closers.push(admin);
    await admin.createTopic({ name: TOPIC, queueCount: opts.queues }, { ifNotExists: true });
    // Every NameServer must list all three brokers with the topic before the producer starts.
    const perNs = cluster.nameservers.map((ns) => ({ ns, admin: new AdminClient({ nameserver: ns, logger: silentLogger }) }));
    closers.push(...perNs.map((x) => x.admin));
    for (const { admin: a } of perNs) await waitForBrokers(a, 3, [TOPIC]);

    const body = randomBytes(1024);
    const producer = new Producer({ nameserver: cluster.nameserver, logger: silentLogger, topics: [TOPIC] });
    closers.push(producer);
    await producer.start();

    // --- paced sender -----------------------------------------------------------------------------
    const records: SendRecord[] = [];
    let pending = 0;
    let sending = true;
    const interval = 1000 / opts.rate;
    const sender = (async () => {
      const t0 = performance.now();
      for (let i = 0; sending; i++) {
        const wait = t0 + i * interval - performance.now();
        if (wait > 0.5) await sleep(Math.floor(wait));
        if (!sending) break;
        const rec: SendRecord = { sentAt: performance.now(), doneAt: 0, ok: false };
        records.push(rec);
        pending++;
        producer.send({ topic: TOPIC, body }).then(
          (r: SendReceipt) => {
            rec.doneAt = performance.now();
            rec.ok = true;
            rec.broker = r.broker;
            pending--;
          },
          (err: unknown) => {
            rec.doneAt = performance.now();
            rec.error = message(err);
            pending--;
          },
        );
      }
    })();

    await sleep(opts.preKillMs);
    if (interrupted()) throw new Error('interrupted');
    // Last registration of the victim as each NameServer saw it, just before the kill.
    const lastRegistrationAgeAtKillMs: Record<string, number | null> = {};
    for (const { ns, admin: a } of perNs) {
      const b = (await a.listBrokers()).find((x) => x.name === victim.name);
      lastRegistrationAgeAtKillMs[ns] = b ? Date.now() - b.lastHeartbeatMs : null;
    }
    opts.log(`  kill -9 ${victim.name} (pid ${victim.pid}, ${victimEndpoint}); watching for ${opts.observeMs / 1000} s`);
    // The clock starts at the SIGKILL (kill9 resolves once the process has exited).
    const killAt = performance.now();
    await kill9(victim.pid!);
    const exitedMs = performance.now() - killAt;
    const observeEnd = killAt + opts.observeMs;
    const sinceKill = (t: number): number => r1(t - killAt);

    // --- (i) NameServers --------------------------------------------------------------------------
    const nameserverDropMs: Record<string, number | null> = {};
    const polls = perNs.map(async ({ ns, admin: a }) => {
      nameserverDropMs[ns] = null;
      while (performance.now() < observeEnd && !interrupted()) {
        try {
          const listed = await a.listBrokers();
          if (!listed.some((b) => b.name === victim.name)) {
            nameserverDropMs[ns] = sinceKill(performance.now());
            opts.log(`  NameServer ${ns} dropped ${victim.name} ${(nameserverDropMs[ns]! / 1000).toFixed(2)} s after the kill`);
            return;
          }
        } catch (err) {
          if (errors.length < 10) errors.push(`listBrokers on ${ns}: ${message(err)}`);
        }
        await sleep(100);
      }
    });

    // --- (iii) new producers ----------------------------------------------------------------------
    const samples: NewProducerSample[] = [];
    const newProducers = (async () => {
      for (let k = 0; ; k++) {
        const due = killAt + k * 1000;
        if (due >= observeEnd - 1000 || interrupted()) return;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const created = performance.now();
        const s: NewProducerSample = { createdAtMs: sinceKill(created), ok: false, startMs: undefined, sendMs: undefined, ackedAtMs: undefined };
        const p = new Producer({ nameserver: cluster.nameserver, logger: silentLogger, topics: [TOPIC] });
        try {
          await p.start();
          const started = performance.now();
          s.startMs = r1(started - created);
          const r = await p.send({ topic: TOPIC, body });
          const acked = performance.now();
          s.sendMs = r1(acked - started);
          s.ackedAtMs = sinceKill(acked);
          s.broker = r.broker;
          s.ok = true;
        } catch (err) {
          s.error = message(err);
          if (s.startMs !== undefined) s.sendMs = r1(performance.now() - created - s.startMs);
        } finally {
          await p.close();
        }
        samples.push(s);
      }
    })();

    await Promise.all([...polls, newProducers.catch((err: unknown) => void errors.push(`new producers: ${message(err)}`))]);
    const left = observeEnd - performance.now();
    if (left > 0 && !interrupted()) await sleep(left);
    sending = false;
    await sender;
    const drainUntil = performance.now() + 15_000;
    while (pending > 0 && performance.now() < drainUntil) await sleep(20);
    await producer.close();

    // --- analysis ---------------------------------------------------------------------------------
    const done = records.filter((r) => r.doneAt > 0);
    const failures = done.filter((r) => !r.ok);
    const acks = done.filter((r) => r.ok).sort((a, b) => a.doneAt - b.doneAt);
    let recoveryMs: number | null = null;
    for (const s of acks) {
      if (s.doneAt < killAt) continue;
      const t = s.doneAt;
      if (t + CLEAN_WINDOW_MS > observeEnd) break;
      const bad = failures.some((f) => (f.doneAt > t && f.doneAt <= t + CLEAN_WINDOW_MS) || (f.sentAt >= s.sentAt && f.sentAt <= t + CLEAN_WINDOW_MS));
      if (!bad) {
        recoveryMs = sinceKill(t);
        break;
      }
    }
    const gap = (from: number, to: number): { ms: number; start: number } => {
      let prev = from;
      let best = { ms: 0, start: from };
      for (const a of acks) {
        if (a.doneAt < from) continue;
        if (a.doneAt > to) break;
        if (a.doneAt - prev > best.ms) best = { ms: a.doneAt - prev, start: prev };
        prev = a.doneAt;
      }
      if (to - prev > best.ms) best = { ms: to - prev, start: prev };
      return best;
    };
    const firstAck = acks.find((a) => a.doneAt >= killAt);
    const after = gap(killAt, observeEnd);
    const before = gap(killAt - opts.preKillMs + 500, killAt);
    const latBefore = new Histogram();
    const latAfter = new Histogram();
    const byBrokerBefore: Record<string, number> = {};
    const byBrokerAfter: Record<string, number> = {};
    let slowAfterKill = 0;
    for (const a of acks) {
      const lat = a.doneAt - a.sentAt;
      if (a.sentAt < killAt) {
        latBefore.recordMs(lat);
        byBrokerBefore[a.broker ?? '?'] = (byBrokerBefore[a.broker ?? '?'] ?? 0) + 1;
      } else {
        latAfter.recordMs(lat);
        byBrokerAfter[a.broker ?? '?'] = (byBrokerAfter[a.broker ?? '?'] ?? 0) + 1;
        if (lat > 100) slowAfterKill++;
      }
    }
    const npSend = new Histogram();
    const npStart = new Histogram();
    for (const s of samples) {
      if (s.ok && s.sendMs !== undefined) npSend.recordMs(s.sendMs);
      if (s.startMs !== undefined) npStart.recordMs(s.startMs);
    }
    const firstNp = samples[0];
    const firstOkNp = samples.find((s) => s.ok);
    const failureSamples = [...new Set(failures.map((f) => f.error ?? '?'))].slice(0, 5);
    return {
      mode: opts.mode,
      command: cluster.command,
      settings: { brokerExpiryMs, registerIntervalMs, routeRefreshIntervalMs: DEFAULT_ROUTE_REFRESH_INTERVAL_MS, rate: opts.rate, preKillMs: opts.preKillMs, observeMs: opts.observeMs },
      targetMs: brokerExpiryMs + DEFAULT_ROUTE_REFRESH_INTERVAL_MS,
      victim: { name: victim.name, endpoint: victimEndpoint, exitedMs: r1(exitedMs) },
      lastRegistrationAgeAtKillMs,
      nameserverDropMs,
      producer: {
        sent: records.length,
        acked: acks.length,
        failed: failures.length,
        firstFailureMs: failures.length > 0 ? sinceKill(Math.min(...failures.map((f) => f.doneAt))) : null,
        lastFailureMs: failures.length > 0 ? sinceKill(Math.max(...failures.map((f) => f.doneAt))) : null,
        failureSamples,
        recoveryMs,
        firstAckAfterKillMs: firstAck ? sinceKill(firstAck.doneAt) : null,
        longestAckGapMs: r1(after.ms),
        longestAckGapStartMs: sinceKill(after.start),
        longestAckGapBeforeKillMs: r1(before.ms),
        latencyBeforeKill: latBefore.summary(),
        latencyAfterKill: latAfter.summary(),
        ackedByBrokerBeforeKill: byBrokerBefore,
        ackedByBrokerAfterKill: byBrokerAfter,
        slowAfterKill,
      },
      newProducers: {
        samples,
        firstProducerAckMs: firstNp?.ackedAtMs ?? null,
        firstSuccessMs: firstOkNp?.ackedAtMs ?? null,
        failed: samples.filter((s) => !s.ok).length,
        sendMs: npSend.summary(),
        startMs: npStart.summary(),
      },
      errors,
    };
  } finally {
    for (const c of closers.reverse()) await c.close().catch(() => undefined);
    await cluster.down();
  }
}
