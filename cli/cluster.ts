/**
 * `agentmq cluster up|down|status`: a local cluster of NameServer and broker processes on
 * loopback, each a detached `agentmq nameserver` / `agentmq broker` child with its own data dir
 * and log file, described by DIR/cluster.json so `down`, `status` and a later `up` find them.
 *
 *   DIR/cluster.json        { version, basePort, processes: [{ role, name, port, args, pid }] }
 *   DIR/logs/<name>.log     stdout + stderr of each process (appended across restarts)
 *   DIR/<broker name>/      a broker's RocksDB data
 *   DIR/<nameserver name>/  a NameServer's embedding cache
 *
 * Ports: NameServer i listens on base+i, broker j on base+N+j (N NameServers; base 9876).
 * `up` on a DIR that already has a cluster restarts the processes that are not running (same
 * names, ports and data: a crashed broker comes back with its messages), keeps the running ones,
 * and adds brokers when --brokers grew. Readiness is each process's own "ready" line in its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { int, parse, UsageError } from './args.js';

const BIN = fileURLToPath(new URL('../bin/agentmq.js', import.meta.url));
const STATE_FILE = 'cluster.json';
const DEFAULT_BASE_PORT = 9876;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export const CLUSTER_USAGE = `Usage: agentmq cluster up|down|status --data-dir DIR [options]

A local cluster on loopback: NameServer and broker processes, each with its own data dir and
log (DIR/logs/NAME.log), described by DIR/cluster.json.

  up       start the cluster (or restart its stopped processes; more --brokers adds brokers);
           prints one line per process (role, name, pid, endpoint), then a line with 'ready'
  down     stop every process (SIGTERM, then SIGKILL after ${STOP_TIMEOUT_MS / 1000} s); data stays in DIR
  status   one line per process: running or stopped

Options:
  --data-dir DIR             where the cluster lives (required)
  --nameservers N            NameServer processes (up; default 2)
  --brokers M                broker processes (up; default 3)
  --base-port P              NameServer i on P+i, broker j on P+N+j (up; default ${DEFAULT_BASE_PORT})
  --flush sync|async         brokers' flush policy (up; default async)
  --broker-expiry-ms N       NameServers forget brokers silent this long (up; default 30000)
  --register-interval-ms N   brokers re-register this often (up; default 10000)
  --max-long-polling-ms N    longest a receive waits on the brokers (up; default 60000)
  --embedder auto|lexical|transformers
                             NameServers' discovery embedder (up; default auto)
  --timeout-ms N             how long up waits for each process to be ready (default ${DEFAULT_READY_TIMEOUT_MS})
  -h, --help                 show this help`;

const FLAGS = {
  'data-dir': { type: 'string' },
  nameservers: { type: 'string' },
  brokers: { type: 'string' },
  'base-port': { type: 'string' },
  flush: { type: 'string' },
  'broker-expiry-ms': { type: 'string' },
  'register-interval-ms': { type: 'string' },
  'max-long-polling-ms': { type: 'string' },
  embedder: { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

type Role = 'nameserver' | 'broker';
type Values = { [K in keyof typeof FLAGS]?: string };

interface ProcessSpec {
  role: Role;
  name: string;
  port: number;
  /** agentmq arguments (after bin/agentmq.js). */
  args: string[];
  pid?: number;
}

interface ClusterState {
  version: 1;
  basePort: number;
  processes: ProcessSpec[];
}

function endpoint(p: ProcessSpec): string {
  return `127.0.0.1:${p.port}`;
}

function readState(dir: string): ClusterState | undefined {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  const s = JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  if (s.version !== 1 || !Array.isArray(s.processes)) throw new UsageError(`${file} is not an agentmq cluster description`);
  return s;
}

function writeState(dir: string, s: ClusterState): void {
  writeFileSync(join(dir, STATE_FILE), `${JSON.stringify(s, null, 2)}\n`);
}

/** True when `pid` is alive and is this cluster's process `p` (not a recycled pid). */
function running(p: ProcessSpec): boolean {
  if (p.pid === undefined) return false;
  try {
    process.kill(p.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
    return cmdline.includes(BIN) && cmdline.includes(`\0${p.port}\0`);
  } catch {
    return true; // no /proc (not Linux): trust the pid
  }
}

function plan(dir: string, basePort: number, nameservers: number, brokers: number, v: Values): ProcessSpec[] {
  const nsSpecs: ProcessSpec[] = [];
  for (let i = 0; i < nameservers; i++) {
    const name = `ns-${i}`;
    const port = basePort + i;
    const args = ['nameserver', '--port', String(port), '--data-dir', join(dir, name)];
    if (v['broker-expiry-ms'] !== undefined) args.push('--broker-expiry-ms', v['broker-expiry-ms']);
    if (v.embedder !== undefined) args.push('--embedder', v.embedder);
    nsSpecs.push({ role: 'nameserver', name, port, args });
  }
  const nsList = nsSpecs.map(endpoint);
  const brokerSpecs: ProcessSpec[] = [];
  for (let j = 0; j < brokers; j++) brokerSpecs.push(brokerSpec(dir, `broker-${j}`, basePort + nameservers + j, nsList, v));
  return [...nsSpecs, ...brokerSpecs];
}

function brokerSpec(dir: string, name: string, port: number, nameservers: string[], v: Values): ProcessSpec {
  const args = ['broker', '--port', String(port), '--broker-name', name, '--data-dir', join(dir, name)];
  for (const ns of nameservers) args.push('--nameserver', ns);
  if (v.flush !== undefined) args.push('--flush', v.flush);
  if (v['register-interval-ms'] !== undefined) args.push('--register-interval-ms', v['register-interval-ms']);
  if (v['max-long-polling-ms'] !== undefined) args.push('--max-long-polling-ms', v['max-long-polling-ms']);
  return { role: 'broker', name, port, args };
}

/** Starts `p` detached, logging to DIR/logs/NAME.log; resolves with its pid once it printed "ready". */
async function launch(dir: string, p: ProcessSpec, timeoutMs: number): Promise<number> {
  const log = join(dir, 'logs', `${p.name}.log`);
  const fd = openSync(log, 'a');
  const from = statSync(log).size;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [BIN, ...p.args], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${p.name}: could not start ${process.execPath}`);
  const tail = () => readFileSync(log, 'utf8').slice(from).trim().split('\n').slice(-15).join('\n');
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((ok, fail) => {
      const check = () => {
        if (/\bready\b/.test(readFileSync(log, 'utf8').slice(from))) ok();
      };
      watcher = watch(log, check);
      timer = setTimeout(() => fail(new Error(`${p.name} not ready after ${timeoutMs} ms (log ${log}):\n${tail()}`)), timeoutMs);
      child.once('exit', (code, signal) => fail(new Error(`${p.name} exited (${signal ?? `code ${code}`}) before it was ready (log ${log}):\n${tail()}`)));
      check();
    });
  } finally {
    watcher?.close();
    if (timer) clearTimeout(timer);
  }
  child.unref();
  return pid;
}

function describe(p: ProcessSpec, state: string): string {
  return `${p.role.padEnd(10)} ${p.name.padEnd(10)} pid=${String(p.pid ?? '-').padEnd(8)} endpoint=${endpoint(p)} ${state}`;
}

async function up(values: Values): Promise<number> {
  const dir = resolve(requireDir(values));
  const timeoutMs = int('timeout-ms', values['timeout-ms'], DEFAULT_READY_TIMEOUT_MS);
  if (values.flush !== undefined && values.flush !== 'sync' && values.flush !== 'async') throw new UsageError(`--flush must be sync or async (got ${values.flush})`);
  let state = readState(dir);
  const nsCount = int('nameservers', values.nameservers, state ? state.processes.filter((p) => p.role === 'nameserver').length : 2);
  const brokerCount = int('brokers', values.brokers, state ? state.processes.filter((p) => p.role === 'broker').length : 3);
  if (nsCount < 1) throw new UsageError('--nameservers must be at least 1');
  if (brokerCount < 1) throw new UsageError('--brokers must be at least 1');
  if (!state) {
    const basePort = int('base-port', values['base-port'], DEFAULT_BASE_PORT);
    if (basePort < 1 || basePort + nsCount + brokerCount > 65_535) throw new UsageError(`--base-port ${basePort} leaves no room for ${nsCount + brokerCount} ports`);
    state = { version: 1, basePort, processes: plan(dir, basePort, nsCount, brokerCount, values) };
  } else {
    const ns = state.processes.filter((p) => p.role === 'nameserver');
    const brokers = state.processes.filter((p) => p.role === 'broker');
    if (nsCount !== ns.length) throw new UsageError(`the cluster in ${dir} has ${ns.length} NameServers; 'agentmq cluster down' and a fresh --data-dir to change that`);
    if (brokerCount < brokers.length) throw new UsageError(`the cluster in ${dir} has ${brokers.length} brokers; removing brokers is not supported by up`);
    if (values['base-port'] !== undefined && int('base-port', values['base-port'], state.basePort) !== state.basePort) {
      throw new UsageError(`the cluster in ${dir} uses --base-port ${state.basePort}`);
    }
    // New brokers take the next ports after the highest one in use.
    let next = Math.max(...state.processes.map((p) => p.port)) + 1;
    for (let j = brokers.length; j < brokerCount; j++) state.processes.push(brokerSpec(dir, `broker-${j}`, next++, ns.map(endpoint), values));
  }
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeState(dir, state);
  // NameServers first (brokers register with them), each group in parallel.
  for (const role of ['nameserver', 'broker'] as const) {
    const group = state.processes.filter((p) => p.role === role);
    const results = await Promise.allSettled(
      group.map(async (p) => {
        if (running(p)) {
          console.log(describe(p, 'already running'));
          return;
        }
        p.pid = await launch(dir, p, timeoutMs);
        writeState(dir, state);
        console.log(describe(p, 'started'));
      }),
    );
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > 0) {
      writeState(dir, state);
      for (const err of failed) console.error(`agentmq cluster up: ${err.message}`);
      console.error(`agentmq cluster up: ${failed.length} process(es) did not start; the others keep running ('agentmq cluster down --data-dir ${dir}' stops them)`);
      return 1;
    }
  }
  const list = (role: Role) => state.processes.filter((p) => p.role === role).map(endpoint).join(';');
  console.log(`agentmq cluster ready nameservers=${list('nameserver')} brokers=${list('broker')} data-dir=${dir}`);
  return 0;
}

function requireDir(values: Values): string {
  const dir = values['data-dir'];
  if (dir === undefined || dir === '') throw new UsageError(`--data-dir is required\n\n${CLUSTER_USAGE}`);
  return dir;
}

function requireState(dir: string): ClusterState {
  const state = readState(dir);
  if (!state) throw new UsageError(`no cluster in ${dir} (no ${STATE_FILE}); start one with 'agentmq cluster up --data-dir ${dir}'`);
  return state;
}

/** Resolves once `p` is gone, or false after `ms`. Checks every 50 ms (the process is not our child). */
async function gone(p: ProcessSpec, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (running(p)) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function stop(p: ProcessSpec): Promise<string> {
  if (!running(p)) return 'not running';
  process.kill(p.pid!, 'SIGTERM');
  if (await gone(p, STOP_TIMEOUT_MS)) return 'stopped';
  process.kill(p.pid!, 'SIGKILL');
  await gone(p, 5_000);
  return `killed (no exit ${STOP_TIMEOUT_MS / 1000} s after SIGTERM)`;
}

async function down(values: Values): Promise<number> {
  const dir = resolve(requireDir(values));
  const state = requireState(dir);
  // Brokers first (they unregister from the NameServers on the way out), then NameServers.
  for (const role of ['broker', 'nameserver'] as const) {
    const group = state.processes.filter((p) => p.role === role);
    const outcomes = await Promise.all(group.map((p) => stop(p)));
    group.forEach((p, i) => console.log(describe(p, outcomes[i]!)));
  }
  for (const p of state.processes) delete p.pid;
  writeState(dir, state);
  console.log(`agentmq cluster down data-dir=${dir}`);
  return 0;
}

function status(values: Values): number {
  const dir = resolve(requireDir(values));
  const state = requireState(dir);
  let up = 0;
  for (const p of state.processes) {
    const alive = running(p);
    if (alive) up++;
    console.log(describe(p, alive ? 'running' : 'stopped'));
  }
  console.log(`${up} of ${state.processes.length} processes running`);
  return up === state.processes.length ? 0 : 3;
}

export async function cluster(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, FLAGS, CLUSTER_USAGE);
  if (values.help) return (console.log(CLUSTER_USAGE), 0);
  const [sub, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}\n\n${CLUSTER_USAGE}`);
  switch (sub) {
    case 'up':
      return up(values);
    case 'down':
      return down(values);
    case 'status':
      return status(values);
    default:
      throw new UsageError(`${sub === undefined ? 'a subcommand is required' : `unknown subcommand ${JSON.stringify(sub)}`} (up, down or status)\n\n${CLUSTER_USAGE}`);
  }
}
