/** Command-line options of `npm run bench:callback` and their help text. */
import { parseArgs } from 'node:util';

export const SYSTEM_IDS = ['agentmq', 'nats', 'redis', 'mqtt'] as const;
export type CallbackSystemId = (typeof SYSTEM_IDS)[number];

export interface CallbackOptions {
  systems: CallbackSystemId[];
  tasks: number;
  inflight: number;
  warmup: number;
  taskTimeoutMs: number;
  maxErrors: number;
  json: string | undefined;
  tmpDir: string | undefined;
  quietWaitS: number;
}

export const USAGE = `Usage: npm run bench:callback [-- OPTIONS]

The agent callback pattern, on AgentMQ and three peers, one after the other in one run. Per task
a supervisor creates a fresh reply channel and subscribes to it, dispatches a 1 KiB task naming
the channel to a durable "tasks" queue; a worker (its own connection) sends three replies on the
channel ("working", a 1 KiB "artifact", "completed") and acks the task; the supervisor receives
all three, in order, then removes the channel. --inflight tasks run at once.

Reports tasks/s, the round trip (dispatch → final reply) p50/p99, the whole cycle p50/p99, the
server's CPU time, and each system's tasks/s ÷ the best peer's. Every reply is checked (3 per
task, in order, for the right task); a lost, extra or reordered reply fails the run (exit 1).

Options:
  --systems LIST        comma-separated, repeatable (default all): ${SYSTEM_IDS.join(',')}
                          agentmq  AgentMQ, a lite topic per task
                          nats     NATS JetStream (nats-server, file storage)
                          redis    Redis Streams (redis-server, AOF everysec)
                          mqtt     Mosquitto, MQTT 5 QoS 1, persistent sessions
  --tasks N             measured tasks per system (default 2000)
  --inflight N          tasks in flight at once (default 50)
  --warmup N            tasks run first, not measured (default 100)
  --task-timeout-ms N   a task without its final reply after this long is an error (default 30000)
  --max-errors N        stop a system's run after this many errors (default 10)
  --json FILE           also write the results (machine, parameters, every run) as JSON
  --tmp-dir DIR         where the servers keep their data (default: the OS temp dir)
  --quiet-wait-s N      before each system, wait up to N s for the machine to be idle
                        (< 15% of a core busy; default 20, 0 = do not wait)
  -h, --help            this text

Peers run from Debian's packages on 127.0.0.1 (random ports, temp dirs, stopped at the end):
  apt-get update && apt-get install -y nats-server redis-server mosquitto
A missing binary or npm client is reported and that system is skipped ("not run").`;

export class UsageError extends Error {}

function int(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** The options, or undefined when --help was asked for. */
export function parseOptions(argv: string[]): CallbackOptions | undefined {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        systems: { type: 'string', multiple: true },
        system: { type: 'string', multiple: true },
        tasks: { type: 'string' },
        inflight: { type: 'string' },
        warmup: { type: 'string' },
        'task-timeout-ms': { type: 'string' },
        'max-errors': { type: 'string' },
        json: { type: 'string' },
        'tmp-dir': { type: 'string' },
        'quiet-wait-s': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return undefined;
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const listed = [...((values.systems as string[] | undefined) ?? []), ...((values.system as string[] | undefined) ?? [])]
    .flatMap((s) => s.split(','))
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const systems: CallbackSystemId[] = [];
  for (const s of listed.length > 0 ? listed : [...SYSTEM_IDS]) {
    if (!(SYSTEM_IDS as readonly string[]).includes(s)) throw new UsageError(`unknown system "${s}" (known: ${SYSTEM_IDS.join(', ')})`);
    if (!systems.includes(s as CallbackSystemId)) systems.push(s as CallbackSystemId);
  }
  return {
    systems,
    tasks: int('tasks', str('tasks'), 2000, 1),
    inflight: int('inflight', str('inflight'), 50, 1),
    warmup: int('warmup', str('warmup'), 100, 0),
    taskTimeoutMs: int('task-timeout-ms', str('task-timeout-ms'), 30_000, 100),
    maxErrors: int('max-errors', str('max-errors'), 10, 1),
    json: str('json'),
    tmpDir: str('tmp-dir'),
    quietWaitS: int('quiet-wait-s', str('quiet-wait-s'), 20, 0),
  };
}
