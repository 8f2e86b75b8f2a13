/**
 * The shared machinery of a producer or consumer, wired together: channels, NameServer and broker
 * RPC wrappers, the route cache, one telemetry session per broker in any cached route, and the
 * heartbeat timer. Producer, SimpleConsumer and LiteConsumer each own one `ClientCore` (and so one
 * client id).
 *
 * Telemetry follows the routes: a broker that appears in a route gets a session (opened in the
 * background), a broker that left every route loses it.
 */
import type { Logger } from '../proto/common/logger.js';
import type { ResolvedClientOptions } from './options.js';
import { BrokerRpc } from './rpc/broker-rpc.js';
import { ChannelPool } from './rpc/channels.js';
import type { ClientSettings, ServerSettings } from './rpc/convert.js';
import { HeartbeatTimer } from './rpc/heartbeat-timer.js';
import { NameServerRpc } from './rpc/nameserver-rpc.js';
import type { RpcContext } from './rpc/rpc-context.js';
import { TelemetrySession } from './rpc/telemetry-session.js';
import { SessionMux } from './rpc/session-mux.js';
import { EndpointIsolation } from './route/endpoint-isolation.js';
import { RouteCache } from './route/route-cache.js';
import type { ClientType, Endpoint } from './types.js';

export interface ClientCoreOptions {
  options: ResolvedClientOptions;
  /** Reported with heartbeats; a function when it can change (a lite consumer turning push). */
  clientType: ClientType | (() => ClientType);
  /** Consumer group (consumers only): sent with heartbeats and termination notices. */
  group?: string;
  /** The settings reported on every telemetry stream. */
  settings: () => ClientSettings;
  onSettings?: (endpoint: Endpoint, settings: ServerSettings) => void;
  /** After every successful route fetch (the brokers serving `topic` may have changed). */
  onRouteChange?: (topic: string) => void;
  /** A broker dropped one of this client's lite subscriptions (Exclusive group take-over). */
  onNotifyUnsubscribeLite?: (endpoint: Endpoint, liteTopic: string) => void;
}

export class ClientCore {
  readonly options: ResolvedClientOptions;
  readonly logger: Logger;
  readonly channels = new ChannelPool();
  readonly nameserver: NameServerRpc;
  readonly brokers: BrokerRpc;
  readonly routes: RouteCache;
  /** Brokers that recently failed at the transport level; senders and receivers avoid them. */
  readonly isolation = new EndpointIsolation();
  private readonly rpc: RpcContext;
  /** The messaging session per broker (undefined with `transport: 'unary'`). */
  private readonly mux: SessionMux | undefined;
  private readonly sessions = new Map<Endpoint, TelemetrySession>();
  private readonly heartbeat: HeartbeatTimer;
  private closed = false;

  constructor(private readonly core: ClientCoreOptions) {
    this.options = core.options;
    this.logger = core.options.logger;
    this.rpc = {
      channels: this.channels,
      clientId: core.options.clientId,
      requestTimeoutMs: core.options.requestTimeoutMs,
      logger: this.logger,
      isolation: this.isolation,
    };
    this.nameserver = new NameServerRpc(this.rpc, core.options.nameservers);
    this.mux = core.options.transport === 'session' ? new SessionMux(this.rpc) : undefined;
    this.brokers = new BrokerRpc(this.rpc, this.mux);
    this.routes = new RouteCache(this.nameserver, {
      refreshIntervalMs: core.options.routeRefreshIntervalMs,
      logger: this.logger,
      onChange: (topic) => {
        this.syncSessions();
        if (!this.closed) core.onRouteChange?.(topic);
      },
    });
    const heartbeat: ConstructorParameters<typeof HeartbeatTimer>[0] = {
      rpc: this.brokers,
      endpoints: () => this.routes.endpoints(),
      clientType: core.clientType,
      intervalMs: core.options.heartbeatIntervalMs,
      logger: this.logger,
    };
    if (core.group !== undefined) heartbeat.group = core.group;
    this.heartbeat = new HeartbeatTimer(heartbeat);
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** Starts the route refresh and heartbeat timers. */
  start(): void {
    this.routes.start();
    this.heartbeat.start();
  }

  /** Makes sure each endpoint has a telemetry session; settles with each handshake's outcome. */
  connect(endpoints: Iterable<Endpoint>): Promise<PromiseSettledResult<void>[]> {
    return Promise.allSettled([...new Set(endpoints)].map((e) => this.session(e).ready()));
  }

  /** Re-sends settings on every session (the reported topics changed). */
  resyncSettings(): void {
    for (const s of this.sessions.values()) s.syncSettings();
  }

  /** NotifyClientTermination to every broker with a session, then stops everything. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.stop();
    this.routes.close();
    const endpoints = [...this.sessions.keys()];
    await Promise.all(
      endpoints.map((endpoint) =>
        this.brokers.notifyClientTermination(endpoint, this.core.group).catch((err: unknown) => {
          this.logger.debug('NotifyClientTermination failed', { endpoint, err });
        }),
      ),
    );
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    this.sessions.clear();
    this.mux?.close();
    this.channels.close();
  }

  private session(endpoint: Endpoint): TelemetrySession {
    let s = this.sessions.get(endpoint);
    if (!s) {
      const options: ConstructorParameters<typeof TelemetrySession>[0] = {
        ctx: this.rpc,
        endpoint,
        settings: this.core.settings,
        handshakeTimeoutMs: this.options.requestTimeoutMs,
      };
      if (this.core.onSettings) options.onSettings = this.core.onSettings;
      if (this.core.onNotifyUnsubscribeLite) options.onNotifyUnsubscribeLite = this.core.onNotifyUnsubscribeLite;
      s = new TelemetrySession(options);
      this.sessions.set(endpoint, s);
    }
    return s;
  }

  /** Opens sessions to brokers new in the routes, closes those of brokers gone from all routes. */
  private syncSessions(): void {
    if (this.closed) return;
    const live = this.routes.endpoints();
    for (const endpoint of live) {
      if (this.sessions.has(endpoint)) continue;
      this.session(endpoint)
        .ready()
        .catch((err: unknown) => this.logger.warn('telemetry handshake failed; retrying in the background', { endpoint, err }));
    }
    for (const [endpoint, s] of this.sessions) {
      if (live.has(endpoint)) continue;
      this.sessions.delete(endpoint);
      void s.close();
    }
  }
}
