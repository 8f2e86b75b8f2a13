/**
 * Brokers that just failed at the transport level (connection refused, timeout) are set aside
 * for a while so new sends and receives go to healthy brokers of the route, as the official
 * clients' "isolated endpoints" do. The pause doubles with consecutive failures (1 s .. 30 s); any
 * success (a call or a heartbeat) clears it. When every candidate is isolated, callers use them
 * anyway: trying is better than failing without a call.
 */
import { ClientError } from '../errors.js';
import type { Endpoint } from '../types.js';

export const ISOLATION_MIN_MS = 1_000;
export const ISOLATION_MAX_MS = 30_000;

interface Isolation {
  failures: number;
  untilMs: number;
}

export class EndpointIsolation {
  private readonly isolated = new Map<Endpoint, Isolation>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a transport failure; returns true when the endpoint was healthy until now. */
  fail(endpoint: Endpoint): boolean {
    const prev = this.isolated.get(endpoint);
    const failures = (prev?.failures ?? 0) + 1;
    const pause = Math.min(ISOLATION_MAX_MS, ISOLATION_MIN_MS * 2 ** (failures - 1));
    this.isolated.set(endpoint, { failures, untilMs: this.now() + pause });
    return prev === undefined;
  }

  /** Records a success: the endpoint is healthy again. */
  succeed(endpoint: Endpoint): void {
    this.isolated.delete(endpoint);
  }

  isIsolated(endpoint: Endpoint): boolean {
    const i = this.isolated.get(endpoint);
    return i !== undefined && i.untilMs > this.now();
  }

  /** The candidates not isolated right now, or all of them if every one is. */
  filter<T>(candidates: readonly T[], endpointOf: (c: T) => Endpoint): T[] {
    const healthy = candidates.filter((c) => !this.isIsolated(endpointOf(c)));
    return healthy.length > 0 ? healthy : [...candidates];
  }

  /** `filter` for a list of endpoints; returns `candidates` itself when nothing is isolated. */
  filterEndpoints(candidates: readonly Endpoint[]): readonly Endpoint[] {
    if (this.isolated.size === 0) return candidates;
    return this.filter(candidates, (e) => e);
  }

  /** Whether any candidate is not isolated. */
  anyHealthy(endpoints: Iterable<Endpoint>): boolean {
    for (const e of endpoints) if (!this.isIsolated(e)) return true;
    return false;
  }
}

/** Transport-level failures (no answer from the broker) isolate an endpoint; statuses do not. */
export function isTransportFailure(err: unknown): boolean {
  return err instanceof ClientError && (err.code === 'TRANSPORT' || err.code === 'TIMEOUT');
}
