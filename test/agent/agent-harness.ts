/**
 * What the agent SDK tests share: an in-process NameServer (offline lexical embedder, no model
 * load) and broker on ephemeral ports, a bounded `until`, and a gate a handler can wait on.
 */
import { createBroker, type Broker } from '../../broker/index.js';
import { createNameServer, type NameServer } from '../../nameserver/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import { tmpDir } from '../helpers/tmp-dir.js';

export interface AgentTestEnv {
  nameserver: string;
  ns: NameServer;
  broker: Broker;
  close(): Promise<void>;
}

export async function startAgentEnv(): Promise<AgentTestEnv> {
  const dir = tmpDir('agentmq-agent-test-');
  const ns = createNameServer({ port: 0, logger: silentLogger, discovery: { embedder: { kind: 'lexical' } } });
  await ns.start();
  const nameserver = `127.0.0.1:${ns.address.port}`;
  const broker = createBroker({ port: 0, nameservers: [nameserver], logger: silentLogger, store: { dataDir: dir.path } });
  await broker.start();
  return {
    nameserver,
    ns,
    broker,
    close: async () => {
      await broker.close();
      await ns.close();
      dir.cleanup();
    },
  };
}

/** Waits (checking every 20 ms) until `cond()` holds; fails after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A promise opened from outside (a handler waits on it; the test opens it). */
export function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Resolves when `signal` aborts, rejecting with its reason (what a long-running handler does). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
