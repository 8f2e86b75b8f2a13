/**
 * The moving parts of the lite benchmark: bench clients (a client id + a connection), lite topic
 * names, subscribing in PARTIAL_ADD batches, a paced sender to chosen lite topics, receive loops
 * (parked long polls, or a short-poll baseline) that ack what they get, heartbeats, and the
 * tracker that checks every message arrives exactly once at its subscriber and records the
 * send -> receive latency (send time travels in the body; sender and receivers share a clock).
 */
import type * as grpc from '@grpc/grpc-js';
import type { MessagingServiceClient } from '../../proto/index.js';
import { msToDuration, msToTimestamp } from '../../proto/common/time.js';
import type { Message } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import { Histogram, type HistogramSummary } from '../histogram.js';
import { metadata, receive, sessionClient, unary, type PendingReceive, type ReceivedFrame } from './wire.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface BenchClient {
  /** Index among the clients of its phase. */
  index: number;
  id: string;
  group: string;
  md: grpc.Metadata;
  rpc: MessagingServiceClient;
}

/** A bench client on connection `rpc`; with transport `session` its calls go over its own messaging session there. */
export function makeClient(index: number, id: string, group: string, rpc: MessagingServiceClient, transport: 'session' | 'unary' = 'unary'): BenchClient {
  const md = metadata(id);
  return { index, id, group, md, rpc: transport === 'session' ? sessionClient(rpc, md) : rpc };
}

// --- names and randomness -----------------------------------------------------------------------

/** Deterministic PRNG (mulberry32): uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/** A 36-character UUID-shaped name derived from `i` (deterministic, unique per i). */
function uuidLike(i: number): string {
  const r = prng(i * 2654435761 + 1);
  const h = hex32(i) + hex32(r() * 2 ** 32) + hex32(r() * 2 ** 32) + hex32(r() * 2 ** 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Name of lite topic `i` of a family (`prefix`): `t-42` or `t-<uuid-like>`. */
export function liteName(prefix: string, i: number, style: 'short' | 'uuid'): string {
  return style === 'short' ? `${prefix}-${i}` : `${prefix}-${uuidLike(i)}`;
}

/** Contiguous split of `n` items over `parts`: [start, end) of part `p`. */
export function range(n: number, parts: number, p: number): [number, number] {
  const base = Math.floor(n / parts);
  const rem = n % parts;
  const start = p * base + Math.min(p, rem);
  return [start, start + base + (p < rem ? 1 : 0)];
}

/** Which part of `range(n, parts, .)` holds item `i`. */
export function partOf(n: number, parts: number, i: number): number {
  const base = Math.floor(n / parts);
  const rem = n % parts;
  const big = rem * (base + 1);
  return i < big ? Math.floor(i / (base + 1)) : rem + Math.floor((i - big) / base);
}

// --- subscribing -------------------------------------------------------------------------------

export interface SubscribeResult {
  subscriptions: number;
  calls: number;
  failedCalls: number;
  firstError: string | undefined;
  wallMs: number;
  perSecond: number;
  callMs: HistogramSummary;
}

export interface SubscribeTask {
  client: BenchClient;
  names: string[];
}

/**
 * Runs PARTIAL_ADD SyncLiteSubscription calls, `concurrency` at a time, in task order.
 * `progress` is called about every 5 s.
 */
export async function subscribeAll(parent: string, tasks: SubscribeTask[], concurrency: number, progress?: (done: number, elapsedMs: number) => void): Promise<SubscribeResult> {
  const hist = new Histogram();
  let next = 0;
  let done = 0;
  let failedCalls = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  let lastReport = t0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const task = tasks[i];
      if (!task) return;
      const c = task.client;
      const s = performance.now();
      try {
        const res = await unary(c.rpc, c.rpc.SyncLiteSubscription, { action: 'PARTIAL_ADD', topic: { name: parent }, group: { name: c.group }, liteTopicSet: task.names }, c.md, 120_000);
        if (res.status?.code !== 'OK') {
          failedCalls++;
          firstError ??= `${res.status?.code}: ${res.status?.message}`;
        } else done += task.names.length;
      } catch (err) {
        failedCalls++;
        firstError ??= String(err);
      }
      hist.recordMs(performance.now() - s);
      const now = performance.now();
      if (progress && now - lastReport >= 5000) {
        lastReport = now;
        progress(done, now - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const wallMs = performance.now() - t0;
  return { subscriptions: done, calls: tasks.length, failedCalls, firstError, wallMs, perSecond: done / (wallMs / 1000), callMs: hist.summary() };
}

// --- tracking deliveries -----------------------------------------------------------------------

/** Body: send time (performance.now(), f64), sequence number (u32), phase tag (u32). */
export const BODY_BYTES = 16;

export function encodeBody(sentAt: number, seq: number, tag: number): Buffer {
  const b = Buffer.allocUnsafe(BODY_BYTES);
  b.writeDoubleLE(sentAt, 0);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(tag, 12);
  return b;
}

export interface TrackerResult {
  expected: number;
  sent: number;
  sendFailed: number;
  received: number;
  uniqueReceived: number;
  missing: number;
  duplicates: number;
  /** Arrived at a client other than the one subscribed to its lite topic. */
  misrouted: number;
  /** Arrived with a lite topic other than the one it was sent to. */
  wrongLiteTopic: number;
  /** Message frames of no message of this phase (or undecodable). */
  foreign: number;
  latencyMs: HistogramSummary;
  /**
   * From the broker's store timestamp (taken when it starts handling the SendMessage, whole ms)
   * to the receipt: the broker's part (write, commit, wake-up, pop, response) plus the response
   * transit; the rest of send -> receive is the request's way in. Up to 1 ms high (truncation).
   */
  fromStoreMs: HistogramSummary;
}

/** Expected recipients of a phase's messages and what actually arrived. */
export class Tracker {
  readonly owner: Int32Array;
  readonly lite: string[];
  private readonly got: Uint8Array;
  private readonly hist = new Histogram();
  private readonly fromStore = new Histogram();
  sent = 0;
  sendFailed = 0;
  received = 0;
  unique = 0;
  duplicates = 0;
  misrouted = 0;
  wrongLiteTopic = 0;
  foreign = 0;

  constructor(
    readonly tag: number,
    readonly total: number,
  ) {
    this.owner = new Int32Array(total).fill(-1);
    this.lite = new Array<string>(total);
    this.got = new Uint8Array(total);
  }

  /** A message frame arrived at client `clientIndex`. */
  onFrame(clientIndex: number, f: ReceivedFrame): void {
    const body = f.message.body;
    if (!body || body.length !== BODY_BYTES) {
      this.foreign++;
      return;
    }
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const tag = b.readUInt32LE(12);
    const seq = b.readUInt32LE(8);
    if (tag !== this.tag || seq >= this.total) {
      this.foreign++;
      return;
    }
    this.received++;
    if (this.got[seq]! > 0) {
      this.duplicates++;
      this.got[seq] = Math.min(255, this.got[seq]! + 1);
      return;
    }
    this.got[seq] = 1;
    this.unique++;
    if (this.owner[seq] !== clientIndex) this.misrouted++;
    if (f.message.systemProperties?.liteTopic !== this.lite[seq]) this.wrongLiteTopic++;
    this.hist.recordMs(f.at - b.readDoubleLE(0));
    const st = f.message.systemProperties?.storeTimestamp;
    if (st) this.fromStore.recordMs(performance.timeOrigin + f.at - (Number(st.seconds) * 1000 + Math.floor(st.nanos / 1e6)));
  }

  result(): TrackerResult {
    return {
      expected: this.total,
      sent: this.sent,
      sendFailed: this.sendFailed,
      received: this.received,
      uniqueReceived: this.unique,
      missing: this.sent - this.unique,
      duplicates: this.duplicates,
      misrouted: this.misrouted,
      wrongLiteTopic: this.wrongLiteTopic,
      foreign: this.foreign,
      latencyMs: this.hist.summary(),
      fromStoreMs: this.fromStore.summary(),
    };
  }
}

// --- sending -----------------------------------------------------------------------------------

export interface SendResult {
  sent: number;
  failed: number;
  calls: number;
  firstError: string | undefined;
  wallMs: number;
  achievedRate: number;
  /** SendMessage round trips. */
  callMs: HistogramSummary;
}

export interface PacedSendOptions {
  client: BenchClient;
  parent: string;
  rate: number;
  total: number;
  batchMax: number;
  maxInFlight: number;
  tracker: Tracker;
  /** Lite topic of message `seq` and the index of the client subscribed to it. */
  pick: (seq: number) => { lite: string; owner: number };
  /** Message id prefix (unique per run and phase). */
  idPrefix: string;
}

/** Sends `total` messages at `rate`/s: at each ~1 ms tick, what is due, in one SendMessage call. */
export async function pacedSend(o: PacedSendOptions): Promise<SendResult> {
  const hist = new Histogram();
  const t0 = performance.now();
  let seq = 0;
  let inFlight = 0;
  let calls = 0;
  let failed = 0;
  let sent = 0;
  let firstError: string | undefined;
  const pending = new Set<Promise<void>>();
  const c = o.client;
  while (seq < o.total) {
    const due = Math.min(o.total, Math.floor(((performance.now() - t0) * o.rate) / 1000) + 1);
    while (seq < due && inFlight < o.maxInFlight) {
      const n = Math.min(due - seq, o.batchMax);
      const messages: Message[] = [];
      const now = performance.now();
      const wall = Date.now();
      for (let k = 0; k < n; k++, seq++) {
        const { lite, owner } = o.pick(seq);
        o.tracker.owner[seq] = owner;
        o.tracker.lite[seq] = lite;
        messages.push({
          topic: { name: o.parent },
          systemProperties: { messageId: `${o.idPrefix}${seq.toString(16).padStart(8, '0')}`, messageType: 'LITE', liteTopic: lite, bornTimestamp: msToTimestamp(wall), bornHost: '127.0.0.1', bodyEncoding: 'IDENTITY' },
          body: encodeBody(now, seq, o.tracker.tag),
        });
      }
      inFlight++;
      calls++;
      const p = unary(c.rpc, c.rpc.SendMessage, { messages }, c.md, 30_000)
        .then((res) => {
          for (const e of res.entries) {
            if (e.status?.code === 'OK') sent++;
            else {
              failed++;
              firstError ??= `${e.status?.code}: ${e.status?.message}`;
            }
          }
        })
        .catch((err: unknown) => {
          failed += messages.length;
          firstError ??= String(err);
        })
        .finally(() => {
          hist.recordMs(performance.now() - now);
          inFlight--;
          pending.delete(p);
        });
      pending.add(p);
    }
    await sleep(1);
  }
  await Promise.all([...pending]);
  const wallMs = performance.now() - t0;
  o.tracker.sent = sent;
  o.tracker.sendFailed = failed;
  return { sent, failed, calls, firstError, wallMs, achievedRate: sent / (wallMs / 1000), callMs: hist.summary() };
}

// --- receiving ---------------------------------------------------------------------------------

export interface LoopConfig {
  parent: string;
  /** longPollingTimeout of each receive. */
  pollMs: number;
  batchSize: number;
  invisibleMs: number;
  /** Pause after an empty receive (polling baseline). */
  sleepAfterEmptyMs: number;
}

export interface LoopStats {
  calls: number;
  /** Receives that returned messages. */
  withMessages: number;
  messages: number;
  /** Receives that ended with MESSAGE_NOT_FOUND. */
  empty: number;
  /** ... of them, well before their long-polling timeout (spurious wake-ups). */
  earlyEmpty: number;
  otherCodes: Record<string, number>;
  grpcErrors: number;
  firstError: string | undefined;
  acks: number;
  ackFailed: number;
}

export function emptyStats(): LoopStats {
  return { calls: 0, withMessages: 0, messages: 0, empty: 0, earlyEmpty: 0, otherCodes: {}, grpcErrors: 0, firstError: undefined, acks: 0, ackFailed: 0 };
}

export function addStats(into: LoopStats, s: LoopStats): LoopStats {
  into.calls += s.calls;
  into.withMessages += s.withMessages;
  into.messages += s.messages;
  into.empty += s.empty;
  into.earlyEmpty += s.earlyEmpty;
  for (const [k, v] of Object.entries(s.otherCodes)) into.otherCodes[k] = (into.otherCodes[k] ?? 0) + v;
  into.grpcErrors += s.grpcErrors;
  into.firstError ??= s.firstError;
  into.acks += s.acks;
  into.ackFailed += s.ackFailed;
  return into;
}

/**
 * A client's receive loop: one receive at a time (parked on the broker while nothing is ready),
 * acks each batch without waiting, re-issues at once. `stop()` cancels the receive in flight.
 */
export class Receiver {
  readonly stats = emptyStats();
  private stopping = false;
  private current: PendingReceive | undefined;
  private loop: Promise<void> | undefined;
  private readonly acks = new Set<Promise<void>>();

  constructor(
    readonly client: BenchClient,
    private readonly cfg: LoopConfig,
    private readonly onFrame: (c: BenchClient, f: ReceivedFrame) => void,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const c = this.client;
    const cfg = this.cfg;
    const early = cfg.pollMs - Math.min(500, cfg.pollMs / 2);
    const req = {
      group: { name: c.group },
      messageQueue: { topic: { name: cfg.parent }, id: 0, broker: { name: 'broker-a' } },
      filterExpression: { type: 'TAG' as const, expression: '*' },
      batchSize: cfg.batchSize,
      invisibleDuration: msToDuration(cfg.invisibleMs),
      longPollingTimeout: msToDuration(cfg.pollMs),
      autoRenew: false,
    };
    while (!this.stopping) {
      this.current = receive(c.rpc, req, c.md, cfg.pollMs + 10_000, (f) => this.onFrame(c, f));
      const out = await this.current.done;
      this.current = undefined;
      if (out.cancelled && this.stopping) break;
      this.stats.calls++;
      if (out.error) {
        this.stats.grpcErrors++;
        this.stats.firstError ??= `${out.error.code} ${out.error.details}`;
        await sleep(100);
        continue;
      }
      if (out.messages.length > 0) {
        this.stats.withMessages++;
        this.stats.messages += out.messages.length;
        this.ack(out.messages);
        continue;
      }
      if (out.code === 'MESSAGE_NOT_FOUND') {
        this.stats.empty++;
        if (out.endedAt - out.startedAt < early) this.stats.earlyEmpty++;
        if (cfg.sleepAfterEmptyMs > 0) await sleep(cfg.sleepAfterEmptyMs);
      } else {
        const k = out.code ?? 'none';
        this.stats.otherCodes[k] = (this.stats.otherCodes[k] ?? 0) + 1;
        await sleep(100);
      }
    }
  }

  private ack(frames: ReceivedFrame[]): void {
    const c = this.client;
    const entries = frames.map((f) => ({
      messageId: f.message.systemProperties?.messageId ?? '',
      receiptHandle: f.message.systemProperties?.receiptHandle ?? '',
      liteTopic: f.message.systemProperties?.liteTopic ?? '',
    }));
    const p = unary(c.rpc, c.rpc.AckMessage, { group: { name: c.group }, topic: { name: this.cfg.parent }, entries }, c.md, 30_000)
      .then((res) => {
        for (const e of res.entries) {
          if (e.status?.code === 'OK') this.stats.acks++;
          else {
            this.stats.ackFailed++;
            this.stats.firstError ??= `ack ${e.status?.code}: ${e.status?.message}`;
          }
        }
      })
      .catch((err: unknown) => {
        this.stats.ackFailed += entries.length;
        this.stats.firstError ??= `ack ${String(err)}`;
      })
      .finally(() => this.acks.delete(p));
    this.acks.add(p);
  }

  /** Stops the loop (cancels a parked receive) and waits for outstanding acks. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.current?.cancel();
    await this.loop;
    await Promise.all([...this.acks]);
  }
}

// --- heartbeats --------------------------------------------------------------------------------

/** Heartbeats every client every `everyMs` (renews lite leases, as a real client does). */
export function heartbeats(clients: () => BenchClient[], everyMs: number): { stop(): void; failures(): number } {
  let failures = 0;
  let stopped = false;
  const beat = (): void => {
    for (const c of clients()) {
      unary(c.rpc, c.rpc.Heartbeat, { group: { name: c.group }, clientType: 'LITE_PUSH_CONSUMER' }, c.md, 10_000)
        .then((r) => {
          if (r.status?.code !== 'OK') failures++;
        })
        .catch(() => {
          if (!stopped) failures++;
        });
    }
  };
  const timer = setInterval(beat, everyMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
    failures: () => failures,
  };
}
