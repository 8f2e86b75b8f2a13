/** Command-line options of `npm run bench:cluster` and their help text. */
import { parseArgs } from 'node:util';

export const WORKLOADS = ['w1', 'callback'] as const;
export type ClusterWorkload = (typeof WORKLOADS)[number];

export const FAILOVER_MODES = ['default', 'short'] as const;
export type FailoverMode = (typeof FAILOVER_MODES)[number];

export interface ClusterBenchOptions {
  /** Broker counts of the scaling phase, in run order. */
  brokers: number[];
  /** NameServers of the scaling-phase clusters. */
  nameservers: number;
  workloads: ClusterWorkload[];
  /** Measured seconds of each workload phase. */
  seconds: number;
  warmupS: number;
  /** W1: sends outstanding. */
  window: number;
  /** W1 and the callback pattern's task queue: queues per broker. */
  queues: number;
  /** Callback pattern: tasks in flight. */
  inflight: number;
  /** Callback pattern: receive loops per broker, each for the worker and for the supervisor. */
  loopsPerBroker: number;
  /** Failover runs, in order (empty: none). */
  failover: FailoverMode[];
  /** Failover: messages per second of the paced producer. */
  rate: number;
  /** Failover: steady sending before the kill. */
  preKillS: number;
  /** Failover: observation after the kill (undefined: per mode default). */
  observeS: number | undefined;
  /** Failover: NameServers of the failover cluster. */
  failoverNameservers: number;
  out: string | undefined;
  save: boolean;
  tmpDir: string | undefined;
  quietWaitS: number;
  /** Keep the clusters' data dirs and logs (printed) instead of removing them. */
  keep: boolean;
}

export const USAGE = `Usage: npm run bench:cluster [-- OPTIONS]

AgentMQ on a local multi-process cluster ('agentmq cluster up': NameServer and broker
processes on 127.0.0.1, async flush, offline lexical embedder).

1. Scaling: for each broker count M of --brokers, a fresh cluster with M brokers; topics created
   on every broker; then
     w1        durable produce throughput: 1 KiB random bodies, --window sends outstanding, one
               load process (bench/worker.ts, the W1 load of 'npm run bench'), counted on the
               broker's acknowledgement; the topic has --queues queues on each broker
     callback  the agent callback pattern of 'npm run bench:callback' (a durable task topic, a
               fresh lite topic per task for 3 replies, --inflight tasks at once), supervisor and
               worker in this process, run for a fixed duration
   CPU seconds of every process over each measured phase (/proc/<pid>/stat for the cluster and
   the load worker, process.cpuUsage() for this process); reported: throughput, CPU per process,
   work per CPU-second (all processes; brokers only) and its ratio vs the first broker count.
2. Failover: 3 brokers, a producer sending at --rate to a topic spread over all brokers, kill -9
   of one broker; measured: when each NameServer drops it (listBrokers polled every 100 ms), when
   the producer's sends succeed again continuously (first success followed by 1 s without a
   failure), failed sends, the longest gap without an acknowledgement, and how long a NEW
   producer (one started every second after the kill) takes for its first send.
     default   NameServer --broker-expiry-ms 30000 and broker --register-interval-ms 10000 (the
               defaults); SDK routeRefreshIntervalMs 30000 (default)
     short     --broker-expiry-ms 4000 --register-interval-ms 1000

Options:
  --brokers LIST          broker counts of the scaling phase (default 1,2,3; 'none' skips it)
  --nameservers N         NameServers of the scaling clusters (default 1)
  --workloads LIST        w1,callback (default both)
  --seconds N             measured seconds per workload phase (default 10)
  --warmup-s N            warm-up seconds before each phase (default 2)
  --window N              W1 sends outstanding (default 1024)
  --queues N              queues per broker of the W1 and task topics (default 4)
  --inflight N            callback tasks in flight (default 50)
  --loops-per-broker N    callback: parallel receive loops per broker, each for the worker and
                          for the supervisor (default 2: bench:callback runs 2 on its one broker)
  --failover LIST         default,short or none (default default,short)
  --rate N                failover producer messages per second (default 200)
  --pre-kill-s N          failover: steady sending before the kill (default 5)
  --observe-s N           failover: how long to watch after the kill (default: 65 for
                          'default' = expiry 30 s + one route refresh 30 s + 5 s; 20 for 'short')
  --failover-nameservers N  NameServers of the failover cluster (default 2)
  --out FILE              JSON results (default bench/results/cluster-<date>.json)
  --no-save               do not write the JSON file
  --tmp-dir DIR           parent of the clusters' data dirs (default: the OS temp dir)
  --quiet-wait-s N        before each phase, wait up to N s for the machine to be idle
                          (< 15% of a core busy; default 10, 0 = do not wait)
  --keep                  keep the clusters' data dirs and logs (paths printed)
  -h, --help              this text

Every cluster is stopped ('agentmq cluster down') at the end of its phase, on errors and on
Ctrl-C / SIGTERM; its data dir is removed (unless --keep).`;

export class UsageError extends Error {}

function int(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/** The options, or undefined when --help was asked for. */
export function parseOptions(argv: string[]): ClusterBenchOptions | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        brokers: { type: 'string' },
        nameservers: { type: 'string' },
        workloads: { type: 'string' },
        seconds: { type: 'string' },
        'warmup-s': { type: 'string' },
        window: { type: 'string' },
        queues: { type: 'string' },
        inflight: { type: 'string' },
        'loops-per-broker': { type: 'string' },
        failover: { type: 'string' },
        rate: { type: 'string' },
        'pre-kill-s': { type: 'string' },
        'observe-s': { type: 'string' },
        'failover-nameservers': { type: 'string' },
        out: { type: 'string' },
        'no-save': { type: 'boolean' },
        'tmp-dir': { type: 'string' },
        'quiet-wait-s': { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return undefined;
  const str = (k: string): string | undefined => values[k] as string | undefined;

  const brokerList = list(str('brokers')) ?? ['1', '2', '3'];
  const brokers: number[] = [];
  if (!(brokerList.length === 1 && brokerList[0] === 'none')) {
    for (const b of brokerList) {
      const n = Number(b);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError(`--brokers: "${b}" is not a broker count (1..16)`);
      brokers.push(n);
    }
  }
  const workloads: ClusterWorkload[] = [];
  for (const w of list(str('workloads')) ?? [...WORKLOADS]) {
    if (!(WORKLOADS as readonly string[]).includes(w)) throw new UsageError(`unknown workload "${w}" (known: ${WORKLOADS.join(', ')})`);
    if (!workloads.includes(w as ClusterWorkload)) workloads.push(w as ClusterWorkload);
  }
  const failoverList = list(str('failover')) ?? [...FAILOVER_MODES];
  const failover: FailoverMode[] = [];
  if (!(failoverList.length === 1 && failoverList[0] === 'none')) {
    for (const f of failoverList) {
      if (!(FAILOVER_MODES as readonly string[]).includes(f)) throw new UsageError(`unknown failover mode "${f}" (known: ${FAILOVER_MODES.join(', ')}, or none)`);
      if (!failover.includes(f as FailoverMode)) failover.push(f as FailoverMode);
    }
  }
  const observe = str('observe-s');
  return {
    brokers,
    nameservers: int('nameservers', str('nameservers'), 1, 1),
    workloads,
    seconds: int('seconds', str('seconds'), 10, 1),
    warmupS: int('warmup-s', str('warmup-s'), 2, 0),
    window: int('window', str('window'), 1024, 1),
    queues: int('queues', str('queues'), 4, 1),
    inflight: int('inflight', str('inflight'), 50, 1),
    loopsPerBroker: int('loops-per-broker', str('loops-per-broker'), 2, 1),
    failover,
    rate: int('rate', str('rate'), 200, 1),
    preKillS: int('pre-kill-s', str('pre-kill-s'), 5, 1),
    observeS: observe === undefined ? undefined : int('observe-s', observe, 0, 1),
    failoverNameservers: int('failover-nameservers', str('failover-nameservers'), 2, 1),
    out: str('out'),
    save: values['no-save'] !== true,
    tmpDir: str('tmp-dir'),
    quietWaitS: int('quiet-wait-s', str('quiet-wait-s'), 10, 0),
    keep: values.keep === true,
  };
}
