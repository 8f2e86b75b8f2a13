/**
 * agentmq.v1.Discovery on the NameServer: Discover, GetTopic, ListTopics (paged) and
 * WatchTopics (snapshot, then changes). Thin: validate, ask the catalog, convert.
 */
import type * as grpc from '@grpc/grpc-js';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import type { Logger } from '../../proto/common/logger.js';
import { okStatus, toStatus } from '../../proto/common/status.js';
import { semanticToWire } from '../../proto/common/semantic-metadata.js';
import { toWireEndpoints } from '../../proto/common/endpoints.js';
import type { DiscoveryHandlers } from '../../proto/index.js';
import type { CatalogTopic } from '../../proto/gen/agentmq/v1/CatalogTopic.js';
import type { TopicEvent } from '../../proto/gen/agentmq/v1/TopicEvent.js';
import type { WatchTopicsRequest__Output } from '../../proto/gen/agentmq/v1/WatchTopicsRequest.js';
import type { BrokerRegistry } from '../registry/broker-registry.js';
import type { CatalogEntry, CatalogEvent, CatalogSearchResult, TopicCatalog } from '../semantic/topic-catalog.js';
import { unary } from './wrap.js';

export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 100;
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
export const MAX_QUERY_LENGTH = 4096;

export interface DiscoveryDeps {
  catalog: TopicCatalog;
  registry: BrokerRegistry;
  logger: Logger;
}

export function discoveryHandlers(deps: DiscoveryDeps): DiscoveryHandlers {
  const { catalog, registry, logger } = deps;
  const updatedAt = new Map<string, number>();

  /** A catalog entry as the wire shows it, with the routes of the brokers serving it. */
  function toWire(e: CatalogEntry): CatalogTopic {
    const { name, ...semantic } = e.document;
    const brokers = new Map(registry.list().map((b) => [b.name, b]));
    return {
      name,
      metadata: semanticToWire(semantic),
      live: e.live,
      routes: e.brokers.flatMap(({ broker }) => {
        const b = brokers.get(broker);
        const t = b?.topicsByName.get(name);
        return b && t ? [{ brokerName: broker, endpoints: toWireEndpoints(b.endpoint), queueCount: t.queueCount }] : [];
      }),
      updatedAtMs: updatedAt.get(name) ?? 0,
    };
  }

  catalog.onChange((ev) => {
    if (ev.type === 'removed') updatedAt.delete(ev.name);
    else if (ev.type !== 'liveness') updatedAt.set(ev.entry.document.name, Date.now());
  });

  function watch(call: grpc.ServerWritableStream<WatchTopicsRequest__Output, TopicEvent>): void {
    const includeOffline = call.request.includeOffline;
    /** Names the watcher has been told about (live only unless include_offline). */
    const known = new Set<string>();
    const send = (ev: TopicEvent) => {
      if (!call.cancelled && call.writable) call.write(ev);
    };
    for (const e of catalog.list({ includeOffline })) {
      known.add(e.document.name);
      send({ type: 'SNAPSHOT', topic: toWire(e) });
    }
    send({ type: 'SNAPSHOT_END' });
    const onEvent = (ev: CatalogEvent) => {
      if (ev.type === 'removed') {
        if (known.delete(ev.name)) send({ type: 'REMOVED', topic: { name: ev.name } });
        return;
      }
      const e = ev.entry;
      const name = e.document.name;
      const visible = includeOffline || e.live;
      if (!visible) {
        // Live-only watchers see a topic going offline as a removal.
        if (known.delete(name)) send({ type: 'REMOVED', topic: toWire(e) });
        return;
      }
      if (!known.has(name)) {
        known.add(name);
        send({ type: 'ADDED', topic: toWire(e) });
        return;
      }
      send({ type: ev.type === 'liveness' ? 'LIVENESS' : ev.type === 'added' ? 'ADDED' : 'UPDATED', topic: toWire(e) });
    };
    const unsubscribe = catalog.onChange(onEvent);
    const stop = () => unsubscribe();
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
  }

  return {
    Discover: unary('Discover', logger, async (r) => {
      const query = (r.query ?? '').trim();
      if (!query) throw InvalidArgumentError.format('query', 'must not be blank');
      if (query.length > MAX_QUERY_LENGTH) throw InvalidArgumentError.format('query', `must be at most ${MAX_QUERY_LENGTH} characters`);
      const topK = r.topK || DEFAULT_TOP_K;
      if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw InvalidArgumentError.format('top_k', `must be between 1 and ${MAX_TOP_K} (got ${topK})`);
      if (!(r.minScore >= 0 && r.minScore <= 1)) throw InvalidArgumentError.format('min_score', `must be between 0 and 1 (got ${r.minScore})`);
      const result = await catalog.search(query, {
        topK,
        ...(r.minScore > 0 ? { minScore: r.minScore } : {}),
        includeOffline: r.includeOffline,
        filters: {
          ...(r.tags?.length ? { tags: r.tags } : {}),
          ...(r.attributes && Object.keys(r.attributes).length ? { attributes: r.attributes } : {}),
        },
      });
      return {
        status: okStatus(),
        hits: result.hits.map((h) => {
          const entry = catalog.get(h.name);
          return {
            topic: entry ? toWire(entry) : { name: h.name },
            score: h.score,
            vectorScore: h.signals.cosine ?? 0,
            lexicalScore: h.signals.coverage ?? 0,
          };
        }),
        noMatch: result.noMatch,
        noMatchReason: result.noMatch ? noMatchReason(result) : '',
        bestScore: result.bestScore,
        threshold: result.minScore,
        embedder: catalog.embedder.id,
        queryLanguage: result.translation?.language ?? '',
        translatedTerms: result.translation?.terms ?? [],
        offlineFits: result.offlineFits ?? 0,
      };
    }),

    GetTopic: unary('GetTopic', logger, async (r) => {
      const entry = catalog.get(r.name);
      if (!entry) throw new MqError(Code.TOPIC_NOT_FOUND, `topic ${r.name} is not in the discovery catalog`, { topic: r.name });
      return { status: okStatus(), topic: toWire(entry) };
    }),

    ListTopics: unary('ListTopics', logger, async (r) => {
      const size = r.pageSize || DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw InvalidArgumentError.format('page_size', `must be between 1 and ${MAX_PAGE_SIZE}`);
      const after = r.pageToken ? Buffer.from(r.pageToken, 'base64url').toString('utf8') : '';
      const all = catalog.list({ includeOffline: r.includeOffline }).filter((e) => e.document.name > after);
      const page = all.slice(0, size);
      const last = page[page.length - 1];
      return {
        status: okStatus(),
        topics: page.map(toWire),
        nextPageToken: all.length > size && last ? Buffer.from(last.document.name, 'utf8').toString('base64url') : '',
      };
    }),

    WatchTopics: (call) => {
      try {
        watch(call);
      } catch (err) {
        call.emit('error', { code: 13, details: toStatus(err, logger).message });
      }
    },
  };
}

/** The `no_match_reason` of a Discover answer: the scores, and whether an offline topic would fit. */
export function noMatchReason(result: CatalogSearchResult): string {
  const scores = `best score ${result.bestScore.toFixed(3)} is below the threshold ${result.minScore.toFixed(3)}`;
  const n = result.offlineFits ?? 0;
  if (n === 0) return scores;
  return `no live topic fits (${scores}), but ${n} topic${n === 1 ? '' : 's'} that nobody serves right now ${n === 1 ? 'does' : 'do'} (include_offline lists ${n === 1 ? 'it' : 'them'})`;
}
