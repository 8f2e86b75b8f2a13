/**
 * The NameServer's grpc-js server: one port serving agentmq.v1.NameServerRegistry (brokers) and
 * apache.rocketmq.v2.MessagingService (clients' access point). Plaintext, as RocketMQ's
 * access points are by default.
 */
import * as grpc from '@grpc/grpc-js';
import { formatHostPort } from '../../proto/common/endpoints.js';
import { discoveryService, messagingService, registryService } from '../../proto/index.js';
import type { DiscoveryHandlers, MessagingServiceHandlers, NameServerRegistryHandlers } from '../../proto/index.js';

export interface NameServerServices {
  registry: NameServerRegistryHandlers;
  messaging: MessagingServiceHandlers;
}

export class NameServerGrpcServer {
  private readonly server = new grpc.Server();

  constructor(services: NameServerServices) {
    this.server.addService(registryService().service, services.registry);
    this.server.addService(messagingService().service, services.messaging);
  }

  /** Adds agentmq.v1.Discovery (before listen()). */
  addDiscovery(handlers: DiscoveryHandlers): void {
    this.server.addService(discoveryService().service, handlers);
  }

  /** Binds `host:port` (0 = ephemeral) and resolves with the bound port. grpc-js serves at once. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(formatHostPort({ host, port }), grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(new Error(`cannot bind nameserver to ${formatHostPort({ host, port })}: ${err.message}`, { cause: err }));
        else resolve(bound);
      });
    });
  }

  /** Graceful shutdown (lets in-flight calls finish), forced after `graceMs`. Never rejects. */
  shutdown(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
