/**
 * Keeps the discovery catalog equal to what brokers report. Every registration (full topic
 * table, with each topic's semantic metadata and liveness) is diffed against the broker's
 * previous one: topics registered or changed are upserted (identical documents are not
 * re-embedded), liveness reports are recorded, topics the broker stopped reporting are released,
 * and a topic no broker reports any more leaves the catalog. A broker that unregisters or expires
 * releases all its topics. So a NameServer started (or restarted) later is complete after one
 * heartbeat round.
 */
import type { Logger } from '../../proto/common/logger.js';
import type { LiveBroker, RegistryEvent } from '../registry/broker-registry.js';
import type { TopicCatalog } from './topic-catalog.js';

/** Same reported metadata (cheap check, so heartbeats of big catalogs do not re-validate everything). */
function sameMetadata(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

export class CatalogSync {
  constructor(
    private readonly catalog: TopicCatalog,
    private readonly logger: Logger,
  ) {}

  /** The listener to hand to BrokerRegistry.onChange. */
  readonly onRegistryEvent = (e: RegistryEvent): void => {
    void this.apply(e).catch((err: unknown) => this.logger.error('discovery catalog update failed', { broker: e.broker.name, err: String(err) }));
  };

  private semanticTopics(b: LiveBroker | undefined): Map<string, LiveBroker['topics'][number]> {
    const out = new Map<string, LiveBroker['topics'][number]>();
    for (const t of b?.topics ?? []) if (t.semantic) out.set(t.name, t);
    return out;
  }

  private async apply(e: RegistryEvent): Promise<void> {
    const broker = e.broker.name;
    const before = this.semanticTopics(e.type === 'registered' ? e.previous : e.broker);
    const now = e.type === 'registered' ? this.semanticTopics(e.broker) : new Map<string, LiveBroker['topics'][number]>();
    for (const [name, t] of now) {
      const prev = before.get(name);
      if (e.type === 'registered' && e.previous && prev && this.catalog.get(name) && sameMetadata(prev.semantic, t.semantic)) {
        // The heartbeat repeats what the catalog already has: at most the liveness changed.
        if (prev.live !== t.live) await this.catalog.setLiveness(name, broker, t.live);
        continue;
      }
      try {
        await this.catalog.upsert({ ...t.semantic, name }, { broker, live: t.live });
      } catch (err) {
        // The broker validated it; a mismatch means versions differ. Keep the rest of the catalog.
        this.logger.warn('broker reported invalid topic metadata; not indexed', { broker, topic: name, err: (err as Error).message });
      }
    }
    for (const name of before.keys()) {
      if (now.has(name)) continue;
      await this.catalog.removeBroker(broker, name);
      if (this.catalog.get(name)?.brokers.length === 0) await this.catalog.remove(name);
    }
  }
}
