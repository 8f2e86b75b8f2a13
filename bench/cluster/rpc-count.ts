/**
 * Diagnostic for the callback phase: counts the broker calls the SDK clients of THIS process
 * make (SendMessage, ReceiveMessage, AckMessage, SyncLiteSubscription, ...), with the messages
 * they carried, by wrapping the public methods of the SDK's BrokerRpc class once. Counting costs
 * an increment per call; nothing else changes. The W1 load worker is another process and is not
 * counted.
 */
import { BrokerRpc } from '../../client/rpc/broker-rpc.js';

export interface MethodCount {
  calls: number;
  /** Messages sent / received / acked, lite topics synced. */
  items: number;
  /** ReceiveMessage calls that returned no message. */
  empty: number;
}

export type CallCounts = Record<string, MethodCount>;

let counts: CallCounts = {};
let installed = false;

function bump(method: string, items: number, empty = false): void {
  const c = (counts[method] ??= { calls: 0, items: 0, empty: 0 });
  c.calls++;
  c.items += items;
  if (empty) c.empty++;
}

/** Wraps BrokerRpc's methods (once per process). */
export function installCallCounter(): void {
  if (installed) return;
  installed = true;
  const proto = BrokerRpc.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const wrap = (name: string, method: string, onCall: (args: unknown[]) => number | undefined, onResult?: (r: unknown) => void): void => {
    const orig = proto[name];
    if (typeof orig !== 'function') return; // the SDK changed: count nothing for this one
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const p = orig.apply(this, args);
      const items = onCall(args);
      if (items !== undefined) bump(method, items);
      if (onResult) p.then(onResult, () => undefined);
      return p;
    };
  };
  const len = (x: unknown): number => (Array.isArray(x) ? x.length : 0);
  wrap('sendMessages', 'SendMessage', (a) => len(a[1]));
  wrap('receiveMessages', 'ReceiveMessage', () => undefined, (r) => bump('ReceiveMessage', len(r), len(r) === 0));
  wrap('ackMessages', 'AckMessage', (a) => len(a[3]));
  wrap('changeInvisibleDuration', 'ChangeInvisibleDuration', () => 1);
  wrap('syncLiteSubscription', 'SyncLiteSubscription', (a) => len((a[1] as { liteTopics?: unknown } | undefined)?.liteTopics));
  wrap('heartbeat', 'Heartbeat', () => 0);
}

/** Starts a fresh count. */
export function resetCallCounts(): void {
  counts = {};
}

/** The counts since the last reset. */
export function callCounts(): CallCounts {
  return structuredClone(counts);
}
