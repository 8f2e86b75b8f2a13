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
   * The NameServer access point(s), `HOST:PORT` each (port defaults to 9876). Routes and the
   * discovery catalog are queried here; data calls go to the broker endpoints the routes name.
   *
   * Several NameServers (stateless replicas every broker registers with) are given as one string
   * separated by `;` or `,` (RocketMQ's namesrvAddr style: `'10.0.0.1:9876;10.0.0.2:9876'`) or
   * as an array; duplicates are dropped, order is kept. Calls go to the first one; when it fails
   * at the transport level (unreachable, connection refused, deadline exceeded) the call is retried
   * on the next one (once per NameServer, each attempt with its own deadline), and the client then
   * sticks to the one that answered. A status a NameServer answered with (TOPIC_NOT_FOUND, ...) is
   * never retried elsewhere.
   * @default '127.0.0.1:9876'
   */
  nameserver?: string | readonly string[];
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
  /**
   * How the SDK talks to brokers. `'session'`: send, receive, ack, change-invisible-duration,
   * lite subscription syncs and heartbeats travel as frames of ONE long-lived bidirectional stream
   * per broker (agentmq.v1.MessagingSession), which costs a fraction of a unary call per request;
   * a broker that does not serve it gets unary calls. `'unary'`: one apache.rocketmq.v2 unary call
   * each, as the official RocketMQ clients make them.
   * @default 'session'
   */
  transport?: 'session' | 'unary';
}

export interface ResolvedClientOptions {
  /** The first of `nameservers` (the one logs name and telemetry reports as the access point). */
  nameserver: string;
  /** Normalised `host:port` each, deduplicated, in the order given; never empty. */
  nameservers: readonly string[];
  clientId: string;
  requestTimeoutMs: number;
  logger: Logger;
  routeRefreshIntervalMs: number;
  heartbeatIntervalMs: number;
  transport: 'session' | 'unary';
}

/** Throws InvalidArgumentError naming `field` unless `value` is a positive integer (ms). */
export function checkPositiveMs(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw InvalidArgumentError.format(field, `must be a positive integer number of milliseconds (got ${String(value)})`);
  }
  return value;
}

/** One `host:port`, normalised; throws (any Error) when `entry` is not one. */
function normalizeNameServer(entry: string): string {
  const hp = parseHostPort(entry, DEFAULT_NAMESERVER_PORT);
  // parseHostPort reads 'host:junk' as a host named 'host:junk'; only IPs and DNS names pass.
  if (isIP(hp.host) === 0 && !HOSTNAME.test(hp.host)) throw new Error('bad host');
  return formatHostPort(hp);
}

/**
 * The NameServer list of `nameserver` (one address, a `;`/`,`-separated list, or an array of
 * either): normalised, deduplicated, order kept, at least one. InvalidArgumentError
 * (ILLEGAL_ACCESS_POINT) naming the first bad entry.
 */
export function resolveNameServers(nameserver: string | readonly string[] | undefined): string[] {
  const given = nameserver ?? DEFAULT_NAMESERVER;
  const items = typeof given === 'string' ? [given] : Array.isArray(given) ? (given as readonly unknown[]) : [given];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      throw InvalidArgumentError.format('nameserver', `must be HOST:PORT (got ${JSON.stringify(item)})`, Code.ILLEGAL_ACCESS_POINT);
    }
    for (const raw of item.split(/[;,]/)) {
      const entry = raw.trim();
      if (entry === '') continue;
      let hostPort: string;
      try {
        hostPort = normalizeNameServer(entry);
      } catch {
        throw InvalidArgumentError.format('nameserver', `must be HOST:PORT (got ${JSON.stringify(entry)})`, Code.ILLEGAL_ACCESS_POINT);
      }
      if (!out.includes(hostPort)) out.push(hostPort);
    }
  }
  if (out.length === 0) {
    throw InvalidArgumentError.format('nameserver', `must name at least one HOST:PORT (got ${JSON.stringify(given)})`, Code.ILLEGAL_ACCESS_POINT);
  }
  return out;
}

function resolveTransport(transport: unknown): 'session' | 'unary' {
  if (transport === undefined) return 'session';
  if (transport === 'session' || transport === 'unary') return transport;
  throw InvalidArgumentError.format('transport', `must be 'session' or 'unary' (got ${JSON.stringify(transport)})`);
}

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  // Resolved options are often spread back in (`{ ...resolved, clientId: '...' }`: agents,
  // supervisors, the MCP server derive their clients' options so). Their `nameserver` is only the
  // first of `nameservers`: keep the whole list unless `nameserver` was overridden.
  const again = (options as { nameservers?: unknown }).nameservers;
  const reused =
    Array.isArray(again) && again.length > 0 && (options.nameserver === undefined || options.nameserver === again[0]) ? (again as string[]) : undefined;
  const nameservers = resolveNameServers(reused ?? options.nameserver);
  if (options.clientId !== undefined && options.clientId.trim() === '') {
    throw InvalidArgumentError.format('clientId', 'must not be blank', Code.CLIENT_ID_REQUIRED);
  }
  return {
    nameserver: nameservers[0]!,
    nameservers,
    clientId: options.clientId ?? createClientId(),
    requestTimeoutMs: checkPositiveMs('requestTimeoutMs', options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    logger: options.logger ?? consoleLogger('agentmq.client'),
    routeRefreshIntervalMs: checkPositiveMs(
      'routeRefreshIntervalMs',
      options.routeRefreshIntervalMs ?? DEFAULT_ROUTE_REFRESH_INTERVAL_MS,
    ),
    heartbeatIntervalMs: checkPositiveMs('heartbeatIntervalMs', options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS),
    transport: resolveTransport(options.transport),
  };
}
