/**
 * Command-line options of `npm run bench:lite` (bench/lite/run.ts).
 */

export interface LiteBenchOptions {
  /** Lite topics subscribed in phase (a), one subscription each. */
  topics: number;
  /** Client ids sharing them (topics / clients subscriptions each). */
  clients: number;
  /** Lite topic names per PARTIAL_ADD call. */
  syncBatch: number;
  /** SyncLiteSubscription calls in flight at once. */
  syncConcurrency: number;
  /** Lite topic name style: short `t-0000042`-like, or 36-character UUID-like. */
  names: 'short' | 'uuid';
  /** How the bench's clients call the broker: one unary call each, or frames of a messaging session per client. */
  transport: 'session' | 'unary';
  /** Messages of the latency phase of (a), to random lite topics. */
  messages: number;
  /** Their send rates (messages/s): one latency run per rate, --messages each. */
  rates: number[];
  /** Most messages per SendMessage call (the sender batches what is due at each tick). */
  sendBatch: number;
  /** ReceiveMessage batch size. */
  batchSize: number;
  /** Long-polling timeout of parked receives (ms). */
  longPollMs: number;
  /** Idle seconds before each memory reading (RSS settles). */
  settleMs: number;
  /** Phase (b): idle clients, each with a parked receive. */
  idleClients: number;
  /** Lite topics per idle client. */
  idleTopics: number;
  /** Of the idle clients, how many get messages. */
  activeClients: number;
  /** Send rate of phase (b) (messages/s). */
  idleRate: number;
  /** Duration of each phase (b) run (precise, then polling baseline). */
  idleSeconds: number;
  /** Polling baseline: longPollingTimeout of each poll (ms). */
  pollTimeoutMs: number;
  /** Polling baseline: pause after an empty poll (ms). */
  pollSleepMs: number;
  /** gRPC connections the bench's clients are spread over. */
  channels: number;
  /** Phases to run. */
  skipLatency: boolean;
  skipWakeup: boolean;
  skipPolling: boolean;
  /** Preload bench/lite/broker-probe.mjs into the broker (forced-GC memory reading, heap stats). */
  probe: boolean;
  json: string | undefined;
  /** Write a heap snapshot of the broker after the subscriptions to this file (and summarize it). */
  heapSnapshot: string | undefined;
  /** Write a CPU profile of the broker per phase into this dir (needs the probe). */
  cpuProf: string | undefined;
  tmpBase: string | undefined;
  seed: number;
  /** Extra environment of the broker process (diagnostics, e.g. MALLOC_ARENA_MAX=2). */
  brokerEnv: Record<string, string>;
  /** Nice value for this bench, the broker and the NameServer (every thread); 0 leaves it. Negative needs root. */
  nice: number;
  /** Wait up to this long for other processes to leave the CPUs alone before starting. */
  quietWaitS: number;
  /** Upper bound for the whole run (s); the run aborts (and cleans up) past it. */
  maxSeconds: number;
}

export const DEFAULTS: LiteBenchOptions = {
  topics: 1_000_000,
  clients: 100,
  syncBatch: 1000,
  syncConcurrency: 4,
  names: 'short',
  transport: 'session',
  messages: 20_000,
  rates: [500, 2000],
  sendBatch: 64,
  batchSize: 32,
  longPollMs: 25_000,
  settleMs: 5000,
  idleClients: 200,
  idleTopics: 50,
  activeClients: 5,
  idleRate: 100,
  idleSeconds: 20,
  pollTimeoutMs: 100,
  pollSleepMs: 0,
  channels: 8,
  skipLatency: false,
  skipWakeup: false,
  skipPolling: false,
  probe: true,
  json: undefined,
  cpuProf: undefined,
  heapSnapshot: undefined,
  tmpBase: undefined,
  seed: 42,
  quietWaitS: 60,
  nice: 0,
  brokerEnv: {},
  maxSeconds: 1800,
};

export const USAGE = `Usage: npm run bench:lite -- [options]

Lite-topic benchmarks on one AgentMQ broker (NameServer and broker run as separate child
processes on 127.0.0.1, fresh temp data dir, async flush):

 (a) scale: --topics lite topics subscribed (and so created) by --clients client ids with
     PARTIAL_ADD SyncLiteSubscription calls of --sync-batch names; subscribe rate, broker RSS
     before/after and per subscription. Then latency: one parked receive per client (covering
     all of its lite topics); --messages messages at each --rate/s to random lite topics; send ->
     receive latency p50/p99/max, every message received exactly once by its subscriber, acked.
 (b) precise wake-up: --idle-clients clients with --idle-topics lite topics each and a parked
     receive; messages go to the lite topics of --active-clients of them only, for --idle-seconds.
     Counts empty receives (MESSAGE_NOT_FOUND) and wake-ups of idle clients; then the same
     workload with a polling baseline (receives with --poll-timeout-ms long polling, re-issued).
     Runs on the same broker, with the 1M subscriptions of (a) still held.

Options:
  --topics N              lite topics = subscriptions of (a) (default ${DEFAULTS.topics})
  --clients C             client ids holding them (default ${DEFAULTS.clients})
  --sync-batch N          lite topics per PARTIAL_ADD call (default ${DEFAULTS.syncBatch})
  --sync-concurrency N    SyncLiteSubscription calls in flight (default ${DEFAULTS.syncConcurrency})
  --names short|uuid      lite topic names: "t-<index>" or 36-char UUID-like (default ${DEFAULTS.names})
  --transport session|unary  each client's calls as frames of one agentmq.v1.MessagingSession
                          stream (what the AgentMQ SDK does) or as separate unary
                          MessagingService calls (what the official clients do) (default ${DEFAULTS.transport})
  --messages M            messages of the latency phase (default ${DEFAULTS.messages})
  --rate R[,R...]         their send rate, messages/s; one run of --messages per rate
                          (default ${DEFAULTS.rates.join(',')})
  --send-batch N          most messages per SendMessage call (default ${DEFAULTS.sendBatch})
  --batch-size N          ReceiveMessage batch size (default ${DEFAULTS.batchSize})
  --long-poll-ms N        long-polling timeout of parked receives (default ${DEFAULTS.longPollMs})
  --settle-ms N           idle time before memory readings (default ${DEFAULTS.settleMs})
  --idle-clients K        (b) clients (default ${DEFAULTS.idleClients})
  --idle-topics N         (b) lite topics per client (default ${DEFAULTS.idleTopics})
  --active-clients N      (b) clients that get messages (default ${DEFAULTS.activeClients})
  --idle-rate R           (b) messages/s (default ${DEFAULTS.idleRate})
  --idle-seconds S        (b) duration of each run (default ${DEFAULTS.idleSeconds})
  --poll-timeout-ms N     polling baseline: longPollingTimeout per poll (default ${DEFAULTS.pollTimeoutMs})
  --poll-sleep-ms N       polling baseline: pause after an empty poll (default ${DEFAULTS.pollSleepMs})
  --channels N            gRPC connections for the bench's clients (default ${DEFAULTS.channels})
  --skip-latency          skip the latency part of (a)
  --skip-wakeup           skip (b)
  --skip-polling          skip the polling baseline of (b)
  --no-probe              do not preload bench/lite/broker-probe.mjs into the broker
  --cpu-prof DIR          profile the broker's JavaScript thread per phase (DIR/<phase>.cpuprofile,
                          summarized in the report) and sample its allocations, collected or not
                          (DIR/<phase>.heapprofile, for Chrome DevTools); needs the probe
  --heap-snapshot FILE    after the subscriptions, write a heap snapshot of the broker to FILE and
                          summarize it per kind of object (needs the probe; ~2x the JS heap on disk;
                          summarized up to --topics ~200000)
  --seed N                PRNG seed (default ${DEFAULTS.seed})
  --tmp DIR               base of the temp data dir (default: the OS temp dir)
  --quiet-wait-s N        wait up to N s for other processes to go quiet first (default ${DEFAULTS.quietWaitS})
  --nice N                set the scheduling priority (nice, -20..19) of this bench, the broker and
                          the NameServer, every thread; for runs on a shared machine (negative values
                          need root); default 0 = unchanged
  --broker-env K=V        extra environment variable for the broker process (repeatable), e.g.
                          MALLOC_ARENA_MAX=2 or UV_THREADPOOL_SIZE=8
  --max-seconds N         abort the run after this long (default ${DEFAULTS.maxSeconds})
  --json FILE             write the full results as JSON
  -h, --help              show this help

Examples:
  npm run bench:lite -- --topics 10000 --clients 100 --json /tmp/lite-10k.json
  npm run bench:lite -- --json /tmp/lite-1m.json         # 1M lite topics, 1M subscriptions
`;

export class UsageError extends Error {}

const INT_OPTIONS: Partial<Record<string, keyof LiteBenchOptions>> = {
  '--topics': 'topics',
  '--clients': 'clients',
  '--sync-batch': 'syncBatch',
  '--sync-concurrency': 'syncConcurrency',
  '--messages': 'messages',
  '--send-batch': 'sendBatch',
  '--batch-size': 'batchSize',
  '--long-poll-ms': 'longPollMs',
  '--settle-ms': 'settleMs',
  '--idle-clients': 'idleClients',
  '--idle-topics': 'idleTopics',
  '--active-clients': 'activeClients',
  '--idle-rate': 'idleRate',
  '--idle-seconds': 'idleSeconds',
  '--poll-timeout-ms': 'pollTimeoutMs',
  '--poll-sleep-ms': 'pollSleepMs',
  '--channels': 'channels',
  '--seed': 'seed',
  '--max-seconds': 'maxSeconds',
  '--quiet-wait-s': 'quietWaitS',
  '--nice': 'nice',
};

/** Minimum of each integer option. */
const MIN: Partial<Record<keyof LiteBenchOptions, number>> = {
  topics: 1,
  clients: 1,
  syncBatch: 1,
  syncConcurrency: 1,
  messages: 0,
  sendBatch: 1,
  batchSize: 1,
  longPollMs: 1000,
  settleMs: 0,
  idleClients: 1,
  idleTopics: 1,
  activeClients: 1,
  idleRate: 1,
  idleSeconds: 1,
  pollTimeoutMs: 0,
  pollSleepMs: 0,
  channels: 1,
  seed: 0,
  maxSeconds: 10,
  quietWaitS: 0,
  nice: -20,
};

export function parseOptions(argv: string[]): LiteBenchOptions | 'help' {
  const o: LiteBenchOptions = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === '-h' || name === '--help') return 'help';
    const key = INT_OPTIONS[name];
    if (key) {
      const raw = value();
      const n = Number(raw.replace(/_/g, ''));
      if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer (got ${raw})`);
      const min = MIN[key] ?? 0;
      if (n < min) throw new UsageError(`${name} must be at least ${min} (got ${n})`);
      (o as unknown as Record<string, number>)[key] = n;
      continue;
    }
    switch (name) {
      case '--rate': {
        const raw = value();
        const rates = raw.split(',').map((r) => Number(r.trim().replace(/_/g, '')));
        if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1)) throw new UsageError(`--rate must be positive integers, comma-separated (got ${raw})`);
        o.rates = rates;
        break;
      }
      case '--transport': {
        const v = value();
        if (v !== 'session' && v !== 'unary') throw new UsageError(`--transport must be session or unary (got ${v})`);
        o.transport = v;
        break;
      }
      case '--names': {
        const v = value();
        if (v !== 'short' && v !== 'uuid') throw new UsageError(`--names must be short or uuid (got ${v})`);
        o.names = v;
        break;
      }
      case '--skip-latency':
        o.skipLatency = true;
        break;
      case '--skip-wakeup':
        o.skipWakeup = true;
        break;
      case '--skip-polling':
        o.skipPolling = true;
        break;
      case '--no-probe':
        o.probe = false;
        break;
      case '--json':
        o.json = value();
        break;
      case '--cpu-prof':
        o.cpuProf = value();
        break;
      case '--heap-snapshot':
        o.heapSnapshot = value();
        break;
      case '--broker-env': {
        const v = value();
        const eq2 = v.indexOf('=');
        if (eq2 <= 0) throw new UsageError(`--broker-env takes KEY=VALUE (got ${v})`);
        o.brokerEnv = { ...o.brokerEnv, [v.slice(0, eq2)]: v.slice(eq2 + 1) };
        break;
      }
      case '--tmp':
        o.tmpBase = value();
        break;
      default:
        throw new UsageError(`unknown option ${a} (see --help)`);
    }
  }
  if (o.heapSnapshot !== undefined && !o.probe) throw new UsageError('--heap-snapshot needs the probe (drop --no-probe)');
  if (o.cpuProf !== undefined && !o.probe) throw new UsageError('--cpu-prof needs the probe (drop --no-probe)');
  if (o.clients > o.topics) throw new UsageError(`--clients (${o.clients}) must not exceed --topics (${o.topics})`);
  if (o.activeClients > o.idleClients) throw new UsageError(`--active-clients (${o.activeClients}) must not exceed --idle-clients (${o.idleClients})`);
  if (o.nice > 19) throw new UsageError('--nice must be between -20 and 19');
  if (o.sendBatch > 1024) throw new UsageError('--send-batch must be at most 1024 (the broker limit per SendMessage)');
  if (o.batchSize > 64) throw new UsageError('--batch-size must be at most 64 (the broker default pop.maxBatchSize)');
  if (o.longPollMs > 60_000) throw new UsageError('--long-poll-ms must be at most 60000');
  return o;
}
