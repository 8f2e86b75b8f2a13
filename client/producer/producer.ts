/**
 * Producer: validates, stamps and sends messages, coalescing them into batched SendMessage calls.
 *
 * Flow of `send(msg)`: `prepareMessage` (broker rules, client-generated id) -> route from the
 * cache (QueryRoute on a miss) -> pick a writable broker (FIFO: hash of the message group, so a
 * group always lands on the same broker; otherwise round-robin per topic) -> `CallBatcher` lane
 * (broker, topic, and message group for FIFO) -> one SendMessage per batch.
 *
 * Results: every entry of a batch settles its own promise; an entry the broker refused rejects
 * with that entry's MqError only. When a whole call fails (transport error, timeout, or every
 * entry refused with a retryable code) the batch is retried, up to `maxAttempts`, on another
 * broker of the route if there is one (same broker for FIFO, after a short back-off), and the
 * topic's route is refreshed.
 *
 * Ordering: batches of one FIFO message group are sent one at a time (lane in-flight limit 1) to
 * the broker the group hashes to, so its messages reach the broker in `send()` order, retries
 * included. Lite topics likewise, except that they share a few ordered lanes per broker (a lite
 * topic always in the same lane), so messages of different lite topics still batch together.
 */
import { fnv1a } from '../../proto/common/hash.js';
import { ClientCore } from '../client.js';
import { CallBatcher } from '../batching/call-batcher.js';
import type { BatchLane } from '../batching/call-batcher.js';
import { ClientError, isRetryableError } from '../errors.js';
import type { ServerSettings } from '../rpc/convert.js';
import type { SendOutcome } from '../rpc/broker-rpc.js';
import { writableBrokerNames, writableEndpoints } from '../route/route-cache.js';
import { liteOwnerIndex } from '../../proto/common/lite-owner.js';
import type { TopicRoute } from '../route/route-cache.js';
import type { Endpoint } from '../types.js';
import { sleep } from '../util/abort.js';
import { DEFAULT_MAX_BODY_SIZE, prepareMessage } from './outgoing-message.js';
import type { OutgoingMessage, PreparedMessage, SendReceipt } from './outgoing-message.js';
import { resolveProducerOptions } from './producer-options.js';
import type { ProducerOptions, ResolvedProducerOptions } from './producer-options.js';

/** A send waiting in a batch. */
interface PendingSend {
  message: PreparedMessage;
  resolve(receipt: SendReceipt): void;
  reject(err: unknown): void;
}

/** Lane bookkeeping of one topic (non-FIFO lanes are reused, one per broker). */
interface TopicLanes {
  route: TopicRoute;
  writable: Endpoint[];
  /** Broker names of `writable`, index for index. */
  writableNames: string[];
  /** Round-robin cursor; starts at a random broker. */
  cursor: number | undefined;
  lanes: Map<Endpoint, BatchLane>;
}

type State = 'created' | 'starting' | 'started' | 'closing' | 'closed';

/** Back-off before retrying on the same broker: 100 ms, 200 ms, 400 ms ... capped at 1 s. */
function retryDelayMs(attempt: number): number {
  return Math.min(1000, 100 * 2 ** (attempt - 1));
}

/** FNV-1a: a stable, cheap hash for picking a FIFO group's broker. */
export class Producer {
  private readonly options: ResolvedProducerOptions;
  private readonly core: ClientCore;
  private readonly batcher: CallBatcher<PendingSend>;
  private state: State = 'created';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  /** Topics reported in the publishing settings. */
  private readonly topics = new Set<string>();
  /** First route lookups in flight, per topic. */
  private readonly lookups = new Map<string, Promise<TopicRoute>>();
  /** Per topic: the writable brokers of its current route, the round-robin cursor, lanes. */
  private readonly topicLanes = new Map<string, TopicLanes>();
  /** `send()` calls between admission and the batcher (route lookups); close() waits for them. */
  private readonly admissions = new Set<Promise<unknown>>();
  /** Sends accepted but not yet in the batcher: while any, new sends queue behind them. */
  private admitting = 0;
  private maxBodySize = DEFAULT_MAX_BODY_SIZE;

  constructor(options: ProducerOptions = {}) {
    this.options = resolveProducerOptions(options);
    for (const t of this.options.topics) this.topics.add(t);
    this.core = new ClientCore({
      options: this.options.client,
      clientType: 'PRODUCER',
      settings: () => ({
        clientType: 'PRODUCER',
        accessPoint: this.options.client.nameserver,
        requestTimeoutMs: this.options.client.requestTimeoutMs,
        maxAttempts: this.options.maxAttempts,
        publishing: { topics: [...this.topics] },
      }),
      onSettings: (_endpoint, s: ServerSettings) => {
        if (s.maxBodySize !== undefined) this.maxBodySize = s.maxBodySize;
      },
    });
    this.batcher = new CallBatcher<PendingSend>(
      {
        maxBatchEntries: this.options.maxBatchMessages,
        maxBatchBytes: this.options.maxBatchBytes,
        lingerMs: this.options.lingerMs,
        maxInFlightPerTarget: this.options.maxInFlightBatches,
      },
      (lane, entries) => this.dispatch(lane, entries),
      (err) => this.core.logger.error('send dispatch failed unexpectedly', { err }),
    );
  }

  /** The `x-mq-client-id` of this producer. */
  get clientId(): string {
    return this.core.clientId;
  }

  /**
   * Starts timers and, for the configured `topics`, resolves routes and completes the telemetry
   * handshake with their brokers (rejects if a topic has no route, or no broker answers).
   * Idempotent.
   */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new ClientError('CLOSED', 'producer is closed'));
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.startPromise = undefined;
      if (this.state === 'starting') this.state = 'created';
      throw err;
    });
    return this.startPromise;
  }

  /** Sends one message; resolves when the broker stored it. */
  send(message: OutgoingMessage): Promise<SendReceipt> {
    if (this.state !== 'started' || this.admitting > 0) return this.admitAndSend(message);
    // Fast path (started, nothing queued ahead of this send): validate and hand the message to
    // the batcher synchronously, without the promise hops of admission and route lookup.
    let prepared: PreparedMessage;
    try {
      prepared = prepareMessage(message, this.maxBodySize);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.submit(prepared);
  }

  /**
   * Sends several messages (all validated first: one invalid message sends none). Resolves with
   * the receipts in order; rejects with the first failure (the other messages still go out).
   */
  sendBatch(messages: OutgoingMessage[]): Promise<SendReceipt[]> {
    if (this.state !== 'started' || this.admitting > 0) return this.admitAndSendBatch(messages);
    let prepared: PreparedMessage[];
    try {
      prepared = messages.map((m) => prepareMessage(m, this.maxBodySize));
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.all(prepared.map((p) => this.submit(p)));
  }

  /** Sends everything queued now (ignoring `lingerMs`) and waits until it is settled. */
  /**
   * Withdraws a delayed message that is not yet due (RecallMessage to the broker that stored
   * it). Resolves with its message id; rejects with NOT_FOUND once it was delivered or recalled.
   */
  async recall(receipt: Pick<SendReceipt, 'topic' | 'recallHandle' | 'broker'>): Promise<string> {
    if (!receipt.recallHandle) throw new ClientError('NO_ROUTE', 'receipt has no recallHandle: only delayed messages can be recalled', { topic: receipt.topic });
    return this.core.brokers.recallMessage(receipt.broker, receipt.topic, receipt.recallHandle);
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.admissions]);
    await this.batcher.flush();
  }

  /**
   * Flushes pending sends, tells every broker the client is leaving (NotifyClientTermination),
   * closes telemetry and channels. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    this.core.start();
    const routes = await Promise.all(this.options.topics.map((t) => this.core.routes.get(t)));
    const endpoints = new Set(routes.flatMap((r) => writableEndpoints(r)));
    for (const r of routes) {
      if (writableEndpoints(r).length === 0) throw new ClientError('NO_ROUTE', `topic ${r.topic} has no writable queue`, { topic: r.topic });
    }
    const results = await this.core.connect(endpoints);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (results.length > 0 && failed.length === results.length) throw failed[0]!.reason;
    for (const f of failed) this.core.logger.warn('telemetry handshake failed; retrying in the background', { err: f.reason });
    if (this.state === 'starting') this.state = 'started';
  }

  private async doClose(): Promise<void> {
    const wasStarted = this.state !== 'created';
    this.state = 'closing';
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    if (wasStarted) await this.flush().catch((err: unknown) => this.core.logger.warn('flush on close failed', { err }));
    await this.core.close().catch((err: unknown) => this.core.logger.warn('close failed', { err }));
    this.state = 'closed';
  }

  /** Throws unless sends are accepted now (waits for a start in progress). */
  private async admit(): Promise<void> {
    if (this.state === 'starting' && this.startPromise) await this.startPromise;
    if (this.state === 'closing' || this.state === 'closed') throw new ClientError('CLOSED', 'producer is closed');
    if (this.state !== 'started') throw new ClientError('NOT_STARTED', 'call producer.start() first');
  }

  /** `send()` when the fast path does not apply: waits for a start in progress first. */
  private async admitAndSend(message: OutgoingMessage): Promise<SendReceipt> {
    this.admitting++;
    let prepared: PreparedMessage;
    try {
      await this.admit();
      prepared = prepareMessage(message, this.maxBodySize);
    } catch (err) {
      this.admitting--;
      throw err;
    }
    return this.enqueue(prepared);
  }

  private async admitAndSendBatch(messages: OutgoingMessage[]): Promise<SendReceipt[]> {
    this.admitting++; // holds later sends back until these are queued
    let pending: Promise<SendReceipt>[];
    try {
      await this.admit();
      const prepared = messages.map((m) => prepareMessage(m, this.maxBodySize));
      pending = prepared.map((p) => {
        this.admitting++;
        return this.enqueue(p);
      });
    } finally {
      this.admitting--;
    }
    return Promise.all(pending);
  }

  /**
   * Hands a validated message to the batcher: at once when its topic's route is cached and no
   * earlier send is still between admission and the batcher (so sends reach the batcher in call
   * order, which FIFO groups rely on), else through `enqueue`.
   */
  private submit(message: PreparedMessage): Promise<SendReceipt> {
    if (this.admitting === 0) {
      const route = this.readyRoute(message.topic);
      if (route) {
        return new Promise<SendReceipt>((resolve, reject) => {
          this.batcher.add(this.laneFor(route, message), { message, resolve, reject }, message.bytes);
        });
      }
    }
    this.admitting++;
    return this.enqueue(message);
  }

  /** The cached route of a known topic with no first lookup pending, else undefined. */
  private readyRoute(topic: string): TopicRoute | undefined {
    if (!this.topics.has(topic) || this.lookups.has(topic)) return undefined;
    return this.core.routes.peek(topic);
  }

  /** Queues `message` once its route is known; the caller counted it in `admitting`. */
  private enqueue(message: PreparedMessage): Promise<SendReceipt> {
    // The admission lasts until the entry is in the batcher (or failed), not until it is sent.
    let resolveAdmission!: () => void;
    const admission = new Promise<void>((resolve) => (resolveAdmission = resolve));
    const admitted = () => {
      this.admitting--;
      resolveAdmission();
    };
    this.admissions.add(admission);
    void admission.then(() => this.admissions.delete(admission));
    let routed: Promise<TopicRoute>;
    try {
      routed = this.route(message.topic);
    } catch (err) {
      admitted();
      return Promise.reject(err);
    }
    return routed.then(
      (route) =>
        new Promise<SendReceipt>((resolve, reject) => {
          try {
            this.batcher.add(this.laneFor(route, message), { message, resolve, reject }, message.bytes);
          } finally {
            admitted();
          }
        }),
      (err: unknown) => {
        admitted();
        throw err;
      },
    );
  }

  private route(topic: string): Promise<TopicRoute> {
    if (!this.topics.has(topic)) {
      this.topics.add(topic);
      this.core.resyncSettings();
    }
    const cached = this.core.routes.peek(topic);
    if (cached && !this.lookups.has(topic)) return Promise.resolve(cached);
    // While the first lookup of a topic is pending every send waits on that same promise, and the
    // promise is forgotten by its first reaction: so sends reach the batcher in call order (FIFO
    // groups rely on it) even when the route lands in the cache between two sends.
    let lookup = this.lookups.get(topic);
    if (!lookup) {
      const p = this.core.routes.get(topic);
      const forget = () => {
        if (this.lookups.get(topic) === p) this.lookups.delete(topic);
      };
      p.then(forget, forget);
      this.lookups.set(topic, p);
      lookup = p;
    }
    return lookup;
  }

  private laneFor(route: TopicRoute, m: PreparedMessage): BatchLane {
    let lanes = this.topicLanes.get(m.topic);
    if (!lanes) {
      lanes = { route, writable: writableEndpoints(route), writableNames: writableBrokerNames(route), cursor: undefined, lanes: new Map() };
      this.topicLanes.set(m.topic, lanes);
    } else if (lanes.route !== route) {
      // A refreshed route: recompute its brokers (the round-robin cursor carries on).
      lanes.route = route;
      lanes.writable = writableEndpoints(route);
      lanes.writableNames = writableBrokerNames(route);
      lanes.lanes.clear();
    }
    const all = lanes.writable;
    if (all.length === 0) throw new ClientError('NO_ROUTE', `topic ${m.topic} has no writable queue`, { topic: m.topic });
    if (m.messageGroup !== undefined) {
      // A group sticks to its broker, healthy or not: moving it would break its order.
      const endpoint = all[fnv1a(m.messageGroup) % all.length]!;
      return { key: `${endpoint}\n${m.topic}\n${m.messageGroup}`, target: endpoint, maxInFlight: 1 };
    }
    if (m.liteTopic !== undefined) {
      // A lite topic goes straight to its owner broker (rendezvous hashing over the parent's
      // brokers, the brokers' own rule: proto/common/lite-owner.ts), saving the forwarding hop.
      // Lite topics are many and short: they share `maxInFlightBatches` ordered lanes per broker
      // (a lite topic always in the same one), so their messages still travel in batches.
      const endpoint = all[liteOwnerIndex(lanes.writableNames, m.topic, m.liteTopic)]!;
      const lane = fnv1a(m.liteTopic) % this.options.maxInFlightBatches;
      return { key: `${endpoint}\n${m.topic}\n\u0001${lane}`, target: endpoint, maxInFlight: 1 };
    }
    const endpoints = this.core.isolation.filterEndpoints(all);
    const cursor = lanes.cursor ?? Math.floor(Math.random() * endpoints.length);
    lanes.cursor = cursor + 1;
    const endpoint = endpoints[cursor % endpoints.length]!;
    let lane = lanes.lanes.get(endpoint);
    if (!lane) {
      lane = { key: `${endpoint}\n${m.topic}\n`, target: endpoint };
      lanes.lanes.set(endpoint, lane);
    }
    return lane;
  }

  /** Another writable broker of the topic not tried yet, else `current`. */
  private alternate(topic: string, tried: ReadonlySet<Endpoint>, current: Endpoint): Endpoint {
    const route = this.core.routes.peek(topic);
    if (!route) return current;
    const untried = writableEndpoints(route).filter((e) => !tried.has(e));
    return this.core.isolation.filter(untried, (e) => e)[0] ?? current;
  }

  /** Sends one batch (with retries) and settles every entry. Never rejects. */
  private async dispatch(lane: BatchLane, entries: PendingSend[]): Promise<void> {
    const first = entries[0];
    if (!first) return;
    const topic = first.message.topic;
    // A message group stays on its broker (moving it would break its order); a lite message may
    // go to any broker of the parent: one that does not own its lite topic forwards it.
    const sticky = first.message.messageGroup !== undefined;
    const messages = entries.map((e) => e.message);
    const tried = new Set<Endpoint>();
    let endpoint: Endpoint = lane.target;
    try {
      for (let attempt = 1; ; attempt++) {
        tried.add(endpoint);
        let outcomes: SendOutcome[] | undefined;
        let failure: unknown;
        try {
          outcomes = await this.core.brokers.sendMessages(endpoint, messages);
        } catch (err) {
          failure = err;
        }
        if (outcomes) {
          const refused = outcomes.every((o) => !o.ok && isRetryableError(o.error));
          if (!refused || attempt >= this.options.maxAttempts) {
            this.settle(entries, outcomes, topic, endpoint);
            return;
          }
          failure = (outcomes[0] as { error: unknown }).error;
        }
        this.core.routes.refresh(topic).catch((err: unknown) => this.core.logger.debug('route refresh failed', { topic, err }));
        if (attempt >= this.options.maxAttempts || !isRetryableError(failure)) {
          for (const e of entries) e.reject(failure);
          return;
        }
        const next = sticky ? endpoint : this.alternate(topic, tried, endpoint);
        this.core.logger.debug('send failed; retrying', { topic, endpoint, next, attempt, err: failure });
        if (next === endpoint) await sleep(retryDelayMs(attempt));
        endpoint = next;
      }
    } catch (err) {
      for (const e of entries) e.reject(err);
    }
  }

  private settle(entries: PendingSend[], outcomes: SendOutcome[], topic: string, endpoint: Endpoint): void {
    let anyFailed = false;
    entries.forEach((e, i) => {
      const o = outcomes[i];
      if (!o) {
        e.reject(new ClientError('TRANSPORT', 'SendMessage returned fewer results than messages', { topic }));
      } else if (o.ok) {
        const receipt: SendReceipt = { messageId: o.messageId, topic, queueId: -1, offset: o.offset, broker: endpoint };
        if (o.recallHandle !== undefined) receipt.recallHandle = o.recallHandle;
        e.resolve(receipt);
      } else {
        anyFailed = true;
        e.reject(o.error);
      }
    });
    if (anyFailed) {
      this.core.routes.refresh(topic).catch((err: unknown) => this.core.logger.debug('route refresh failed', { topic, err }));
    }
  }
}
