/**
 * Raw gRPC access for the lite benchmark: a pool of connections to the broker (each its own
 * HTTP/2 connection), per-client metadata (x-mq-client-id), promise-based unary calls and a
 * ReceiveMessage helper that timestamps each message frame as it arrives; with `--transport
 * session` (the default) each client's calls are frames of its own messaging session instead.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { adminService, messagingService, type BrokerAdminClient, type MessagingServiceClient } from '../../proto/index.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { ReceiveMessageRequest } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageRequest.js';
import type { ReceiveMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageResponse.js';
import { decodeFrame, encodeFrame, SESSION_PATH, SessionMethod, type SessionFrame } from '../../proto/common/session-frame.js';

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

// --- the messaging session -----------------------------------------------------------------------

type Callback = (err: grpc.ServiceError | null, res?: unknown) => void;

/**
 * A MessagingServiceClient look-alike whose SendMessage, AckMessage, SyncLiteSubscription,
 * Heartbeat and ReceiveMessage travel as frames of ONE agentmq.v1.MessagingSession stream
 * (proto/agentmq/v1/session.proto) on `client`'s connection, with `md` as the stream's metadata
 * (so one per client id). `unary()` and `receive()` above work on it unchanged. Only what the
 * lite benchmark calls is provided.
 */
export function sessionClient(client: grpc.Client, md: grpc.Metadata): MessagingServiceClient {
  const service = messagingService().service;
  const identity = (b: Buffer) => b;
  const pending = new Map<number, (f: SessionFrame) => void>();
  let nextId = 1;
  let stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  const open = () => {
    if (stream) return stream;
    const s = client.makeBidiStreamRequest<Buffer, Buffer>(SESSION_PATH, identity, identity, md);
    s.on('data', (b: Buffer) => {
      const f = decodeFrame(b);
      const p = pending.get(f.id);
      pending.delete(f.id);
      p?.(f);
    });
    const fail = (err: Partial<grpc.ServiceError>) => {
      if (stream === s) stream = undefined;
      for (const [id, p] of pending) {
        pending.delete(id);
        p({ id, method: 0, payload: [], grpcCode: err.code ?? grpc.status.UNAVAILABLE, grpcMessage: err.details ?? 'session ended' });
      }
    };
    s.on('error', fail);
    s.on('end', () => fail({ code: grpc.status.UNAVAILABLE, details: 'the broker ended the session' }));
    stream = s;
    return s;
  };
  const request = (method: number, payload: Buffer, timeoutMs: number, onFrame: (f: SessionFrame) => void): number => {
    const id = nextId++;
    pending.set(id, onFrame);
    open().write(encodeFrame({ id, method, payload: [payload], timeoutMs }));
    return id;
  };
  const asError = (f: SessionFrame) => Object.assign(new Error(f.grpcMessage ?? ''), { code: f.grpcCode!, details: f.grpcMessage ?? '', metadata: new grpc.Metadata() }) as grpc.ServiceError;
  const timeoutOf = (opts: grpc.CallOptions | undefined) => Math.max(1, Number(opts?.deadline ?? Date.now() + 60_000) - Date.now());
  const unaryMethod = (name: 'SendMessage' | 'AckMessage' | 'SyncLiteSubscription' | 'Heartbeat', method: number) =>
    (req: unknown, _md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => {
      const d = service[name];
      request(method, d.requestSerialize(req as never), timeoutOf(opts), (f) => (f.grpcCode ? cb(asError(f)) : cb(null, d.responseDeserialize(f.payload[0]!))));
    };
  return {
    SendMessage: unaryMethod('SendMessage', SessionMethod.SEND_MESSAGE),
    AckMessage: unaryMethod('AckMessage', SessionMethod.ACK_MESSAGE),
    SyncLiteSubscription: unaryMethod('SyncLiteSubscription', SessionMethod.SYNC_LITE_SUBSCRIPTION),
    Heartbeat: unaryMethod('Heartbeat', SessionMethod.HEARTBEAT),
    ReceiveMessage: (req: unknown, _md: grpc.Metadata, opts: grpc.CallOptions) => {
      const d = service.ReceiveMessage;
      const events = new EventEmitter() as EventEmitter & { cancel(): void };
      let done = false;
      const id = request(SessionMethod.RECEIVE_MESSAGE, d.requestSerialize(req as never), timeoutOf(opts), (f) => {
        if (done) return;
        done = true;
        if (f.grpcCode) events.emit('error', asError(f));
        else {
          for (const p of f.payload) events.emit('data', d.responseDeserialize(p));
          events.emit('end');
        }
      });
      events.cancel = () => {
        if (done) return;
        done = true;
        pending.delete(id);
        stream?.write(encodeFrame({ id, method: SessionMethod.RECEIVE_MESSAGE, payload: [], cancel: true }));
        events.emit('error', Object.assign(new Error('Cancelled'), { code: grpc.status.CANCELLED, details: 'Cancelled', metadata: new grpc.Metadata() }));
      };
      return events;
    },
    close: () => stream?.cancel(),
  } as unknown as MessagingServiceClient;
}
