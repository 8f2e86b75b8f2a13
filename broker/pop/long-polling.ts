/**
 * Parked receives. A ReceiveMessage that finds nothing parks here until a signal for its
 * (topic, group) arrives or its deadline passes. Signals come from the store's arrival listener
 * and from the pop service when an in-flight message becomes visible again. Nothing polls.
 *
 * Lost wake-ups are impossible: each topic has a signal sequence number; a receiver reads it
 * before trying to pop and passes it to `park`, which returns at once if a signal came in
 * between.
 */
import type { AbortSignalLike } from './cancellation.js';

type Outcome = 'signal' | 'timeout' | 'aborted';

interface Waiter {
  group: string;
  resolve: (o: Outcome) => void;
}

/** Takes over signals of some keys (lite topics route theirs to the right client); true = handled. */
export type SignalRouter = (topic: string, group: string | undefined) => boolean;

export class LongPolling {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly seqs = new Map<string, number>();
  private router: SignalRouter | undefined;

  /** Signals of internal lite topic names (`parent$lite`) go to `router` instead of waiters. */
  setRouter(router: SignalRouter): void {
    this.router = router;
  }

  /** Current signal sequence of a topic. */
  seq(topic: string): number {
    return this.seqs.get(topic) ?? 0;
  }

  get parkedCount(): number {
    let n = 0;
    for (const list of this.waiters.values()) n += list.length;
    return n;
  }

  /** Waits for a signal on `topic` for `group`, at most `timeoutMs`. */
  park(topic: string, group: string, seenSeq: number, timeoutMs: number, signal?: AbortSignalLike): Promise<Outcome> {
    if (this.seq(topic) !== seenSeq) return Promise.resolve('signal');
    if (signal?.aborted) return Promise.resolve('aborted');
    if (timeoutMs <= 0) return Promise.resolve('timeout');
    return new Promise<Outcome>((resolve) => {
      const list = this.waiters.get(topic) ?? [];
      this.waiters.set(topic, list);
      const finish = (o: Outcome) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0 && this.waiters.get(topic) === list) this.waiters.delete(topic);
        resolve(o);
      };
      const waiter: Waiter = { group, resolve: finish };
      const onAbort = () => finish('aborted');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      list.push(waiter);
    });
  }

  /**
   * Signals `topic`. `count` new messages wake at most `count` waiters per group (oldest first);
   * `group` restricts the signal to one group (e.g. a redelivery). Omitting count wakes all.
   */
  signal(topic: string, count = Infinity, group?: string): void {
    if (this.router && topic.includes('$') && this.router(topic, group)) return;
    this.seqs.set(topic, this.seq(topic) + 1);
    const list = this.waiters.get(topic);
    if (!list) return;
    const woken = new Map<string, number>();
    for (const w of [...list]) {
      if (group !== undefined && w.group !== group) continue;
      const n = woken.get(w.group) ?? 0;
      if (n >= count) continue;
      woken.set(w.group, n + 1);
      w.resolve('signal');
    }
  }

  /** Wakes everything (shutdown, topic deletion). */
  signalAll(): void {
    for (const topic of [...this.waiters.keys()]) this.signal(topic);
  }
}
