/**
 * Which broker owns a lite topic: rendezvous (highest-random-weight) hashing over the names of
 * the brokers that serve the parent topic. Every party that routes lite messages (a broker
 * forwarding a send, our SDK choosing where to send) computes the same owner from the same broker
 * set, and a broker joining or leaving moves only the lite topics it wins or held (about 1/N of
 * them), not the reshuffle `hash % N` would cause.
 *
 *   weight(broker) = mix32(mix32(fnv1a(broker)) ^ fnv1a(parent + '\n' + lite))   owner = argmax
 *
 * Ties (astronomically rare) go to the smaller broker name, so the owner never depends on the
 * order of `brokers`.
 */
import { fnv1a } from './hash.js';

/**
 * Header of a call one server makes on a client's behalf (a broker forwarding a lite send or a
 * subscription to the owner, a NameServer forwarding a SyncLiteSubscription to the brokers);
 * value: who forwarded. The receiver acts on it as it is and never forwards it again.
 */
export const FORWARDED_HEADER = 'x-agentmq-forwarded';
/** FORWARDED_HEADER value of a NameServer's forward (not a broker name: '@' is not allowed in one). */
export const FORWARDED_BY_NAMESERVER = '@nameserver';

/** murmur3's 32-bit finalizer: spreads the bits (fnv1a alone is weak in its high bits). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Index in `brokers` of the owner of lite topic `lite` of `parent`; -1 when `brokers` is empty. */
export function liteOwnerIndex(brokers: readonly string[], parent: string, lite: string): number {
  const key = fnv1a(`${parent}\n${lite}`);
  let best = -1;
  let bestWeight = -1;
  for (let i = 0; i < brokers.length; i++) {
    const b = brokers[i]!;
    const w = mix32(mix32(fnv1a(b)) ^ key);
    if (w > bestWeight || (w === bestWeight && b < brokers[best]!)) {
      best = i;
      bestWeight = w;
    }
  }
  return best;
}

/** Name of the broker that owns lite topic `lite` of `parent`; undefined when `brokers` is empty. */
export function liteOwner(brokers: readonly string[], parent: string, lite: string): string | undefined {
  const i = liteOwnerIndex(brokers, parent, lite);
  return i < 0 ? undefined : brokers[i];
}
