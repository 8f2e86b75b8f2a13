/**
 * Accepting messages: queue selection and the append to the store. Input is already validated
 * by the gRPC edge; this module decides where each message goes.
 *
 * Queue selection: messages with a message group always go to the same queue of their topic
 * (FNV-1a of the group modulo the queue count), so a group stays in order; others are spread
 * round-robin. The client's own queue choice is ignored, as Apache's proxy does: the official
 * Node client only ever addresses queue 0.
 */
import type { MessageStore, AppendEntry, AppendResult } from '../store/message-store.js';
import type { StoredHeader } from '../store/codec.js';

export interface IncomingMessage {
  topic: string;
  header: Omit<StoredHeader, 'storeMs'>;
  body: Buffer;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class SendService {
  private readonly rr = new Map<string, number>();

  constructor(private readonly store: MessageStore) {}

  private selectQueue(topic: string, group: string | undefined): number {
    const n = this.store.queueCount(topic);
    if (group !== undefined) return fnv1a(group) % n;
    const next = (this.rr.get(topic) ?? 0) + 1;
    this.rr.set(topic, next);
    return next % n;
  }

  /** Stores the messages in one group-committed write; resolves once durable. */
  send(messages: IncomingMessage[], nowMs: number): Promise<AppendResult[]> {
    const entries: AppendEntry[] = messages.map((m) => ({
      topic: m.topic,
      queueId: this.selectQueue(m.topic, m.header.group),
      header: { ...m.header, storeMs: nowMs },
      body: m.body,
    }));
    return this.store.append(entries);
  }
}
