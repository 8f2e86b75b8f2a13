/**
 * Semantic discovery against the NameServer (agentmq.v1.Discovery): "who can do X?" in natural
 * language, the catalog, and a watch stream of its changes as an async iterator.
 *
 * With several NameServers (replicas), unary calls fail over as NameServerRpc's do (the next one
 * on a transport failure, sticking to the one that answered). A watch stream that cannot be opened
 * is opened on the next NameServer; one that fails after it delivered events ends with the error
 * (its events cannot be resumed elsewhere) and makes the next NameServer current, so the caller's
 * reconnect goes there and starts with that NameServer's snapshot.
 */
import * as grpc from '@grpc/grpc-js';
import { fromStatus } from '../../proto/common/status.js';
import { semanticFromWire } from '../../proto/common/semantic-metadata.js';
import { fromWireEndpoints, formatHostPort } from '../../proto/common/endpoints.js';
import type { SemanticMetadata } from '../../proto/common/semantic-metadata.js';
import { discoveryService, type DiscoveryClient as WireDiscoveryClient } from '../../proto/index.js';
import type { CatalogTopic as WireCatalogTopic } from '../../proto/gen/agentmq/v1/CatalogTopic.js';
import type { DiscoverResponse__Output } from '../../proto/gen/agentmq/v1/DiscoverResponse.js';
import type { GetCatalogTopicResponse__Output } from '../../proto/gen/agentmq/v1/GetCatalogTopicResponse.js';
import type { ListCatalogResponse__Output } from '../../proto/gen/agentmq/v1/ListCatalogResponse.js';
import type { TopicEvent__Output } from '../../proto/gen/agentmq/v1/TopicEvent.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from '../options.js';
import { requestMetadata } from '../rpc/metadata.js';
import { NameServerFailover } from '../rpc/nameserver-rpc.js';
import { deadlineIn, toClientError, unaryCall } from '../rpc/unary-call.js';
import { ClientError } from '../errors.js';
import { isTransportFailure } from '../route/endpoint-isolation.js';
import type { Endpoint } from '../types.js';
import type { CatalogEvent, CatalogTopic, DiscoverOptions, DiscoveryResult } from './discovery-types.js';

function topicFromWire(t: WireCatalogTopic | null | undefined): CatalogTopic {
  return {
    name: t?.name ?? '',
    metadata: (t?.metadata ? semanticFromWire(t.metadata as never) : { description: '', tags: [], skills: [], attributes: {} }) as unknown as SemanticMetadata,
    live: t?.live ?? false,
    routes: (t?.routes ?? []).map((r) => {
      const hp = fromWireEndpoints(r.endpoints);
      return { broker: r.brokerName ?? '', endpoint: hp ? formatHostPort(hp) : '', queueCount: r.queueCount ?? 0 };
    }),
    updatedAtMs: Number(t?.updatedAtMs ?? 0),
  };
}

export class DiscoveryClient {
  private readonly options: ResolvedClientOptions;
  private readonly failover: NameServerFailover;
  /** One gRPC client per NameServer, created on first use. */
  private readonly clients = new Map<Endpoint, WireDiscoveryClient>();
  private closed = false;

  constructor(options: ClientOptions = {}) {
    this.options = resolveClientOptions(options);
    this.failover = new NameServerFailover(this.options.nameservers, this.options.logger);
  }

  /** The NameServer calls go to now (changes when it becomes unreachable). */
  get nameserver(): Endpoint {
    return this.failover.current;
  }

  private client(endpoint: Endpoint): WireDiscoveryClient {
    this.checkOpen();
    let c = this.clients.get(endpoint);
    if (!c) {
      const Ctor = discoveryService();
      c = new Ctor(endpoint, grpc.credentials.createInsecure());
      this.clients.set(endpoint, c);
    }
    return c;
  }

  private call<Res>(method: string, start: (client: WireDiscoveryClient, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall, signal?: AbortSignal): Promise<Res> {
    return this.failover.run(method, (endpoint) => unaryCall<Res>({ endpoint, method }, (cb) => start(this.client(endpoint), cb), signal), signal);
  }

  private deadline() {
    return { deadline: deadlineIn(this.options.requestTimeoutMs) };
  }

  /** Ranks registered capabilities for `query` (live ones unless `includeOffline`). */
  async discover(query: string, o: DiscoverOptions = {}): Promise<DiscoveryResult> {
    this.checkOpen();
    const req = {
      query,
      topK: o.topK ?? 0,
      tags: o.tags ?? [],
      attributes: o.attributes ?? {},
      minScore: o.minScore ?? 0,
      includeOffline: o.includeOffline ?? false,
    };
    const res = await this.call<DiscoverResponse__Output>(
      'Discover',
      (client, cb) => client.discover(req, requestMetadata(this.options.clientId), this.deadline(), cb),
      o.signal,
    );
    fromStatus(res.status);
    return {
      hits: (res.hits ?? []).map((h) => ({ topic: topicFromWire(h.topic), score: h.score, vectorScore: h.vectorScore, lexicalScore: h.lexicalScore })),
      noMatch: res.noMatch,
      noMatchReason: res.noMatchReason,
      bestScore: res.bestScore,
      threshold: res.threshold,
      offlineFits: res.offlineFits ?? 0,
      embedder: res.embedder,
      ...(res.queryLanguage ? { translation: { language: res.queryLanguage, terms: res.translatedTerms ?? [] } } : {}),
    };
  }

  /** One catalog topic; undefined if the catalog does not have it. */
  async getTopic(name: string): Promise<CatalogTopic | undefined> {
    this.checkOpen();
    const res = await this.call<GetCatalogTopicResponse__Output>('GetTopic', (client, cb) =>
      client.getTopic({ name }, requestMetadata(this.options.clientId), this.deadline(), cb),
    );
    if (res.status?.code === 'TOPIC_NOT_FOUND') return undefined;
    fromStatus(res.status);
    return topicFromWire(res.topic);
  }

  /** The whole catalog (all pages), sorted by name. */
  async listTopics(o: { includeOffline?: boolean } = {}): Promise<CatalogTopic[]> {
    this.checkOpen();
    const out: CatalogTopic[] = [];
    let pageToken = '';
    do {
      // Page tokens are topic-name cursors: a page may come from another NameServer than the last.
      const res = await this.call<ListCatalogResponse__Output>('ListTopics', (client, cb) =>
        client.listTopics({ pageSize: 500, pageToken, includeOffline: o.includeOffline ?? false }, requestMetadata(this.options.clientId), this.deadline(), cb),
      );
      fromStatus(res.status);
      out.push(...(res.topics ?? []).map(topicFromWire));
      pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
  }

  /**
   * The catalog, then its changes, as they happen. `break` (or `signal`) ends the stream.
   * Events: snapshot… snapshot-end, then added / updated / liveness / removed.
   *
   * Opened on the current NameServer; when that fails at the transport level before any event
   * arrived, on the next one (each at most once). A stream that fails after delivering events
   * throws ClientError('TRANSPORT') and makes the next NameServer current: call `watch()` again
   * to continue there (with its snapshot). A NameServer ending the stream cleanly ends the iterator.
   */
  async *watch(o: { includeOffline?: boolean; signal?: AbortSignal } = {}): AsyncIterable<CatalogEvent> {
    this.checkOpen();
    const n = this.failover.endpoints.length;
    let endpoint = this.failover.current;
    for (let attempt = 1; ; attempt++) {
      const outcome = yield* this.watchOn(endpoint, o);
      if (outcome === undefined) return;
      const { err, delivered } = outcome;
      if (o.signal?.aborted || this.closed || !isTransportFailure(err)) throw err;
      const next = this.failover.unreachable(endpoint, 'WatchTopics', err);
      if (delivered || attempt >= n) throw err;
      endpoint = next;
    }
  }

  /**
   * One WatchTopics stream on `endpoint`, its events yielded. Returns undefined when it ended
   * cleanly (or was cancelled by the caller), else the error and whether any event was delivered.
   */
  private async *watchOn(
    endpoint: Endpoint,
    o: { includeOffline?: boolean; signal?: AbortSignal },
  ): AsyncGenerator<CatalogEvent, { err: Error; delivered: boolean } | undefined> {
    if (o.signal?.aborted) return undefined;
    const site = { endpoint, method: 'WatchTopics' };
    const stream = this.client(endpoint).watchTopics({ includeOffline: o.includeOffline ?? false }, requestMetadata(this.options.clientId));
    const queue: CatalogEvent[] = [];
    let wake: (() => void) | undefined;
    let ended: Error | null | undefined;
    let delivered = false;
    /** Set before this side cancels the stream: a CANCELLED status then is no failure. */
    let cancelling = false;
    const onAbort = () => {
      cancelling = true;
      stream.cancel();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (e: TopicEvent__Output) => {
      if (!delivered) {
        delivered = true;
        this.failover.answered(endpoint);
      }
      const type = e.type;
      if (type === 'SNAPSHOT_END') queue.push({ type: 'snapshot-end' });
      else if (type === 'REMOVED') queue.push({ type: 'removed', name: e.topic?.name ?? '' });
      else if (type === 'SNAPSHOT') queue.push({ type: 'snapshot', topic: topicFromWire(e.topic) });
      else if (type === 'ADDED' || type === 'UPDATED' || type === 'LIVENESS') queue.push({ type: type.toLowerCase() as 'added' | 'updated' | 'liveness', topic: topicFromWire(e.topic) });
      wake?.();
    });
    stream.on('end', () => {
      ended ??= null;
      wake?.();
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED && cancelling) ended = null;
      else {
        // Cancelled by the other side (a NameServer shutting down) is a transport failure here.
        const code = err.code === grpc.status.CANCELLED ? 'TRANSPORT' : (toClientError(err, site) as ClientError).code;
        ended = new ClientError(code, `watch stream failed: ${err.message}`, { ...site, grpcCode: err.code, cause: err });
      }
      wake?.();
    });
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended !== undefined) return ended ? { err: ended, delivered } : undefined;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      cancelling = true;
      stream.cancel();
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const c of this.clients.values()) c.close();
      this.clients.clear();
    }
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new ClientError('CLOSED', 'discovery client is closed');
  }
}
