/**
 * Typed calls to a broker's apache.rocketmq.v2.MessagingService: plain SDK types in, plain SDK
 * types out, deadlines on every call, statuses mapped with `fromStatus` (the only status -> error
 * mapping on the client edge), gRPC failures mapped to ClientError.
 *
 * Batch calls (SendMessage, AckMessage) report one outcome per entry so a partial failure fails
 * only the affected entries; the call itself rejects only when nothing was decided per entry
 * (transport failure, or a non-OK status without entries).
 */
import * as grpc from '@grpc/grpc-js';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import { decodeReceiveMessageResponse } from '../../proto/common/message-decode.js';
import { fromStatus } from '../../proto/common/status.js';
import type { AckMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/AckMessageResponse.js';
import type { ChangeInvisibleDurationResponse__Output } from '../../proto/gen/apache/rocketmq/v2/ChangeInvisibleDurationResponse.js';
import type { HeartbeatResponse__Output } from '../../proto/gen/apache/rocketmq/v2/HeartbeatResponse.js';
import type { RecallMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/RecallMessageResponse.js';
import type { NotifyClientTerminationResponse__Output } from '../../proto/gen/apache/rocketmq/v2/NotifyClientTerminationResponse.js';
import type { OffsetOption } from '../../proto/gen/apache/rocketmq/v2/OffsetOption.js';
import type { SyncLiteSubscriptionResponse__Output } from '../../proto/gen/apache/rocketmq/v2/SyncLiteSubscriptionResponse.js';
import type { SendMessageRequest } from '../../proto/gen/apache/rocketmq/v2/SendMessageRequest.js';
import type { SendMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/SendMessageResponse.js';
import { msToDuration } from '../../proto/common/time.js';
import type { Status__Output } from '../../proto/gen/apache/rocketmq/v2/Status.js';
import type { ReceiveMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageResponse.js';
import type { ReceivedMessageData } from '../consumer/received-message.js';
import type { PreparedMessage } from '../producer/outgoing-message.js';
import type { RouteQueue } from '../route/route-cache.js';
import type { ClientType, Endpoint } from '../types.js';
import { isTransportFailure } from '../route/endpoint-isolation.js';
import { liteError } from '../errors.js';
import { abortError } from '../util/abort.js';
import { receivedMessageFromWire, routeQueueToWire } from './convert.js';
import { decodeSendMessageResponse, encodeSendMessageRequest, releaseSendMessageRequest } from './wire.js';
import { requestMetadata } from './metadata.js';
import { messagingService } from '../../proto/index.js';
import { SESSION_METHOD_NAMES, SessionMethod } from '../../proto/common/session-frame.js';
import { ClientError } from '../errors.js';
import { SessionUnsupported, type SessionMux } from './session-mux.js';
import type { RpcContext } from './rpc-context.js';
import type { MessagingServiceClient } from '../../proto/index.js';
import { deadlineIn, toClientError, unaryCall } from './unary-call.js';

export type SendOutcome =
  | { ok: true; messageId: string; offset: number; recallHandle?: string }
  | { ok: false; error: MqError };

export interface ReceiveRequest {
  group: string;
  /** Any readable queue of the topic on this broker (the broker pops across all of them). */
  queue: RouteQueue;
  /** TAG expression: `*` or `a||b`. */
  tagExpression: string;
  batchSize: number;
  invisibleDurationMs: number;
  longPollingTimeoutMs: number;
}

export interface AckItem {
  messageId: string;
  receiptHandle: string;
  liteTopic?: string;
}

export interface ChangeInvisibleRequest {
  group: string;
  topic: string;
  messageId: string;
  receiptHandle: string;
  invisibleDurationMs: number;
  liteTopic?: string;
  /** Lite topics: pause without counting a delivery attempt (the redelivery keeps its attempt). */
  suspend?: boolean;
}

export type LiteSubscriptionAction = 'PARTIAL_ADD' | 'PARTIAL_REMOVE' | 'COMPLETE_ADD' | 'COMPLETE_REMOVE';

/** Where a new lite subscription starts (SyncLiteSubscription.offset_option). */
export type LiteOffsetOption = { policy: 'LAST' | 'MIN' | 'MAX' } | { offset: number } | { tailN: number } | { timestampMs: number };

export interface SyncLiteRequest {
  action: LiteSubscriptionAction;
  /** The LITE parent topic. */
  topic: string;
  group: string;
  liteTopics: string[];
  offset?: LiteOffsetOption;
}

function offsetOptionToWire(o: LiteOffsetOption): OffsetOption {
  if ('policy' in o) return { policy: o.policy };
  if ('offset' in o) return { offset: o.offset };
  if ('tailN' in o) return { tailN: o.tailN };
  return { timestamp: o.timestampMs };
}

type WireStatus = Status__Output | null | undefined;

/** The MqError `status` stands for, or undefined if it is OK. */
function statusError(status: WireStatus): MqError | undefined {
  if (status?.code === Code.OK) return undefined; // the common case, without fromStatus's try
  try {
    fromStatus(status);
    return undefined;
  } catch (err) {
    return liteError(err as MqError);
  }
}

/** An entry's own status, else the call's (unless the call's only says "see the entries"). */
function entryStatus(entry: { status: WireStatus } | undefined, top: WireStatus): WireStatus {
  if (entry?.status) return entry.status;
  return top?.code === Code.MULTIPLE_RESULTS ? undefined : top;
}

type MessagingMethod = 'ReceiveMessage' | 'AckMessage' | 'ChangeInvisibleDuration' | 'SyncLiteSubscription' | 'Heartbeat';

/**
 * The (de)serializers of a MessagingService method, for payloads of the session: proto-loader's,
 * except ReceiveMessage responses, decoded by hand (proto/common/message-decode.ts, same output).
 */
function codec(name: MessagingMethod): { encode(req: unknown): Buffer; decode(buf: Buffer): unknown } {
  const d = messagingService().service[name];
  return {
    encode: d.requestSerialize as (req: unknown) => Buffer,
    decode: name === 'ReceiveMessage' ? decodeReceiveMessageResponse : (d.responseDeserialize as (buf: Buffer) => unknown),
  };
}

export class BrokerRpc {
  /**
   * @param session when given, the calls it carries (send, receive, ack, change invisible
   *   duration, lite subscription sync, heartbeat) go over one stream per broker
   *   (client/rpc/session-mux.ts); brokers that do not serve it get unary calls.
   */
  constructor(
    private readonly ctx: RpcContext,
    private readonly session?: SessionMux,
  ) {}

  /**
   * The response payload(s) of one session request, or undefined when the call must be made as a
   * unary call (no session, or the broker does not serve it). `encode` runs only on the session path.
   */
  private async viaSession(endpoint: Endpoint, method: SessionMethod, encode: () => Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer[] | undefined> {
    const session = this.session;
    if (!session?.supports(endpoint)) return undefined;
    try {
      const payload = await session.request(endpoint, method, encode(), timeoutMs, signal);
      if (payload.length === 0 && method !== SessionMethod.RECEIVE_MESSAGE) {
        throw new ClientError('TRANSPORT', `${SESSION_METHOD_NAMES[method]} to ${endpoint} returned no response`, { endpoint });
      }
      return payload;
    } catch (err) {
      if (err instanceof SessionUnsupported) return undefined;
      throw err;
    }
  }

  /** A unary-style call over the session if possible, else as a unary call. */
  private async call<Res>(endpoint: Endpoint, name: MessagingMethod, method: SessionMethod, wire: unknown, unary: () => Promise<Res>): Promise<Res> {
    const c = codec(name);
    const payload = await this.viaSession(endpoint, method, () => c.encode(wire), this.ctx.requestTimeoutMs);
    if (payload) return c.decode(payload[0]!) as Res;
    return unary();
  }

  /** Reports the outcome of a call on `endpoint` to the isolation tracker. */
  private observe<T>(endpoint: Endpoint, p: Promise<T>): Promise<T> {
    const isolation = this.ctx.isolation;
    if (!isolation) return p.catch((err: unknown) => Promise.reject(liteError(err)));
    return p.then(
      (v) => {
        isolation.succeed(endpoint);
        return v;
      },
      (err: unknown) => {
        if (isTransportFailure(err)) {
          if (isolation.fail(endpoint)) this.ctx.logger.warn('broker unreachable; preferring other brokers for a while', { endpoint, err });
        } else if (err instanceof MqError) {
          isolation.succeed(endpoint); // it answered, with a status
        }
        throw liteError(err);
      },
    );
  }

  /** One SendMessage carrying `messages`; one outcome per message, in order. */
  sendMessages(endpoint: Endpoint, messages: PreparedMessage[]): Promise<SendOutcome[]> {
    return this.observe(endpoint, this.callSendMessages(endpoint, messages));
  }

  private async callSendMessages(endpoint: Endpoint, messages: PreparedMessage[]): Promise<SendOutcome[]> {
    const site = { endpoint, method: 'SendMessage' };
    // Encoded here in one pass into one Buffer, which the session frame copies or the client's
    // SendMessage serializer passes through; the response arrives as raw bytes, decoded here
    // knowing the ids sent (client/rpc/wire.ts).
    let raw: Buffer;
    const framed = await this.viaSession(
      endpoint,
      SessionMethod.SEND_MESSAGE,
      () => {
        const req = encodeSendMessageRequest(messages);
        // The frame holds a copy by the time this returns: the buffer can be reused at once.
        queueMicrotask(() => releaseSendMessageRequest(req));
        return req;
      },
      this.ctx.requestTimeoutMs,
    );
    if (framed) {
      raw = framed[0]!;
    } else {
      const client = this.ctx.channels.messaging(endpoint);
      const req = encodeSendMessageRequest(messages) as unknown as SendMessageRequest;
      raw = await unaryCall<Buffer>(site, (cb) =>
        client.sendMessage(req, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb as unknown as grpc.requestCallback<SendMessageResponse__Output>),
      );
      releaseSendMessageRequest(req as unknown as Buffer); // answered: grpc-js is done with it
    }
    let res: SendMessageResponse__Output;
    try {
      res = decodeSendMessageResponse(raw, messages);
    } catch (err) {
      // What grpc-js reports when a response does not parse.
      const details = `Response message parsing error: ${err instanceof Error ? err.message : String(err)}`;
      throw toClientError({ code: grpc.status.INTERNAL, details, message: details }, site);
    }
    const entries = res.entries ?? [];
    if (entries.length === 0) fromStatus(res.status); // nothing per entry: the call's status decides
    const byIndex = entries.length === messages.length;
    const byId = byIndex ? undefined : new Map(entries.map((e) => [e.messageId, e]));
    return messages.map((m, i) => {
      const entry = byIndex ? entries[i] : byId!.get(m.messageId);
      const error = statusError(entryStatus(entry, res.status));
      if (error) return { ok: false, error };
      const out: SendOutcome = { ok: true, messageId: entry?.messageId || m.messageId, offset: entry?.offset ?? -1 };
      if (entry?.recallHandle) out.recallHandle = entry.recallHandle;
      return out;
    });
  }

  /**
   * One long-polling ReceiveMessage: collects `message` frames, the last `status` frame wins
   * (OK and MESSAGE_NOT_FOUND both mean success). Deadline = request timeout + long-poll time.
   * An abort of `signal` cancels the stream and rejects with ClientError('ABORTED').
   */
  receiveMessages(endpoint: Endpoint, req: ReceiveRequest, signal?: AbortSignal): Promise<ReceivedMessageData[]> {
    return this.observe(endpoint, this.callReceiveMessages(endpoint, req, signal));
  }

  private async callReceiveMessages(endpoint: Endpoint, req: ReceiveRequest, signal?: AbortSignal): Promise<ReceivedMessageData[]> {
    if (signal?.aborted) throw abortError(signal);
    const wire = {
      group: { name: req.group, resourceNamespace: '' },
      messageQueue: routeQueueToWire(req.queue),
      filterExpression: { type: 'TAG' as const, expression: req.tagExpression },
      batchSize: req.batchSize,
      invisibleDuration: msToDuration(req.invisibleDurationMs),
      autoRenew: false,
      longPollingTimeout: msToDuration(req.longPollingTimeoutMs),
    };
    const timeoutMs = this.ctx.requestTimeoutMs + req.longPollingTimeoutMs;
    const c = codec('ReceiveMessage');
    const payload = await this.viaSession(endpoint, SessionMethod.RECEIVE_MESSAGE, () => c.encode(wire), timeoutMs, signal);
    if (!payload) return this.unaryReceive(endpoint, wire, timeoutMs, signal);
    const messages: ReceivedMessageData[] = [];
    let status: WireStatus;
    for (const p of payload) {
      const r = c.decode(p) as ReceiveMessageResponse__Output;
      if (r.message) messages.push(receivedMessageFromWire(r.message, endpoint));
      else if (r.status) status = r.status;
    }
    if (status) fromStatus(status, [Code.MESSAGE_NOT_FOUND]);
    return messages;
  }

  private unaryReceive(endpoint: Endpoint, wire: Parameters<MessagingServiceClient['receiveMessage']>[0], timeoutMs: number, signal?: AbortSignal): Promise<ReceivedMessageData[]> {
    const site = { endpoint, method: 'ReceiveMessage' };
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const client = this.ctx.channels.messaging(endpoint);
    const call = client.receiveMessage(wire, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(timeoutMs) });
    return new Promise<ReceivedMessageData[]>((resolve, reject) => {
      const messages: ReceivedMessageData[] = [];
      let status: WireStatus;
      let settled = false;
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (err: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) {
          reject(abortError(signal));
        } else if (err !== undefined) {
          if (messages.length > 0) {
            // The messages are already invisible to everyone else: hand them out rather than
            // let them sit out their invisible duration.
            this.ctx.logger.debug('receive stream failed after delivering messages', { endpoint, count: messages.length, err });
            resolve(messages);
          } else {
            reject(toClientError(err, site));
          }
        } else {
          try {
            if (status) fromStatus(status, [Code.MESSAGE_NOT_FOUND]);
            resolve(messages);
          } catch (e) {
            reject(e);
          }
        }
      };
      call.on('data', (r: ReceiveMessageResponse__Output) => {
        if (r.message) messages.push(receivedMessageFromWire(r.message, endpoint));
        else if (r.status) status = r.status;
      });
      call.on('error', (err: Error) => settle(err));
      call.on('end', () => settle(undefined));
    });
  }

  /** One AckMessage for `items` (all of `group`/`topic`); per item: undefined = acked, else the error. */
  ackMessages(endpoint: Endpoint, group: string, topic: string, items: AckItem[]): Promise<(MqError | undefined)[]> {
    return this.observe(endpoint, this.callAckMessages(endpoint, group, topic, items));
  }

  private async callAckMessages(endpoint: Endpoint, group: string, topic: string, items: AckItem[]): Promise<(MqError | undefined)[]> {
    const site = { endpoint, method: 'AckMessage' };
    const req = {
      group: { name: group, resourceNamespace: '' },
      topic: { name: topic, resourceNamespace: '' },
      entries: items.map((it) => {
        const e: { messageId: string; receiptHandle: string; liteTopic?: string } = {
          messageId: it.messageId,
          receiptHandle: it.receiptHandle,
        };
        if (it.liteTopic !== undefined) e.liteTopic = it.liteTopic;
        return e;
      }),
    };
    const res = await this.call<AckMessageResponse__Output>(endpoint, 'AckMessage', SessionMethod.ACK_MESSAGE, req, () =>
      unaryCall<AckMessageResponse__Output>(site, (cb) =>
        this.ctx.channels.messaging(endpoint).ackMessage(req, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
      ),
    );
    const entries = res.entries ?? [];
    if (entries.length === 0) fromStatus(res.status);
    const byIndex = entries.length === items.length;
    const byHandle = byIndex ? undefined : new Map(entries.map((e) => [e.receiptHandle, e]));
    const byId = byIndex ? undefined : new Map(entries.map((e) => [e.messageId, e]));
    return items.map((it, i) => {
      const entry = byIndex ? entries[i] : (byHandle!.get(it.receiptHandle) ?? byId!.get(it.messageId));
      return statusError(entryStatus(entry, res.status));
    });
  }

  /** ChangeInvisibleDuration; resolves with the receipt handle to use from now on. */
  changeInvisibleDuration(endpoint: Endpoint, req: ChangeInvisibleRequest): Promise<string> {
    return this.observe(endpoint, this.callChangeInvisibleDuration(endpoint, req));
  }

  private async callChangeInvisibleDuration(endpoint: Endpoint, req: ChangeInvisibleRequest): Promise<string> {
    const site = { endpoint, method: 'ChangeInvisibleDuration' };
    const wire: {
      group: { name: string };
      topic: { name: string };
      receiptHandle: string;
      invisibleDuration: { seconds: number; nanos: number };
      messageId: string;
      liteTopic?: string;
      suspend?: boolean;
    } = {
      group: { name: req.group },
      topic: { name: req.topic },
      receiptHandle: req.receiptHandle,
      invisibleDuration: msToDuration(req.invisibleDurationMs),
      messageId: req.messageId,
    };
    if (req.liteTopic !== undefined) wire.liteTopic = req.liteTopic;
    if (req.suspend) wire.suspend = true;
    const res = await this.call<ChangeInvisibleDurationResponse__Output>(endpoint, 'ChangeInvisibleDuration', SessionMethod.CHANGE_INVISIBLE_DURATION, wire, () =>
      unaryCall<ChangeInvisibleDurationResponse__Output>(site, (cb) =>
        this.ctx.channels.messaging(endpoint).changeInvisibleDuration(wire, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
      ),
    );
    fromStatus(res.status);
    return res.receiptHandle || req.receiptHandle;
  }

  /** RecallMessage; resolves with the recalled message's id. */
  recallMessage(endpoint: Endpoint, topic: string, recallHandle: string): Promise<string> {
    return this.observe(endpoint, this.callRecallMessage(endpoint, topic, recallHandle));
  }

  private async callRecallMessage(endpoint: Endpoint, topic: string, recallHandle: string): Promise<string> {
    const site = { endpoint, method: 'RecallMessage' };
    const client = this.ctx.channels.messaging(endpoint);
    const res = await unaryCall<RecallMessageResponse__Output>(site, (cb) =>
      client.recallMessage({ topic: { name: topic, resourceNamespace: '' }, recallHandle }, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
    );
    fromStatus(res.status);
    return res.messageId;
  }

  heartbeat(endpoint: Endpoint, clientType: ClientType, group?: string): Promise<void> {
    return this.observe(endpoint, this.callHeartbeat(endpoint, clientType, group));
  }

  private async callHeartbeat(endpoint: Endpoint, clientType: ClientType, group?: string): Promise<void> {
    const site = { endpoint, method: 'Heartbeat' };
    const req = group === undefined ? { clientType } : { clientType, group: { name: group, resourceNamespace: '' } };
    const res = await this.call<HeartbeatResponse__Output>(endpoint, 'Heartbeat', SessionMethod.HEARTBEAT, req, () =>
      unaryCall<HeartbeatResponse__Output>(site, (cb) =>
        this.ctx.channels.messaging(endpoint).heartbeat(req, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
      ),
    );
    fromStatus(res.status);
  }

  notifyClientTermination(endpoint: Endpoint, group?: string): Promise<void> {
    return this.observe(endpoint, this.callNotifyClientTermination(endpoint, group));
  }

  private async callNotifyClientTermination(endpoint: Endpoint, group?: string): Promise<void> {
    const site = { endpoint, method: 'NotifyClientTermination' };
    const client = this.ctx.channels.messaging(endpoint);
    const req = group === undefined ? {} : { group: { name: group, resourceNamespace: '' } };
    const res = await unaryCall<NotifyClientTerminationResponse__Output>(site, (cb) =>
      client.notifyClientTermination(req, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
    );
    fromStatus(res.status);
  }

  /** SyncLiteSubscription for one broker (the caller sends it to every broker of the parent's route). */
  syncLiteSubscription(endpoint: Endpoint, req: SyncLiteRequest): Promise<void> {
    return this.observe(endpoint, this.callSyncLiteSubscription(endpoint, req));
  }

  private async callSyncLiteSubscription(endpoint: Endpoint, req: SyncLiteRequest): Promise<void> {
    const site = { endpoint, method: 'SyncLiteSubscription' };
    const wire = {
      action: req.action,
      topic: { name: req.topic, resourceNamespace: '' },
      group: { name: req.group, resourceNamespace: '' },
      liteTopicSet: req.liteTopics,
      ...(req.offset ? { offsetOption: offsetOptionToWire(req.offset) } : {}),
    };
    const res = await this.call<SyncLiteSubscriptionResponse__Output>(endpoint, 'SyncLiteSubscription', SessionMethod.SYNC_LITE_SUBSCRIPTION, wire, () =>
      unaryCall<SyncLiteSubscriptionResponse__Output>(site, (cb) =>
        this.ctx.channels.messaging(endpoint).syncLiteSubscription(wire, requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
      ),
    );
    fromStatus(res.status);
  }
}
