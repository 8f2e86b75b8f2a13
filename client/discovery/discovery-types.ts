/** Public shapes of semantic discovery (client side). */
import type { SemanticMetadata } from '../../proto/common/semantic-metadata.js';

export type { SemanticMetadata, SemanticSkill, JsonSchemaObject } from '../../proto/common/semantic-metadata.js';

/** A topic registered as a capability, as the NameServer's catalog holds it. */
export interface CatalogTopic {
  name: string;
  metadata: SemanticMetadata;
  /** Some online consumer serves it. */
  live: boolean;
  /** Brokers serving it. */
  routes: { broker: string; endpoint: string; queueCount: number }[];
  updatedAtMs: number;
}

export interface DiscoverOptions {
  /** @default 5 */
  topK?: number;
  /** Every tag must be on the topic. */
  tags?: string[];
  /** Every attribute must equal the topic's. */
  attributes?: Record<string, string>;
  /** 0..1; @default the NameServer's calibrated threshold */
  minScore?: number;
  /** Also rank topics no online consumer serves. @default false */
  includeOffline?: boolean;
  signal?: AbortSignal;
}

export interface DiscoveryHit {
  topic: CatalogTopic;
  /** Fused relevance in [0, 1]. */
  score: number;
  vectorScore: number;
  lexicalScore: number;
}

export interface DiscoveryResult {
  hits: DiscoveryHit[];
  /** Nothing registered fits the query well enough. */
  noMatch: boolean;
  noMatchReason: string;
  /** How well the closest topic fits (0..1); `noMatch` is this below `threshold`. */
  bestScore: number;
  /** The "no match" threshold the NameServer applied. */
  threshold: number;
  /**
   * On a live-only query declared `noMatch`: how many topics nobody serves right now would fit
   * (`includeOffline: true` lists them). 0 means no registered capability fits at all.
   */
  offlineFits: number;
  embedder: string;
  /**
   * Set when the query was in another language and the NameServer translated it with a
   * bilingual dictionary: the language (ISO 639-3) and the English terms added to the query.
   */
  translation?: { language: string; terms: string[] };
}

export type CatalogEvent =
  | { type: 'snapshot'; topic: CatalogTopic }
  | { type: 'snapshot-end' }
  | { type: 'added' | 'updated' | 'liveness'; topic: CatalogTopic }
  | { type: 'removed'; name: string };

/** Semantic metadata to register, as plain fields. Schemas are JSON Schema objects. */
export interface TopicRegistration extends Partial<SemanticMetadata> {
  /** Topic name (created if missing). */
  name: string;
  description: string;
  /** Used only if the topic is created. @default 4 */
  queueCount?: number;
}
