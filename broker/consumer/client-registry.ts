/**
 * Online clients, per client id, with the groups they consume for (RocketMQ ConsumerManager /
 * ProducerManager). A client is online while its Telemetry stream is open or it heartbeats;
 * it goes offline on NotifyClientTermination or when silent for `expiryMs`. One timer, armed at
 * the earliest expiry of a client without an open stream, notices silent clients going away, so
 * topic liveness (some online consumer serves the topic) flips without polling.
 */
import type { Clock } from '../../proto/common/time.js';

export type ClientId = string;

export interface ClientSession {
  clientId: ClientId;
  /** PRODUCER, SIMPLE_CONSUMER, PUSH_CONSUMER, ... (from Settings or Heartbeat) */
  clientType: string;
  /** Consumer group, '' for producers. */
  group: string;
  /** Open Telemetry streams of this client. */
  streams: number;
  lastSeenMs: number;
  language: string;
  version: string;
  /** Topics it consumes (from its Settings subscriptions and its receives). */
  topics: Set<string>;
}

export class ClientRegistry {
  private readonly clients = new Map<ClientId, ClientSession>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly expiryMs: number,
    /** Called when the set of online consumers (or their topics) changed. */
    private readonly onChange: () => void = () => {},
  ) {}

  /** Records a sign of life; fields given overwrite what is known; `topics` are added. */
  touch(clientId: ClientId, info: Partial<Omit<ClientSession, 'clientId' | 'lastSeenMs' | 'streams' | 'topics'>> & { topics?: Iterable<string> } = {}): ClientSession {
    let s = this.clients.get(clientId);
    let changed = false;
    if (!s) {
      s = { clientId, clientType: 'CLIENT_TYPE_UNSPECIFIED', group: '', streams: 0, lastSeenMs: 0, language: '', version: '', topics: new Set() };
      this.clients.set(clientId, s);
      changed = true;
    }
    const { topics, ...fields } = info;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '' && v !== 'CLIENT_TYPE_UNSPECIFIED') (s as unknown as Record<string, unknown>)[k] = v;
    for (const t of topics ?? []) {
      if (!s.topics.has(t)) {
        s.topics.add(t);
        changed = true;
      }
    }
    s.lastSeenMs = this.clock.now();
    if (s.streams === 0) this.arm(s.lastSeenMs + this.expiryMs);
    if (changed) this.onChange();
    return s;
  }

  /** Topics some online client consumes. */
  liveTopics(): Set<string> {
    const out = new Set<string>();
    for (const s of this.list()) if (s.group !== '') for (const t of s.topics) out.add(t);
    return out;
  }

  private arm(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - this.clock.now()) + 5);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const before = this.clients.size;
    this.list(); // drops expired clients
    if (this.clients.size !== before) this.onChange();
    let next = Infinity;
    for (const s of this.clients.values()) if (s.streams === 0) next = Math.min(next, s.lastSeenMs + this.expiryMs);
    if (next < Infinity) this.arm(next);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  streamOpened(clientId: ClientId): void {
    this.touch(clientId).streams++;
  }

  streamClosed(clientId: ClientId): void {
    const s = this.clients.get(clientId);
    if (s) {
      s.streams = Math.max(0, s.streams - 1);
      s.lastSeenMs = this.clock.now();
      if (s.streams === 0) this.arm(s.lastSeenMs + this.expiryMs);
    }
  }

  remove(clientId: ClientId): void {
    if (this.clients.delete(clientId)) this.onChange();
  }

  private online(s: ClientSession, now: number): boolean {
    return s.streams > 0 || now - s.lastSeenMs < this.expiryMs;
  }

  /** Online clients, optionally of one group. Expired entries are dropped as a side effect. */
  list(group?: string): ClientSession[] {
    const now = this.clock.now();
    const out: ClientSession[] = [];
    for (const s of this.clients.values()) {
      if (!this.online(s, now)) {
        this.clients.delete(s.clientId);
        continue;
      }
      if (group === undefined || group === '' || s.group === group) out.push(s);
    }
    return out;
  }
}
