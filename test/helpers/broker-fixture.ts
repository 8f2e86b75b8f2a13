/**
 * In-process broker fixture for broker tests: start/restart a broker on a tmp dir (127.0.0.1,
 * port 0, standalone), plus small typed wrappers around the raw wire calls (send, receive, ack,
 * change invisibility) that return the RocketMQ status instead of throwing on non-OK codes.
 */
import type * as grpc from '@grpc/grpc-js';
import { createBroker, type Broker, type BrokerOptions } from '../../broker/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import type { BrokerAdminClient, MessagingServiceClient } from '../../proto/index.js';
import type { Message } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { SystemProperties } from '../../proto/gen/apache/rocketmq/v2/SystemProperties.js';
import type { ReceiveMessageRequest } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageRequest.js';
import type { SendMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/SendMessageResponse.js';
import type { AckMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/AckMessageResponse.js';
import type { ChangeInvisibleDurationResponse__Output } from '../../proto/gen/apache/rocketmq/v2/ChangeInvisibleDurationResponse.js';
import { adminClient, call, messagingClient, receiveAll, wireMetadata } from './wire.js';

export interface RunningBroker {
  broker: Broker;
  addr: string;
  mq: MessagingServiceClient;
  admin: BrokerAdminClient;
  /** Closes the clients and the broker (idempotent). */
  close(): Promise<void>;
}

/** Starts a standalone broker on 127.0.0.1:0 over `dataDir`, with raw clients connected. */
export async function startBroker(dataDir: string, opts: Omit<BrokerOptions, 'store'> & { store?: BrokerOptions['store'] } = {}): Promise<RunningBroker> {
  const broker = createBroker({
    host: '127.0.0.1',
    port: 0,
    nameservers: [],
    logger: silentLogger,
    ...opts,
    store: { ...(opts.store ?? {}), dataDir },
  });
  await broker.start();
  const addr = `127.0.0.1:${broker.address.port}`;
  const mq = messagingClient(addr);
  const admin = adminClient(addr);
  let closed: Promise<void> | undefined;
  return {
    broker,
    addr,
    mq,
    admin,
    close: () => {
      closed ??= (async () => {
        mq.close();
        admin.close();
        await broker.close();
      })();
      return closed;
    },
  };
}

/** A wire message; `sp` overrides/extends the system properties (default: NORMAL, id = `id`). */
export function wireMessage(topic: string, id: string, body: string | Buffer = `body-${id}`, sp: Partial<SystemProperties> = {}): Message {
  return {
    topic: { name: topic },
    body: typeof body === 'string' ? Buffer.from(body) : body,
    systemProperties: { messageId: id, messageType: 'NORMAL', ...sp },
  };
}

export function send(mq: MessagingServiceClient, messages: Message[], md?: grpc.Metadata): Promise<SendMessageResponse__Output> {
  return call(mq, mq.SendMessage, { messages }, md);
}

export interface ReceiveOptions {
  topic: string;
  group: string;
  batchSize?: number;
  invisibleMs?: number;
  pollMs?: number;
  filter?: { type: 'TAG' | 'SQL'; expression: string };
  md?: grpc.Metadata;
}

export interface ReceiveResult {
  code: string;
  message: string;
  messages: Message__Output[];
}

export function receiveRequest(o: ReceiveOptions): ReceiveMessageRequest {
  return {
    group: { name: o.group },
    messageQueue: { topic: { name: o.topic }, id: 0 },
    filterExpression: o.filter ?? { type: 'TAG', expression: '*' },
    batchSize: o.batchSize ?? 32,
    invisibleDuration: ms(o.invisibleMs ?? 30_000),
    longPollingTimeout: ms(o.pollMs ?? 0),
  };
}

/** One ReceiveMessage call: the status frame and the messages. */
export async function receive(mq: MessagingServiceClient, o: ReceiveOptions): Promise<ReceiveResult> {
  const frames = await receiveAll(mq, receiveRequest(o), o.md ?? wireMetadata(), (o.pollMs ?? 0) + 10_000);
  const status = frames.find((f) => f.status)?.status;
  return { code: status?.code ?? 'NO_STATUS', message: status?.message ?? '', messages: frames.filter((f) => f.message).map((f) => f.message!) };
}

export function ack(mq: MessagingServiceClient, topic: string, group: string, handles: { messageId?: string; receiptHandle: string }[], md?: grpc.Metadata): Promise<AckMessageResponse__Output> {
  return call(mq, mq.AckMessage, { topic: { name: topic }, group: { name: group }, entries: handles.map((h) => ({ messageId: h.messageId ?? '', receiptHandle: h.receiptHandle })) }, md);
}

export function changeInvisible(mq: MessagingServiceClient, topic: string, group: string, receiptHandle: string, invisibleMs: number | undefined, messageId = ''): Promise<ChangeInvisibleDurationResponse__Output> {
  return call(mq, mq.ChangeInvisibleDuration, {
    topic: { name: topic },
    group: { name: group },
    receiptHandle,
    messageId,
    ...(invisibleMs === undefined ? {} : { invisibleDuration: ms(invisibleMs) }),
  });
}

/** A protobuf Duration for `milliseconds` (may be negative: seconds and nanos share the sign). */
export function ms(milliseconds: number): { seconds: number; nanos: number } {
  const seconds = Math.trunc(milliseconds / 1000);
  return { seconds, nanos: (milliseconds - seconds * 1000) * 1e6 };
}

export const idOf = (m: Message__Output): string => m.systemProperties!.messageId;
export const handleOf = (m: Message__Output): string => m.systemProperties!.receiptHandle!;
export const attemptOf = (m: Message__Output): number => m.systemProperties!.deliveryAttempt ?? 0;
