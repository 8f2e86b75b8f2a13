/**
 * Semantic discovery against the NameServer (agentmq.v1.Discovery): "who can do X?" in natural
 * language, the catalog, and a watch stream of its changes as an async iterator.
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
import { deadlineIn, unaryCall } from '../rpc/unary-call.js';
import { ClientError } from '../errors.js';
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
  private readonly client: WireDiscoveryClient;
  private closed = false;

  constructor(options: ClientOptions = {}) {
    this.options = resolveClientOptions(options);
    const Ctor = discoveryService();
    this.client = new Ctor(this.options.nameserver, grpc.credentials.createInsecure());
  }

  private site(method: string) {
    return { endpoint: this.options.nameserver, method };
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
    const res = await unaryCall<DiscoverResponse__Output>(
      this.site('Discover'),
      (cb) => this.client.discover(req, requestMetadata(this.options.clientId), { deadline: deadlineIn(this.options.requestTimeoutMs) }, cb),
      o.signal,
    );
    fromStatus(res.status);
    return {
      hits: (res.hits ?? []).map((h) => ({ topic: topicFromWire(h.topic), score: h.score, vectorScore: h.vectorScore, lexicalScore: h.lexicalScore })),
      noMatch: res.noMatch,
      noMatchReason: res.noMatchReason,
      embedder: res.embedder,
    };
  }

  /** One catalog topic; undefined if the catalog does not have it. */
  async getTopic(name: string): Promise<CatalogTopic | undefined> {
    this.checkOpen();
    const res = await unaryCall<GetCatalogTopicResponse__Output>(this.site('GetTopic'), (cb) =>
      this.client.getTopic({ name }, requestMetadata(this.options.clientId), { deadline: deadlineIn(this.options.requestTimeoutMs) }, cb),
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
      const res = await unaryCall<ListCatalogResponse__Output>(this.site('ListTopics'), (cb) =>
        this.client.listTopics({ pageSize: 500, pageToken, includeOffline: o.includeOffline ?? false }, requestMetadata(this.options.clientId), { deadline: deadlineIn(this.options.requestTimeoutMs) }, cb),
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
   */
  async *watch(o: { includeOffline?: boolean; signal?: AbortSignal } = {}): AsyncIterable<CatalogEvent> {
    this.checkOpen();
    const stream = this.client.watchTopics({ includeOffline: o.includeOffline ?? false }, requestMetadata(this.options.clientId));
    const queue: CatalogEvent[] = [];
    let wake: (() => void) | undefined;
    let ended: Error | null | undefined;
    const onAbort = () => stream.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (e: TopicEvent__Output) => {
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
      ended = err.code === grpc.status.CANCELLED ? null : new ClientError('TRANSPORT', `watch stream failed: ${err.message}`, this.site('WatchTopics'));
      wake?.();
    });
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended !== undefined) {
          if (ended) throw ended;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.client.close();
    }
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new ClientError('CLOSED', 'discovery client is closed');
  }
}
