/** Hot-path encoders that were rewritten for speed must stay byte-compatible with stored data. */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ReceiptHandleCodec } from '../../../broker/pop/receipt-handle.js';
import { consumerPrefix, cursorKey, decodeConsumerKey, inflightKey, P_CURSOR, P_INFLIGHT, P_WAITING, waitingKey } from '../../../broker/store/keys.js';

/** The layout drawn in keys.ts, built the slow obvious way. */
function reference(kind: number, topic: string, group: string, queueId: number, offset?: number): Buffer {
  const t = Buffer.from(topic);
  const g = Buffer.from(group);
  const q = Buffer.alloc(2);
  q.writeUInt16BE(queueId);
  const parts = [Buffer.from([kind, t.length]), t, Buffer.from([g.length]), g, q];
  if (offset !== undefined) {
    const o = Buffer.alloc(8);
    o.writeBigUInt64BE(BigInt(offset));
    parts.push(o);
  }
  return Buffer.concat(parts);
}

describe('store - key and receipt handle encoders', () => {
  it('keys - cursor, in-flight and waiting keys follow the drawn layout (utf-8 names, 64-bit offsets)', () => {
    const cases: [string, string, number, number][] = [
      ['orders', 'g1', 0, 0],
      ['agentmq-replies$task-ü-7', 'supervisor-group', 65535, 2 ** 53 - 1],
      ['t', 'g', 3, 4_294_967_296 + 17],
    ];
    for (const [topic, group, q, off] of cases) {
      expect(cursorKey(topic, group, q).equals(reference(P_CURSOR, topic, group, q))).toBe(true);
      expect(consumerPrefix(P_CURSOR, topic, group, q).equals(reference(P_CURSOR, topic, group, q))).toBe(true);
      expect(inflightKey(topic, group, q, off).equals(reference(P_INFLIGHT, topic, group, q, off))).toBe(true);
      expect(waitingKey(topic, group, q, off).equals(reference(P_WAITING, topic, group, q, off))).toBe(true);
      expect(decodeConsumerKey(inflightKey(topic, group, q, off))).toMatchObject({ topic, group, queueId: q, offset: off });
    }
    expect(() => cursorKey('x'.repeat(256), 'g', 0)).toThrow(/too long/);
  });

  it('receipt handles - version 2 MAC is SHA-256(HMAC-derived key ‖ body) exactly, version 1 (HMAC) handles issued before still verify, and tampering is refused', () => {
    const group = 'grp-ü';
    const topic = 'replies$task-1';
    for (const len of [16, 32, 64, 100]) {
      const secret = randomBytes(len);
      const codec = new ReceiptHandleCodec(secret);
      const fields = { queueId: 3, offset: 4_294_967_296 * 5 + 123_456_789, token: 0xfedcba98 };
      const handle = codec.encode(group, topic, fields);
      expect(handle).toHaveLength(31);
      const b = Buffer.from(handle, 'base64url');
      expect(b[0]).toBe(2);
      const key = createHmac('sha256', secret).update(`\0${group}\0${topic}`).digest();
      const mac = createHash('sha256').update(key).update(b.subarray(0, 15)).digest().subarray(0, 8);
      expect(b.subarray(15).equals(mac)).toBe(true);
      expect(codec.decode(group, topic, handle)).toEqual(fields);
      expect(codec.peek(handle)).toEqual(fields);
      expect(() => codec.decode('other', topic, handle)).toThrow(/not issued/);
      expect(() => codec.decode(group, 'replies$task-2', handle)).toThrow(/not issued/);
      expect(() => new ReceiptHandleCodec(randomBytes(len)).decode(group, topic, handle)).toThrow(/not issued/);
      // Any flipped bit in the body or the MAC is refused.
      for (let i = 1; i < 23; i++) {
        const t = Buffer.from(b);
        t[i]! ^= 0x10;
        expect(() => codec.decode(group, topic, t.toString('base64url'))).toThrow(/invalid receipt handle/);
      }

      // A version 1 handle (HMAC-SHA256 over body ‖ 0 ‖ group ‖ 0 ‖ topic), as issued before.
      const v1 = Buffer.alloc(23);
      v1[0] = 1;
      v1.writeUInt16BE(7, 1);
      v1.writeBigUInt64BE(99n, 3);
      v1.writeUInt32BE(42, 11);
      createHmac('sha256', secret).update(v1.subarray(0, 15)).update(`\0${group}\0${topic}`).digest().copy(v1, 15, 0, 8);
      expect(codec.decode(group, topic, v1.toString('base64url'))).toEqual({ queueId: 7, offset: 99, token: 42 });
      expect(() => codec.decode('other', topic, v1.toString('base64url'))).toThrow(/not issued/);
    }
    const codec = new ReceiptHandleCodec(randomBytes(32));
    expect(codec.peek('short')).toBeUndefined();
    expect(() => codec.decode('g', 't', '')).toThrow(/missing/);
    expect(() => codec.decode('g', 't', 'not a handle!')).toThrow(/malformed/);
  });
});
