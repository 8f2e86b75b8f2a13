/**
 * Channel options for server-to-server gRPC calls (broker -> broker, broker -> NameServer,
 * NameServer -> broker): a peer that restarts is dialled again within a couple of seconds
 * (grpc-js' default reconnect backoff grows to 120 s, and calls meanwhile fail fast).
 */
import type { ChannelOptions } from '@grpc/grpc-js';

export const PEER_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.enable_retries': 0,
};
