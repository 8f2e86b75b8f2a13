/**
 * apache.rocketmq.v2.MessagingService as served by the NameServer, the clients' access point:
 * QueryRoute, QueryAssignment, Heartbeat and NotifyClientTermination, and SyncLiteSubscription
 * forwarded to the brokers of the parent topic. Every other RPC belongs to
 * brokers; here it answers NOT_IMPLEMENTED with a status (never a gRPC error), so a client that
 * dials the wrong address gets a clear reason.
 */
import type * as grpc from '@grpc/grpc-js';
import { Code } from '../../proto/common/codes.js';
import { MqError, NotFoundError } from '../../proto/common/errors.js';
import type { Logger } from '../../proto/common/logger.js';
import { okStatus } from '../../proto/common/status.js';
import type { WireStatus } from '../../proto/common/status.js';
import type { MessagingServiceHandlers } from '../../proto/index.js';
import { isReadable } from '../registry/route-table.js';
import type { QueueRoute, RouteTable } from '../registry/route-table.js';
import { assignmentToWire, queueToWire, topicResource } from './convert.js';
import { requireClientId, validateGroupName, validateTopicName } from './validate.js';
import { header, statusOnly, unary } from './wrap.js';
import type { BrokerForwarder } from './broker-forwarder.js';
import type { StatusResponse } from './wrap.js';

/** Header every RocketMQ v2 client sends with its identity (rocketmq-notes §2.1). */
export const CLIENT_ID_HEADER = 'x-mq-client-id';

export interface MessagingHandlerDeps {
  routes: RouteTable;
  logger: Logger;
  forwarder: BrokerForwarder;
}

export function messagingHandlers({ routes, logger, forwarder }: MessagingHandlerDeps): MessagingServiceHandlers {
  /** The live queues of a topic, or TOPIC_NOT_FOUND. */
  const routeOf = (name: string): QueueRoute[] => {
    const queues = routes.route(name);
    if (queues.length === 0) throw new NotFoundError(Code.TOPIC_NOT_FOUND, `topic ${name} not found`, { topic: name });
    return queues;
  };

  return {
    QueryRoute: unary('QueryRoute', logger, (req, call) => {
      requireClientId(header(call.metadata, CLIENT_ID_HEADER));
      const name = validateTopicName(req.topic?.name);
      const topic = topicResource(req.topic, name);
      return { status: okStatus(), messageQueues: routeOf(name).map((q) => queueToWire(q, topic)) };
    }),

    QueryAssignment: unary('QueryAssignment', logger, (req, call) => {
      requireClientId(header(call.metadata, CLIENT_ID_HEADER));
      const name = validateTopicName(req.topic?.name);
      validateGroupName(req.group?.name);
      const readable = routeOf(name).filter((q) => isReadable(q.permission));
      if (readable.length === 0) {
        throw new MqError(Code.FORBIDDEN, `topic ${name} has no readable queue`, { topic: name });
      }
      const topic = topicResource(req.topic, name);
      return { status: okStatus(), assignments: readable.map((q) => assignmentToWire(q, topic)) };
    }),

    // Clients heartbeat every route endpoint, the access point included; nothing to track here.
    Heartbeat: unary('Heartbeat', logger, () => ({ status: okStatus() })),
    // The Node client awaits this on shutdown and throws on a non-OK answer (rocketmq-notes §2.2).
    NotifyClientTermination: unary('NotifyClientTermination', logger, () => ({ status: okStatus() })),

    SendMessage: notServedUnary('SendMessage'),
    AckMessage: notServedUnary('AckMessage'),
    ForwardMessageToDeadLetterQueue: notServedUnary('ForwardMessageToDeadLetterQueue'),
    ChangeInvisibleDuration: notServedUnary('ChangeInvisibleDuration'),
    EndTransaction: notServedUnary('EndTransaction'),
    RecallMessage: notServedUnary('RecallMessage'),
    // The official Node LitePushConsumer sends this to its access point: forward to the brokers
    // serving the parent topic (each keeps the InterestSets of its lite topics).
    SyncLiteSubscription: unary('SyncLiteSubscription', logger, async (req, call) => {
      const clientId = requireClientId(header(call.metadata, CLIENT_ID_HEADER));
      const name = validateTopicName(req.topic?.name);
      validateGroupName(req.group?.name);
      const endpoints = new Map<string, QueueRoute['broker']['endpoint']>();
      for (const q of routeOf(name)) endpoints.set(`${q.broker.endpoint.host}:${q.broker.endpoint.port}`, q.broker.endpoint);
      return { status: await forwarder.syncLiteSubscription([...endpoints.values()], req, clientId) };
    }),
    UpdateOffset: notServedUnary('UpdateOffset'),
    GetOffset: notServedUnary('GetOffset'),
    QueryOffset: notServedUnary('QueryOffset'),
    ReceiveMessage: notServedStream('ReceiveMessage'),
    PullMessage: notServedStream('PullMessage'),
    Telemetry: notServedBidi('Telemetry'),
  };
}

function notServedStatus(rpc: string): WireStatus {
  return { code: Code.NOT_IMPLEMENTED, message: `${rpc} is served by brokers, not the NameServer` };
}

function notServedUnary<Req, Res extends StatusResponse>(rpc: string): grpc.handleUnaryCall<Req, Res> {
  return (_call, callback) => callback(null, statusOnly<Res>(notServedStatus(rpc)));
}

/** Server streams: exactly one response carrying the status, then the end of the stream. */
function notServedStream<Req, Res extends StatusResponse>(rpc: string): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    call.on('error', () => {}); // a client gone early is not our concern; never let it throw
    call.write(statusOnly<Res>(notServedStatus(rpc)));
    call.end();
  };
}

/** Telemetry: one TelemetryCommand carrying the status, then the end of our side. */
function notServedBidi<Req, Res extends StatusResponse>(rpc: string): grpc.handleBidiStreamingCall<Req, Res> {
  return (call) => {
    call.on('error', () => {}); // as above
    call.on('data', () => {}); // drain whatever the client keeps writing
    call.write(statusOnly<Res>(notServedStatus(rpc)));
    call.end();
  };
}
