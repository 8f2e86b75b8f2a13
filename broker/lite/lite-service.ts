/**
 * Lite topics end to end: subscriptions (InterestSets), arrival -> ReadySet -> wake-up of
 * exactly one parked receive per subscribed group, receive by client id, settle, leases,
 * Shared/Exclusive groups, offset options, TTL.
 *
 *   send to P with lite_topic L ──> store topic P$L ──arrival──> dispatch(L)
 *        dispatch: per consumer group subscribed to L, one client (round-robin in a Shared
 *        group) gets L in its ReadySet and its waitKey signalled: its single parked receive
 *        (one long poll covers all its lite topics) wakes, takes L from the ReadySet, pops P$L.
 *   redelivery due / nack / ack freeing a gated lite topic ──> the same dispatch.
 *
 * Nothing scans in the hot path: an arrival touches the reverse index of one lite topic. The
 * one scan is the catch-up over a client's own InterestSet after its ReadySet overflowed.
 * Order: a lite topic is one queue consumed gated (pop-service `gate`): a batch at a time.
 */
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessageStore } from '../store/message-store.js';
import type { TopicConfig, TopicManager } from '../topic/topic-manager.js';
import { LITE_CLIENT_QUOTA_ATTRIBUTE, liteExclusive, type GroupManager } from '../consumer/group-manager.js';
import type { Delivery, PopService } from '../pop/pop-service.js';
import type { LongPolling } from '../pop/long-polling.js';
import type { LiteOptions } from '../options.js';
import { LiteTopicTable, type LiteTopic } from './lite-topics.js';
import { InterestSets, liteWaitKey, type ClientInterest } from './interest.js';
import { checkLiteTopic, parseLiteInternal } from './lite-names.js';

export type LiteAction = 'PARTIAL_ADD' | 'PARTIAL_REMOVE' | 'COMPLETE_ADD' | 'COMPLETE_REMOVE';

/** Where a subscription starts (OffsetOption): LAST keeps the group's position. */
export type OffsetSpec = { policy: 'LAST' | 'MIN' | 'MAX' } | { offset: number } | { tailN: number } | { timestamp: number };

export interface SyncRequest {
  action: LiteAction;
  parent: string;
  group: string;
  liteTopics: string[];
  offset?: OffsetSpec;
  /**
   * Keep every named lite topic, owned here or not (a partial add another broker passed on, or
   * one whose owner is unreachable). Default: only lite topics this broker owns or holds.
   */
  keepAll?: boolean;
}

export interface LiteDelivery {
  delivery: Delivery;
  lite: string;
}

export interface LiteStats {
  liteTopics: number;
  subscriptions: number;
  clients: number;
  ready: number;
}

export type UnsubscribeNotifier = (clientId: string, parent: string, group: string, lite: string) => void;

export interface LiteServiceDeps {
  store: MessageStore;
  topics: TopicManager;
  groups: GroupManager;
  pop: PopService;
  longPolling: LongPolling;
  clock: Clock;
  logger: Logger;
  options: Required<LiteOptions>;
  /**
   * Which lite topics this broker owns in a cluster (broker/cluster/peer-directory.ts). A broker
   * keeps subscriptions only to lite topics it owns or already holds; the others' owners keep
   * theirs (clients sync every broker of the parent). Absent = owns everything.
   */
  ownership?: LiteOwnership;
}

export interface LiteOwnership {
  /** True when this broker owns `lite` of `parent` (or cannot tell). */
  owns(parent: string, lite: string): boolean;
  /** Makes sure `parent`'s broker set is known (and no older than `maxAgeMs` when given). */
  load(parent: string, maxAgeMs?: number): Promise<unknown>;
}

const ACCEPT_ALL = (): boolean => true;
/** A full sync decides ownership on a broker view at most this old (one QueryRoute per second per parent at most). */
const FRESH_VIEW_MS = 1_000;
/** How long a partial add/remove outranks full syncs (longer than any request's flight). */
const RECENT_MS = 5_000;
/** A client whose last lite receive returned this recently still counts as receiving. */
const ACTIVE_RECEIVER_MS = 5_000;

export class LiteService {
  readonly table: LiteTopicTable;
  readonly interests: InterestSets;
  private notifier: UnsubscribeNotifier = () => {};

  constructor(private readonly d: LiteServiceDeps) {
    this.table = new LiteTopicTable({
      store: d.store,
      parentOf: (name) => {
        const t = d.topics.get(name);
        return t?.messageType === 'LITE' ? t : undefined;
      },
      maxTopics: d.options.maxTopics,
      defaultTtlMs: d.options.defaultTtlMs,
      clock: d.clock,
      logger: d.logger,
      onExpire: (lt) => this.forget(lt),
      onOpen: async (lt) => {
        // Consumer state found on disk: recovered now; its groups are dropped with the topic.
        for (const g of await d.pop.loadTopic(lt.internal)) (lt.groups ??= new Set()).add(g);
      },
    });
    this.interests = new InterestSets({
      clock: d.clock,
      leaseMs: d.options.leaseMs,
      maxReadyPerClient: d.options.maxReadyPerClient,
      onLeaseExpired: (ci) => {
        d.logger.info('lite subscriptions expired: the client stopped syncing and heartbeating', { clientId: ci.clientId, group: ci.group, topic: ci.parent, liteTopics: ci.topics.size });
        this.removeInterest(ci);
      },
    });
  }

  /** Loads lite topics and plugs into topics (internal names) and long polling (signals). */
  async start(): Promise<void> {
    this.d.topics.setLiteHooks({
      resolve: (name) => {
        const p = parseLiteInternal(name);
        const parent = p && this.d.topics.get(p.parent);
        const lt = p && parent?.messageType === 'LITE' ? this.table.get(p.parent, p.lite) : undefined;
        return lt && parent ? this.configOf(lt, parent) : undefined;
      },
      parentDeleted: (parent) => this.table.deleteParent(parent),
    });
    await this.table.load();
    this.d.longPolling.setRouter((topic, group) => this.onSignal(topic, group));
  }

  /** How Exclusive-mode evictions reach clients (a NotifyUnsubscribeLiteCommand over Telemetry). */
  setUnsubscribeNotifier(n: UnsubscribeNotifier): void {
    this.notifier = n;
  }

  /** The LITE parent topic, or an error saying why `name` is not one. */
  requireParent(name: string): TopicConfig {
    const t = this.d.topics.require(name);
    if (t.messageType !== 'LITE') throw new MqError(Code.BAD_REQUEST, `topic ${name} is a ${t.messageType} topic, not a LITE parent topic (create one with --type lite)`, { topic: name });
    return t;
  }

  checkName(lite: string | undefined | null): string {
    return checkLiteTopic(lite, this.d.options.maxNameLength);
  }

  /** The store topic config of a lite topic (one queue, the parent's permission). */
  configOf(lt: LiteTopic, parent: TopicConfig): TopicConfig {
    return { name: lt.internal, queueCount: 1, messageType: 'LITE', permission: parent.permission, attributes: parent.attributes, createdAtMs: lt.createdMs };
  }

  // --- send side ---------------------------------------------------------------------------------

  /** Makes sure the lite topic exists (created on first send) with its queue open. */
  async ensure(parent: TopicConfig, lite: string): Promise<LiteTopic> {
    return this.table.ensure(parent, lite, true);
  }

  /** Store arrival on `internal`; false if it is not a lite topic. */
  onArrival(internal: string): boolean {
    const lt = this.lookup(internal);
    if (!lt) return false;
    this.table.touchWrite(lt);
    this.dispatch(lt, undefined);
    return true;
  }

  /** A long-polling signal (redelivery due, nack) for a lite topic's internal name. */
  private onSignal(internal: string, group: string | undefined): boolean {
    const lt = this.lookup(internal);
    if (!lt) return false;
    this.dispatch(lt, group);
    return true;
  }

  private lookup(internal: string): LiteTopic | undefined {
    const p = parseLiteInternal(internal);
    return p ? this.table.get(p.parent, p.lite) : undefined;
  }

  /** Whether `group` could receive something from `lt` now (without creating consumer state). */
  private deliverable(lt: LiteTopic, group: string): boolean {
    if (!lt.opened || lt.deleted || this.d.store.queueCount(lt.internal) === 0) return false;
    if (this.d.store.committedOffset(lt.internal, 0) === 0) return false;
    return this.d.pop.deliverable(lt.internal, group);
  }

  /** For each group subscribed to `lt` (or just `onlyGroup`), put `lt` in one client's ReadySet. */
  private dispatch(lt: LiteTopic, onlyGroup: string | undefined): void {
    const subs = lt.subs;
    if (subs.length === 0) return;
    if (subs.length === 1) {
      const ci = subs[0]!;
      if ((onlyGroup === undefined || ci.group === onlyGroup) && this.deliverable(lt, ci.group)) this.offer(ci, lt);
      return;
    }
    const seen = new Set<string>();
    for (const ci of subs) {
      const g = ci.group;
      if ((onlyGroup !== undefined && g !== onlyGroup) || seen.has(g)) continue;
      seen.add(g);
      if (!this.deliverable(lt, g)) continue;
      const members = subs.filter((s) => s.group === g);
      // Already pending at a member that is receiving: leave it there. A member that stopped
      // receiving (crashed, its lease not yet run out) does not hold it hostage.
      if (members.length > 1 && members.some((m) => m.ready.has(lt) && this.receiving(m))) continue;
      if (members.length === 1) {
        this.offer(ci, lt);
        continue;
      }
      // Round-robin over the members that receive now (all of them if none does).
      const active = members.filter((m) => this.receiving(m));
      const pool = active.length > 0 ? active : members;
      this.offer(pool[lt.rr++ % pool.length]!, lt);
    }
  }

  /** A client receives now: a receive of it is parked, or one returned in the last seconds. */
  private receiving(ci: ClientInterest): boolean {
    return ci.parked > 0 || this.d.clock.now() - ci.lastReceiveMs < ACTIVE_RECEIVER_MS;
  }

  /**
   * The client cancelled its parked receive (its connection went away, or it is closing): unless
   * another receive of it is parked, it no longer counts as receiving, and the lite topics
   * waiting in its ReadySet go to the group's receiving members at once (Shared groups; without
   * this they would wait ACTIVE_RECEIVER_MS for a crashed member to look silent).
   */
  receiveCancelled(clientId: string, group: string, parent: string): void {
    const ci = this.interests.get(clientId, group, parent);
    if (ci) this.stopReceiving(ci);
  }

  /**
   * The client's last Telemetry stream to this broker closed (a killed process, a lost
   * connection): as `receiveCancelled` for each of its InterestSets. Its subscriptions stay until
   * its lease runs out or it comes back.
   */
  clientDisconnected(clientId: string): void {
    for (const ci of [...this.interests.ofClient(clientId)]) this.stopReceiving(ci);
  }

  private stopReceiving(ci: ClientInterest): void {
    if (ci.parked > 0 || ci.removed) return;
    ci.lastReceiveMs = 0;
    const waiting = [...ci.ready.values()];
    for (const lt of waiting) ci.ready.delete(lt);
    for (const lt of waiting) if (this.deliverable(lt, ci.group)) this.dispatch(lt, ci.group);
  }

  /** messaging.ts brackets a parked lite receive with these (see `receiving`). */
  parked(clientId: string, group: string, parent: string, delta: 1 | -1): void {
    const ci = this.interests.get(clientId, group, parent);
    if (ci) ci.parked = Math.max(0, ci.parked + delta);
  }

  private offer(ci: ClientInterest, lt: LiteTopic): void {
    ci.ready.add(lt);
    this.d.longPolling.signal(ci.waitKey, 1);
  }

  // --- subscriptions -----------------------------------------------------------------------------

  async sync(clientId: string, r: SyncRequest): Promise<void> {
    const parent = this.requireParent(r.parent);
    const names = [...new Set(r.liteTopics.map((l) => this.checkName(l)))];
    switch (r.action) {
      case 'PARTIAL_ADD': {
        if (names.length === 0) throw InvalidArgumentError.format('lite_topic_set', 'must name at least one lite topic to add');
        const ci = this.interests.getOrCreate(clientId, r.group, parent.name);
        this.interests.renew(ci);
        await this.add(ci, parent, names, r.offset, true, r.keepAll ?? false);
        return;
      }
      case 'PARTIAL_REMOVE': {
        const ci = this.interests.get(clientId, r.group, parent.name);
        if (!ci) return;
        this.interests.renew(ci);
        for (const n of names) {
          const lt = this.table.get(parent.name, n);
          if (lt) this.interests.unlink(ci, lt);
          ci.evicted?.delete(n);
          this.noteRecent(ci, n, false);
        }
        return;
      }
      case 'COMPLETE_ADD': {
        const ci = this.interests.getOrCreate(clientId, r.group, parent.name);
        this.interests.renew(ci);
        const want = new Set(names);
        // A full sync may have been issued before a recent partial add/remove reached us (the
        // official client sends one at startup, racing its first subscribeLite): recent partial
        // changes win over it.
        const recent = this.recentChanges(ci);
        for (const [n, added] of recent) {
          if (added) want.add(n);
          else want.delete(n);
        }
        if (ci.evicted) {
          for (const n of [...ci.evicted]) {
            if (want.has(n)) {
              // Taken over by another client (Exclusive): say so again; the first notice may be lost.
              want.delete(n);
              this.notifier(clientId, parent.name, r.group, n);
            } else ci.evicted.delete(n);
          }
        }
        for (const lt of [...ci.topics]) if (!want.has(lt.name)) this.interests.unlink(ci, lt);
        await this.add(ci, parent, [...want], undefined, false);
        return;
      }
      case 'COMPLETE_REMOVE': {
        const ci = this.interests.get(clientId, r.group, parent.name);
        if (ci) this.removeInterest(ci);
        return;
      }
      default:
        throw InvalidArgumentError.format('action', `must be PARTIAL_ADD, PARTIAL_REMOVE, COMPLETE_ADD or COMPLETE_REMOVE (got ${String(r.action)})`);
    }
  }

  /** Lite subscriptions one client of `group` may hold. */
  clientQuota(group: string): number {
    const v = Number(this.d.groups.get(group)?.attributes?.[LITE_CLIENT_QUOTA_ATTRIBUTE]);
    if (v === -1) return Infinity;
    return Number.isInteger(v) && v > 0 ? v : this.d.options.maxSubscriptionsPerClient;
  }

  private async add(ci: ClientInterest, parent: TopicConfig, requested: string[], offset: OffsetSpec | undefined, explicit: boolean, keepAll = false): Promise<void> {
    const names = keepAll ? requested : await this.owned(parent.name, requested, !explicit);
    const fresh = names.filter((n) => {
      const lt = this.table.get(parent.name, n);
      return !lt || !ci.topics.has(lt);
    });
    if (fresh.length > 0) {
      const quota = this.clientQuota(ci.group);
      if (ci.topics.size + fresh.length > quota) {
        throw new MqError(Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED, `client ${ci.clientId} would hold ${ci.topics.size + fresh.length} lite subscriptions in group ${ci.group}; the quota is ${quota} per client`, { group: ci.group, topic: parent.name });
      }
      if (this.interests.subscriptions + fresh.length > this.d.options.maxSubscriptions) {
        throw new MqError(Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED, `this broker holds its maximum of ${this.d.options.maxSubscriptions} lite subscriptions`, { group: ci.group, topic: parent.name });
      }
      const toCreate = fresh.filter((n) => !this.table.get(parent.name, n)).length;
      if (!this.table.canCreate(toCreate)) {
        throw new MqError(Code.LITE_TOPIC_QUOTA_EXCEEDED, `subscribing would create ${toCreate} lite topics; this broker holds its maximum of ${this.d.options.maxTopics}`, { topic: parent.name });
      }
    }
    const exclusive = liteExclusive(this.d.groups.get(ci.group));
    for (const n of names) {
      const lt = await this.table.ensure(parent, n);
      if (ci.removed) return; // lease ran out or the client left meanwhile
      if (explicit) {
        ci.evicted?.delete(n);
        this.noteRecent(ci, n, true);
      }
      if (!ci.topics.has(lt)) {
        this.interests.link(ci, lt);
        if (exclusive) this.evictOthers(ci, lt);
      }
      if (offset) {
        // An explicit position (a resume): this subscriber asked for these messages, offer them to it.
        await this.applyOffset(lt, ci.group, offset);
        if (this.deliverable(lt, ci.group)) this.offer(ci, lt);
      } else if (this.deliverable(lt, ci.group)) {
        // A new subscriber catches up on what is already there.
        this.dispatch(lt, ci.group);
      }
    }
  }

  /** This broker holds lite topic `lite` of `parent` (it was sent or subscribed here). */
  holds(parent: string, lite: string): boolean {
    return this.table.get(parent, lite) !== undefined;
  }

  /**
   * The lite topics of `names` this broker serves: those it owns, plus those it already holds
   * (messages stored here before an ownership change, or while the owner was unreachable, are
   * still delivered from here until their lite topic expires).
   */
  private async owned(parent: string, names: string[], fresh = false): Promise<string[]> {
    const o = this.d.ownership;
    if (!o) return names;
    // A full sync often follows a route change the client just saw: decide on a fresh view.
    await o.load(parent, fresh ? FRESH_VIEW_MS : undefined);
    return names.filter((n) => this.table.get(parent, n) !== undefined || o.owns(parent, n));
  }

  /** Remembers a partial add/remove for RECENT_MS, so a full sync issued before it cannot undo it. */
  private noteRecent(ci: ClientInterest, lite: string, added: boolean): void {
    this.rotateRecent(ci);
    (ci.recent ??= new Map()).set(lite, added);
  }

  /** Two generations of RECENT_MS each: a change is remembered for at least RECENT_MS, memory stays bounded. */
  private rotateRecent(ci: ClientInterest): void {
    const now = this.d.clock.now();
    if (now - ci.recentSince < RECENT_MS) return;
    ci.recentOld = now - ci.recentSince < 2 * RECENT_MS ? ci.recent : undefined;
    ci.recent = undefined;
    ci.recentSince = now;
  }

  /** Partial changes of the last RECENT_MS or so (the newer generation wins). */
  private recentChanges(ci: ClientInterest): Map<string, boolean> {
    this.rotateRecent(ci);
    return new Map([...(ci.recentOld ?? []), ...(ci.recent ?? [])]);
  }

  /** Exclusive mode: the newest subscriber of a group owns the lite topic; the others are told. */
  private evictOthers(ci: ClientInterest, lt: LiteTopic): void {
    for (const other of [...lt.subs]) {
      if (other === ci || other.group !== ci.group) continue;
      this.interests.unlink(other, lt);
      (other.evicted ??= new Set()).add(lt.name);
      this.d.logger.info('lite topic taken over (Exclusive group)', { liteTopic: lt.name, topic: lt.parent, group: ci.group, from: other.clientId, to: ci.clientId });
      this.notifier(other.clientId, lt.parent, ci.group, lt.name);
    }
  }

  private async applyOffset(lt: LiteTopic, group: string, spec: OffsetSpec): Promise<void> {
    if (this.d.store.queueCount(lt.internal) === 0) return; // never written: every position is the start
    const { min, max } = this.d.store.offsets(lt.internal, 0);
    let target: number;
    if ('policy' in spec) {
      if (spec.policy === 'LAST') return;
      target = spec.policy === 'MIN' ? min : max;
    } else if ('offset' in spec) {
      if (!Number.isInteger(spec.offset) || spec.offset < 0) throw InvalidArgumentError.format('offset_option.offset', `must be a non-negative integer (got ${spec.offset})`);
      target = spec.offset;
    } else if ('tailN' in spec) {
      if (!Number.isInteger(spec.tailN) || spec.tailN < 0) throw InvalidArgumentError.format('offset_option.tail_n', `must be a non-negative integer (got ${spec.tailN})`);
      target = max - spec.tailN;
    } else {
      if (!Number.isFinite(spec.timestamp) || spec.timestamp < 0) throw InvalidArgumentError.format('offset_option.timestamp', `must be milliseconds since the epoch (got ${spec.timestamp})`);
      target = await this.d.store.offsetForTime(lt.internal, 0, spec.timestamp);
    }
    (lt.groups ??= new Set()).add(group);
    await this.d.pop.resetCursor(lt.internal, group, target);
  }

  /** Drops an InterestSet; what it had pending goes to other clients of its group. */
  private removeInterest(ci: ClientInterest): void {
    if (ci.removed) return;
    const had = this.interests.remove(ci);
    this.d.longPolling.signal(ci.waitKey); // a parked receive returns
    for (const lt of had) if (lt.subs.length > 0) this.dispatch(lt, ci.group);
  }

  /** Sign of life from a client (heartbeat): renews its lite leases. */
  touchClient(clientId: string): void {
    for (const ci of this.interests.ofClient(clientId)) this.interests.renew(ci);
  }

  /** The client left (NotifyClientTermination): as COMPLETE_REMOVE of all its InterestSets. */
  removeClient(clientId: string): void {
    for (const ci of [...this.interests.ofClient(clientId)]) this.removeInterest(ci);
  }

  /** The lite topic expired: subscriptions and consumer state go with it (clients' full syncs may re-create it). */
  private forget(lt: LiteTopic): void {
    for (const ci of [...lt.subs]) this.interests.unlink(ci, lt);
    this.d.pop.dropQueueConsumers(lt.internal, lt.groups ?? []);
  }

  // --- receive / settle --------------------------------------------------------------------------

  waitKey(clientId: string, group: string, parent: string): string {
    return liteWaitKey(clientId, group, parent);
  }

  /**
   * Takes up to `max` messages for the client from the lite topics in its ReadySet, in
   * ReadySet order; a lite topic with more left goes to the back. Empty when nothing is ready.
   */
  async receive(clientId: string, group: string, parent: TopicConfig, max: number, invisibleMs: number, maxAttempts: number): Promise<LiteDelivery[]> {
    const ci = this.interests.get(clientId, group, parent.name);
    if (!ci) return [];
    this.interests.renew(ci);
    ci.lastReceiveMs = this.d.clock.now();
    const out: LiteDelivery[] = [];
    let caughtUp = false;
    while (out.length < max && !ci.removed) {
      const lt = ci.ready.shift();
      if (!lt) {
        if (ci.ready.overflow && !caughtUp) {
          caughtUp = true;
          await this.catchUp(ci);
          continue;
        }
        if (!caughtUp && this.takeOver(ci)) {
          caughtUp = true;
          continue;
        }
        break;
      }
      if (lt.deleted || !ci.topics.has(lt)) continue;
      if (!lt.opened) await this.table.open(lt);
      (lt.groups ??= new Set()).add(group);
      const ds = await this.d.pop.pop({ topic: this.configOf(lt, parent), group, filter: ACCEPT_ALL, maxMessages: max - out.length, invisibleMs, maxAttempts, gate: true });
      for (const delivery of ds) out.push({ delivery, lite: lt.name });
      if (ci.topics.has(lt) && this.deliverable(lt, group)) ci.ready.add(lt);
    }
    return out;
  }

  /**
   * Shared groups: events pending at a member that stopped receiving (crashed, its lease not yet
   * over) move to this receiving member when it subscribes to those lite topics too.
   */
  private takeOver(ci: ClientInterest): boolean {
    let moved = false;
    for (const peer of this.interests.peers(ci)) {
      if (peer === ci || peer.ready.size === 0 || this.receiving(peer)) continue;
      for (const lt of [...peer.ready.values()]) {
        if (!ci.topics.has(lt)) continue;
        peer.ready.delete(lt);
        if (ci.ready.add(lt)) moved = true;
      }
    }
    return moved;
  }

  /** After an overflow: refill the ReadySet from the client's own InterestSet. */
  private async catchUp(ci: ClientInterest): Promise<void> {
    ci.ready.overflow = false;
    for (const lt of [...ci.topics]) {
      if (!lt.opened) await this.table.open(lt);
      if (this.deliverable(lt, ci.group) && !ci.ready.add(lt)) return; // full again: overflow stays set
    }
  }

  /** The internal store topic of `lite` under `parent` (acks, nacks, dead-lettering). */
  async internalFor(parent: TopicConfig, lite: string | undefined): Promise<string> {
    if (lite === undefined || lite === '') throw InvalidArgumentError.format('lite_topic', `is required for messages of the LITE topic ${parent.name}`);
    const lt = this.table.get(parent.name, this.checkName(lite));
    if (!lt) throw new MqError(Code.INVALID_RECEIPT_HANDLE, `lite topic ${lite} of ${parent.name} no longer exists (expired); its messages are gone`, { topic: parent.name, liteTopic: lite });
    if (!lt.opened) await this.table.open(lt);
    return lt.internal;
  }

  /** After an ack, nack or dead-lettering on a lite topic: the next batch may be ready. */
  afterSettle(internal: string, group: string): void {
    const lt = this.lookup(internal);
    if (!lt) return;
    this.dispatch(lt, group);
    // Fully consumed: keep the group's position only (a reply channel per task adds up).
    if (!this.deliverable(lt, group)) this.d.pop.compactIdle(internal, group);
  }

  stats(): LiteStats {
    let ready = 0;
    for (const ci of this.interests.all()) ready += ci.ready.size;
    return { liteTopics: this.table.size, subscriptions: this.interests.subscriptions, clients: this.interests.clientCount, ready };
  }

  close(): void {
    this.table.close();
    this.interests.close();
  }
}
