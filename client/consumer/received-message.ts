/**
 * The view of a received message (`ReceivedMessage`) with `ack()`, `nack()` and `extend()` bound
 * to its receipt handle.
 *
 * - The body is decoded (GZIP bodies are gunzipped) and checked against `body_digest` when the
 *   broker sent one (CRC32 as unsigned decimal, MD5 / SHA1 as upper-case hex, computed over the
 *   body as sent on the wire, as the official clients do). A mismatch only sets `corrupted`.
 * - Operations on one message run one after another, so an `ack()` issued while an `extend()` is
 *   in flight uses the receipt handle the extend returns.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Endpoint, MessageType } from '../types.js';
import { crc32 } from '../../proto/common/crc32.js';

export type DigestType = 'CRC32' | 'MD5' | 'SHA1';

/** A delivered message as the wire carried it (client/rpc/convert.ts builds it). */
export interface ReceivedMessageData {
  topic: string;
  messageId: string;
  /** Body exactly as received (still compressed when `bodyEncoding` is GZIP). */
  body: Buffer;
  bodyEncoding: 'IDENTITY' | 'GZIP' | 'UNSPECIFIED';
  bodyDigest?: { type: DigestType | 'UNSPECIFIED'; checksum: string };
  tag?: string;
  keys: string[];
  properties: Record<string, string>;
  messageGroup?: string;
  messageType?: MessageType;
  queueId: number;
  offset: number;
  deliveryAttempt: number;
  bornTimestampMs: number;
  bornHost: string;
  storeTimestampMs: number;
  deliveryTimestampMs?: number;
  receiptHandle: string;
  liteTopic?: string;
  priority?: number;
  /** The broker that delivered it: acks and invisibility changes go there. */
  endpoint: Endpoint;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly messageId: string;
  /** Decoded body. */
  readonly body: Buffer;
  readonly tag?: string;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly messageGroup?: string;
  readonly messageType?: MessageType;
  readonly queueId: number;
  /** Offset in its queue. */
  readonly offset: number;
  /** 1 on first delivery, then +1 per redelivery. */
  readonly deliveryAttempt: number;
  readonly bornTimestampMs: number;
  readonly bornHost: string;
  readonly storeTimestampMs: number;
  readonly deliveryTimestampMs?: number;
  readonly liteTopic?: string;
  readonly priority?: number;
  /** Current receipt handle; replaced by `extend()` / `nack()` / `changeInvisibleDuration()`. */
  readonly receiptHandle: string;
  /** The body did not match the digest the broker sent (or could not be decompressed). */
  readonly corrupted: boolean;
  /** Body as UTF-8 text. */
  text(): string;
  /** Body parsed as JSON. */
  json<T = unknown>(): T;
  /** Acknowledge: the message is consumed and never redelivered to this group. */
  ack(): Promise<void>;
  /**
   * Gives the message back: delivered again after `delayMs`, or, without it, after the retry
   * backoff the broker sent in its Settings (exponential in the delivery attempt: 1 s, 2 s, 4 s…
   * up to 60 s by default). `nack(0)` makes it visible at once.
   */
  nack(delayMs?: number): Promise<void>;
  /** Keep the message invisible for `ms` more milliseconds from now. */
  extend(ms: number): Promise<void>;
}

/** What the consumer does for a message's operations. */
export interface MessageOperations {
  ack(msg: ReceivedMessageImpl): Promise<void>;
  /** Returns the new receipt handle. `suspend` (lite topics): the redelivery keeps its attempt. */
  changeInvisibleDuration(msg: ReceivedMessageImpl, ms: number, suspend?: boolean): Promise<string>;
  /** Delay before the next delivery when nack() is given none (the broker's backoff policy). */
  retryDelayMs(attempt: number): number;
}

/** The digest of `body` in the wire format of `type`, or undefined for an unknown type. */
export function computeDigest(type: string, body: Uint8Array): string | undefined {
  switch (type) {
    case 'CRC32':
      return String(crc32(body));
    case 'MD5':
      return createHash('md5').update(body).digest('hex').toUpperCase();
    case 'SHA1':
      return createHash('sha1').update(body).digest('hex').toUpperCase();
    default:
      return undefined;
  }
}

/** Whether `body` matches `digest`; true when there is no digest or its type is unknown. */
export function verifyDigest(body: Uint8Array, digest: ReceivedMessageData['bodyDigest']): boolean {
  if (!digest) return true;
  const expected = computeDigest(digest.type, body);
  if (expected === undefined) return true;
  return expected.toUpperCase() === digest.checksum.trim().toUpperCase();
}

export class ReceivedMessageImpl implements ReceivedMessage {
  readonly topic: string;
  readonly messageId: string;
  readonly body: Buffer;
  readonly tag?: string;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly messageGroup?: string;
  readonly messageType?: MessageType;
  readonly queueId: number;
  readonly offset: number;
  readonly deliveryAttempt: number;
  readonly bornTimestampMs: number;
  readonly bornHost: string;
  readonly storeTimestampMs: number;
  readonly deliveryTimestampMs?: number;
  readonly liteTopic?: string;
  readonly priority?: number;
  readonly corrupted: boolean;
  /** Broker that delivered the message. */
  readonly endpoint: Endpoint;
  private handle: string;
  /** Tail of this message's operation chain. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    data: ReceivedMessageData,
    protected readonly ops: MessageOperations,
  ) {
    this.topic = data.topic;
    this.messageId = data.messageId;
    let corrupted = !verifyDigest(data.body, data.bodyDigest);
    let body = data.body;
    if (data.bodyEncoding === 'GZIP') {
      try {
        body = gunzipSync(data.body);
      } catch {
        corrupted = true; // keep the raw bytes; the caller can still inspect them
      }
    }
    this.body = body;
    this.corrupted = corrupted;
    if (data.tag !== undefined) this.tag = data.tag;
    this.keys = data.keys;
    this.properties = data.properties;
    if (data.messageGroup !== undefined) this.messageGroup = data.messageGroup;
    if (data.messageType !== undefined) this.messageType = data.messageType;
    this.queueId = data.queueId;
    this.offset = data.offset;
    this.deliveryAttempt = data.deliveryAttempt;
    this.bornTimestampMs = data.bornTimestampMs;
    this.bornHost = data.bornHost;
    this.storeTimestampMs = data.storeTimestampMs;
    if (data.deliveryTimestampMs !== undefined) this.deliveryTimestampMs = data.deliveryTimestampMs;
    if (data.liteTopic !== undefined) this.liteTopic = data.liteTopic;
    if (data.priority !== undefined) this.priority = data.priority;
    this.endpoint = data.endpoint;
    this.handle = data.receiptHandle;
  }

  get receiptHandle(): string {
    return this.handle;
  }

  text(): string {
    return this.body.toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  ack(): Promise<void> {
    return this.serial(() => this.ops.ack(this));
  }

  nack(delayMs?: number): Promise<void> {
    return this.changeInvisibleDuration(delayMs ?? this.ops.retryDelayMs(this.deliveryAttempt));
  }

  extend(ms: number): Promise<void> {
    return this.changeInvisibleDuration(ms);
  }

  changeInvisibleDuration(ms: number, suspend = false): Promise<void> {
    return this.serial(async () => {
      this.handle = await this.ops.changeInvisibleDuration(this, ms, suspend);
    });
  }

  /** Runs `op` after every earlier operation on this message has settled. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
    this.tail = run.catch(() => undefined); // the caller gets the error through `run`
    return run;
  }
}
