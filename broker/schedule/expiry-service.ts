/**
 * Expiry of per-message TTLs and of dedup windows: a DueScanner over the 'X' index. An expired
 * message is deleted from its queue (its space reclaimed; readers and redeliveries skip the
 * gap); an expired dedup entry is forgotten.
 */
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessageStore } from '../store/message-store.js';
import type { BatchOp } from '../store/rocks.js';
import { decodeExpiryKey, expiryTime, P_EXPIRY } from '../store/keys.js';
import type { Dedup } from '../send/dedup.js';
import { DueScanner } from './due-scanner.js';

export class ExpiryService {
  private readonly scanner: DueScanner;
  /** Messages deleted because their TTL passed (since start). */
  expiredMessages = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly dedup: Dedup,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.scanner = new DueScanner(store.db, P_EXPIRY, expiryTime, (entries) => this.onDue(entries), clock, logger);
  }

  start(): Promise<void> {
    return this.scanner.start();
  }

  /** Something expiring at `at` was committed. */
  notify(at: number): void {
    this.scanner.notify(at);
  }

  private async onDue(entries: [Buffer, Buffer][]): Promise<void> {
    const now = this.clock.now();
    const ops: BatchOp[] = [];
    const messages: { topic: string; queueId: number; offset: number }[] = [];
    for (const [key] of entries) {
      const { target } = decodeExpiryKey(key);
      if (target.kind === 'message') messages.push(target);
      else ops.push(...this.dedup.expire(target.topic, target.key, now));
      ops.push({ type: 'del', key: Buffer.from(key) });
    }
    this.expiredMessages += await this.store.deleteMessages(messages, ops);
  }

  close(): void {
    this.scanner.close();
  }
}
