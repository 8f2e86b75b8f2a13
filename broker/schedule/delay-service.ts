/**
 * Delayed delivery and recall. A message with a delivery timestamp in the future is written as a
 * 'D' key (deliverAt|seq, keys.ts) instead of into its topic; a DueScanner moves it into the topic
 * when due (one write batch: append + delete of the 'D' key), so it is durable in exactly one
 * place at any moment, and becomes visible to consumers at that time.
 *
 * Recall handles (returned on send) name the 'D' key and are HMAC-bound to the topic:
 *   base64url( 'D' key (17 bytes) | HMAC-SHA256(secret, key | topic)[0..8] )
 * RecallMessage deletes the pending message if it is not yet due.
 */
import { createHmac } from 'node:crypto';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessageStore } from '../store/message-store.js';
import type { BatchOp } from '../store/rocks.js';
import { decodePending, encodePending, type PendingMessage } from '../store/codec.js';
import { delayedKey, delayedKeyTime, messageIdKey, P_DELAYED } from '../store/keys.js';
import { DueScanner } from './due-scanner.js';

export interface DueMessage {
  pending: PendingMessage;
  /** Ops that retire the 'D' entry; to be committed with the append. */
  retire: BatchOp[];
}

const KEY_LEN = 17;
const MAC_LEN = 8;

export class DelayService {
  private readonly scanner: DueScanner;
  private seq: number;
  /** 'D' keys (hex) being moved into their topic right now. */
  private readonly firing = new Set<string>();
  /** 'D' keys (hex) a recall is deleting right now. */
  private readonly recalling = new Set<string>();

  constructor(
    private readonly store: MessageStore,
    private readonly secret: Buffer,
    clock: Clock,
    private readonly logger: Logger,
    /** Appends due messages to their topics, committing `retire` ops atomically with them. */
    private readonly deliver: (due: DueMessage[]) => Promise<void>,
    /** Ops to commit with a recall (e.g. freeing the message's dedup key). */
    private readonly onRecalled: (p: PendingMessage) => BatchOp[] = () => [],
  ) {
    this.seq = clock.now() * 1024;
    this.scanner = new DueScanner(store.db, P_DELAYED, delayedKeyTime, (entries) => this.onDue(entries), clock, logger);
  }

  start(): Promise<void> {
    return this.scanner.start();
  }

  /** Ops storing a delayed message, and its recall handle. Call `scheduled(at)` after commit. */
  schedule(p: PendingMessage, deliverAt: number): { ops: BatchOp[]; recallHandle: string } {
    const key = delayedKey(deliverAt, this.seq++);
    return {
      ops: [
        { type: 'put', key, value: encodePending(p) },
        { type: 'put', key: messageIdKey(p.header.id), value: Buffer.from(JSON.stringify({ scheduled: key.toString('hex') })) },
      ],
      recallHandle: Buffer.concat([key, this.mac(key, p.topic)]).toString('base64url'),
    };
  }

  /** A delayed message due at `at` was committed. */
  scheduled(at: number): void {
    this.scanner.notify(at);
  }

  /** The pending message behind a 'D' key (hex), if still pending. */
  async pendingAt(hexKey: string): Promise<PendingMessage | undefined> {
    const v = await this.store.db.get(Buffer.from(hexKey, 'hex'));
    return v ? decodePending(v) : undefined;
  }

  /** Withdraws a delayed message before it is due; returns its message id. */
  async recall(topic: string, handle: string): Promise<string> {
    const b = /^[A-Za-z0-9_-]{1,64}$/.test(handle) ? Buffer.from(handle, 'base64url') : Buffer.alloc(0);
    if (b.length !== KEY_LEN + MAC_LEN || b[0] !== P_DELAYED || b.toString('base64url') !== handle) {
      throw new MqError(Code.BAD_REQUEST, 'invalid recall handle: malformed');
    }
    const key = b.subarray(0, KEY_LEN);
    if (!this.mac(key, topic).equals(b.subarray(KEY_LEN))) {
      throw new MqError(Code.BAD_REQUEST, `invalid recall handle: not issued by this broker for topic ${topic}`, { topic });
    }
    const hex = key.toString('hex');
    const gone = () => new MqError(Code.NOT_FOUND, 'message cannot be recalled: it was already delivered or recalled', { topic });
    if (this.firing.has(hex) || this.recalling.has(hex)) throw gone();
    this.recalling.add(hex);
    try {
      const value = await this.store.db.get(key);
      if (!value) throw gone();
      const p = decodePending(value);
      await this.store.writes.write([{ type: 'del', key }, { type: 'del', key: messageIdKey(p.header.id) }, ...this.onRecalled(p)]);
      this.logger.debug('delayed message recalled', { topic, messageId: p.header.id });
      return p.header.id;
    } finally {
      this.recalling.delete(hex);
    }
  }

  private async onDue(entries: [Buffer, Buffer][]): Promise<void> {
    const due: DueMessage[] = [];
    const hexes: string[] = [];
    for (const [key, value] of entries) {
      const hex = key.toString('hex');
      if (this.recalling.has(hex) || this.firing.has(hex)) continue;
      this.firing.add(hex);
      hexes.push(hex);
      due.push({ pending: decodePending(value), retire: [{ type: 'del', key: Buffer.from(key) }] });
    }
    try {
      if (due.length > 0) await this.deliver(due);
    } finally {
      for (const h of hexes) this.firing.delete(h);
    }
  }

  private mac(key: Buffer, topic: string): Buffer {
    return createHmac('sha256', this.secret).update(key).update(`\0recall\0${topic}`).digest().subarray(0, MAC_LEN);
  }

  close(): void {
    this.scanner.close();
  }
}
