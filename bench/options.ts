/** Command-line options of `npm run bench` and their help text. */
import { parseArgs } from 'node:util';
import { SYSTEM_IDS } from './systems.js';
import type { SystemId } from './systems.js';
import type { WorkloadId } from './protocol.js';

export interface BenchOptions {
  workloads: WorkloadId[];
  systems: SystemId[];
  durationS: number;
  warmupS: number;
  w2WarmupS: number;
  count: number | undefined;
  rate: number;
  sizeBytes: number;
  window: number;
  queues: number;
  linger: number;
  maxBatch: number;
  maxInFlightBatches: number;
  profile: boolean;
  probe: boolean;
  save: boolean;
  outDir: string;
  tmpDir: string | undefined;
  agentmqDir: string | undefined;
  quietWaitS: number;
  /** Explicit peer binaries (default: looked up on PATH and the sbin dirs). */
  binaries: Record<string, string>;
  verbose: boolean;
}

export const USAGE = `Usage: npm run bench [-- OPTIONS]

Benchmarks AgentMQ against NATS JetStream and Redis Streams on this machine, in one run:
  W1  durable produce throughput: pipelined sends, counted on the server's acknowledgement
  W2  end-to-end latency at a fixed rate: send time stamped in the body, measured by a consumer
Every server runs on 127.0.0.1 (random free ports, temp dirs, killed at the end); the load comes
from a separate Node process. Prints tables (absolute numbers and ratios vs AgentMQ async flush),
a Markdown block for docs/benchmarks.md, and writes bench/results/<date>.json.

Options:
  --workload W1|W2|all      workloads to run; repeatable or comma-separated (default all)
  --system ID               systems to run; repeatable or comma-separated (default all):
                            ${SYSTEM_IDS.join(', ')}
  --duration-s N            measured seconds per workload and system (default 10)
  --warmup-s N              W1 warm-up seconds before measuring (default 2)
  --w2-warmup-s N           W2 warm-up seconds (sent, not measured; default 1)
  --count N                 W1: measure until N acknowledgements instead of --duration-s
  --rate N                  W2 messages per second (default 200)
  --size-bytes N            message body size (default 1024)
  --window N                W1 sends outstanding per system (default 1024)
  --queues N                AgentMQ topic queue count (default 4)
  --linger-ms N             AgentMQ Producer lingerMs (default 0 = SDK default)
  --max-batch N             AgentMQ Producer maxBatchMessages (default 64 = SDK default)
  --max-in-flight N         AgentMQ Producer maxInFlightBatches (default 16 = SDK default)
  --profile                 run AgentMQ's server and the load worker under node --cpu-prof and
                            print where their time goes (numbers of a profiled run are lower)
  --probe                   record the AgentMQ server's event-loop delay and GC pauses in the
                            measured window (a preloaded bench/server-probe.mjs; cheap)
  --no-save                 do not write bench/results/<date>.json
  --out DIR                 results directory (default bench/results)
  --tmp-dir DIR             where servers keep their data (default: the OS temp dir)
  --nats-server PATH        the nats-server binary (default: found on PATH or in /usr/sbin)
  --redis-server PATH       the redis-server binary (default: found on PATH or in /usr/bin)
  --agentmq-dir DIR         the AgentMQ checkout to benchmark (its bin/agentmq.js and client/
                            SDK; needs its own node_modules; default: this repository)
  --quiet-wait-s N          before each run, wait up to N s for other processes to leave the
                            CPUs alone (< 15% of a core busy; default 60, 0 = do not wait)
  --verbose                 pass the worker's stderr through
  -h, --help                this text

Peers: nats-server and redis-server from Debian (apt-get install -y nats-server redis-server).
A missing one is reported with its install command and marked "not run".`;

export class UsageError extends Error {}

function num(name: string, v: string | undefined, def: number, min: number, integer = true): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min} (got ${v})`);
  return n;
}

function list(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** Parses argv; returns undefined when help was asked for. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        workload: { type: 'string', multiple: true },
        system: { type: 'string', multiple: true },
        systems: { type: 'string', multiple: true },
        'duration-s': { type: 'string' },
        'warmup-s': { type: 'string' },
        'w2-warmup-s': { type: 'string' },
        count: { type: 'string' },
        rate: { type: 'string' },
        'size-bytes': { type: 'string' },
        window: { type: 'string' },
        queues: { type: 'string' },
        'linger-ms': { type: 'string' },
        'max-batch': { type: 'string' },
        'max-in-flight': { type: 'string' },
        profile: { type: 'boolean' },
        probe: { type: 'boolean' },
        'no-save': { type: 'boolean' },
        out: { type: 'string' },
        'tmp-dir': { type: 'string' },
        'agentmq-dir': { type: 'string' },
        'quiet-wait-s': { type: 'string' },
        'nats-server': { type: 'string' },
        'redis-server': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return undefined;

  let workloads: WorkloadId[] = ['W1', 'W2'];
  const wl = list(v.workload).map((w) => w.toUpperCase());
  if (wl.length > 0 && !wl.includes('ALL')) {
    for (const w of wl) if (w !== 'W1' && w !== 'W2') throw new UsageError(`--workload must be W1, W2 or all (got ${w})`);
    workloads = [...new Set(wl)].sort() as WorkloadId[];
  }
  let systems: SystemId[] = [...SYSTEM_IDS];
  const sl = list([...(v.system ?? []), ...(v.systems ?? [])]);
  if (sl.length > 0 && !sl.includes('all')) {
    for (const s of sl) if (!(SYSTEM_IDS as readonly string[]).includes(s)) throw new UsageError(`--system must be one of ${SYSTEM_IDS.join(', ')} (got ${s})`);
    systems = SYSTEM_IDS.filter((s) => sl.includes(s));
  }
  const count = v.count === undefined ? undefined : num('count', v.count, 0, 1);
  return {
    workloads,
    systems,
    durationS: num('duration-s', v['duration-s'], 10, 0.1, false),
    warmupS: num('warmup-s', v['warmup-s'], 2, 0, false),
    w2WarmupS: num('w2-warmup-s', v['w2-warmup-s'], 1, 0, false),
    count,
    rate: num('rate', v.rate, 200, 1, false),
    sizeBytes: num('size-bytes', v['size-bytes'], 1024, 64),
    window: num('window', v.window, 1024, 1),
    queues: num('queues', v.queues, 4, 1),
    linger: num('linger-ms', v['linger-ms'], 0, 0),
    maxBatch: num('max-batch', v['max-batch'], 64, 1),
    maxInFlightBatches: num('max-in-flight', v['max-in-flight'], 16, 1),
    profile: v.profile ?? false,
    probe: (v.probe ?? false) || (v.profile ?? false),
    save: !(v['no-save'] ?? false),
    outDir: v.out ?? 'bench/results',
    tmpDir: v['tmp-dir'],
    agentmqDir: v['agentmq-dir'],
    binaries: {
      ...(v['nats-server'] !== undefined ? { 'nats-server': v['nats-server'] } : {}),
      ...(v['redis-server'] !== undefined ? { 'redis-server': v['redis-server'] } : {}),
    },
    quietWaitS: num('quiet-wait-s', v['quiet-wait-s'], 60, 0, false),
    verbose: v.verbose ?? false,
  };
}
