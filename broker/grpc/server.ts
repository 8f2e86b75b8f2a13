/** The broker's grpc-js server: MessagingService + BrokerAdmin on one port. */
import * as grpc from '@grpc/grpc-js';
import { adminService, messagingService } from '../../proto/index.js';
import type { Logger } from '../../proto/common/logger.js';
import type { BrokerContext } from '../context.js';
import { createMessagingHandlers } from './messaging.js';
import { createAdminHandlers } from './admin.js';

export function createGrpcServer(ctx: BrokerContext, logger: Logger): grpc.Server {
  const max = Math.max(64 * 1024 * 1024, ctx.options.maxBodySize * 2 + 1024 * 1024);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': max,
    'grpc.max_send_message_length': max,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(messagingService().service, createMessagingHandlers(ctx, logger));
  server.addService(adminService().service, createAdminHandlers(ctx, logger));
  return server;
}

export function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

/** Graceful shutdown, forced after `graceMs`. */
export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
