/**
 * The one place protos are loaded. Everything that speaks gRPC (NameServer, broker, client SDK)
 * takes its service definitions and constructors from here.
 *
 * - `apache.rocketmq.v2` comes from the pinned `rocketmq-client-nodejs` dependency (it ships the
 *   official apache/rocketmq-apis files, Lite additions included), so our wire contract is
 *   byte-for-byte the one the official clients were built against.
 * - `agentmq.v1` is ours (proto/agentmq/v1/*.proto): NameServer registry and broker admin.
 *
 * Types in proto/gen/ are generated with the same options (npm run proto:gen).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as ServiceGrpcType } from './gen/service.js';
import type { ProtoGrpcType as RegistryGrpcType } from './gen/registry.js';
import type { ProtoGrpcType as AdminGrpcType } from './gen/admin.js';
import type { ProtoGrpcType as DiscoveryGrpcType } from './gen/discovery.js';

const require = createRequire(import.meta.url);

/** Directory of our own .proto files. */
export const AGENTMQ_PROTO_DIR = dirname(fileURLToPath(import.meta.url));
/** Directory of the official RocketMQ v2 .proto files (from the pinned dependency). */
export const ROCKETMQ_PROTO_DIR = join(
  dirname(require.resolve('rocketmq-client-nodejs/package.json')),
  'proto',
);

/** Loader options; scripts/proto-gen.mjs passes the same ones to the type generator. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [AGENTMQ_PROTO_DIR, ROCKETMQ_PROTO_DIR],
};

type Loaded = ServiceGrpcType & RegistryGrpcType & AdminGrpcType & DiscoveryGrpcType;

let loaded: Loaded | undefined;

/** Loads (once) and returns every package we serve or call. */
export function loadProtos(): Loaded {
  if (!loaded) {
    const def = protoLoader.loadSync(
      ['apache/rocketmq/v2/service.proto', 'agentmq/v1/registry.proto', 'agentmq/v1/admin.proto', 'agentmq/v1/discovery.proto'],
      LOADER_OPTIONS,
    );
    loaded = grpc.loadPackageDefinition(def) as unknown as Loaded;
  }
  return loaded;
}

export const messagingService = () => loadProtos().apache.rocketmq.v2.MessagingService;
export const registryService = () => loadProtos().agentmq.v1.NameServerRegistry;
export const adminService = () => loadProtos().agentmq.v1.BrokerAdmin;
export const discoveryService = () => loadProtos().agentmq.v1.Discovery;

export type { MessagingServiceHandlers, MessagingServiceClient } from './gen/apache/rocketmq/v2/MessagingService.js';
export type { NameServerRegistryHandlers, NameServerRegistryClient } from './gen/agentmq/v1/NameServerRegistry.js';
export type { BrokerAdminHandlers, BrokerAdminClient } from './gen/agentmq/v1/BrokerAdmin.js';
export type { DiscoveryHandlers, DiscoveryClient } from './gen/agentmq/v1/Discovery.js';
