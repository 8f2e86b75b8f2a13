/**
 * Options of the MCP server (`AgentMqMcpServer`, `agentmq mcp`), their defaults and validation.
 */
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { checkPositiveMs, resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from '../options.js';
import { checkTimeoutMs, DEFAULT_CALL_TIMEOUT_MS, type SupervisorOptions } from '../agent/supervisor-options.js';

/** How long tools/list and tools/call wait for the first catalog snapshot. */
export const DEFAULT_MCP_READY_TIMEOUT_MS = 10_000;
/** Catalog changes closer together than this are applied (and announced) together. */
export const DEFAULT_MCP_REFRESH_DEBOUNCE_MS = 50;
/** Capabilities a `query` keeps (the best ones). */
export const DEFAULT_MCP_QUERY_TOP_K = 10;
/** How long `close()` lets canceled calls tell their agents before closing the clients. */
export const DEFAULT_MCP_CLOSE_TIMEOUT_MS = 1_000;
/** Backoff of the catalog watch after the stream failed (doubling up to the max). */
export const DEFAULT_MCP_WATCH_RETRY_MS = { min: 250, max: 5_000 } as const;

/** Supervisor settings the MCP server passes through (the client options and `timeoutMs` come from the server's own). */
export type McpSupervisorOptions = Omit<SupervisorOptions, keyof ClientOptions | 'timeoutMs'>;

export interface McpServerOptions extends ClientOptions {
  /**
   * Expose only the capabilities that match this natural-language query (NameServer discovery,
   * best first, at most `topK`; none when the NameServer answers "no match").
   * @default every capability of the catalog
   */
  query?: string;
  /** With `query`: the most capabilities kept. @default 10 */
  topK?: number;
  /** Expose only capabilities carrying every one of these tags. */
  tags?: string[];
  /** Also expose capabilities no agent serves right now (their tasks wait in the topic). @default false */
  includeOffline?: boolean;
  /** Timeout of each tool call (the agent is told to cancel when it passes); 0 = none. @default 300000 */
  timeoutMs?: number;
  /**
   * Check a call's arguments against the capability's input schema in the MCP server, before a
   * task is sent; a mismatch is answered at once with `isError` (the agent checks them anyway).
   * @default false
   */
  strict?: boolean;
  /** `serverInfo.name` of the MCP handshake. @default 'agentmq' */
  serverName?: string;
  /** How long tools/list and tools/call wait for the first catalog snapshot. @default 10000 */
  readyTimeoutMs?: number;
  /** Catalog changes within this window are applied together. @default 50 */
  refreshDebounceMs?: number;
  /** How long `close()` lets canceled calls tell their agents. @default 1000 */
  closeTimeoutMs?: number;
  /** Backoff of the catalog watch after a failure. @default { min: 250, max: 5000 } */
  watchRetryMs?: { min: number; max: number };
  /** Passed to the Supervisor that runs the calls (reply topic, group, cancelGraceMs, ...). */
  supervisor?: McpSupervisorOptions;
}

export interface ResolvedMcpServerOptions {
  client: ResolvedClientOptions;
  query: string | undefined;
  topK: number;
  tags: string[];
  includeOffline: boolean;
  timeoutMs: number;
  strict: boolean;
  serverName: string;
  readyTimeoutMs: number;
  refreshDebounceMs: number;
  closeTimeoutMs: number;
  watchRetryMs: { min: number; max: number };
  supervisor: McpSupervisorOptions;
}

function nonNegativeMs(field: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw InvalidArgumentError.format(field, `must be a non-negative integer number of milliseconds (got ${String(v)})`);
  return v;
}

export function resolveMcpServerOptions(options: McpServerOptions = {}): ResolvedMcpServerOptions {
  if (typeof options !== 'object' || options === null) throw InvalidArgumentError.format('options', 'must be an object');
  const query = options.query?.trim();
  if (options.query !== undefined && !query) throw InvalidArgumentError.format('query', 'must not be blank');
  const topK = options.topK ?? DEFAULT_MCP_QUERY_TOP_K;
  if (!Number.isSafeInteger(topK) || topK < 1 || topK > 1000) throw InvalidArgumentError.format('topK', `must be an integer between 1 and 1000 (got ${String(topK)})`);
  const tags = options.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.trim() === '')) throw InvalidArgumentError.format('tags', 'must be an array of non-blank strings');
  const retry = options.watchRetryMs ?? DEFAULT_MCP_WATCH_RETRY_MS;
  checkPositiveMs('watchRetryMs.min', retry.min);
  checkPositiveMs('watchRetryMs.max', retry.max);
  if (retry.max < retry.min) throw InvalidArgumentError.format('watchRetryMs', 'max must not be below min');
  return {
    client: resolveClientOptions(options),
    query: query || undefined,
    topK,
    tags: [...tags],
    includeOffline: options.includeOffline ?? false,
    timeoutMs: checkTimeoutMs('timeoutMs', options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS),
    strict: options.strict ?? false,
    serverName: options.serverName ?? 'agentmq',
    readyTimeoutMs: nonNegativeMs('readyTimeoutMs', options.readyTimeoutMs ?? DEFAULT_MCP_READY_TIMEOUT_MS),
    refreshDebounceMs: nonNegativeMs('refreshDebounceMs', options.refreshDebounceMs ?? DEFAULT_MCP_REFRESH_DEBOUNCE_MS),
    closeTimeoutMs: nonNegativeMs('closeTimeoutMs', options.closeTimeoutMs ?? DEFAULT_MCP_CLOSE_TIMEOUT_MS),
    watchRetryMs: { min: retry.min, max: retry.max },
    supervisor: { ...(options.supervisor ?? {}) },
  };
}
