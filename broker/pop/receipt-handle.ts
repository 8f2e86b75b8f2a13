/**
 * Receipt handles: opaque to clients, self-describing and tamper-evident for the broker.
 *
 *   +---------+---------+-----------+----------+-------------------------------------------+
 *   | ver:1=1 | queue:2 | offset:8  | token:4  | mac:8 = HMAC-SHA256(secret, ver..token |    |
 *   |         |         |           |          |          group | topic)[0..8]            |
 *   +---------+---------+-----------+----------+-------------------------------------------+
 *   encoded as base64url (31 characters).
 *
 * The MAC binds a handle to its group and topic and to this broker's secret (kept in RocksDB, so
 * handles survive restarts): a forged or mangled handle, or one used with another group or topic,
 * fails verification. A genuine handle whose token no longer matches the in-flight record is
 * stale (the message was acknowledged or redelivered since).
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

/** SHA-256's block size: HMAC pads its key to it (RFC 2104). */
const BLOCK = 64;

export class ReceiptHandleCodec {
  /** K ⊕ ipad and K ⊕ opad, computed once (RFC 2104), so a MAC is two one-shot hashes. */
  private readonly inner: Buffer;
  private readonly outer: Buffer;

  constructor(secret: Buffer) {
    const key = Buffer.alloc(BLOCK);
    (secret.length > BLOCK ? Buffer.from(hash('sha256', secret, 'buffer')) : secret).copy(key);
    this.inner = Buffer.from(key.map((x) => x ^ 0x36));
    this.outer = Buffer.from(key.map((x) => x ^ 0x5c));
  }

  encode(group: string, topic: string, h: ReceiptHandle): string {
    const b = Buffer.allocUnsafe(BODY_LEN + MAC_LEN);
    b[0] = 1;
    b.writeUInt16BE(h.queueId, 1);
    b.writeBigUInt64BE(BigInt(h.offset), 3);
    b.writeUInt32BE(h.token >>> 0, 11);
    this.mac(b.subarray(0, BODY_LEN), group, topic).copy(b, BODY_LEN);
    return b.toString('base64url');
  }

  /** Verifies and decodes, or throws INVALID_RECEIPT_HANDLE. */
  decode(group: string, topic: string, handle: string): ReceiptHandle {
    if (!handle) throw invalidHandle('missing', handle, group, topic);
    if (handle.length > 64 || !HANDLE_CHARS.test(handle)) throw invalidHandle('malformed', handle, group, topic);
    const b = Buffer.from(handle, 'base64url');
    // Canonical form only: the last base64 character carries 2 unused bits, so without this
    // check a handle with that character changed would decode to the same bytes and verify.
    if (b.length !== BODY_LEN + MAC_LEN || b[0] !== 1 || b.toString('base64url') !== handle) throw invalidHandle('malformed', handle, group, topic);
    const expected = this.mac(b.subarray(0, BODY_LEN), group, topic);
    if (!expected.equals(b.subarray(BODY_LEN))) throw invalidHandle(`not issued by this broker for group ${group} and topic ${topic}`, handle, group, topic);
    return { queueId: b.readUInt16BE(1), offset: Number(b.readBigUInt64BE(3)), token: b.readUInt32BE(11) };
  }

  /**
   * HMAC-SHA256(secret, body ‖ 0 ‖ group ‖ 0 ‖ topic), truncated: byte-for-byte what
   * `createHmac` computes, as two one-shot `crypto.hash` calls (no Hmac object per handle: receipt
   * handles are made and checked for every delivery and ack).
   */
  private mac(body: Buffer, group: string, topic: string): Buffer {
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
    return (hash('sha256', out, 'buffer') as unknown as Buffer).subarray(0, MAC_LEN);
  }
}

const HANDLE_CHARS = /^[A-Za-z0-9_-]+$/;

// Module level, not a closure per call: handles are checked for every ack.
function invalidHandle(why: string, handle: string, group: string, topic: string): MqError {
  return new MqError(Code.INVALID_RECEIPT_HANDLE, `invalid receipt handle: ${why}`, { receiptHandle: handle, group, topic });
}
