/**
 * The peer servers of the callback benchmark, each on 127.0.0.1 on a free port with a fresh temp
 * dir, started through ../servers.ts (so cleanupAll() kills them on Ctrl-C and errors):
 *   - nats-server with JetStream (file store), as bench/systems.ts starts it;
 *   - redis-server with AOF (appendonly yes, appendfsync everysec), as bench/systems.ts does;
 *   - mosquitto 2.x with persistence, from a temp config file.
 * Plus `checkPeer`: is the binary there, is the npm client installed.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { commandOutput, findBinary, freePort, makeTempDir, removeTempDir, startServer } from '../servers.js';
import type { ServerProcess } from '../servers.js';
import type { Availability } from './system.js';

export interface PeerServer {
  server: ServerProcess;
  host: '127.0.0.1';
  port: number;
  version: string | undefined;
  stop(): Promise<void>;
}

const APT = (pkg: string): string => `apt-get update && apt-get install -y ${pkg}   # Debian/Ubuntu, as root (else prefix sudo)`;

/** The binary and npm client a peer needs, or why it cannot run. */
export function checkPeer(repoRoot: string, binary: string, aptPackage: string, npmClient: string): Availability {
  const bin = findBinary(binary);
  if (!bin) return { ok: false, reason: `${binary} not found on PATH or in the sbin dirs`, hint: APT(aptPackage) };
  try {
    createRequire(join(repoRoot, 'package.json')).resolve(npmClient);
  } catch {
    return { ok: false, reason: `the npm client "${npmClient}" is not installed (a devDependency)`, hint: `cd ${repoRoot} && npm install` };
  }
  return { ok: true, version: versionOf(bin) };
}

/** "v2.9.10", "7.0.15", "2.0.11" from the binary's version output. */
function versionOf(bin: string): string | undefined {
  // mosquitto has no --version: `-h` prints "mosquitto version 2.0.11" first (and exits 3).
  const line = bin.endsWith('mosquitto')
    ? spawnSync(bin, ['-h'], { encoding: 'utf8', timeout: 10_000 }).stdout?.split('\n')[0]
    : commandOutput(bin, ['--version']);
  if (!line) return undefined;
  return /\bv(?:ersion )?=?\s*v?(\d+\.\d+\.\d+\S*)/.exec(line)?.[1] ?? line;
}

function need(binary: string): string {
  const bin = findBinary(binary);
  if (!bin) throw new Error(`${binary} not found`);
  return bin;
}

async function started(prefix: string, tmpBase: string, start: (dir: string, port: number) => Promise<ServerProcess>, bin: string): Promise<PeerServer> {
  const dir = makeTempDir(`callback-${prefix}`, tmpBase);
  const port = await freePort();
  let server: ServerProcess;
  try {
    server = await start(dir, port);
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
  return {
    server,
    host: '127.0.0.1',
    port,
    version: versionOf(bin),
    stop: async () => {
      await server.stop();
      removeTempDir(dir);
    },
  };
}

/** nats-server -js: JetStream on, file store in the temp dir; no monitoring port, no cluster. */
export function startNatsServer(tmpBase: string): Promise<PeerServer> {
  const bin = need('nats-server');
  return started(
    'nats',
    tmpBase,
    (dir, port) =>
      startServer({
        name: 'nats-server',
        command: bin,
        args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'store')],
        readyPattern: /Server is ready/,
        logPath: join(dir, 'nats.log'),
      }),
    bin,
  );
}

/** redis-server with the AOF on, fsynced once a second; no RDB snapshots, no AOF rewrites. */
export function startRedisServer(tmpBase: string): Promise<PeerServer> {
  const bin = need('redis-server');
  return started(
    'redis',
    tmpBase,
    (dir, port) =>
      startServer({
        name: 'redis-server (appendfsync everysec)',
        command: bin,
        args: [
          '--bind', '127.0.0.1',
          '--port', String(port),
          '--dir', dir,
          '--daemonize', 'no',
          '--protected-mode', 'no',
          '--logfile', '',
          '--appendonly', 'yes',
          '--appendfsync', 'everysec',
          // Snapshots and AOF rewrites fork a child whose CPU is not counted; none happen in a run.
          '--save', '',
          '--auto-aof-rewrite-percentage', '0',
        ],
        readyPattern: /Ready to accept connections/,
        logPath: join(dir, 'redis.log'),
      }),
    bin,
  );
}

/**
 * mosquitto with persistence on (sessions, subscriptions and queued QoS 1 messages are written to
 * <dir>/mosquitto.db every autosave_interval, default 1800 s, and on shutdown — not per message).
 * set_tcp_nodelay true; everything else is mosquitto's default (max_inflight_messages 20,
 * max_queued_messages 1000).
 */
export function startMosquitto(tmpBase: string): Promise<PeerServer> {
  const bin = need('mosquitto');
  return started(
    'mosquitto',
    tmpBase,
    (dir, port) => {
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          `listener ${port} 127.0.0.1`,
          'persistence true',
          `persistence_location ${dir}/`,
          'allow_anonymous true',
          // Nagle off on client sockets, as redis-server and nats-server do by default (mosquitto's
          // default is on: small QoS 1 packets then wait out delayed ACKs, ~40 ms per exchange).
          'set_tcp_nodelay true',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          'log_type notice',
          'log_type information', // the "running" line the harness waits for
          // Started as root, mosquitto drops to this user (default "mosquitto", which cannot write
          // the temp dir); as anyone else the option is ignored.
          `user ${userInfo().username}`,
          '',
        ].join('\n'),
      );
      return startServer({
        name: 'mosquitto',
        command: bin,
        args: ['-c', conf],
        readyPattern: /mosquitto version \S+ running/,
        logPath: join(dir, 'mosquitto.log'),
      });
    },
    bin,
  );
}
