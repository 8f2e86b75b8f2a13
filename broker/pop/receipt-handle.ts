/**
 * Receipt handles: opaque to clients, self-describing and tamper-evident for the broker.
 *
 *   +---------+---------+-----------+----------+------------------------------------------+
 *   | ver:1   | queue:2 | offset:8  | token:4  | mac:8                                    |
 *   +---------+---------+-----------+----------+------------------------------------------+
 *   encoded as base64url (31 characters).
 *
 *   ver 2 (issued now):   mac = SHA-256(K(group, topic) ‖ ver..token)[0..8]
 *                         K(group, topic) = HMAC-SHA256(secret, 0 ‖ group ‖ 0 ‖ topic), cached
 *   ver 1 (still read):   mac = HMAC-SHA256(secret, ver..token ‖ 0 ‖ group ‖ 0 ‖ topic)[0..8]
 *
 * The MAC binds a handle to its group and topic and to this broker's secret (kept in RocksDB, so
 * handles survive restarts): a forged or mangled handle, or one used with another group or topic,
 * fails verification. A genuine handle whose token no longer matches the in-flight record is
 * stale (the message was acknowledged or redelivered since).
 *
 * Version 2 costs one SHA-256 of 47 bytes per handle instead of HMAC's two hashes and the
 * encoding of the names (handles are made for every delivery). It is a keyed prefix MAC over a
 * fixed-length message with a per-(group, topic) 256-bit key, truncated to 64 bits, so SHA-256's
 * length extension does not apply (fixed length, and 192 bits of the state are never shown).
 * Version 1 handles, issued before, verify as before.
 */
import { hash } from 'node:crypto';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';

export interface ReceiptHandle {
  queueId: number;
  offset: number;
  token: number;
}

const BODY_LEN = 15;
const MAC_LEN = 8;
const HANDLE_LEN = BODY_LEN + MAC_LEN;
const KEY_LEN = 32;

/** SHA-256's block size: HMAC pads its key to it (RFC 2104). */
const BLOCK = 64;

/** Most cached (group, topic) keys before the cache starts over. */
const MAX_KEYS = 10_000;

export class ReceiptHandleCodec {
  /** K ⊕ ipad and K ⊕ opad, computed once (RFC 2104), so an HMAC is two one-shot hashes. */
  private readonly inner: Buffer;
  private readonly outer: Buffer;
  /** `group \0 topic` -> K(group, topic). */
  private readonly keys = new Map<string, Buffer>();
  /** K ‖ body, reused for every version 2 MAC (single-threaded, never kept). */
  private readonly scratch = Buffer.alloc(KEY_LEN + BODY_LEN);

  constructor(secret: Buffer) {
    const key = Buffer.alloc(BLOCK);
    (secret.length > BLOCK ? Buffer.from(hash('sha256', secret, 'buffer')) : secret).copy(key);
    this.inner = Buffer.from(key.map((x) => x ^ 0x36));
    this.outer = Buffer.from(key.map((x) => x ^ 0x5c));
  }

  encode(group: string, topic: string, h: ReceiptHandle): string {
    const s = this.scratch;
    this.keyOf(group, topic).copy(s, 0);
    s[KEY_LEN] = 2;
    s.writeUInt16BE(h.queueId, KEY_LEN + 1);
    s.writeUInt32BE(Math.floor(h.offset / 0x1_0000_0000), KEY_LEN + 3);
    s.writeUInt32BE(h.offset >>> 0, KEY_LEN + 7);
    s.writeUInt32BE(h.token >>> 0, KEY_LEN + 11);
    const out = Buffer.allocUnsafe(HANDLE_LEN);
    s.copy(out, 0, KEY_LEN);
    (hash('sha256', s, 'buffer') as unknown as Buffer).copy(out, BODY_LEN, 0, MAC_LEN);
    return out.toString('base64url');
  }

  /**
   * The fields of a well-formed handle, NOT verified: only for finding the in-flight record a
   * handle may designate (see `PopService.resolveHandle`). Undefined when malformed.
   */
  peek(handle: string): ReceiptHandle | undefined {
    if (handle.length !== 31) return undefined;
    const b = Buffer.from(handle, 'base64url');
    if (b.length !== HANDLE_LEN || (b[0] !== 1 && b[0] !== 2)) return undefined;
    return fields(b);
  }

  /** Verifies and decodes, or throws INVALID_RECEIPT_HANDLE. */
  decode(group: string, topic: string, handle: string): ReceiptHandle {
    if (!handle) throw invalidHandle('missing', handle, group, topic);
    if (handle.length > 64 || !HANDLE_CHARS.test(handle)) throw invalidHandle('malformed', handle, group, topic);
    const b = Buffer.from(handle, 'base64url');
    // Canonical form only: the last base64 character carries 2 unused bits, so without this
    // check a handle with that character changed would decode to the same bytes and verify.
    if (b.length !== HANDLE_LEN || (b[0] !== 1 && b[0] !== 2) || b.toString('base64url') !== handle) throw invalidHandle('malformed', handle, group, topic);
    const body = b.subarray(0, BODY_LEN);
    const expected = b[0] === 2 ? this.macV2(body, group, topic) : this.hmac(body, group, topic);
    if (!expected.equals(b.subarray(BODY_LEN))) throw invalidHandle(`not issued by this broker for group ${group} and topic ${topic}`, handle, group, topic);
    return fields(b);
  }

  private keyOf(group: string, topic: string): Buffer {
    const id = `${group}\0${topic}`;
    let k = this.keys.get(id);
    if (k === undefined) {
      if (this.keys.size >= MAX_KEYS) this.keys.clear();
      k = this.hmacFull(Buffer.alloc(0), group, topic);
      this.keys.set(id, k);
    }
    return k;
  }

  private macV2(body: Buffer, group: string, topic: string): Buffer {
    const s = this.scratch;
    this.keyOf(group, topic).copy(s, 0);
    body.copy(s, KEY_LEN);
    return (hash('sha256', s, 'buffer') as unknown as Buffer).subarray(0, MAC_LEN);
  }

  /** Version 1: HMAC-SHA256(secret, body ‖ 0 ‖ group ‖ 0 ‖ topic), truncated. */
  private hmac(body: Buffer, group: string, topic: string): Buffer {
    return this.hmacFull(body, group, topic).subarray(0, MAC_LEN);
  }

  /**
   * HMAC-SHA256(secret, body ‖ 0 ‖ group ‖ 0 ‖ topic): byte-for-byte what `createHmac` computes,
   * as two one-shot `crypto.hash` calls.
   */
  private hmacFull(body: Buffer, group: string, topic: string): Buffer {
    const suffix = `\0${group}\0${topic}`;
    const n = Buffer.byteLength(suffix, 'utf8');
    const msg = Buffer.allocUnsafe(BLOCK + body.length + n);
    this.inner.copy(msg, 0);
    body.copy(msg, BLOCK);
    msg.write(suffix, BLOCK + body.length, 'utf8');
    const innerDigest = hash('sha256', msg, 'buffer') as unknown as Buffer;
    const out = Buffer.allocUnsafe(BLOCK + innerDigest.length);
    this.outer.copy(out, 0);
    innerDigest.copy(out, BLOCK);
    return hash('sha256', out, 'buffer') as unknown as Buffer;
  }
}

function fields(b: Buffer): ReceiptHandle {
  return { queueId: b.readUInt16BE(1), offset: b.readUInt32BE(3) * 0x1_0000_0000 + b.readUInt32BE(7), token: b.readUInt32BE(11) };
}

const HANDLE_CHARS = /^[A-Za-z0-9_-]+$/;

// Module level, not a closure per call: handles are checked for every ack.
function invalidHandle(why: string, handle: string, group: string, topic: string): MqError {
  return new MqError(Code.INVALID_RECEIPT_HANDLE, `invalid receipt handle: ${why}`, { receiptHandle: handle, group, topic });
}
