/**
 * What this broker knows about its peers: for a parent topic, the brokers that serve it (writable
 * queues in the NameServers' route), so it can tell which broker owns a lite topic
 * (proto/common/lite-owner.ts) and where that broker listens.
 *
 * - Routes come from QueryRoute on the NameServers (first one that answers, in order), cached
 *   per topic. `view(topic)` answers from the cache without waiting: a stale entry (older than
 *   `refreshMs`) is refreshed in the background, a missing one is fetched in the background and
 *   `undefined` is returned (callers then act alone: store locally, accept every subscription).
 *   `load(topic)` waits for a first answer (bounded by the query deadline).
 * - A failed query keeps the stale view; failures are logged once per topic until one succeeds.
 * - Standalone (no NameServers): every view is undefined, this broker owns everything.
 *
 *   cache: topic -> { brokers: sorted names, endpoints: name -> host:port, fetchedAtMs }
 */
import * as grpc from '@grpc/grpc-js';
import { PEER_CHANNEL_OPTIONS } from '../../proto/common/channel-options.js';
import { Code } from '../../proto/common/codes.js';
import { formatHostPort, fromWireEndpoints } from '../../proto/common/endpoints.js';
import { liteOwner } from '../../proto/common/lite-owner.js';
import type { Logger } from '../../proto/common/logger.js';
import type { QueryAssignmentResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryAssignmentResponse.js';
import type { QueryRouteResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryRouteResponse.js';
import { messagingService, type MessagingServiceClient } from '../../proto/index.js';

/** Default: how old a cached route may get before it is re-queried (a third of the NameServer's expiry). */
export const DEFAULT_PEER_REFRESH_MS = 5_000;
/** Deadline of each QueryRoute to a NameServer. */
export const PEER_QUERY_DEADLINE_MS = 2_000;

export interface PeerView {
  /** Names of the brokers with a writable queue of the topic, sorted. */
  brokers: string[];
  /** Where each of them listens (host:port). */
  endpoints: Map<string, string>;
  fetchedAtMs: number;
}

export interface PeerDirectoryOptions {
  nameservers: string[];
  /** This broker's name (as registered). */
  self: string;
  /** @default 5000 */
  refreshMs?: number;
  logger: Logger;
  now?: () => number;
}

/** Who owns a lite topic: this broker (`local`), another one (`remote`), or unknown (`local` too). */
export type Ownership = { local: true } | { local: false; broker: string; endpoint: string };

const LOCAL: Ownership = { local: true };
const WRITE_PERMS = new Set(['WRITE', 'READ_WRITE']);

export class PeerDirectory {
  private readonly views = new Map<string, PeerView>();
  private readonly inflight = new Map<string, Promise<PeerView | undefined>>();
  private readonly failing = new Set<string>();
  /** When each topic was last queried (successfully or not). */
  private readonly attemptedAt = new Map<string, number>();
  private readonly clients: { address: string; client: MessagingServiceClient }[];
  private readonly refreshMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly o: PeerDirectoryOptions) {
    const Ctor = messagingService();
    this.clients = [...new Set(o.nameservers)].map((address) => ({
      address,
      client: new Ctor(address, grpc.credentials.createInsecure(), PEER_CHANNEL_OPTIONS) as unknown as MessagingServiceClient,
    }));
    this.refreshMs = o.refreshMs ?? DEFAULT_PEER_REFRESH_MS;
    this.now = o.now ?? Date.now;
  }

  /** True when there are NameServers to ask (a cluster member, not a standalone broker). */
  get clustered(): boolean {
    return this.clients.length > 0;
  }

  /** The cached view of `topic` (refreshing it in the background when stale or missing). */
  view(topic: string): PeerView | undefined {
    if (!this.clustered) return undefined;
    const v = this.views.get(topic);
    if (!v || this.now() - v.fetchedAtMs >= this.refreshMs) void this.refresh(topic);
    return v;
  }

  /**
   * The view of `topic`, fetched first if there is none yet, or if it is older than `maxAgeMs`
   * (a client's full sync after it saw the route change: this broker should see the same route).
   */
  async load(topic: string, maxAgeMs?: number): Promise<PeerView | undefined> {
    if (!this.clustered) return undefined;
    const v = this.view(topic);
    if (v && (maxAgeMs === undefined || this.now() - v.fetchedAtMs <= maxAgeMs)) return v;
    const inflight = this.inflight.get(topic);
    if (inflight) return inflight;
    // Asked again within maxAgeMs after a failed query (NameServers down): the last view stands.
    if (v && maxAgeMs !== undefined && this.now() - (this.attemptedAt.get(topic) ?? 0) <= maxAgeMs) return v;
    return this.refresh(topic);
  }

  /** Who owns lite topic `lite` of `parent` in the cached view (`local` when unknown). */
  owner(parent: string, lite: string): Ownership {
    const v = this.view(parent);
    if (!v || v.brokers.length <= 1) return LOCAL;
    const name = liteOwner(v.brokers, parent, lite);
    if (name === undefined || name === this.o.self) return LOCAL;
    const endpoint = v.endpoints.get(name);
    return endpoint === undefined ? LOCAL : { local: false, broker: name, endpoint };
  }

  /** True when this broker owns `lite` (or cannot tell). */
  owns(parent: string, lite: string): boolean {
    return this.owner(parent, lite).local;
  }

  /** Re-queries `topic` now (joining a query in flight). */
  refresh(topic: string): Promise<PeerView | undefined> {
    let p = this.inflight.get(topic);
    if (p) return p;
    this.attemptedAt.set(topic, this.now());
    p = this.query(topic)
      .then((v) => {
        if (v && !this.closed) {
          this.views.set(topic, v);
          if (this.failing.delete(topic)) this.o.logger.info('peer route query answered again', { topic });
        }
        return this.views.get(topic);
      })
      .catch((err: unknown) => {
        if (!this.failing.has(topic)) {
          this.failing.add(topic);
          this.o.logger.warn('peer route query failed; keeping the last view (lite topics stay local meanwhile)', { topic, err });
        }
        return this.views.get(topic);
      })
      .finally(() => this.inflight.delete(topic));
    this.inflight.set(topic, p);
    return p;
  }

  /**
   * QueryAssignment of `topic` for `group` as the NameServers answer it (every broker's readable
   * queues), or undefined when none answers (standalone, or all down). The official push
   * consumers ask the first broker of the route, not a NameServer: without this they would only
   * consume that broker's queues.
   */
  async clusterAssignments(topic: string, group: string): Promise<QueryAssignmentResponse__Output | undefined> {
    for (const { client } of this.clients) {
      if (this.closed) return undefined;
      try {
        const res = await new Promise<QueryAssignmentResponse__Output>((resolve, reject) => {
          const md = new grpc.Metadata();
          md.set('x-mq-client-id', `broker:${this.o.self}`);
          client.QueryAssignment(
            { topic: { name: topic, resourceNamespace: '' }, group: { name: group, resourceNamespace: '' }, endpoints: { scheme: 'IPv4', addresses: [] } },
            md,
            { deadline: Date.now() + PEER_QUERY_DEADLINE_MS },
            (err, r) => (err || !r ? reject(err ?? new Error('empty QueryAssignment answer')) : resolve(r)),
          );
        });
        if (res.status?.code === Code.OK) return res;
      } catch {
        // next NameServer
      }
    }
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients) (c.client as unknown as grpc.Client).close();
    this.views.clear();
  }

  /** QueryRoute on each NameServer in turn until one answers; undefined if the topic has no route. */
  private async query(topic: string): Promise<PeerView | undefined> {
    let last: unknown;
    for (const { address, client } of this.clients) {
      if (this.closed) return undefined;
      try {
        const res = await new Promise<QueryRouteResponse__Output>((resolve, reject) => {
          const md = new grpc.Metadata();
          md.set('x-mq-client-id', `broker:${this.o.self}`);
          client.QueryRoute(
            { topic: { name: topic, resourceNamespace: '' }, endpoints: { scheme: 'IPv4', addresses: [] } },
            md,
            { deadline: Date.now() + PEER_QUERY_DEADLINE_MS },
            (err, r) => (err || !r ? reject(err ?? new Error('empty QueryRoute answer')) : resolve(r)),
          );
        });
        if (res.status && res.status.code !== Code.OK) {
          // TOPIC_NOT_FOUND and the like: the NameServer answered; there is no cluster view.
          return { brokers: [], endpoints: new Map(), fetchedAtMs: this.now() };
        }
        const endpoints = new Map<string, string>();
        for (const mq of res.messageQueues ?? []) {
          if (!WRITE_PERMS.has(String(mq.permission))) continue;
          const name = mq.broker?.name;
          const hp = fromWireEndpoints(mq.broker?.endpoints);
          if (name && hp && !endpoints.has(name)) endpoints.set(name, formatHostPort(hp));
        }
        return { brokers: [...endpoints.keys()].sort(), endpoints, fetchedAtMs: this.now() };
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new Error('no NameServer configured');
  }
}
