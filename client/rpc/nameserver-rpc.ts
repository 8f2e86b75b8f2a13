/**
 * Typed calls to the NameServer (the clients' access point): QueryRoute on its
 * apache.rocketmq.v2.MessagingService, ListBrokers on agentmq.v1.NameServerRegistry.
 */
import { fromStatus } from '../../proto/common/status.js';
import type { ListBrokersResponse__Output } from '../../proto/gen/agentmq/v1/ListBrokersResponse.js';
import type { QueryRouteResponse__Output } from '../../proto/gen/apache/rocketmq/v2/QueryRouteResponse.js';
import type { BrokerDescriptor } from '../admin/admin-types.js';
import type { RouteQueue } from '../route/route-cache.js';
import type { Endpoint } from '../types.js';
import { brokerFromWire, endpointToWire, routeQueueFromWire } from './convert.js';
import { requestMetadata } from './metadata.js';
import type { RpcContext } from './rpc-context.js';
import { deadlineIn, unaryCall } from './unary-call.js';

export class NameServerRpc {
  constructor(
    private readonly ctx: RpcContext,
    /** The NameServer `host:port`. */
    readonly accessPoint: Endpoint,
  ) {}

  /** QueryRoute(topic, endpoints = access point): the topic's queues with their broker endpoints. */
  async queryRoute(topic: string): Promise<RouteQueue[]> {
    const site = { endpoint: this.accessPoint, method: 'QueryRoute' };
    const client = this.ctx.channels.messaging(this.accessPoint);
    const req = { topic: { name: topic, resourceNamespace: '' }, endpoints: endpointToWire(this.accessPoint) };
    const res = await unaryCall<QueryRouteResponse__Output>(site, (cb) =>
      client.queryRoute(req, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
    );
    fromStatus(res.status);
    return (res.messageQueues ?? []).flatMap((mq) => routeQueueFromWire(mq, topic) ?? []);
  }

  /** The live brokers the NameServer knows, with their topic tables. */
  async listBrokers(): Promise<BrokerDescriptor[]> {
    const site = { endpoint: this.accessPoint, method: 'ListBrokers' };
    const client = this.ctx.channels.registry(this.accessPoint);
    const res = await unaryCall<ListBrokersResponse__Output>(site, (cb) =>
      client.listBrokers({}, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
    );
    fromStatus(res.status);
    return (res.brokers ?? []).flatMap((b) => brokerFromWire(b) ?? []);
  }
}
