/**
 * Topic routes: topic -> the queues (and so the brokers) that serve it, from QueryRoute on the
 * NameServer.
 *
 * - `get(topic)` answers from the cache or fetches; concurrent lookups of one topic share a
 *   single QueryRoute (as do refreshes).
 * - Every cached topic is re-queried every `refreshIntervalMs` (unref'd timer); a failed refresh
 *   keeps the stale route and is logged. Callers refresh a topic at once after a failed send.
 * - `onChange(topic, route)` runs after every successful fetch, so the owner can open telemetry to
 *   new brokers and drop brokers that left every route.
 */
import type { Logger } from '../../proto/common/logger.js';
import { isReadable, isWritable } from '../types.js';
import type { Endpoint, MessageType, Permission } from '../types.js';

export interface RouteQueue {
  topic: string;
  queueId: number;
  permission: Permission;
  brokerName: string;
  brokerId: number;
  /** Where the broker's MessagingService listens. */
  endpoint: Endpoint;
  acceptMessageTypes: MessageType[];
}

export interface TopicRoute {
  topic: string;
  queues: RouteQueue[];
  fetchedAtMs: number;
}

export interface RouteSource {
  queryRoute(topic: string): Promise<RouteQueue[]>;
}

export interface RouteCacheOptions {
  refreshIntervalMs: number;
  logger: Logger;
  onChange?: (topic: string, route: TopicRoute) => void;
}

type TopicName = string;

/** Distinct endpoints of brokers with a writable queue, ordered by broker name. */
export function writableEndpoints(route: TopicRoute): Endpoint[] {
  return distinctBrokers(route.queues.filter((q) => isWritable(q.permission))).map((q) => q.endpoint);
}

/** Names of the brokers of `writableEndpoints(route)`, index for index (lite topic owners are chosen by name). */
export function writableBrokerNames(route: TopicRoute): string[] {
  return distinctBrokers(route.queues.filter((q) => isWritable(q.permission))).map((q) => q.brokerName);
}

/** One readable queue per broker (queue 0 when there is one), ordered by broker name. */
export function readableQueues(route: TopicRoute): RouteQueue[] {
  return distinctBrokers(route.queues.filter((q) => isReadable(q.permission)));
}

function distinctBrokers(queues: RouteQueue[]): RouteQueue[] {
  const byEndpoint = new Map<Endpoint, RouteQueue>();
  for (const q of queues) {
    const seen = byEndpoint.get(q.endpoint);
    if (!seen || (q.queueId === 0 && seen.queueId !== 0)) byEndpoint.set(q.endpoint, q);
  }
  return [...byEndpoint.values()].sort((a, b) =>
    a.brokerName === b.brokerName ? a.endpoint.localeCompare(b.endpoint) : a.brokerName.localeCompare(b.brokerName),
  );
}

export class RouteCache {
  private readonly routes = new Map<TopicName, TopicRoute>();
  private readonly inflight = new Map<TopicName, Promise<TopicRoute>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly source: RouteSource,
    private readonly options: RouteCacheOptions,
  ) {}

  /** The cached route, without fetching. */
  peek(topic: string): TopicRoute | undefined {
    return this.routes.get(topic);
  }

  get(topic: string): Promise<TopicRoute> {
    const cached = this.routes.get(topic);
    return cached ? Promise.resolve(cached) : this.refresh(topic);
  }

  /** Fetches the route now (joining a fetch already in flight). */
  refresh(topic: string): Promise<TopicRoute> {
    let p = this.inflight.get(topic);
    if (p) return p;
    p = this.source
      .queryRoute(topic)
      .then((queues) => {
        const route: TopicRoute = { topic, queues, fetchedAtMs: Date.now() };
        if (!this.closed) {
          this.routes.set(topic, route);
          this.options.onChange?.(topic, route);
        }
        return route;
      })
      .finally(() => this.inflight.delete(topic));
    this.inflight.set(topic, p);
    return p;
  }

  topics(): TopicName[] {
    return [...this.routes.keys()];
  }

  /** Every broker endpoint of every cached route. */
  endpoints(): Set<Endpoint> {
    const out = new Set<Endpoint>();
    for (const r of this.routes.values()) for (const q of r.queues) out.add(q.endpoint);
    return out;
  }

  /** Starts the periodic refresh of every cached topic. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.refreshAll(), this.options.refreshIntervalMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private refreshAll(): void {
    for (const topic of this.routes.keys()) {
      this.refresh(topic).catch((err: unknown) => {
        this.options.logger.warn('route refresh failed; keeping the cached route', { topic, err });
      });
    }
  }
}
