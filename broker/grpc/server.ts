/** The broker's grpc-js server: MessagingService, MessagingSession (the same calls over one stream) and BrokerAdmin on one port. */
import * as grpc from '@grpc/grpc-js';
import { adminService } from '../../proto/index.js';
import type { Logger } from '../../proto/common/logger.js';
import type { BrokerContext } from '../context.js';
import { createMessagingHandlers } from './messaging.js';
import { createAdminHandlers } from './admin.js';
import { createSessionHandler } from './session.js';
import { messagingServiceDefinition } from './wire.js';
import { SESSION_SERVICE } from '../../proto/common/session-frame.js';

export function createGrpcServer(ctx: BrokerContext, logger: Logger): grpc.Server {
  const max = Math.max(64 * 1024 * 1024, ctx.options.maxBodySize * 2 + 1024 * 1024);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': max,
    'grpc.max_send_message_length': max,
    'grpc.keepalive_permit_without_calls': 1,
  });
  const messaging = createMessagingHandlers(ctx, logger);
  server.addService(messagingServiceDefinition(), messaging);
  if (ctx.options.messagingSession) server.addService(SESSION_SERVICE, { Session: createSessionHandler(messaging, logger, ctx.options.maxSessionInFlight) });
  server.addService(adminService().service, createAdminHandlers(ctx, logger));
  widenFlowControl(server, logger);
  return server;
}

/** HTTP/2 receive window per stream and per connection (default 64 KiB). */
export const FLOW_CONTROL_WINDOW = 4 * 1024 * 1024;

/**
 * grpc-js has no server option for the HTTP/2 flow-control window, and its 64 KiB default makes
 * every client wait for a WINDOW_UPDATE round trip per 64 KiB it sends: batched SendMessage
 * calls of ~64 KiB each were paced by it. We set the initial stream window through the http2
 * settings grpc-js passes to http2.createServer, and widen each session's connection window when
 * it opens. Both reach into grpc-js internals (checked on 1.14), so failure only logs a warning.
 */
function widenFlowControl(server: grpc.Server, logger: Logger): void {
  try {
    const internals = server as unknown as { commonServerOptions?: { settings?: Record<string, unknown> } };
    if (!internals.commonServerOptions) throw new Error('grpc-js internals changed (commonServerOptions)');
    internals.commonServerOptions.settings = { ...(internals.commonServerOptions.settings ?? {}), initialWindowSize: FLOW_CONTROL_WINDOW };
  } catch (err) {
    logger.warn('could not widen the HTTP/2 flow-control window; throughput may be lower', { err: String(err) });
  }
}

/** After bind: widen the connection-level window of every new HTTP/2 session. */
function widenSessions(server: grpc.Server, logger: Logger): void {
  try {
    const servers = (server as unknown as { http2Servers?: Map<{ on(ev: 'session', fn: (s: { setLocalWindowSize?(n: number): void }) => void): void }, unknown> }).http2Servers;
    if (!servers) throw new Error('grpc-js internals changed (http2Servers)');
    for (const h2 of servers.keys()) h2.on('session', (session) => session.setLocalWindowSize?.(FLOW_CONTROL_WINDOW));
  } catch (err) {
    logger.warn('could not widen HTTP/2 connection windows; throughput may be lower', { err: String(err) });
  }
}

export async function bind(server: grpc.Server, host: string, port: number, logger: Logger): Promise<number> {
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  widenSessions(server, logger);
  return bound;
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
