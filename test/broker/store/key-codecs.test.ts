/** Hot-path encoders that were rewritten for speed must stay byte-compatible with stored data. */
import { createHmac, randomBytes } from 'node:crypto';
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

  it('receipt handles - the MAC is HMAC-SHA256 exactly (handles issued before the rewrite stay valid), and tampering is refused', () => {
    for (const len of [16, 32, 64, 100]) {
      const secret = randomBytes(len);
      const codec = new ReceiptHandleCodec(secret);
      const handle = codec.encode('grp-ü', 'replies$task-1', { queueId: 3, offset: 123_456_789, token: 42 });
      const b = Buffer.from(handle, 'base64url');
      const mac = createHmac('sha256', secret).update(b.subarray(0, 15)).update('\0grp-ü\0replies$task-1').digest().subarray(0, 8);
      expect(b.subarray(15).equals(mac)).toBe(true);
      expect(codec.decode('grp-ü', 'replies$task-1', handle)).toEqual({ queueId: 3, offset: 123_456_789, token: 42 });
      expect(() => codec.decode('other', 'replies$task-1', handle)).toThrow(/not issued/);
      expect(() => new ReceiptHandleCodec(randomBytes(len)).decode('grp-ü', 'replies$task-1', handle)).toThrow(/not issued/);
    }
  });
});
