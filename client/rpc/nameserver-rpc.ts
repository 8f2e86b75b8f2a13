/**
 * Typed calls to the NameServer (the clients' access point): QueryRoute on its
 * apache.rocketmq.v2.MessagingService, ListBrokers on agentmq.v1.NameServerRegistry.
 *
 * NameServers are stateless replicas (every broker registers with every one), so a client may be
 * given several: `NameServerFailover` sends each call to the current one and, when it fails at the
 * transport level (unreachable, connection refused, deadline exceeded: `isTransportFailure`),
 * retries it on the next, once per NameServer, each attempt with its own deadline. The one that
 * answered becomes the current one. A status a NameServer answered with is never retried
 * elsewhere: the replicas would say the same.
 */
import type { Logger } from '../../proto/common/logger.js';
import { fromStatus } from '../../proto/common/status.js';
import type { ListBrokersResponse__Output } from '../../proto/gen/agentmq/v1/ListBrokersResponse.js';
import type { QueryRouteResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryRouteResponse.js';
import type { BrokerDescriptor } from '../admin/admin-types.js';
import { ClientError } from '../errors.js';
import { isTransportFailure } from '../route/endpoint-isolation.js';
import type { RouteQueue } from '../route/route-cache.js';
import type { Endpoint } from '../types.js';
import { brokerFromWire, endpointToWire, routeQueueFromWire } from './convert.js';
import { requestMetadata } from './metadata.js';
import type { RpcContext } from './rpc-context.js';
import { deadlineIn, unaryCall } from './unary-call.js';

/**
 * The NameServers of one client and which of them is current. Shared by the NameServer RPCs and
 * the DiscoveryClient.
 */
export class NameServerFailover {
  readonly endpoints: readonly Endpoint[];
  private index = 0;

  constructor(
    endpoints: Endpoint | readonly Endpoint[],
    private readonly logger: Logger,
  ) {
    this.endpoints = typeof endpoints === 'string' ? [endpoints] : [...new Set(endpoints)];
    if (this.endpoints.length === 0) throw new Error('NameServerFailover needs at least one NameServer');
  }

  /** The NameServer calls go to now. */
  get current(): Endpoint {
    return this.endpoints[this.index]!;
  }

  /**
   * Runs `call` against the current NameServer; on a transport failure, against the next ones in
   * turn (each at most once). Settles with the first answer (and makes its NameServer current) or
   * rejects with the first non-transport error, or the last transport error once every NameServer
   * failed. No retry once `signal` is aborted.
   */
  async run<T>(method: string, call: (endpoint: Endpoint) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const n = this.endpoints.length;
    const first = this.index;
    let lastErr: unknown;
    for (let i = 0; i < n; i++) {
      const endpoint = this.endpoints[(first + i) % n]!;
      try {
        const res = await call(endpoint);
        this.answered(endpoint);
        return res;
      } catch (err) {
        if (!isTransportFailure(err)) {
          // A status (MqError) means the NameServer answered: it becomes current.
          if (!(err instanceof ClientError)) this.answered(endpoint);
          throw err;
        }
        lastErr = err;
        if (signal?.aborted) throw err;
        if (i < n - 1) this.unreachable(endpoint, method, err);
      }
    }
    throw exhausted(lastErr, this.endpoints);
  }

  /** `endpoint` answered: it becomes current. */
  answered(endpoint: Endpoint): void {
    const i = this.endpoints.indexOf(endpoint);
    if (i >= 0) this.index = i;
  }

  /**
   * `endpoint` failed at the transport level: when it is current, the next one becomes current
   * (logged at warn). Returns the NameServer to try next.
   */
  unreachable(endpoint: Endpoint, method: string, err: unknown): Endpoint {
    const i = this.endpoints.indexOf(endpoint);
    const next = this.endpoints[(i + 1) % this.endpoints.length]!;
    if (i === this.index && this.endpoints.length > 1) {
      this.index = (i + 1) % this.endpoints.length;
      this.logger.warn('nameserver unreachable; trying the next', { method, endpoint, next, err });
    }
    return next;
  }
}

/** The error of the last attempt; with several NameServers, its message says all of them failed. */
function exhausted(err: unknown, endpoints: readonly Endpoint[]): unknown {
  if (endpoints.length < 2 || !(err instanceof ClientError)) return err;
  return new ClientError(err.code, `${err.message} (every NameServer failed: ${endpoints.join(', ')})`, { ...err.context, cause: err });
}

export class NameServerRpc {
  readonly failover: NameServerFailover;

  constructor(
    private readonly ctx: RpcContext,
    /** The NameServers, `host:port` each (one, or several replicas to fail over between). */
    nameservers: Endpoint | readonly Endpoint[],
  ) {
    this.failover = new NameServerFailover(nameservers, ctx.logger);
  }

  /** The NameServer `host:port` calls go to now (changes when it becomes unreachable). */
  get accessPoint(): Endpoint {
    return this.failover.current;
  }

  /** Every NameServer, in the configured order. */
  get nameservers(): readonly Endpoint[] {
    return this.failover.endpoints;
  }

  /** QueryRoute(topic, endpoints = access point): the topic's queues with their broker endpoints. */
  queryRoute(topic: string): Promise<RouteQueue[]> {
    return this.failover.run('QueryRoute', async (endpoint) => {
      const site = { endpoint, method: 'QueryRoute' };
      const client = this.ctx.channels.messaging(endpoint);
      const req = { topic: { name: topic, resourceNamespace: '' }, endpoints: endpointToWire(endpoint) };
      const res = await unaryCall<QueryRouteResponse__Output>(site, (cb) =>
        client.queryRoute(req, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
      );
      fromStatus(res.status);
      return (res.messageQueues ?? []).flatMap((mq) => routeQueueFromWire(mq, topic) ?? []);
    });
  }

  /** The live brokers the NameServer knows, with their topic tables. */
  listBrokers(): Promise<BrokerDescriptor[]> {
    return this.failover.run('ListBrokers', async (endpoint) => {
      const site = { endpoint, method: 'ListBrokers' };
      const client = this.ctx.channels.registry(endpoint);
      const res = await unaryCall<ListBrokersResponse__Output>(site, (cb) =>
        client.listBrokers({}, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
      );
      fromStatus(res.status);
      return (res.brokers ?? []).flatMap((b) => brokerFromWire(b) ?? []);
    });
  }
}
