/**
 * Calls the NameServer makes to brokers on a client's behalf. Today: SyncLiteSubscription,
 * which the official Node LitePushConsumer sends to its access point (the NameServer here)
 * rather than to brokers (rocketmq-notes §3): it is forwarded, with the client's id, to every
 * broker serving the parent topic. One channel per broker endpoint, closed with the NameServer.
 */
import * as grpc from '@grpc/grpc-js';
import { PEER_CHANNEL_OPTIONS } from '../../proto/common/channel-options.js';
import { FORWARDED_BY_NAMESERVER, FORWARDED_HEADER } from '../../proto/common/lite-owner.js';
import { Code } from '../../proto/common/codes.js';
import { formatHostPort, type HostPort } from '../../proto/common/endpoints.js';
import { messagingService, type MessagingServiceClient } from '../../proto/index.js';
import type { SyncLiteSubscriptionRequest__Output } from '../../proto/gen/apache/rocketmq/v2/SyncLiteSubscriptionRequest.js';
import type { WireStatus } from '../../proto/common/status.js';

/** How long a forwarded call may take. */
export const FORWARD_TIMEOUT_MS = 5000;

export class BrokerForwarder {
  private readonly clients = new Map<string, MessagingServiceClient>();
  private closed = false;

  private client(endpoint: HostPort): MessagingServiceClient {
    const key = formatHostPort(endpoint);
    let c = this.clients.get(key);
    if (!c) {
      const Ctor = messagingService();
      c = new Ctor(key, grpc.credentials.createInsecure(), PEER_CHANNEL_OPTIONS) as unknown as MessagingServiceClient;
      this.clients.set(key, c);
    }
    return c;
  }

  /** Forwards to every endpoint; the first non-OK status wins, else OK. */
  async syncLiteSubscription(endpoints: HostPort[], request: SyncLiteSubscriptionRequest__Output, clientId: string): Promise<WireStatus> {
    if (this.closed) return { code: Code.INTERNAL_SERVER_ERROR, message: 'NameServer is shutting down' };
    const statuses = await Promise.all(
      endpoints.map(
        (ep) =>
          new Promise<WireStatus>((resolve) => {
            const md = new grpc.Metadata();
            md.set('x-mq-client-id', clientId);
            md.set(FORWARDED_HEADER, FORWARDED_BY_NAMESERVER); // every broker gets it: each keeps its own lite topics, none forwards
            this.client(ep).SyncLiteSubscription(request, md, { deadline: Date.now() + FORWARD_TIMEOUT_MS }, (err, res) => {
              if (err) resolve({ code: Code.INTERNAL_SERVER_ERROR, message: `broker ${formatHostPort(ep)} did not answer SyncLiteSubscription: ${err.message}` });
              else resolve({ code: (res?.status?.code as WireStatus['code']) ?? Code.OK, message: res?.status?.message ?? '' });
            });
          }),
      ),
    );
    return statuses.find((s) => s.code !== Code.OK) ?? { code: Code.OK, message: 'OK' };
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) (c as unknown as grpc.Client).close();
    this.clients.clear();
  }
}
