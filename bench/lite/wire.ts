/**
 * Raw gRPC access for the lite benchmark: a pool of connections to the broker (each its own
 * HTTP/2 connection), per-client metadata (x-mq-client-id), promise-based unary calls and a
 * ReceiveMessage helper that timestamps each message frame as it arrives.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { adminService, messagingService, type BrokerAdminClient, type MessagingServiceClient } from '../../proto/index.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { ReceiveMessageRequest } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageRequest.js';
import type { ReceiveMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageResponse.js';

/** Separate connections per client object (grpc-js shares subchannels by default). */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

export class Pool {
  readonly messaging: MessagingServiceClient[];
  readonly admin: BrokerAdminClient;

  constructor(address: string, channels: number) {
    const Messaging = messagingService();
    const Admin = adminService();
    this.messaging = Array.from({ length: channels }, () => new Messaging(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS));
    this.admin = new Admin(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  pick(i: number): MessagingServiceClient {
    return this.messaging[i % this.messaging.length]!;
  }

  close(): void {
    for (const c of this.messaging) c.close();
    this.admin.close();
  }
}

export function metadata(clientId: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-mq-client-id', clientId);
  md.set('x-mq-protocol', 'v2');
  md.set('x-mq-language', 'HTTP');
  md.set('x-mq-request-id', randomUUID());
  return md;
}

type UnaryFn<Req, Res> = (argument: Req, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
type FullUnaryFn<Req, Res> = (argument: Req, md: grpc.Metadata, opts: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** Promise form of a unary call: `await unary(client, client.SendMessage, req, md)`. */
export function unary<Req, Res>(client: grpc.Client, fn: UnaryFn<Req, Res>, req: NoInfer<Req>, md: grpc.Metadata, timeoutMs = 60_000): Promise<Res> {
  const full = fn as unknown as FullUnaryFn<Req, Res>;
  return new Promise((resolve, reject) => full.call(client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!))));
}

export interface ReceivedFrame {
  message: Message__Output;
  /** performance.now() when the frame arrived. */
  at: number;
}

export interface ReceiveOutcome {
  /** Status code of the response ('OK', 'MESSAGE_NOT_FOUND', ...); undefined on a gRPC error. */
  code: string | undefined;
  messages: ReceivedFrame[];
  /** gRPC-level failure (cancelled by us: `cancelled`). */
  error: grpc.ServiceError | undefined;
  cancelled: boolean;
  startedAt: number;
  endedAt: number;
}

export interface PendingReceive {
  done: Promise<ReceiveOutcome>;
  cancel(): void;
}

/** One ReceiveMessage call; `onMessage` sees each message frame as it arrives. */
export function receive(client: MessagingServiceClient, req: ReceiveMessageRequest, md: grpc.Metadata, deadlineMs: number, onMessage?: (f: ReceivedFrame) => void): PendingReceive {
  const startedAt = performance.now();
  const stream = client.ReceiveMessage(req, md, { deadline: Date.now() + deadlineMs });
  let cancelled = false;
  const done = new Promise<ReceiveOutcome>((resolve) => {
    let code: string | undefined;
    const messages: ReceivedFrame[] = [];
    let settled = false;
    const finish = (error: grpc.ServiceError | undefined): void => {
      if (settled) return;
      settled = true;
      resolve({ code, messages, error, cancelled: cancelled || error?.code === grpc.status.CANCELLED, startedAt, endedAt: performance.now() });
    };
    stream.on('data', (f: ReceiveMessageResponse__Output) => {
      if (f.status) code = String(f.status.code);
      else if (f.message) {
        const frame = { message: f.message, at: performance.now() };
        messages.push(frame);
        onMessage?.(frame);
      }
    });
    stream.on('end', () => finish(undefined));
    stream.on('error', (err: grpc.ServiceError) => finish(err));
  });
  return {
    done,
    cancel: () => {
      cancelled = true;
      stream.cancel();
    },
  };
}
