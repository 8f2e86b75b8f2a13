/**
 * The NameServer: wiring and lifecycle only. It assembles the broker registry, the route table
 * and the gRPC server from resolved options; start() binds, close() unwinds in reverse.
 */
import { formatHostPort } from '../proto/common/endpoints.js';
import { InvalidArgumentError } from '../proto/common/errors.js';
import type { HostPort } from '../proto/common/endpoints.js';
import type { Logger } from '../proto/common/logger.js';
import { messagingHandlers } from './grpc/messaging-handlers.js';
import { BrokerForwarder } from './grpc/broker-forwarder.js';
import { registryHandlers } from './grpc/registry-handlers.js';
import { NameServerGrpcServer } from './grpc/server.js';
import { resolveNameServerOptions } from './options.js';
import type { NameServerOptions, ResolvedNameServerOptions } from './options.js';
import { BrokerRegistry } from './registry/broker-registry.js';
import { RouteTable } from './registry/route-table.js';
import { createEmbedder } from './semantic/embedder.js';
import { EmbeddingCache, withEmbeddingCache } from './semantic/embedding-cache.js';
import { TopicCatalog } from './semantic/topic-catalog.js';
import { CatalogSync } from './semantic/catalog-sync.js';
import { discoveryHandlers } from './grpc/discovery-handlers.js';
import { dictionaryLabel, resolveDictionaryFiles, SYSTEM_DICTIONARY_DIRS, type DictionaryFile } from './semantic/bilingual-dictionary.js';
import { QueryTranslator } from './semantic/query-translator.js';

/** How long close() lets in-flight calls finish before cutting them off. */
const SHUTDOWN_GRACE_MS = 2_000;

export interface NameServer {
  /** Binds the gRPC port and starts serving. Idempotent (memoised); rejects if binding fails. */
  start(): Promise<void>;
  /** Where the NameServer listens (the real port when `port: 0`). Throws before start(). */
  readonly address: HostPort;
  /** The discovery catalog built from broker registrations (after start()). */
  readonly discovery: TopicCatalog;
  /** Stops expiry and the gRPC server. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
}

export function createNameServer(options: NameServerOptions = {}): NameServer {
  return new NameServerImpl(resolveNameServerOptions(options));
}

class NameServerImpl implements NameServer {
  private readonly logger: Logger;
  private readonly registry: BrokerRegistry;
  private readonly grpc: NameServerGrpcServer;
  private readonly forwarder = new BrokerForwarder();
  private bound: HostPort | undefined;
  private catalog: TopicCatalog | undefined;
  private cache: EmbeddingCache | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: ResolvedNameServerOptions) {
    this.logger = opts.logger;
    this.registry = new BrokerRegistry({
      expiryMs: opts.brokerExpiryMs,
      clock: opts.clock,
      logger: this.logger.child('registry'),
    });
    const routes = new RouteTable(this.registry);
    this.grpc = new NameServerGrpcServer({
      registry: registryHandlers({ registry: this.registry, brokerExpiryMs: opts.brokerExpiryMs, logger: this.logger }),
      messaging: messagingHandlers({ routes, logger: this.logger, forwarder: this.forwarder }),
    });
  }

  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('NameServer is closed'));
    this.starting ??= (async () => {
      // Discovery: the embedder (model or offline), its cache, the catalog fed by registrations.
      const d = this.opts.discovery;
      const translator = this.translator(d.dictionaries ?? 'auto');
      let embedder = d.embedderInstance ?? (await createEmbedder({ ...d.embedder, logger: this.logger.child('discovery') }));
      if (d.cacheDir) {
        this.cache = await EmbeddingCache.open(d.cacheDir);
        embedder = withEmbeddingCache(embedder, this.cache);
      }
      this.catalog = new TopicCatalog({ embedder, ...(d.hnsw ? { search: { hnsw: d.hnsw } } : {}), ...(translator ? { translator } : {}) });
      const hnsw = this.catalog.hnsw;
      this.logger
        .child('discovery')
        .info(
          hnsw
            ? `vector index: HNSW M ${hnsw.m}, efConstruction ${hnsw.efConstruction}, efSearch ${hnsw.efSearch}`
            : `vector index: exact, no HNSW graph (the ${embedder.id} vectors only score the results of the word rankers)${d.hnsw ? '; the HNSW options are not used' : ''}`,
        );
      this.registry.onChange(new CatalogSync(this.catalog, this.logger.child('discovery')).onRegistryEvent);
      this.grpc.addDiscovery(discoveryHandlers({ catalog: this.catalog, registry: this.registry, logger: this.logger }));
      const port = await this.grpc.listen(this.opts.host, this.opts.port);
      this.bound = { host: this.opts.host, port };
      this.logger.info(`nameserver listening ${formatHostPort(this.bound)}`);
    })();
    return this.starting;
  }

  /** The query translator for `dictionaries` (undefined when there is none), logged. */
  private translator(dictionaries: 'auto' | 'none' | readonly string[]): QueryTranslator | undefined {
    const log = this.logger.child('discovery');
    let files: DictionaryFile[];
    try {
      files = resolveDictionaryFiles(dictionaries);
    } catch (err) {
      throw InvalidArgumentError.format('discovery.dictionaries', (err as Error).message);
    }
    if (files.length === 0) {
      if (dictionaries === 'auto') log.info(`no bilingual dictionaries in ${SYSTEM_DICTIONARY_DIRS.join(', ')}: queries in other languages are matched as written`);
      return undefined;
    }
    log.info(`queries in other languages are translated with the dictionaries ${files.map(dictionaryLabel).join(', ')} (each read on its first query)`);
    return new QueryTranslator({ files, logger: log });
  }

  /** The discovery catalog (after start()). */
  get discovery(): TopicCatalog {
    if (!this.catalog) throw new Error('NameServer is not started');
    return this.catalog;
  }

  get address(): HostPort {
    if (!this.bound) throw new Error('NameServer is not listening: await start() first');
    return this.bound;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.registry.close();
      // A failed start has nothing more to undo; its error was reported by start().
      await this.starting?.catch(() => undefined);
      await this.grpc.shutdown(SHUTDOWN_GRACE_MS);
      this.forwarder.close();
      await this.cache?.close();
      if (this.bound) this.logger.info(`nameserver closed ${formatHostPort(this.bound)}`);
    })();
    return this.closing;
  }
}
