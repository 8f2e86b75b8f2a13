/**
 * One gRPC channel per endpoint (`host:port`), shared by every typed stub a client needs there
 * (MessagingService and BrokerAdmin on a broker; MessagingService and NameServerRegistry on a
 * NameServer). Channels are created lazily, cached, and all closed by `close()`.
 *
 * grpc-js unrefs a channel's socket while no call is active, so idle channels do not keep the
 * process alive; active calls must be ended or cancelled by their owners before close().
 */
import * as grpc from '@grpc/grpc-js';
import { adminService, registryService } from '../../proto/index.js';
import type { BrokerAdminClient, MessagingServiceClient, NameServerRegistryClient } from '../../proto/index.js';
import { ClientError } from '../errors.js';
import { messagingClientConstructor } from './wire.js';
import type { Endpoint } from '../types.js';

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Receives stream one message per frame, but admin listings and batch acks can be large.
  'grpc.max_receive_message_length': 128 * 1024 * 1024,
  'grpc.max_send_message_length': -1,
  // The SDK retries itself (other broker, fresh route); grpc-js retries would double that.
  'grpc.enable_retries': 0,
  // 4 MiB HTTP/2 receive window (per stream and connection) instead of 64 KiB: large receive
  // batches are not throttled by WINDOW_UPDATE round trips (see shared grpc-costs notes).
  'grpc-node.flow_control_window': 4 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // A restarted broker is dialled again within a second or two: grpc-js' default backoff grows
  // to 120 s, and calls made meanwhile fail fast with UNAVAILABLE ("No connection established").
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

interface ChannelEntry {
  channel: grpc.Channel;
  messaging?: MessagingServiceClient;
  admin?: BrokerAdminClient;
  registry?: NameServerRegistryClient;
  generic?: grpc.Client;
}

export class ChannelPool {
  private readonly entries = new Map<Endpoint, ChannelEntry>();
  private closed = false;

  messaging(endpoint: Endpoint): MessagingServiceClient {
    const e = this.entry(endpoint);
    if (!e.messaging) {
      const Ctor = messagingClientConstructor();
      e.messaging = new Ctor(endpoint, grpc.credentials.createInsecure(), { channelOverride: e.channel });
    }
    return e.messaging;
  }

  admin(endpoint: Endpoint): BrokerAdminClient {
    const e = this.entry(endpoint);
    if (!e.admin) {
      const Ctor = adminService();
      e.admin = new Ctor(endpoint, grpc.credentials.createInsecure(), { channelOverride: e.channel });
    }
    return e.admin;
  }

  /** A plain client on the endpoint's channel, for hand-made streams (the messaging session). */
  generic(endpoint: Endpoint): grpc.Client {
    const e = this.entry(endpoint);
    if (!e.generic) e.generic = new grpc.Client(endpoint, grpc.credentials.createInsecure(), { channelOverride: e.channel });
    return e.generic;
  }

  registry(endpoint: Endpoint): NameServerRegistryClient {
    const e = this.entry(endpoint);
    if (!e.registry) {
      const Ctor = registryService();
      e.registry = new Ctor(endpoint, grpc.credentials.createInsecure(), { channelOverride: e.channel });
    }
    return e.registry;
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) e.channel.close();
    this.entries.clear();
  }

  private entry(endpoint: Endpoint): ChannelEntry {
    if (this.closed) throw new ClientError('CLOSED', 'client is closed', { endpoint });
    let e = this.entries.get(endpoint);
    if (!e) {
      e = { channel: new grpc.Channel(endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) };
      this.entries.set(endpoint, e);
    }
    return e;
  }
}
