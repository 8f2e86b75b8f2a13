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
import { createHmac } from 'node:crypto';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';

export interface ReceiptHandle {
  queueId: number;
  offset: number;
  token: number;
}

const BODY_LEN = 15;
const MAC_LEN = 8;

export class ReceiptHandleCodec {
  constructor(private readonly secret: Buffer) {}

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
    const invalid = (why: string) =>
      new MqError(Code.INVALID_RECEIPT_HANDLE, `invalid receipt handle: ${why}`, { receiptHandle: handle, group, topic });
    if (!handle) throw invalid('missing');
    if (handle.length > 64 || !/^[A-Za-z0-9_-]+$/.test(handle)) throw invalid('malformed');
    const b = Buffer.from(handle, 'base64url');
    // Canonical form only: the last base64 character carries 2 unused bits, so without this
    // check a handle with that character changed would decode to the same bytes and verify.
    if (b.length !== BODY_LEN + MAC_LEN || b[0] !== 1 || b.toString('base64url') !== handle) throw invalid('malformed');
    const expected = this.mac(b.subarray(0, BODY_LEN), group, topic);
    if (!expected.equals(b.subarray(BODY_LEN))) throw invalid(`not issued by this broker for group ${group} and topic ${topic}`);
    return { queueId: b.readUInt16BE(1), offset: Number(b.readBigUInt64BE(3)), token: b.readUInt32BE(11) };
  }

  private mac(body: Buffer, group: string, topic: string): Buffer {
    return createHmac('sha256', this.secret).update(body).update(`\0${group}\0${topic}`).digest().subarray(0, MAC_LEN);
  }
}
