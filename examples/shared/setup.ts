/**
 * What the examples share: command-line flags, the servers they run on (an in-process NameServer +
 * broker on ephemeral ports with a temporary data directory, or an existing NameServer given with
 * `--nameserver HOST:PORT`), loggers, and output helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createBroker, type Broker } from '../../broker/index.js';
import { consoleLogger, type Logger, type LogLevel } from '../../client/index.js';
import { createNameServer, type NameServer } from '../../nameserver/index.js';

/** Flags every example takes. */
export const COMMON_FLAGS = {
  nameserver: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `  --nameserver HOST:PORT  use a running NameServer (e.g. \`npm start\`'s 127.0.0.1:9876) instead of
                          starting one with a broker in this process
  -v, --verbose           log the servers' and clients' info lines to stderr
  -h, --help              show this help`;

/** Parses argv with the common flags plus `extra`; prints `usage` and exits on --help or a bad flag. */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(usage: string, extra: O, argv = process.argv.slice(2)) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...COMMON_FLAGS, ...extra }, allowPositionals: true, strict: true });
    if ((parsed.values as { help?: boolean }).help) {
      console.log(usage);
      process.exit(0);
    }
    return parsed;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

/** Logs go to stderr: warnings and errors only, unless --verbose or AGENTMQ_LOG_LEVEL says otherwise. */
export function exampleLogger(name: string, verbose: boolean | undefined): Logger {
  const level = (process.env.AGENTMQ_LOG_LEVEL as LogLevel | undefined) ?? (verbose ? 'info' : 'warn');
  return consoleLogger(name, level);
}

export interface Servers {
  /** The NameServer address clients use. */
  nameserver: string;
  /** One line describing where the example runs. */
  description: string;
  /** Stops what this process started (nothing for an external NameServer). Idempotent. */
  close(): Promise<void>;
}

/**
 * An external NameServer when `nameserver` is given; otherwise a NameServer and a broker in this
 * process on 127.0.0.1 ephemeral ports, data in a fresh temporary directory removed on close.
 * The embedded NameServer uses the offline lexical embedder (deterministic, no model to load).
 */
export async function startServers(nameserver: string | undefined, verbose: boolean | undefined): Promise<Servers> {
  if (nameserver) return { nameserver, description: `NameServer ${nameserver} (external)`, close: async () => undefined };
  const dataDir = mkdtempSync(join(tmpdir(), 'agentmq-example-'));
  let ns: NameServer | undefined;
  let broker: Broker | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await broker?.close().catch(() => undefined);
      await ns?.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    })());
  try {
    ns = createNameServer({ port: 0, logger: exampleLogger('nameserver', verbose), discovery: { embedder: { kind: 'lexical' } } });
    await ns.start();
    const address = `127.0.0.1:${ns.address.port}`;
    broker = createBroker({ port: 0, nameservers: [address], logger: exampleLogger('broker', verbose), store: { dataDir } });
    await broker.start();
    return {
      nameserver: address,
      description: `embedded NameServer ${address} + broker 127.0.0.1:${broker.address.port} (data in ${dataDir}, lexical embedder)`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

// --- output ---------------------------------------------------------------------------------------

/** When the example started (a child process of an example inherits its parent's, for one time line). */
export const startedAt = Number(process.env.AGENTMQ_EXAMPLE_T0) || Date.now();
const t0 = startedAt;

/** Seconds since the example started, e.g. `  1.25s`. */
export function elapsed(): string {
  return `${((Date.now() - t0) / 1000).toFixed(2)}s`.padStart(7);
}

/** One output line: `  1.25s [tag] text`. */
export function say(tag: string, text: string): void {
  console.log(`${elapsed()} ${`[${tag}]`.padEnd(18)} ${text}`);
}

/** Indented continuation lines (no timestamp). */
export function more(text: string): void {
  for (const line of text.split('\n')) console.log(`${' '.repeat(27)}${line}`);
}

/** Short task id for display. */
export function shortId(id: string): string {
  return `${id.slice(0, 8)}…`;
}

/** `TASK_STATE_WORKING` → `WORKING`. */
export function stateName(state: string): string {
  return state.replace(/^TASK_STATE_/, '');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `probe` every 100 ms until it returns a value; undefined after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(100);
  }
}

/**
 * Runs an example's `main`: exit code 0 when it resolves true, 1 when false or on an error
 * (printed), after `cleanup`. Exits explicitly so a lingering socket cannot keep the process up.
 */
export function runMain(main: () => Promise<boolean>, cleanup: () => Promise<void>): void {
  let code = 1;
  const finish = async () => {
    await Promise.race([cleanup().catch(() => undefined), sleep(10_000)]);
    process.exit(code);
  };
  process.once('SIGINT', () => void finish());
  main().then(
    (ok) => {
      code = ok ? 0 : 1;
      return finish();
    },
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return finish();
    },
  );
}
