/**
 * InterestSets: per (client id, consumer group, parent topic) the lite topics the client
 * subscribes to, with the reverse index (LiteTopic.subs) from a lite topic to its subscribers.
 *
 * Leases: every InterestSet carries `leaseUntil`, renewed by the client's syncs, heartbeats and
 * receives. One timer, armed at the earliest lease end, finds the clients that went silent;
 * entries are re-checked when they fire (a renewal never touches the heap).
 */
import type { Clock } from '../../proto/common/time.js';
import { DeadlineHeap } from '../pop/deadline-heap.js';
import type { LiteTopic } from './lite-topics.js';
import { ReadySet } from './ready-set.js';

export interface ClientInterest {
  clientId: string;
  group: string;
  parent: string;
  topics: Set<LiteTopic>;
  ready: ReadySet<LiteTopic>;
  leaseUntil: number;
  /** Exclusive mode: lite topics taken over by another client (told, and not re-added by full syncs). */
  evicted: Set<string> | undefined;
  /**
   * Partial adds/removes of the last seconds (lite topic -> added?), see lite-service: two
   * generations, `recent` since `recentSince` and the one before, rotated every RECENT_MS.
   */
  recent: Map<string, boolean> | undefined;
  recentOld: Map<string, boolean> | undefined;
  recentSince: number;
  /** Receives of this client parked now, and when its last receive ran (see lite-service). */
  parked: number;
  lastReceiveMs: number;
  /** Long-polling key of this client's parked receive. */
  waitKey: string;
  removed: boolean;
}

export interface InterestSetsOptions {
  clock: Clock;
  leaseMs: number;
  maxReadyPerClient: number;
  /** A lease ran out: the InterestSet must be dropped. */
  onLeaseExpired: (ci: ClientInterest) => void;
}

/** Key of a client's parked lite receive; starts with \u0001, never a topic name. */
export function liteWaitKey(clientId: string, group: string, parent: string): string {
  return `\u0001lite\u0001${clientId}\u0001${group}\u0001${parent}`;
}

/** The subscribers of a lite topic nobody subscribes to (shared; replaced, never mutated). */
export const NO_SUBSCRIBERS: ClientInterest[] = [];

export class InterestSets {
  private readonly byKey = new Map<string, ClientInterest>();
  private readonly byClient = new Map<string, ClientInterest[]>();
  /** group \0 parent -> its members (for Shared groups taking over a silent member's events). */
  private readonly byGroup = new Map<string, Set<ClientInterest>>();
  private readonly leases = new DeadlineHeap<{ at: number; ci: ClientInterest }>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Subscriptions (client x lite topic) held. */
  subscriptions = 0;

  constructor(private readonly o: InterestSetsOptions) {}

  get clientCount(): number {
    return this.byKey.size;
  }

  get(clientId: string, group: string, parent: string): ClientInterest | undefined {
    return this.byKey.get(liteWaitKey(clientId, group, parent));
  }

  getOrCreate(clientId: string, group: string, parent: string): ClientInterest {
    const key = liteWaitKey(clientId, group, parent);
    let ci = this.byKey.get(key);
    if (!ci) {
      ci = { clientId, group, parent, topics: new Set(), ready: new ReadySet(this.o.maxReadyPerClient), leaseUntil: 0, evicted: undefined, recent: undefined, recentOld: undefined, recentSince: 0, parked: 0, lastReceiveMs: 0, waitKey: key, removed: false };
      this.byKey.set(key, ci);
      const list = this.byClient.get(clientId);
      if (list) list.push(ci);
      else this.byClient.set(clientId, [ci]);
      const gk = `${group}\0${parent}`;
      const members = this.byGroup.get(gk);
      if (members) members.add(ci);
      else this.byGroup.set(gk, new Set([ci]));
      this.renew(ci);
      this.leases.push({ at: ci.leaseUntil, ci });
      this.arm();
    }
    return ci;
  }

  /** The other InterestSets of the same group and parent. */
  peers(ci: ClientInterest): Iterable<ClientInterest> {
    return this.byGroup.get(`${ci.group}\0${ci.parent}`) ?? [];
  }

  ofClient(clientId: string): readonly ClientInterest[] {
    return this.byClient.get(clientId) ?? [];
  }

  all(): IterableIterator<ClientInterest> {
    return this.byKey.values();
  }

  renew(ci: ClientInterest): void {
    ci.leaseUntil = this.o.clock.now() + this.o.leaseMs;
  }

  link(ci: ClientInterest, lt: LiteTopic): void {
    if (ci.topics.has(lt)) return;
    ci.topics.add(lt);
    // Array literals are allocated at their exact size; push onto [] would reserve 17 slots.
    lt.subs = lt.subs.length === 0 ? [ci] : [...lt.subs, ci];
    this.subscriptions++;
  }

  unlink(ci: ClientInterest, lt: LiteTopic): void {
    if (!ci.topics.delete(lt)) return;
    if (lt.subs.includes(ci)) lt.subs = lt.subs.length === 1 ? NO_SUBSCRIBERS : lt.subs.filter((s) => s !== ci);
    ci.ready.delete(lt);
    this.subscriptions--;
  }

  /** Drops an InterestSet with all its subscriptions; returns the lite topics it held. */
  remove(ci: ClientInterest): LiteTopic[] {
    const had = [...ci.topics];
    for (const lt of had) this.unlink(ci, lt);
    ci.ready.clear();
    ci.removed = true;
    this.byKey.delete(ci.waitKey);
    const gk = `${ci.group}\0${ci.parent}`;
    const members = this.byGroup.get(gk);
    members?.delete(ci);
    if (members?.size === 0) this.byGroup.delete(gk);
    const list = this.byClient.get(ci.clientId);
    if (list) {
      const i = list.indexOf(ci);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byClient.delete(ci.clientId);
    }
    return had;
  }

  private arm(): void {
    if (this.closed) return;
    const next = this.leases.peek();
    if (!next || next.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next.at - this.o.clock.now()) + 5);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.o.clock.now();
    for (let e = this.leases.peek(); e && e.at <= now; e = this.leases.peek()) {
      this.leases.pop();
      if (e.ci.removed) continue;
      if (e.ci.leaseUntil > now) this.leases.push({ at: e.ci.leaseUntil, ci: e.ci });
      else this.o.onLeaseExpired(e.ci);
    }
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
