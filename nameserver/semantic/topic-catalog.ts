/**
 * The NameServer's semantic catalog: every topic's validated `TopicDocument`, which brokers
 * serve it and whether it is live on each (a topic is live when some broker reports an online
 * consumer for it), fed into the hybrid search.
 *
 * Soft state, like RocketMQ's RouteInfoManager: brokers report their topics' documents and
 * liveness with every registration, so a restarted or newly added NameServer rebuilds the
 * catalog from those reports (re-embedding is avoided by the embedding cache).
 *
 * Writes are serialised (embedding is asynchronous); reads and searches see the state after the
 * last completed write. Every change is announced to listeners (`onChange`), which is what a
 * WatchTopics stream needs: current catalog via `list()`, then these events.
 */
import type { Embedder } from './embedder.js';
import { HybridSearch } from './hybrid-search.js';
import type { HnswParameters } from './hnsw-parameters.js';
import type { HybridSearchOptions, SearchFilters, SearchOptions, SearchSignals, TopicName } from './hybrid-search.js';
import type { QueryTranslation, QueryTranslator } from './query-translator.js';
import { validateTopicDocument } from './topic-document.js';
import type { TopicDocument } from './topic-document.js';

/** A broker's name as it registers with the NameServer. */
export type BrokerName = string;

export interface CatalogEntry {
  document: TopicDocument;
  /** True when at least one broker reports the topic live. */
  live: boolean;
  /** Brokers serving the topic, sorted, with each one's liveness report. */
  brokers: Array<{ broker: BrokerName; live: boolean }>;
  /** Increases on every change of this entry (document, brokers or liveness). */
  revision: number;
}

export type CatalogEvent =
  | { type: 'added'; entry: CatalogEntry }
  | { type: 'updated'; entry: CatalogEntry }
  | { type: 'removed'; name: TopicName; revision: number }
  | { type: 'liveness'; entry: CatalogEntry };

export type CatalogListener = (event: CatalogEvent) => void;

export interface CatalogSearchOptions {
  /** Results wanted. @default 10 */
  topK?: number;
  filters?: SearchFilters;
  /** Best score below which the answer is "no match". @default the search's minScore (DEFAULT_MIN_SCORES per embedder family) */
  minScore?: number;
  /** Also return topics no live consumer serves. @default false */
  includeOffline?: boolean;
}

export interface CatalogHit {
  name: TopicName;
  score: number;
  signals: SearchSignals;
  document: TopicDocument;
  live: boolean;
  brokers: BrokerName[];
}

export interface CatalogSearchResult {
  hits: CatalogHit[];
  /** How well the closest topic fits (HybridSearch's `SearchResult.bestScore`); decides `noMatch`. */
  bestScore: number;
  noMatch: boolean;
  minScore: number;
  /** The signals behind `bestScore`. */
  best?: SearchSignals;
  /** Present when the query was in another language and English terms were added to it. */
  translation?: QueryTranslation;
  /**
   * Set on a live-only search declared `noMatch`: how many offline topics (nobody serves them right
   * now) would fit the query, at most `topK`. 0 when none does.
   */
  offlineFits?: number;
}

export interface UpsertOptions {
  /** The broker reporting the topic; recorded as serving it. */
  broker?: BrokerName;
  /** That broker's liveness report for the topic. @default true */
  live?: boolean;
}

export interface TopicCatalogOptions {
  embedder: Embedder;
  search?: HybridSearchOptions;
  /** Adds English terms to queries in other languages (query-translator.ts). @default none */
  translator?: QueryTranslator;
}

interface Entry {
  document: TopicDocument;
  brokers: Map<BrokerName, boolean>;
  revision: number;
}

export class TopicCatalog {
  readonly #search: HybridSearch;
  readonly #translator: QueryTranslator | undefined;
  readonly #entries = new Map<TopicName, Entry>();
  readonly #listeners = new Set<CatalogListener>();
  #writes: Promise<unknown> = Promise.resolve();
  #revision = 0;

  constructor(options: TopicCatalogOptions) {
    this.#search = new HybridSearch(options.embedder, options.search);
    this.#translator = options.translator;
  }

  get size(): number {
    return this.#entries.size;
  }

  get embedder(): Embedder {
    return this.#search.embedder;
  }

  /**
   * The vector index's HNSW parameters (M, efConstruction, efSearch), or undefined when it builds
   * no graph (the lexical embedder: its vectors only score results, exactly).
   */
  get hnsw(): Readonly<HnswParameters> | undefined {
    return this.#search.vectors.graph ? this.#search.vectors.parameters : undefined;
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  onChange(listener: CatalogListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Validates and registers (or replaces) a topic's document; with `options.broker`, also records
   * that broker as serving it. Re-registering an identical document only updates the broker
   * report (no re-embedding, an event only if liveness changed).
   * Throws `TopicDocumentError` for an invalid document.
   */
  async upsert(input: unknown, options: UpsertOptions = {}): Promise<CatalogEntry> {
    const doc = validateTopicDocument(input);
    return this.#serial(async () => {
      const prev = this.#entries.get(doc.name);
      const same = prev !== undefined && JSON.stringify(prev.document) === JSON.stringify(doc);
      if (!same) await this.#search.upsert(doc);
      const entry: Entry = prev ?? { document: doc, brokers: new Map(), revision: 0 };
      const wasLive = isLive(entry);
      entry.document = doc;
      let brokerChanged = false;
      if (options.broker !== undefined) {
        const live = options.live ?? true;
        brokerChanged = entry.brokers.get(options.broker) !== live;
        entry.brokers.set(options.broker, live);
      }
      if (!prev) {
        entry.revision = ++this.#revision;
        this.#entries.set(doc.name, entry);
        this.#emit({ type: 'added', entry: view(entry) });
      } else if (!same) {
        entry.revision = ++this.#revision;
        this.#emit({ type: 'updated', entry: view(entry) });
      } else if (brokerChanged) {
        entry.revision = ++this.#revision;
        this.#emit(isLive(entry) !== wasLive ? { type: 'liveness', entry: view(entry) } : { type: 'updated', entry: view(entry) });
      }
      return view(entry);
    });
  }

  /** Records `broker`'s liveness report for `name`. Returns false when the topic is unknown. */
  setLiveness(name: TopicName, broker: BrokerName, live: boolean): Promise<boolean> {
    return this.#serial(async () => {
      const entry = this.#entries.get(name);
      if (!entry) return false;
      if (entry.brokers.get(broker) === live) return true;
      const wasLive = isLive(entry);
      entry.brokers.set(broker, live);
      entry.revision = ++this.#revision;
      this.#emit(isLive(entry) !== wasLive ? { type: 'liveness', entry: view(entry) } : { type: 'updated', entry: view(entry) });
      return true;
    });
  }

  /**
   * `broker` no longer serves `name` (or, without `name`, any topic: the broker expired). Topics
   * left with no broker stay in the catalog, offline, until removed.
   */
  removeBroker(broker: BrokerName, name?: TopicName): Promise<void> {
    return this.#serial(async () => {
      const names = name === undefined ? [...this.#entries.keys()] : [name];
      for (const n of names) {
        const entry = this.#entries.get(n);
        if (!entry || !entry.brokers.has(broker)) continue;
        const wasLive = isLive(entry);
        entry.brokers.delete(broker);
        entry.revision = ++this.#revision;
        this.#emit(isLive(entry) !== wasLive ? { type: 'liveness', entry: view(entry) } : { type: 'updated', entry: view(entry) });
      }
    });
  }

  /** Removes a topic; returns whether it was present. */
  remove(name: TopicName): Promise<boolean> {
    return this.#serial(async () => {
      if (!this.#entries.delete(name)) return false;
      this.#search.remove(name);
      this.#emit({ type: 'removed', name, revision: ++this.#revision });
      return true;
    });
  }

  get(name: TopicName): CatalogEntry | undefined {
    const entry = this.#entries.get(name);
    return entry ? view(entry) : undefined;
  }

  /** Every entry, sorted by name (optionally only live ones). */
  list(options: { includeOffline?: boolean } = {}): CatalogEntry[] {
    const includeOffline = options.includeOffline ?? true;
    return [...this.#entries.values()]
      .filter((e) => includeOffline || isLive(e))
      .sort((a, b) => (a.document.name < b.document.name ? -1 : 1))
      .map(view);
  }

  /** Resolves once every write issued so far has been applied. */
  async settled(): Promise<void> {
    await this.#writes.catch(() => undefined);
  }

  /**
   * Natural-language search over the catalog; live topics only unless `includeOffline`. Hits
   * carry the document, liveness and brokers; `noMatch` says that no topic fits the query.
   */
  async search(query: string, options: CatalogSearchOptions = {}): Promise<CatalogSearchResult> {
    const includeOffline = options.includeOffline ?? false;
    // A query in another language keeps its words (names, cognates) and gains English ones.
    const translation = this.#translator?.translate(query);
    const base: SearchOptions = {
      ...(translation ? { translation: translation.terms.join(' ') } : {}),
      topK: options.topK,
      filters: options.filters,
      minScore: options.minScore,
    };
    // Offline topics are hidden in the index (kept in step by #emit), so no per-topic lookup is
    // needed; a topic removed while the query was being embedded is dropped below.
    const result = await this.#search.search(query, { ...base, includeHidden: includeOffline });
    const hits: CatalogHit[] = [];
    for (const h of result.hits) {
      const entry = this.#entries.get(h.name);
      if (!entry) continue; // removed while the query was being embedded
      const v = view(entry);
      hits.push({ name: h.name, score: h.score, signals: h.signals, document: v.document, live: v.live, brokers: v.brokers.map((b) => b.broker) });
    }
    const noMatch = hits.length === 0 || result.noMatch;
    return {
      hits,
      bestScore: hits.length > 0 ? result.bestScore : 0,
      ...(hits.length > 0 && result.best ? { best: result.best } : {}),
      noMatch,
      minScore: result.minScore,
      ...(translation ? { translation } : {}),
      ...(noMatch && !includeOffline ? { offlineFits: await this.#offlineFits(query, base) } : {}),
    };
  }

  /**
   * How many offline topics fit `query` (score at or above the threshold), at most `topK`: the
   * second search behind a live-only "no match", so the answer can say that a capable agent exists
   * but is not online. Only a "no match" pays for it. Up to `prefilterMax` offline topics it ranks
   * them alone (exact and cheap); with more, it searches the whole catalog (the cost of one more
   * search) and counts the offline topics among the best `topK`: the live ones did not fit.
   */
  async #offlineFits(query: string, base: SearchOptions): Promise<number> {
    const hidden = this.#search.hiddenCount;
    if (hidden === 0) return 0;
    const offline = await this.#search.search(query, { ...base, ...(hidden <= this.#search.prefilterMax ? { onlyHidden: true } : { includeHidden: true }) });
    if (offline.noMatch) return 0;
    let fits = 0;
    for (const h of offline.hits) {
      const entry = this.#entries.get(h.name);
      if (entry && !view(entry).live && h.score >= offline.minScore) fits++;
    }
    return fits;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(fn, fn);
    this.#writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Announces a change, after keeping the index's hidden marks in step with liveness: every
   * change of an entry goes through here, and offline topics are hidden from live-only searches.
   */
  #emit(event: CatalogEvent): void {
    if (event.type !== 'removed') this.#search.setHidden(event.entry.document.name, !event.entry.live);
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not undo or block the catalog change; listeners own their errors.
      }
    }
  }
}

function isLive(entry: Entry): boolean {
  for (const live of entry.brokers.values()) if (live) return true;
  return false;
}

function view(entry: Entry): CatalogEntry {
  return {
    document: entry.document,
    live: isLive(entry),
    brokers: [...entry.brokers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([broker, live]) => ({ broker, live })),
    revision: entry.revision,
  };
}
