/**
 * LiteConsumer: consumes the lite topics of one LITE parent topic for one consumer group.
 *
 * A lite topic (e.g. one per task, session or conversation) lives inside its parent topic and is
 * created on first send or subscribe. This client keeps a set of subscribed lite topics and one
 * receive covers all of them: the broker answers a parked receive with messages of whichever
 * subscribed lite topic has some, in order per lite topic, one batch per lite topic at a time
 * (the next batch of a lite topic once the previous one is settled).
 *
 * - `start()` resolves the parent's route, completes the telemetry handshake with its brokers
 *   (the reply carries this client's lite subscription quota) and sends the initial set
 *   (SyncLiteSubscription COMPLETE_ADD) to every broker of the route.
 * - `subscribe(lite, { offset })`: PARTIAL_ADD to the lite topic's owner broker (rendezvous
 *   hashing over the parent's brokers, the brokers' own rule; a broker that disagrees passes it
 *   on); `unsubscribe(lite)`: PARTIAL_REMOVE to every broker of the route (one may still hold a
 *   lite topic it no longer owns). Subscription changes go out one at a time, in call order.
 * - Every `syncIntervalMs` (and when a broker joins the route or its telemetry stream reopens,
 *   and to every broker when one leaves the route: lite topic owners changed) the full set goes
 *   out again (COMPLETE_ADD): it reconciles the broker and renews the lease.
 * - Exclusive groups: when another client of the group subscribes to a lite topic this client
 *   holds, the broker takes it away (NotifyUnsubscribeLiteCommand): it leaves `subscriptions()`
 *   and the consumer emits `'unsubscribed'`.
 * - Simple form: `receive()` + `ack()` / `nack()` / `changeInvisibleDuration()` / `suspend()`;
 *   or the `messages()` async iterator. Push form: `consume(handler, { concurrency })`.
 * - `close()` stops receiving, lets running handlers finish, flushes acks, drops the
 *   subscriptions (COMPLETE_REMOVE) and sends NotifyClientTermination. Idempotent.
 */
import { EventEmitter } from 'node:events';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import { ClientCore } from '../client.js';
import { ClientError, isRetryableError, LiteSubscriptionQuotaExceededError } from '../errors.js';
import { checkLiteTopicName, DEFAULT_MAX_LITE_TOPIC_LENGTH } from '../lite/lite-topic-name.js';
import type { ChangeInvisibleRequest, LiteOffsetOption, SyncLiteRequest } from '../rpc/broker-rpc.js';
import { backoffDelayMs } from '../rpc/convert.js';
import { isTransportFailure } from '../route/endpoint-isolation.js';
import { readableQueues, writableBrokerNames, writableEndpoints } from '../route/route-cache.js';
import { liteOwnerIndex } from '../../proto/common/lite-owner.js';
import type { RouteQueue } from '../route/route-cache.js';
import type { Endpoint } from '../types.js';
import { linkSignals, sleep } from '../util/abort.js';
import { AckDispatcher } from './ack-dispatcher.js';
import { LiteMessageImpl } from './lite-message.js';
import type { LiteMessage } from './lite-message.js';
import {
  checkConcurrency,
  DEFAULT_LITE_CONCURRENCY,
  liteOffsetOption,
  resolveLiteConsumerOptions,
} from './lite-consumer-options.js';
import type {
  LiteConsumeOptions,
  LiteConsumerOptions,
  LiteMessageHandler,
  LiteReceiveOptions,
  LiteSubscribeOptions,
  ResolvedLiteConsumerOptions,
} from './lite-consumer-options.js';
import type { MessageOperations, ReceivedMessage } from './received-message.js';
import { checkAwaitDuration, checkInvisibleDuration, checkMaxMessages, MAX_INVISIBLE_DURATION_MS } from './simple-consumer-options.js';

type State = 'created' | 'starting' | 'started' | 'closing' | 'closed';

/** Events of a LiteConsumer. */
export interface LiteConsumerEvents {
  /**
   * The broker took a lite topic away from this client (Exclusive group: another client of the
   * group subscribed to it). It is no longer in `subscriptions()`; nothing more of it is delivered
   * here. Subscribing again takes it back.
   */
  unsubscribed: [liteTopic: string, detail: { reason: 'taken-over'; endpoint: Endpoint }];
  /** A periodic or reconnect subscription sync failed (retried at the next interval). */
  syncError: [error: Error];
  /** A `consume()` handler threw or rejected; the message was given back for redelivery. */
  handlerError: [error: unknown, message: LiteMessage];
}

/** Until a broker's Settings say otherwise: 1 s, doubling, at most 60 s (the broker's defaults). */
const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 60_000, multiplier: 2 };
/** How long close() waits for running `consume()` handlers before going on without them. */
const CLOSE_DRAIN_MS = 10_000;

/** Errors the receive loops ride out (with back-off) instead of ending. */
function isTransient(err: unknown): boolean {
  return isRetryableError(err) || (err instanceof ClientError && err.code === 'NO_ROUTE');
}

function errorOf(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Messages of a batch grouped by lite topic, each group in delivery order. */
function byLiteTopic(messages: LiteMessageImpl[]): LiteMessageImpl[][] {
  const groups = new Map<string, LiteMessageImpl[]>();
  for (const m of messages) {
    const g = groups.get(m.liteTopic);
    if (g) g.push(m);
    else groups.set(m.liteTopic, [m]);
  }
  return [...groups.values()];
}

/** A counting gate for `consume()`: runs at most `limit` tasks at once, queues the rest. */
class TaskPool {
  private running = 0;
  private readonly queue: (() => Promise<void>)[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Tasks running or queued. */
  get pending(): number {
    return this.running + this.queue.length;
  }

  push(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  /** Takes the queued (not started) tasks out. */
  drainQueued(): (() => Promise<void>)[] {
    return this.queue.splice(0);
  }

  /** Resolves once fewer than `limit` tasks are pending (or `signal` aborts). */
  room(signal: AbortSignal): Promise<void> {
    if (this.pending < this.limit || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Resolves once nothing is running or queued. */
  async idle(): Promise<void> {
    while (this.pending > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.limit && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.running++;
      void task()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
          this.wake();
        });
    }
  }

  private wake(): void {
    if (this.pending >= this.limit && this.pending > 0) return;
    for (const w of this.waiters.splice(0)) w();
  }
}

interface PendingSync {
  action: 'PARTIAL_ADD' | 'PARTIAL_REMOVE';
  lite: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class LiteConsumer extends EventEmitter<LiteConsumerEvents> {
  private readonly options: ResolvedLiteConsumerOptions;
  private readonly core: ClientCore;
  private readonly acks: AckDispatcher;
  private readonly ops: MessageOperations;
  /** Lite topics subscribed (confirmed by the brokers). */
  private readonly subs = new Set<string>();
  /** Lite topics whose PARTIAL_ADD is in flight: their messages may already arrive. */
  private readonly adding = new Set<string>();
  /** Subscription changes and full syncs, one at a time in call order. */
  private syncChain: Promise<unknown> = Promise.resolve();
  /** Partial adds/removes waiting for the next sync call (see enqueue). */
  private readonly pendingSync: PendingSync[] = [];
  private state: State = 'created';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  /** Aborted by close(): cancels parked receives, back-off sleeps and consume loops. */
  private readonly closeController = new AbortController();
  private syncTimer: NodeJS.Timeout | undefined;
  /** Brokers the full set was sent to (a new one in the route gets a full sync). */
  private readonly synced = new Set<Endpoint>();
  /** Brokers whose settings reply was seen (a later one means the stream reopened). */
  private readonly handshaken = new Set<Endpoint>();
  /** Called when the parent's route changes (running consume() loops). */
  private readonly routeListeners = new Set<() => void>();
  private readonly consuming = new Set<Promise<void>>();
  private cursor = 0;
  private push = false;
  private backoff = DEFAULT_BACKOFF;
  /** Lite subscriptions this client may hold, from the brokers' Settings. */
  private quota: number | undefined;
  private maxLiteTopicLength = DEFAULT_MAX_LITE_TOPIC_LENGTH;

  constructor(options: LiteConsumerOptions) {
    super();
    this.options = resolveLiteConsumerOptions(options);
    const { client, group, topic, awaitDurationMs, batchSize } = this.options;
    this.core = new ClientCore({
      options: client,
      clientType: () => this.clientType(),
      group,
      settings: () => ({
        clientType: this.clientType(),
        accessPoint: client.nameserver,
        requestTimeoutMs: client.requestTimeoutMs,
        subscription: { group, subscriptions: { [topic]: '*' }, longPollingTimeoutMs: awaitDurationMs, receiveBatchSize: batchSize },
      }),
      onSettings: (endpoint, s) => {
        if (s.backoff) this.backoff = s.backoff;
        if (s.liteSubscriptionQuota !== undefined) this.quota = s.liteSubscriptionQuota;
        if (s.maxLiteTopicSize !== undefined) this.maxLiteTopicLength = s.maxLiteTopicSize;
        // A second reply from a broker: its stream reopened (it may have restarted and lost the
        // subscriptions); send it the full set.
        if (this.handshaken.has(endpoint) && this.state === 'started') this.scheduleFullSync([endpoint]);
        this.handshaken.add(endpoint);
      },
      onRouteChange: (t) => {
        if (t !== this.options.topic || this.state !== 'started') return;
        const now = this.brokerEndpoints();
        const gone = [...this.synced].filter((e) => !now.includes(e));
        if (gone.length > 0) {
          // A broker left the parent's route: its lite topics now belong to the others (they
          // keep subscriptions only for lite topics they own), so every broker gets the full set.
          for (const e of gone) this.synced.delete(e);
          this.scheduleFullSync(undefined);
        } else {
          const fresh = now.filter((e) => !this.synced.has(e));
          if (fresh.length > 0) this.scheduleFullSync(fresh);
        }
        for (const l of this.routeListeners) l();
      },
      onNotifyUnsubscribeLite: (endpoint, lite) => this.onTakenOver(endpoint, lite),
    });
    this.acks = new AckDispatcher(this.core, group);
    this.ops = {
      ack: (m) => this.doAck(m),
      changeInvisibleDuration: (m, ms, suspend) => this.doChangeInvisibleDuration(m, ms, suspend ?? false),
      retryDelayMs: (attempt) => backoffDelayMs(this.backoff, attempt),
    };
  }

  /** The `x-mq-client-id` of this consumer. */
  get clientId(): string {
    return this.core.clientId;
  }

  get group(): string {
    return this.options.group;
  }

  /** The LITE parent topic. */
  get topic(): string {
    return this.options.topic;
  }

  /**
   * Resolves the parent's route, completes the telemetry handshake with its brokers and sends
   * the initial subscription set (`liteTopics`). Rejects if the topic has no route, no broker
   * answers, the topic is not a LITE topic (BAD_REQUEST) or the set is over quota. Idempotent.
   */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new ClientError('CLOSED', 'consumer is closed'));
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.startPromise = undefined;
      if (this.state === 'starting') this.state = 'created';
      throw err;
    });
    return this.startPromise;
  }

  /**
   * Subscribes to a lite topic (created if new) on every broker of the parent topic; resolves once
   * they accepted. `offset` says where to start (default: where the group stands). Rejects with
   * IllegalLiteTopicError for a bad name and LiteSubscriptionQuotaExceededError past the quota.
   */
  subscribe(liteTopic: string, options: LiteSubscribeOptions = {}): Promise<void> {
    let lite: string;
    let offset: LiteOffsetOption | undefined;
    try {
      this.checkStarted();
      lite = checkLiteTopicName('liteTopic', liteTopic, this.maxLiteTopicLength);
      offset = options.offset === undefined ? undefined : liteOffsetOption(options.offset);
    } catch (err) {
      return Promise.reject(err);
    }
    if (offset === undefined) {
      if (this.subs.has(lite)) return Promise.resolve();
      return this.enqueue('PARTIAL_ADD', lite);
    }
    return this.serialSync(async () => {
      this.checkStarted();
      this.checkQuota(lite, 1);
      this.adding.add(lite);
      try {
        const accepted = await this.syncEverywhere({ action: 'PARTIAL_ADD', liteTopics: [lite], offset });
        if (accepted.refusal) {
          // Refused by a broker: undo it where it was accepted (best effort).
          void this.syncOn(accepted.ok, { action: 'PARTIAL_REMOVE', liteTopics: [lite] });
          throw accepted.refusal;
        }
        this.subs.add(lite);
      } finally {
        this.adding.delete(lite);
      }
    });
  }

  /** LiteSubscriptionQuotaExceededError if `more` new lite topics would pass the quota from Settings. */
  private checkQuota(lite: string, more: number): void {
    if (!this.subs.has(lite) && this.quota !== undefined && this.subs.size + more > this.quota) {
      throw new LiteSubscriptionQuotaExceededError(
        Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED,
        `subscribing to ${lite} would make ${this.subs.size + more} lite subscriptions; the quota of this client in group ${this.options.group} is ${this.quota}`,
        { group: this.options.group, topic: this.options.topic, liteTopic: lite },
      );
    }
  }

  /**
   * Queues a partial add/remove. Queued changes go out together: one SyncLiteSubscription per
   * run of same-action changes, sent when the previous sync call returned — so a supervisor
   * subscribing a lite topic per task makes one call per round trip, not one per task.
   */
  private enqueue(action: 'PARTIAL_ADD' | 'PARTIAL_REMOVE', lite: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pendingSync.push({ action, lite, resolve, reject });
      if (action === 'PARTIAL_ADD') this.adding.add(lite);
      if (this.pendingSync.length === 1) void this.serialSync(() => this.flushPendingSync());
    });
  }

  private async flushPendingSync(): Promise<void> {
    const ops = this.pendingSync.splice(0);
    const adds = ops.filter((op) => op.action === 'PARTIAL_ADD');
    const removes = ops.filter((op) => op.action === 'PARTIAL_REMOVE');
    const added = new Set(adds.map((op) => op.lite));
    if (!removes.some((op) => added.has(op.lite))) {
      // No lite topic both added and removed: order does not matter, both calls go at once.
      await Promise.all([adds.length > 0 ? this.applySyncRun(adds) : undefined, removes.length > 0 ? this.applySyncRun(removes) : undefined]);
      return;
    }
    for (let i = 0; i < ops.length; ) {
      let j = i + 1;
      while (j < ops.length && ops[j]!.action === ops[i]!.action) j++;
      await this.applySyncRun(ops.slice(i, j));
      i = j;
    }
  }

  private async applySyncRun(run: PendingSync[]): Promise<void> {
    const action = run[0]!.action;
    try {
      this.checkStarted();
    } catch (err) {
      for (const op of run) this.settleSync(op, err);
      return;
    }
    if (action === 'PARTIAL_REMOVE') {
      for (const op of run) this.subs.delete(op.lite);
      try {
        const res = await this.syncEverywhere({ action, liteTopics: [...new Set(run.map((op) => op.lite))] });
        for (const op of run) this.settleSync(op, res.refusal);
      } catch (err) {
        for (const op of run) this.settleSync(op, err);
      }
      return;
    }
    const todo: PendingSync[] = [];
    for (const op of run) {
      if (this.subs.has(op.lite)) this.settleSync(op, undefined);
      else todo.push(op);
    }
    if (todo.length === 0) return;
    const lites = [...new Set(todo.map((op) => op.lite))];
    try {
      this.checkQuota(lites[0]!, lites.length);
      const accepted = await this.syncEverywhere({ action, liteTopics: lites });
      if (!accepted.refusal) {
        for (const l of lites) this.subs.add(l);
        for (const op of todo) this.settleSync(op, undefined);
        return;
      }
      void this.syncOn(accepted.ok, { action: 'PARTIAL_REMOVE', liteTopics: lites });
      if (todo.length === 1) return this.settleSync(todo[0]!, accepted.refusal);
    } catch (err) {
      if (todo.length === 1 || !(err instanceof MqError)) {
        for (const op of todo) this.settleSync(op, err);
        return;
      }
    }
    // The batch was refused as a whole (a quota): each change on its own, so those that fit land.
    for (const op of todo) await this.applySyncRun([op]);
  }

  private settleSync(op: PendingSync, err: unknown): void {
    if (op.action === 'PARTIAL_ADD' && !this.pendingSync.some((p) => p.lite === op.lite)) this.adding.delete(op.lite);
    if (err) op.reject(err);
    else op.resolve();
  }

  /**
   * Unsubscribes from a lite topic: its messages stop coming once the brokers have the change
   * (messages already in hand can still be acked). Resolves once every reachable broker has it.
   */
  unsubscribe(liteTopic: string): Promise<void> {
    let lite: string;
    try {
      this.checkStarted();
      lite = checkLiteTopicName('liteTopic', liteTopic, this.maxLiteTopicLength);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.enqueue('PARTIAL_REMOVE', lite);
  }

  /** The lite topics subscribed now, sorted. */
  subscriptions(): string[] {
    return [...this.subs].sort();
  }

  /**
   * One long-polling receive from the next broker of the parent's route: up to `max` messages of
   * any subscribed lite topics, or none when `awaitMs` passed without any. Rejects with
   * ClientError('CLOSED') if the consumer closes meanwhile, ClientError('ABORTED') if `signal`
   * aborts.
   */
  async receive(options: LiteReceiveOptions = {}): Promise<LiteMessage[]> {
    this.checkStarted();
    const max = checkMaxMessages('max', options.max ?? this.options.batchSize);
    const invisibleDurationMs = checkInvisibleDuration('invisibleDurationMs', options.invisibleDurationMs ?? this.options.invisibleDurationMs);
    const awaitMs = checkAwaitDuration('awaitMs', options.awaitMs ?? this.options.awaitDurationMs);
    return this.receiveFrom(this.nextQueue(), max, invisibleDurationMs, awaitMs, options.signal);
  }

  /**
   * Messages as an async iterable: keeps receiving (one long-poll in flight at a time) until the
   * consumer closes, `signal` aborts, or the loop `break`s. Transient failures are logged and
   * retried with back-off; other errors end the iteration by throwing. Messages received but not
   * yet handed out when the loop stops are given back at once (without counting a delivery).
   */
  messages(options: LiteReceiveOptions = {}): AsyncIterable<LiteMessage> {
    return { [Symbol.asyncIterator]: () => this.iterate(options) };
  }

  /**
   * Push form: receives from every broker of the parent topic and calls `handler` for each
   * message, up to `concurrency` lite topics at a time, the messages of one lite topic one after
   * another in order. A handler that returns acks its message; one that throws gives it back
   * after the broker's retry backoff (the later messages of that lite topic already received are
   * held back behind it, without counting a delivery). A handler may `suspend(ms)` its message:
   * the lite topic pauses for `ms`.
   *
   * Resolves when the consumer closes or `signal` aborts, after running handlers finished;
   * rejects on an error that retrying cannot fix (e.g. the parent topic was deleted).
   */
  consume(handler: LiteMessageHandler, options: LiteConsumeOptions = {}): Promise<void> {
    try {
      this.checkStarted();
      if (typeof handler !== 'function') throw InvalidArgumentError.format('handler', 'must be a function');
      const concurrency = checkConcurrency(options.concurrency ?? DEFAULT_LITE_CONCURRENCY);
      const invisibleDurationMs = checkInvisibleDuration('invisibleDurationMs', options.invisibleDurationMs ?? this.options.invisibleDurationMs);
      if (!this.push) {
        this.push = true;
        this.core.resyncSettings(); // report LITE_PUSH_CONSUMER from now on
      }
      const task = this.runConsume(handler, concurrency, invisibleDurationMs, options.signal);
      this.consuming.add(task);
      void task.then(
        () => this.consuming.delete(task),
        () => this.consuming.delete(task),
      );
      return task;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Acknowledges `msg` (same as `msg.ack()`). */
  ack(msg: ReceivedMessage): Promise<void> {
    return this.own(msg).ack();
  }

  /** Gives `msg` back: delivered again after `delayMs`, or the broker's retry backoff (counts as a delivery). */
  nack(msg: ReceivedMessage, delayMs?: number): Promise<void> {
    return this.own(msg).nack(delayMs);
  }

  /** Sets `msg` invisible for `ms` from now; `msg.receiptHandle` becomes the new handle. */
  changeInvisibleDuration(msg: ReceivedMessage, ms: number): Promise<void> {
    return this.own(msg).changeInvisibleDuration(ms);
  }

  /** Pauses `msg`'s lite topic for `ms`: `msg` comes back then with the same delivery attempt (same as `msg.suspend(ms)`). */
  suspend(msg: ReceivedMessage, ms: number): Promise<void> {
    return this.own(msg).suspend(ms);
  }

  /**
   * Stops receiving, lets running `consume()` handlers finish (up to 10 s), flushes pending acks,
   * drops the subscriptions on the brokers (COMPLETE_REMOVE), sends NotifyClientTermination and
   * closes telemetry and channels. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  // --- lifecycle -----------------------------------------------------------------------------------

  private clientType(): 'LITE_PUSH_CONSUMER' | 'LITE_SIMPLE_CONSUMER' {
    return this.push ? 'LITE_PUSH_CONSUMER' : 'LITE_SIMPLE_CONSUMER';
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    this.core.start();
    const route = await this.core.routes.get(this.options.topic);
    const queues = readableQueues(route);
    if (queues.length === 0) throw new ClientError('NO_ROUTE', `topic ${this.options.topic} has no readable queue`, { topic: this.options.topic });
    const results = await this.core.connect(queues.map((q) => q.endpoint));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0 && failed.length === results.length) throw failed[0]!.reason;
    for (const f of failed) this.core.logger.warn('telemetry handshake failed; retrying in the background', { err: f.reason });
    const initial = this.options.liteTopics;
    if (this.quota !== undefined && initial.length > this.quota) {
      throw new LiteSubscriptionQuotaExceededError(Code.LITE_SUBSCRIPTION_QUOTA_EXCEEDED, `${initial.length} lite topics to subscribe; the quota of this client in group ${this.options.group} is ${this.quota}`, {
        group: this.options.group,
        topic: this.options.topic,
      });
    }
    for (const l of initial) checkLiteTopicName('liteTopics', l, this.maxLiteTopicLength);
    // The full set (possibly empty) to every broker: it also checks that the topic is a LITE topic.
    const res = await this.syncEverywhere({ action: 'COMPLETE_ADD', liteTopics: initial });
    if (res.refusal) throw res.refusal;
    for (const l of initial) this.subs.add(l);
    if (this.state !== 'starting') return; // closed meanwhile
    this.syncTimer = setInterval(() => this.scheduleFullSync(undefined), this.options.syncIntervalMs);
    this.syncTimer.unref();
    this.state = 'started';
  }

  private async doClose(): Promise<void> {
    const wasStarted = this.state !== 'created';
    this.state = 'closing';
    this.closeController.abort(new ClientError('CLOSED', 'consumer closed'));
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    if (this.consuming.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        Promise.allSettled([...this.consuming]).then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), CLOSE_DRAIN_MS);
          timer.unref();
        }),
      ]);
      if (timer) clearTimeout(timer);
      if (!drained) this.core.logger.warn('close: consume() handlers still running; their messages come back after their invisible duration', { group: this.options.group });
    }
    if (wasStarted) {
      await this.acks.flush();
      await this.syncChain.catch(() => undefined);
      // Best effort: NotifyClientTermination below drops them too.
      await this.syncOn(this.brokerEndpoints(), { action: 'COMPLETE_REMOVE', liteTopics: [] }).catch(() => undefined);
    }
    this.acks.close();
    this.subs.clear();
    await this.core.close().catch((err: unknown) => this.core.logger.warn('close failed', { err }));
    this.state = 'closed';
  }

  private checkStarted(): void {
    if (this.state === 'closing' || this.state === 'closed') throw new ClientError('CLOSED', 'consumer is closed', { group: this.options.group });
    if (this.state !== 'started') throw new ClientError('NOT_STARTED', 'call consumer.start() first', { group: this.options.group });
  }

  // --- subscriptions -------------------------------------------------------------------------------

  /** Runs `op` after every earlier subscription change / full sync has settled. */
  private serialSync<T>(op: () => Promise<T>): Promise<T> {
    const run = this.syncChain.then(op, op);
    this.syncChain = run.catch(() => undefined);
    return run;
  }

  /** Endpoints of the brokers with a readable queue of the parent topic (current route). */
  private brokerEndpoints(): Endpoint[] {
    const route = this.core.routes.peek(this.options.topic);
    return route ? readableQueues(route).map((q) => q.endpoint) : [];
  }

  /**
   * Sends a SyncLiteSubscription to every broker of the route. Returns the brokers that accepted
   * it and, if any broker answered with a status (quota, bad name, not a LITE topic...), that
   * refusal; throws when no broker could be reached at all. Unreachable brokers alone are only
   * logged: the next full sync catches them up.
   */
  private async syncEverywhere(req: Omit<SyncLiteRequest, 'topic' | 'group'>): Promise<{ ok: Endpoint[]; refusal?: MqError }> {
    let endpoints = this.brokerEndpoints();
    if (endpoints.length === 0) {
      endpoints = readableQueues(await this.core.routes.refresh(this.options.topic)).map((q) => q.endpoint);
      if (endpoints.length === 0) throw new ClientError('NO_ROUTE', `topic ${this.options.topic} has no readable queue`, { topic: this.options.topic });
    }
    const full: SyncLiteRequest = { ...req, topic: this.options.topic, group: this.options.group };
    // A partial add goes to each lite topic's owner only (the broker that keeps its messages and
    // subscriptions; one that disagrees passes it on). Removes and full syncs go everywhere: a
    // broker may still hold a lite topic it no longer owns.
    const byOwner = req.action === 'PARTIAL_ADD' ? this.byOwner(req.liteTopics) : undefined;
    if (byOwner) endpoints = [...byOwner.keys()];
    const results = await Promise.allSettled(endpoints.map((e) => this.core.brokers.syncLiteSubscription(e, byOwner ? { ...full, liteTopics: byOwner.get(e)! } : full)));
    const ok: Endpoint[] = [];
    let refusal: MqError | undefined;
    let failure: unknown;
    results.forEach((r, i) => {
      const endpoint = endpoints[i]!;
      if (r.status === 'fulfilled') {
        ok.push(endpoint);
        if (req.action === 'COMPLETE_ADD') this.synced.add(endpoint);
      } else if (r.reason instanceof MqError) refusal ??= r.reason;
      else {
        failure ??= r.reason;
        this.core.logger.warn('lite subscription sync failed; the next full sync retries', { endpoint, action: req.action, err: r.reason });
      }
    });
    if (refusal) return { ok, refusal };
    if (ok.length === 0) throw failure;
    return { ok };
  }

  /** `lites` grouped by their owner broker's endpoint; undefined with one broker or no route yet. */
  private byOwner(lites: readonly string[]): Map<Endpoint, string[]> | undefined {
    const route = this.core.routes.peek(this.options.topic);
    if (!route) return undefined;
    const names = writableBrokerNames(route);
    if (names.length <= 1) return undefined;
    const endpoints = writableEndpoints(route);
    const out = new Map<Endpoint, string[]>();
    for (const l of lites) {
      const e = endpoints[liteOwnerIndex(names, this.options.topic, l)]!;
      const list = out.get(e);
      if (list) list.push(l);
      else out.set(e, [l]);
    }
    return out;
  }

  /** SyncLiteSubscription to `endpoints`; rejects with the first failure. */
  private async syncOn(endpoints: Endpoint[], req: Omit<SyncLiteRequest, 'topic' | 'group'>): Promise<void> {
    const full: SyncLiteRequest = { ...req, topic: this.options.topic, group: this.options.group };
    const results = await Promise.allSettled(endpoints.map((e) => this.core.brokers.syncLiteSubscription(e, full)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Queues a full sync (COMPLETE_ADD of the current set) to `endpoints` (default: every broker). */
  private scheduleFullSync(endpoints: Endpoint[] | undefined): void {
    if (this.state !== 'started') return;
    void this.serialSync(async () => {
      if (this.state !== 'started') return;
      const targets = endpoints ?? this.brokerEndpoints();
      const results = await Promise.allSettled(
        targets.map((e) =>
          this.core.brokers.syncLiteSubscription(e, { action: 'COMPLETE_ADD', topic: this.options.topic, group: this.options.group, liteTopics: [...this.subs] }),
        ),
      );
      results.forEach((r, i) => {
        const endpoint = targets[i]!;
        if (r.status === 'fulfilled') {
          this.synced.add(endpoint);
          return;
        }
        this.synced.delete(endpoint);
        if (this.state !== 'started') return;
        this.core.logger.warn('lite subscription full sync failed; retried at the next interval', { endpoint, topic: this.options.topic, err: r.reason });
        if (this.listenerCount('syncError') > 0) this.emit('syncError', errorOf(r.reason));
      });
    });
  }

  /** NotifyUnsubscribeLiteCommand: another client of the (Exclusive) group took `lite` over. */
  private onTakenOver(endpoint: Endpoint, lite: string): void {
    if (!this.subs.delete(lite)) return;
    this.core.logger.info('lite topic taken over by another client of the group; unsubscribed', { topic: this.options.topic, group: this.options.group, liteTopic: lite, endpoint });
    this.emit('unsubscribed', lite, { reason: 'taken-over', endpoint });
  }

  /** Whether messages of `lite` are still wanted here. */
  private wants(lite: string): boolean {
    return this.subs.has(lite) || this.adding.has(lite);
  }

  // --- receiving -----------------------------------------------------------------------------------

  /** The next broker of the round, from the current route (isolated brokers skipped). */
  private nextQueue(): RouteQueue {
    const route = this.core.routes.peek(this.options.topic);
    const targets = route ? readableQueues(route) : [];
    if (targets.length === 0) {
      this.core.routes.refresh(this.options.topic).catch((err: unknown) => this.core.logger.debug('route refresh failed', { topic: this.options.topic, err }));
      throw new ClientError('NO_ROUTE', `no readable queue for ${this.options.topic}`, { group: this.options.group, topic: this.options.topic });
    }
    const healthy = this.core.isolation.filter(targets, (q) => q.endpoint);
    const queue = healthy[this.cursor % healthy.length]!;
    this.cursor = (this.cursor + 1) % 0x7fffffff;
    return queue;
  }

  private async receiveFrom(queue: RouteQueue, max: number, invisibleDurationMs: number, awaitMs: number, signal: AbortSignal | undefined): Promise<LiteMessageImpl[]> {
    const linked = linkSignals(this.closeController.signal, signal);
    try {
      const data = await this.core.brokers.receiveMessages(
        queue.endpoint,
        { group: this.options.group, queue, tagExpression: '*', batchSize: max, invisibleDurationMs, longPollingTimeoutMs: awaitMs },
        linked.signal,
      );
      return data.map((d) => new LiteMessageImpl({ ...d, liteTopic: d.liteTopic ?? '' }, this.ops));
    } catch (err) {
      if (isRetryableError(err)) {
        this.core.routes.refresh(this.options.topic).catch((e: unknown) => this.core.logger.debug('route refresh failed', { topic: this.options.topic, err: e }));
      }
      throw err;
    } finally {
      linked.dispose();
    }
  }

  /** Sleeps the receive back-off after `failures` failures; false if closed / aborted meanwhile. */
  private async backOff(failures: number, err: unknown, signal: AbortSignal | undefined): Promise<boolean> {
    const fields = { group: this.options.group, topic: this.options.topic, failures, err };
    if (failures === 1) this.core.logger.warn('receive failed; backing off', fields);
    else this.core.logger.debug('receive failed; backing off', fields);
    const linked = linkSignals(this.closeController.signal, signal);
    try {
      await sleep(Math.min(5_000, 250 * 2 ** (failures - 1)), linked.signal);
      return true;
    } catch {
      return false;
    } finally {
      linked.dispose();
    }
  }

  private async *iterate(options: LiteReceiveOptions): AsyncGenerator<LiteMessage, void, undefined> {
    this.checkStarted();
    let buffer: LiteMessageImpl[] = [];
    let failures = 0;
    const stopped = () => this.state === 'closing' || this.state === 'closed' || options.signal?.aborted === true;
    try {
      while (!stopped()) {
        try {
          buffer = (await this.receive(options)) as LiteMessageImpl[];
          failures = 0;
        } catch (err) {
          if (stopped()) return;
          if (!isTransient(err)) throw err;
          if (isTransportFailure(err) && this.core.isolation.anyHealthy(this.brokerEndpoints())) continue;
          if (!(await this.backOff(++failures, err, options.signal))) return;
          continue;
        }
        while (buffer.length > 0) yield buffer.shift()!;
      }
    } finally {
      if (buffer.length > 0) {
        const left = buffer;
        buffer = [];
        await this.giveBack(left, 0);
      }
    }
  }

  /**
   * Gives messages back without counting a delivery, in order: per lite topic the k-th comes back
   * `baseMs + k` ms from now, so the broker redelivers them in their original order.
   */
  private async giveBack(messages: LiteMessageImpl[], baseMs: number): Promise<void> {
    if (this.state === 'closed') return;
    await Promise.all(
      byLiteTopic(messages).map(async (chain) => {
        for (const [k, m] of chain.entries()) {
          await m.suspend(Math.min(MAX_INVISIBLE_DURATION_MS, baseMs + k)).catch((err: unknown) =>
            this.core.logger.debug('giving a message back failed; it returns after its invisible duration', { liteTopic: m.liteTopic, messageId: m.messageId, err }),
          );
        }
      }),
    );
  }

  // --- push form -----------------------------------------------------------------------------------

  private async runConsume(handler: LiteMessageHandler, concurrency: number, invisibleDurationMs: number, signal: AbortSignal | undefined): Promise<void> {
    const stop = new AbortController();
    const linked = linkSignals(this.closeController.signal, signal, stop.signal);
    const pool = new TaskPool(concurrency);
    const loops = new Map<Endpoint, Promise<void>>();
    let fatal: unknown;
    const stopped = () => linked.signal.aborted;

    // Messages in hand per lite topic, oldest first; a lite topic with an entry has a worker (in
    // the pool, running or queued) that handles them one after another. Batches of a lite topic
    // received while its worker still has messages (redeliveries the broker hands out while
    // later messages are in hand) join its queue, so it is never handled by two workers at once.
    const inHand = new Map<string, LiteMessageImpl[]>();

    const work = async (lite: string): Promise<void> => {
      const queue = inHand.get(lite)!;
      // Acks are not awaited between messages (the next message of the lite topic is handled
      // once the previous handler returned; its ack travels meanwhile, batched): a batch of N
      // replies costs one ack round trip, not N. The worker ends only once they are all settled.
      const acks: Promise<unknown>[] = [];
      try {
        for (;;) {
          if (queue.length === 0) {
            if (acks.length === 0) break;
            await Promise.all(acks.splice(0));
            continue; // messages of this lite topic that arrived meanwhile
          }
          if (stopped() || !this.wants(lite)) {
            await Promise.all(acks.splice(0));
            return await this.giveBack(queue.splice(0), 0);
          }
          const m = queue.shift()!;
          let failed = false;
          let error: unknown;
          try {
            await handler(m);
          } catch (err) {
            failed = true;
            error = err;
          }
          if (m.disposition === undefined) {
            if (!failed) {
              acks.push(
                m.ack().catch((err: unknown) =>
                  this.core.logger.warn('ack after the handler failed; the message will be redelivered', { liteTopic: lite, messageId: m.messageId, err }),
                ),
              );
              continue;
            }
            this.core.logger.warn('lite message handler failed; giving the message back', { liteTopic: lite, messageId: m.messageId, deliveryAttempt: m.deliveryAttempt, err: error });
            if (this.listenerCount('handlerError') > 0) this.emit('handlerError', error, m);
            await m.nack().catch((err: unknown) => this.core.logger.debug('nack failed; the message returns after its invisible duration', { messageId: m.messageId, err }));
          } else if (failed) {
            this.core.logger.warn('lite message handler failed after settling its message', { liteTopic: lite, messageId: m.messageId, err: error });
            if (this.listenerCount('handlerError') > 0) this.emit('handlerError', error, m);
          }
          const d = m.disposition;
          // The lite topic waits for this message: hold the rest of it back behind it.
          if (d?.kind === 'later') await this.giveBack(queue.splice(0), d.ms + 1);
        }
      } finally {
        inHand.delete(lite);
      }
    };

    const hand = (batch: LiteMessageImpl[]): void => {
      for (const chain of byLiteTopic(batch)) {
        const lite = chain[0]!.liteTopic;
        const queue = inHand.get(lite);
        if (queue) {
          queue.push(...chain);
          continue;
        }
        inHand.set(lite, chain);
        pool.push(() => work(lite));
      }
    };

    const loop = async (endpoint: Endpoint): Promise<void> => {
      let failures = 0;
      while (!stopped()) {
        const queue = this.queueOn(endpoint);
        if (!queue) return; // the broker left the route
        await pool.room(linked.signal);
        if (stopped()) return;
        let batch: LiteMessageImpl[];
        try {
          batch = await this.receiveFrom(queue, this.options.batchSize, invisibleDurationMs, this.options.awaitDurationMs, linked.signal);
          failures = 0;
        } catch (err) {
          if (stopped()) return;
          if (!isTransient(err)) {
            fatal ??= err;
            stop.abort(err);
            return;
          }
          if (!(await this.backOff(++failures, err, linked.signal))) return;
          continue;
        }
        if (stopped()) {
          await this.giveBack(batch, 0);
          return;
        }
        hand(batch);
      }
    };

    const ensureLoops = () => {
      if (stopped()) return;
      for (const endpoint of this.brokerEndpoints()) {
        if (loops.has(endpoint)) continue;
        const p = loop(endpoint).finally(() => {
          if (loops.get(endpoint) === p) loops.delete(endpoint);
        });
        loops.set(endpoint, p);
      }
    };

    this.routeListeners.add(ensureLoops);
    try {
      ensureLoops();
      await new Promise<void>((resolve) => {
        if (linked.signal.aborted) resolve();
        else linked.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await Promise.allSettled([...loops.values()]);
      // Chains not started yet go back; running ones finish their current message.
      const queued = pool.drainQueued();
      await Promise.all(queued.map((t) => t()));
      await pool.idle();
    } finally {
      this.routeListeners.delete(ensureLoops);
      linked.dispose();
    }
    if (fatal !== undefined) throw fatal;
  }

  /** The readable queue of the parent topic on `endpoint`, if it is still in the route. */
  private queueOn(endpoint: Endpoint): RouteQueue | undefined {
    const route = this.core.routes.peek(this.options.topic);
    return route ? readableQueues(route).find((q) => q.endpoint === endpoint) : undefined;
  }

  // --- settling ------------------------------------------------------------------------------------

  private own(msg: ReceivedMessage): LiteMessageImpl {
    if (!(msg instanceof LiteMessageImpl)) {
      throw InvalidArgumentError.format('message', 'must be a message received by a LiteConsumer', Code.BAD_REQUEST);
    }
    return msg;
  }

  private doAck(m: LiteMessageImpl | ReceivedMessage): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new ClientError('CLOSED', 'consumer is closed', { group: this.options.group }));
    return this.acks.ack(m as LiteMessageImpl);
  }

  private async doChangeInvisibleDuration(m: ReceivedMessage, ms: number, suspend: boolean): Promise<string> {
    if (this.state === 'closed' || !this.acks.isOpen) throw new ClientError('CLOSED', 'consumer is closed', { group: this.options.group });
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_INVISIBLE_DURATION_MS) {
      throw InvalidArgumentError.format('invisibleDurationMs', `must be between 0 and ${MAX_INVISIBLE_DURATION_MS} ms (got ${String(ms)})`, Code.ILLEGAL_INVISIBLE_TIME);
    }
    const impl = m as LiteMessageImpl;
    const req: ChangeInvisibleRequest = {
      group: this.options.group,
      topic: impl.topic,
      messageId: impl.messageId,
      receiptHandle: impl.receiptHandle,
      invisibleDurationMs: ms,
      liteTopic: impl.liteTopic,
    };
    if (suspend) req.suspend = true;
    return this.core.brokers.changeInvisibleDuration(impl.endpoint, req);
  }
}
