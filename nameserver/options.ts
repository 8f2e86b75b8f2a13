/**
 * NameServer options: the documented, user-facing `NameServerOptions`, their `DEFAULT_*`
 * values, and `resolveNameServerOptions()`, the one place they are merged and validated.
 * Components take only `ResolvedNameServerOptions`.
 */
import { InvalidArgumentError } from '../proto/common/errors.js';
import { consoleLogger } from '../proto/common/logger.js';
import type { Logger } from '../proto/common/logger.js';
import type { Embedder, EmbedderOptions } from './semantic/embedder.js';
import { resolveHnswParameters } from './semantic/hnsw-parameters.js';
import type { HnswParameters } from './semantic/hnsw-parameters.js';
import { systemClock } from '../proto/common/time.js';
import type { Clock } from '../proto/common/time.js';

/** Interface the NameServer binds to. */
export const DEFAULT_HOST = '127.0.0.1';
/** RocketMQ's conventional NameServer port. */
export const DEFAULT_PORT = 9876;
/** A broker silent for this long is forgotten (three default broker heartbeats). */
export const DEFAULT_BROKER_EXPIRY_MS = 30_000;

export interface NameServerOptions {
  /**
   * Host or IP address the gRPC server binds to. Use `0.0.0.0` to listen on every interface.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * TCP port of the gRPC server (both the registry service and the clients' access point).
   * `0` picks a free ephemeral port; read it from `NameServer.address` after `start()`.
   * @default 9876
   */
  port?: number;
  /**
   * How long a broker stays registered without a new RegisterBroker call. When it lapses the
   * broker and all its queues leave every route. Brokers re-register every heartbeat
   * interval, which should be well below this (the broker default is a third of it).
   * @default 30000
   */
  brokerExpiryMs?: number;
  /**
   * Where the NameServer logs.
   * @default consoleLogger('nameserver')
   */
  logger?: Logger;
  /**
   * Time source for heartbeat bookkeeping and expiry deadlines; tests may inject their own.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Semantic discovery: which embedder ranks topics, and where embeddings are cached.
   * @default { embedder: { kind: 'auto' } } (the transformers model if it loads locally, else the offline lexical embedder), no cache
   */
  discovery?: DiscoveryOptions;
}

export interface DiscoveryOptions {
  /** @see createEmbedder in nameserver/semantic/embedder.ts. @default { kind: 'auto' } */
  embedder?: EmbedderOptions;
  /** Directory of the RocksDB embedding cache (restarts do not re-embed). @default none */
  cacheDir?: string;
  /** An embedder to use as is (instead of building one from `embedder`); the caller closes it. */
  embedderInstance?: Embedder;
  /**
   * Bilingual dictionaries (another language → English) that translate queries written in other
   * languages (semantic/query-translator.ts): 'auto' uses those installed in SYSTEM_DICTIONARY_DIRS
   * (Debian: dict-freedict-<lang>-eng, edict), 'none' none, or a list of files (dictd `.index`,
   * EDICT, CC-CEDICT). Each is read on the first query in its language. @default 'auto'
   */
  dictionaries?: 'auto' | 'none' | readonly string[];
  /**
   * HNSW graph parameters of the vector index: `m` (graph degree, 2-100), `efConstruction`
   * (candidates while building), `efSearch` (candidates while searching). The defaults keep
   * recall@10 >= 0.95 up to 100k topics; for about 1M topics use { m: 32, efConstruction: 400,
   * efSearch: 800 } (recall@10 0.954, twice the build time; docs/discovery.md, "Search at scale").
   * Only the vector ranking uses them, so they matter with a transformers model.
   * @default { m: 16, efConstruction: 200, efSearch: 300 }
   */
  hnsw?: Partial<HnswParameters>;
}

/** Every option present and validated. */
export type ResolvedNameServerOptions = Required<NameServerOptions>;

/** Merges `partial` over the defaults and validates it; throws an error naming the field. */
export function resolveNameServerOptions(partial: NameServerOptions = {}): ResolvedNameServerOptions {
  const resolved: ResolvedNameServerOptions = {
    host: partial.host ?? DEFAULT_HOST,
    port: partial.port ?? DEFAULT_PORT,
    brokerExpiryMs: partial.brokerExpiryMs ?? DEFAULT_BROKER_EXPIRY_MS,
    logger: partial.logger ?? consoleLogger('nameserver'),
    clock: partial.clock ?? systemClock,
    discovery: partial.discovery ?? {},
  };
  if (resolved.discovery.hnsw !== undefined) {
    try {
      resolved.discovery = { ...resolved.discovery, hnsw: resolveHnswParameters(resolved.discovery.hnsw) };
    } catch (err) {
      throw InvalidArgumentError.format('discovery.hnsw', (err as Error).message);
    }
  }
  const dicts = resolved.discovery.dictionaries;
  if (dicts !== undefined && dicts !== 'auto' && dicts !== 'none' && !(Array.isArray(dicts) && dicts.every((p) => typeof p === 'string' && p !== ''))) {
    throw InvalidArgumentError.format('discovery.dictionaries', `must be 'auto', 'none' or a list of file paths (got ${JSON.stringify(dicts)})`);
  }
  if (typeof resolved.host !== 'string' || resolved.host.trim() === '') {
    throw InvalidArgumentError.format('host', `must be a non-empty host name or IP address (got ${JSON.stringify(resolved.host)})`);
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw InvalidArgumentError.format('port', `must be an integer between 0 and 65535 (got ${String(resolved.port)})`);
  }
  if (!Number.isSafeInteger(resolved.brokerExpiryMs) || resolved.brokerExpiryMs <= 0) {
    throw InvalidArgumentError.format('brokerExpiryMs', `must be a positive integer number of milliseconds (got ${String(resolved.brokerExpiryMs)})`);
  }
  if (typeof resolved.logger?.info !== 'function' || typeof resolved.logger.child !== 'function') {
    throw InvalidArgumentError.format('logger', 'must implement the Logger interface (debug/info/warn/error/child)');
  }
  if (typeof resolved.clock?.now !== 'function') {
    throw InvalidArgumentError.format('clock', 'must have a now() method');
  }
  return resolved;
}
