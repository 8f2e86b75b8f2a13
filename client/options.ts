/**
 * Options every client (Producer, SimpleConsumer, AdminClient) shares, their defaults and the one
 * function that validates them. Components take only `ResolvedClientOptions`.
 */
import { isIP } from 'node:net';
import { Code } from '../proto/common/codes.js';
import { formatHostPort, parseHostPort } from '../proto/common/endpoints.js';
import { InvalidArgumentError } from '../proto/common/errors.js';
import { consoleLogger } from '../proto/common/logger.js';
import type { Logger } from '../proto/common/logger.js';
import { createClientId } from './client-id.js';

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

export const DEFAULT_NAMESERVER_PORT = 9876;
export const DEFAULT_NAMESERVER = `127.0.0.1:${DEFAULT_NAMESERVER_PORT}`;
export const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;
/** Same as the official clients: routes are re-queried every 30 s. */
export const DEFAULT_ROUTE_REFRESH_INTERVAL_MS = 30_000;
/** Same as the official clients: a Heartbeat to every known broker every 10 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

export interface ClientOptions {
  /**
   * The NameServer access point, `HOST:PORT` (port defaults to 9876). Routes are queried here;
   * data calls go to the broker endpoints the routes name.
   * @default '127.0.0.1:9876'
   */
  nameserver?: string;
  /**
   * Identity sent as `x-mq-client-id` on every call. Brokers key sessions on it: two live
   * clients must never share one.
   * @default `hostname@pid@index@Date.now().toString(36)` (a fresh one per client instance)
   */
  clientId?: string;
  /**
   * Deadline of each unary call, and of the telemetry settings handshake. Long-polling receives
   * get this plus their await duration.
   * @default 3000
   */
  requestTimeoutMs?: number;
  /**
   * Where the SDK logs (route refreshes, reconnects, heartbeat failures at debug).
   * @default consoleLogger('agentmq.client')
   */
  logger?: Logger;
  /**
   * How often cached topic routes are re-queried from the NameServer.
   * @default 30000
   */
  routeRefreshIntervalMs?: number;
  /**
   * How often a Heartbeat is sent to every known broker.
   * @default 10000
   */
  heartbeatIntervalMs?: number;
}

export interface ResolvedClientOptions {
  /** Normalised `host:port`. */
  nameserver: string;
  clientId: string;
  requestTimeoutMs: number;
  logger: Logger;
  routeRefreshIntervalMs: number;
  heartbeatIntervalMs: number;
}

/** Throws InvalidArgumentError naming `field` unless `value` is a positive integer (ms). */
export function checkPositiveMs(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw InvalidArgumentError.format(field, `must be a positive integer number of milliseconds (got ${String(value)})`);
  }
  return value;
}

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  let nameserver: string;
  try {
    const hp = parseHostPort(options.nameserver ?? DEFAULT_NAMESERVER, DEFAULT_NAMESERVER_PORT);
    // parseHostPort reads 'host:junk' as a host named 'host:junk'; only IPs and DNS names pass.
    if (isIP(hp.host) === 0 && !HOSTNAME.test(hp.host)) throw new Error('bad host');
    nameserver = formatHostPort(hp);
  } catch {
    throw InvalidArgumentError.format(
      'nameserver',
      `must be HOST:PORT (got ${JSON.stringify(options.nameserver)})`,
      Code.ILLEGAL_ACCESS_POINT,
    );
  }
  if (options.clientId !== undefined && options.clientId.trim() === '') {
    throw InvalidArgumentError.format('clientId', 'must not be blank', Code.CLIENT_ID_REQUIRED);
  }
  return {
    nameserver,
    clientId: options.clientId ?? createClientId(),
    requestTimeoutMs: checkPositiveMs('requestTimeoutMs', options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    logger: options.logger ?? consoleLogger('agentmq.client'),
    routeRefreshIntervalMs: checkPositiveMs(
      'routeRefreshIntervalMs',
      options.routeRefreshIntervalMs ?? DEFAULT_ROUTE_REFRESH_INTERVAL_MS,
    ),
    heartbeatIntervalMs: checkPositiveMs('heartbeatIntervalMs', options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS),
  };
}
