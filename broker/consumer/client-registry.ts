/**
 * Online clients, per client id, with the groups they consume for (RocketMQ ConsumerManager /
 * ProducerManager). A client is online while its Telemetry stream is open or it heartbeats;
 * it goes offline on NotifyClientTermination or when silent for `expiryMs` (checked lazily when
 * read, so no timer runs).
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
}

export class ClientRegistry {
  private readonly clients = new Map<ClientId, ClientSession>();

  constructor(
    private readonly clock: Clock,
    private readonly expiryMs: number,
  ) {}

  /** Records a sign of life; fields given overwrite what is known. */
  touch(clientId: ClientId, info: Partial<Omit<ClientSession, 'clientId' | 'lastSeenMs' | 'streams'>> = {}): ClientSession {
    let s = this.clients.get(clientId);
    if (!s) {
      s = { clientId, clientType: 'CLIENT_TYPE_UNSPECIFIED', group: '', streams: 0, lastSeenMs: 0, language: '', version: '' };
      this.clients.set(clientId, s);
    }
    for (const [k, v] of Object.entries(info)) if (v !== undefined && v !== '' && v !== 'CLIENT_TYPE_UNSPECIFIED') (s as unknown as Record<string, unknown>)[k] = v;
    s.lastSeenMs = this.clock.now();
    return s;
  }

  streamOpened(clientId: ClientId): void {
    this.touch(clientId).streams++;
  }

  streamClosed(clientId: ClientId): void {
    const s = this.clients.get(clientId);
    if (s) {
      s.streams = Math.max(0, s.streams - 1);
      s.lastSeenMs = this.clock.now();
    }
  }

  remove(clientId: ClientId): void {
    this.clients.delete(clientId);
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
