/**
 * Broker wiring and lifecycle only: open the store, recover state, serve gRPC, register with
 * every NameServer; close in reverse order. No business logic lives here.
 */
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { resolveBrokerOptions, type BrokerOptions, type ResolvedBrokerOptions } from './options.js';
import { MessageStore } from './store/message-store.js';
import { metaKey } from './store/keys.js';
import { TopicManager } from './topic/topic-manager.js';
import { GroupManager } from './consumer/group-manager.js';
import { ClientRegistry } from './consumer/client-registry.js';
import { LongPolling } from './pop/long-polling.js';
import { PopService } from './pop/pop-service.js';
import { ReceiptHandleCodec } from './pop/receipt-handle.js';
import { SendService } from './send/send-service.js';
import { Dedup, DEDUP_KEY_PROPERTY } from './send/dedup.js';
import { DelayService } from './schedule/delay-service.js';
import { ExpiryService } from './schedule/expiry-service.js';
import { DeadLetterService, REDRIVE_GROUP } from './pop/dead-letter.js';
import { DEFAULT_MAX_DELIVERY_ATTEMPTS } from './consumer/group-manager.js';
import { acceptedTypes } from './topic/lanes.js';
import { NameServerLink } from './cluster/nameserver-link.js';
import { PeerDirectory } from './cluster/peer-directory.js';
import { LiteForwarder } from './cluster/lite-forwarder.js';
import { LiteService } from './lite/lite-service.js';
import { bind, createGrpcServer, shutdown } from './grpc/server.js';
import type { BrokerContext } from './context.js';

export interface Broker {
  /** Resolved options (ports as configured; see `address` for the bound one). */
  readonly options: ResolvedBrokerOptions;
  /** Opens the store, recovers, listens and registers. */
  start(): Promise<void>;
  /** The address clients dial, after start(). */
  readonly address: { host: string; port: number };
  /** Idempotent: unregisters, stops serving, flushes and closes the store. */
  close(): Promise<void>;
  /** Services, for tests and embedding. */
  readonly context: BrokerContext;
}

class BrokerImpl implements Broker {
  readonly options: ResolvedBrokerOptions;
  private ctx: BrokerContext | undefined;
  private server: grpc.Server | undefined;
  private link: NameServerLink | undefined;
  private boundPort = 0;
  private closingPromise: Promise<void> | undefined;
  private readonly startedAtMs = Date.now();

  constructor(opts: BrokerOptions) {
    this.options = resolveBrokerOptions(opts);
  }

  get context(): BrokerContext {
    if (!this.ctx) throw new Error('broker not started');
    return this.ctx;
  }

  get address() {
    return { host: this.options.advertisedHost, port: this.boundPort };
  }

  async start(): Promise<void> {
    const o = this.options;
    const log = o.logger;
    const store = await MessageStore.open({ dataDir: o.store.dataDir, flush: o.store.flush, cacheMessagesPerQueue: o.store.cacheMessagesPerQueue, segmentBytes: o.store.segmentBytes, logger: log });
    let secret = await store.db.get(metaKey('receipt-secret'));
    if (!secret) {
      secret = randomBytes(32);
      await store.writes.write([{ type: 'put', key: metaKey('receipt-secret'), value: secret }]);
    }
    const longPolling = new LongPolling();
    let lite: LiteService | undefined;
    // Arrivals on lite topics (internal names parent$lite) wake exactly the subscribed clients.
    store.setArrivalListener((topic, count) => {
      if (!lite?.onArrival(topic)) longPolling.signal(topic, count);
    });
    const topics = new TopicManager(store, { queueCount: o.defaultQueueCount }, () => this.link?.notifyChanged());
    await topics.load();
    const groups = new GroupManager(store, o.autoCreateGroups);
    await groups.load();
    const pop = new PopService(store, longPolling, new ReceiptHandleCodec(secret), o.clock, log.child('pop'));
    const dedup = new Dedup(store);
    await dedup.load(o.clock.now());
    const expiry = new ExpiryService(store, dedup, o.clock, log.child('expiry'));
    const send = new SendService(store, topics, dedup, expiry, o.dedupWindowMs);
    const delays = new DelayService(store, secret, o.clock, log.child('delay'), (due) => send.deliverDue(due, o.clock.now()), (p) => {
      // A recalled message frees its dedup key: resending the task must not be swallowed.
      const key = p.header.props?.[DEDUP_KEY_PROPERTY];
      return key === undefined ? [] : dedup.release(p.topic, key, p.header.id);
    });
    send.setDelayService(delays);
    const deadLetters = new DeadLetterService(topics, send, pop, o.clock);
    pop.setDeadLetterSink(deadLetters.sink, (g) => (g === REDRIVE_GROUP ? Number.MAX_SAFE_INTEGER : groups.get(g)?.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS));
    await pop.load();
    // Lite topic ownership: each lite topic has one owner among the parent topic's brokers.
    const peers = new PeerDirectory({ nameservers: o.nameservers, self: o.brokerName, logger: log.child('peers') });
    const forwarder = new LiteForwarder({ self: o.brokerName, logger: log.child('forward') });
    lite = new LiteService({ store, topics, groups, pop, longPolling, clock: o.clock, logger: log.child('lite'), options: o.lite, ownership: peers });
    await lite.start();
    await delays.start();
    await expiry.start();
    let closing = false;
    // Liveness (an online consumer serves the topic) is part of the registration: report flips at once.
    const clients = new ClientRegistry(o.clock, o.clientExpiryMs, () => this.link?.notifyChanged());
    this.ctx = {
      options: o,
      store,
      topics,
      groups,
      clients,
      pop,
      longPolling,
      send,
      delays,
      expiry,
      deadLetters,
      dedup,
      lite,
      peers,
      forwarder,
      port: () => this.boundPort,
      closing: () => closing,
    };
    this.markClosing = () => {
      closing = true;
    };
    this.server = createGrpcServer(this.ctx, log);
    this.boundPort = await bind(this.server, o.host, o.port, log);
    log.info('broker listening', { name: o.brokerName, address: `${o.host}:${this.boundPort}`, dataDir: o.store.dataDir, flush: o.store.flush, topics: topics.list().length });
    if (o.nameservers.length > 0) {
      this.link = new NameServerLink({
        nameservers: o.nameservers,
        heartbeatIntervalMs: o.registerIntervalMs,
        logger: log.child('nameserver-link'),
        registration: () => ({
          brokerName: o.brokerName,
          clusterName: o.clusterName,
          host: o.advertisedHost,
          port: this.boundPort,
          startedAtMs: this.startedAtMs,
          topics: (() => {
            const live = clients.liveTopics();
            return topics.list().map((t) => ({
              name: t.name,
              queueCount: t.queueCount,
              permission: t.permission,
              messageTypes: acceptedTypes(t.messageType),
              ...(t.semantic ? { semantic: t.semantic } : {}),
              live: live.has(t.name),
            }));
          })(),
        }),
      });
      await this.link.start();
    }
  }

  private markClosing: () => void = () => {};

  close(): Promise<void> {
    this.closingPromise ??= (async () => {
      this.markClosing();
      await this.link?.close();
      this.ctx?.longPolling.signalAll();
      if (this.server) await shutdown(this.server, 2000);
      this.ctx?.pop.close();
      this.ctx?.lite.close();
      this.ctx?.peers.close();
      this.ctx?.forwarder.close();
      this.ctx?.clients.close();
      this.ctx?.delays.close();
      this.ctx?.expiry.close();
      await this.ctx?.store.close();
      this.options.logger.info('broker closed', { name: this.options.brokerName });
    })();
    return this.closingPromise;
  }
}

export function createBroker(options: BrokerOptions = {}): Broker {
  return new BrokerImpl(options);
}
