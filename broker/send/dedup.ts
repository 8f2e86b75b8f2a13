/**
 * Send-side deduplication. A message carrying the user property `agentmq.dedup.key` is stored
 * once per (topic, key) within the topic's dedup window (attribute `dedup.window.ms`, else the
 * broker default); a duplicate send in the window is answered with the original message id and
 * offset and stores nothing. Entries live in memory (bounded by the window) and in RocksDB
 * ('U' keys, with an 'X' expiry entry each) so a restart keeps the window.
 */
import type { MessageStore } from '../store/message-store.js';
import type { BatchOp } from '../store/rocks.js';
import { dedupKey, decodeDedupKey, expiryKey, prefixEnd, P_DEDUP } from '../store/keys.js';

export const DEDUP_KEY_PROPERTY = 'agentmq.dedup.key';
export const DEDUP_WINDOW_ATTRIBUTE = 'dedup.window.ms';
export const MAX_DEDUP_KEY_LENGTH = 512;

export interface DedupEntry {
  messageId: string;
  expireAt: number;
  /** Resolves with the original's offset once it is stored. */
  offset: Promise<number>;
}

interface StoredDedup {
  id: string;
  offset: number;
  expireAt: number;
}

export class Dedup {
  private readonly entries = new Map<string, DedupEntry>();

  constructor(private readonly store: MessageStore) {}

  async load(now: number): Promise<void> {
    const prefix = Buffer.from([P_DEDUP]);
    for await (const [key, value] of this.store.db.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      const { topic, key: k } = decodeDedupKey(key);
      const v = JSON.parse(value.toString('utf8')) as StoredDedup;
      if (v.expireAt > now) this.entries.set(`${topic}\0${k}`, { messageId: v.id, expireAt: v.expireAt, offset: Promise.resolve(v.offset) });
    }
  }

  /** The live entry for (topic, key), if a message with that key was sent within its window. */
  lookup(topic: string, key: string, now: number): DedupEntry | undefined {
    const e = this.entries.get(`${topic}\0${key}`);
    return e && e.expireAt > now ? e : undefined;
  }

  /** Claims (topic, key) for a message about to be stored (synchronously, so racing duplicates see it). */
  reserve(topic: string, key: string, messageId: string, expireAt: number, offset: Promise<number>): void {
    offset.catch(() => {
      // The original failed to store: free the key so a retry can go through.
      if (this.entries.get(`${topic}\0${key}`)?.messageId === messageId) this.entries.delete(`${topic}\0${key}`);
    });
    this.entries.set(`${topic}\0${key}`, { messageId, expireAt, offset });
  }

  /** Ops persisting an entry (written with the message itself). */
  recordOps(topic: string, key: string, messageId: string, offset: number, expireAt: number): BatchOp[] {
    return [
      { type: 'put', key: dedupKey(topic, key), value: Buffer.from(JSON.stringify({ id: messageId, offset, expireAt } satisfies StoredDedup)) },
      { type: 'put', key: expiryKey(expireAt, { kind: 'dedup', topic, key }), value: Buffer.alloc(0) },
    ];
  }

  /** Drops an entry whose window ended (called by the expiry service). */
  expire(topic: string, key: string, now: number): BatchOp[] {
    const id = `${topic}\0${key}`;
    const e = this.entries.get(id);
    if (e && e.expireAt <= now) this.entries.delete(id);
    return e && e.expireAt > now ? [] : [{ type: 'del', key: dedupKey(topic, key) }];
  }

  /** Frees (topic, key) if `messageId` holds it (its message was recalled); ops to persist that. */
  release(topic: string, key: string, messageId: string): BatchOp[] {
    const id = `${topic}\0${key}`;
    if (this.entries.get(id)?.messageId !== messageId) return [];
    this.entries.delete(id);
    return [{ type: 'del', key: dedupKey(topic, key) }];
  }

  dropTopic(topic: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(`${topic}\0`)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
