/**
 * Sends lite messages on to the broker that owns their lite topic (see peer-directory.ts): a
 * client may reach any broker of the parent topic (the official clients pick a queue, not an
 * owner), and the owner is where the lite topic's subscribers are woken.
 *
 * A forwarded SendMessage carries `x-agentmq-forwarded: <this broker>`; the receiving broker
 * stores it whatever its own view of the owner, so views that disagree for a moment (a broker
 * just joined or left) never bounce a message around. A peer that cannot be reached is isolated
 * for `isolateMs` and the caller stores locally instead: a message is never refused because its
 * owner is down (its subscribers receive it from this broker; order across the two brokers is
 * not kept during that window). One channel per peer, closed with the broker.
 */
import * as grpc from '@grpc/grpc-js';
import { PEER_CHANNEL_OPTIONS } from '../../proto/common/channel-options.js';
import { FORWARDED_HEADER } from '../../proto/common/lite-owner.js';
import type { SyncLiteSubscriptionRequest__Output } from '../../proto/gen/apache/rocketmq/v2/SyncLiteSubscriptionRequest.js';
import type { WireStatus } from '../../proto/common/status.js';
import type { Logger } from '../../proto/common/logger.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { SendMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/SendMessageResponse.js';
import { messagingService, type MessagingServiceClient } from '../../proto/index.js';

export { FORWARDED_HEADER };
/** Deadline of a forwarded SendMessage. */
export const FORWARD_DEADLINE_MS = 3_000;
/** How long an unreachable peer is skipped. @default 5000 */
export const DEFAULT_ISOLATE_MS = 5_000;

/** The peer did not answer (not reached, or no answer in time): store locally instead. */
export class PeerUnavailable extends Error {}

export interface LiteForwarderOptions {
  self: string;
  logger: Logger;
  isolateMs?: number;
  now?: () => number;
}

export class LiteForwarder {
  private readonly clients = new Map<string, MessagingServiceClient>();
  private readonly isolatedUntil = new Map<string, number>();
  private closed = false;

  constructor(private readonly o: LiteForwarderOptions) {}

  /** False while `endpoint` is isolated after a failure. */
  reachable(endpoint: string): boolean {
    const until = this.isolatedUntil.get(endpoint);
    if (until === undefined) return true;
    if ((this.o.now ?? Date.now)() >= until) {
      this.isolatedUntil.delete(endpoint);
      return true;
    }
    return false;
  }

  /**
   * SendMessage of `messages` (wire form, as received) to the broker at `endpoint`; resolves with
   * its answer (one entry per message, statuses passed through). Rejects with PeerUnavailable on
   * a transport failure, and isolates the peer.
   */
  send(endpoint: string, messages: Message__Output[], clientId: string): Promise<SendMessageResponse__Output> {
    if (this.closed) return Promise.reject(new PeerUnavailable('broker is shutting down'));
    return new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-mq-client-id', clientId);
      md.set(FORWARDED_HEADER, this.o.self);
      this.client(endpoint).SendMessage({ messages }, md, { deadline: Date.now() + FORWARD_DEADLINE_MS }, (err, res) => {
        if (err || !res) {
          this.isolatedUntil.set(endpoint, (this.o.now ?? Date.now)() + (this.o.isolateMs ?? DEFAULT_ISOLATE_MS));
          this.o.logger.warn('lite owner unreachable; storing its lite messages here meanwhile', { endpoint, err: err?.message ?? 'empty answer' });
          reject(new PeerUnavailable(`broker ${endpoint} did not answer SendMessage: ${err?.message ?? 'empty answer'}`));
        } else resolve(res);
      });
    });
  }

  /**
   * SyncLiteSubscription (a partial add) of `request` to the owner at `endpoint`, on behalf of
   * `clientId`; resolves with its status. Rejects with PeerUnavailable (and isolates the peer)
   * on a transport failure.
   */
  syncLite(endpoint: string, request: SyncLiteSubscriptionRequest__Output, clientId: string): Promise<WireStatus> {
    if (this.closed) return Promise.reject(new PeerUnavailable('broker is shutting down'));
    return new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-mq-client-id', clientId);
      md.set(FORWARDED_HEADER, this.o.self);
      this.client(endpoint).SyncLiteSubscription(request, md, { deadline: Date.now() + FORWARD_DEADLINE_MS }, (err, res) => {
        if (err || !res) {
          this.isolatedUntil.set(endpoint, (this.o.now ?? Date.now)() + (this.o.isolateMs ?? DEFAULT_ISOLATE_MS));
          this.o.logger.warn('lite owner unreachable; keeping the subscription here meanwhile', { endpoint, err: err?.message ?? 'empty answer' });
          reject(new PeerUnavailable(`broker ${endpoint} did not answer SyncLiteSubscription: ${err?.message ?? 'empty answer'}`));
        } else resolve({ code: (res.status?.code as WireStatus['code']) ?? 'OK', message: res.status?.message ?? '' } as WireStatus);
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients.values()) (c as unknown as grpc.Client).close();
    this.clients.clear();
  }

  private client(endpoint: string): MessagingServiceClient {
    let c = this.clients.get(endpoint);
    if (!c) {
      const Ctor = messagingService();
      c = new Ctor(endpoint, grpc.credentials.createInsecure(), PEER_CHANNEL_OPTIONS) as unknown as MessagingServiceClient;
      this.clients.set(endpoint, c);
    }
    return c;
  }
}
