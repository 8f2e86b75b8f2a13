/**
 * ReceivedMessage view: body decoding (GZIP), body_digest verification (CRC32 decimal, MD5 /
 * SHA1 upper hex), text/json, bound operations running one after another with the receipt handle
 * updated by extend/nack.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { computeDigest, ReceivedMessageImpl, verifyDigest } from '../../client/consumer/received-message.js';
import type { MessageOperations, ReceivedMessageData } from '../../client/consumer/received-message.js';
import { crc32, crc32Table } from '../../proto/common/crc32.js';

function data(over: Partial<ReceivedMessageData> = {}): ReceivedMessageData {
  return {
    topic: 'orders',
    messageId: '01ABC',
    body: Buffer.from('{"id":7}'),
    bodyEncoding: 'IDENTITY',
    keys: ['k'],
    properties: { p: 'v' },
    queueId: 2,
    offset: 41,
    deliveryAttempt: 1,
    bornTimestampMs: 1000,
    bornHost: 'h',
    storeTimestampMs: 2000,
    receiptHandle: 'rh-1',
    endpoint: '127.0.0.1:8081',
    ...over,
  };
}

const noOps: MessageOperations = {
  ack: () => Promise.resolve(),
  changeInvisibleDuration: (m) => Promise.resolve(m.receiptHandle),
  retryDelayMs: (attempt) => 1000 * 2 ** (attempt - 1),
};

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it('native and table-driven versions agree (values with the top bit set stay unsigned)', () => {
    let seed = 7;
    for (let n = 0; n < 200; n++) {
      const b = Buffer.alloc(n * 13);
      for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      expect(crc32(b)).toBe(crc32Table(b));
      expect(crc32(b)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('body digest', () => {
  const body = Buffer.from('hello world');

  it('computes the wire formats', () => {
    expect(computeDigest('CRC32', body)).toBe(String(crc32(body)));
    expect(computeDigest('MD5', body)).toBe(createHash('md5').update(body).digest('hex').toUpperCase());
    expect(computeDigest('SHA1', body)).toBe(createHash('sha1').update(body).digest('hex').toUpperCase());
    expect(computeDigest('DIGEST_TYPE_UNSPECIFIED', body)).toBeUndefined();
  });

  it('verifies (case-insensitively) and tolerates missing or unknown digests', () => {
    const md5 = createHash('md5').update(body).digest('hex');
    expect(verifyDigest(body, { type: 'MD5', checksum: md5 })).toBe(true);
    expect(verifyDigest(body, { type: 'MD5', checksum: md5.toUpperCase() })).toBe(true);
    expect(verifyDigest(body, { type: 'CRC32', checksum: '1' })).toBe(false);
    expect(verifyDigest(body, undefined)).toBe(true);
    expect(verifyDigest(body, { type: 'UNSPECIFIED', checksum: 'x' })).toBe(true);
  });

  it('marks a message corrupted when its body does not match', () => {
    const ok = new ReceivedMessageImpl(data({ bodyDigest: { type: 'CRC32', checksum: String(crc32(Buffer.from('{"id":7}'))) } }), noOps);
    const bad = new ReceivedMessageImpl(data({ bodyDigest: { type: 'SHA1', checksum: 'DEADBEEF' } }), noOps);
    expect(ok.corrupted).toBe(false);
    expect(bad.corrupted).toBe(true);
  });
});

describe('ReceivedMessage', () => {
  it('exposes the fields, text() and json()', () => {
    const m = new ReceivedMessageImpl(data({ tag: 'created', messageGroup: 'g', deliveryAttempt: 3 }), noOps);
    expect(m.text()).toBe('{"id":7}');
    expect(m.json<{ id: number }>().id).toBe(7);
    expect(m).toMatchObject({ topic: 'orders', messageId: '01ABC', tag: 'created', messageGroup: 'g', queueId: 2, offset: 41, deliveryAttempt: 3 });
    expect(m.bornTimestampMs).toBe(1000);
    expect(m.storeTimestampMs).toBe(2000);
    expect(m.receiptHandle).toBe('rh-1');
    expect(m.corrupted).toBe(false);
  });

  it('gunzips GZIP bodies; the digest covers the bytes as sent', () => {
    const wire = gzipSync(Buffer.from('compressed text'));
    const m = new ReceivedMessageImpl(data({ body: wire, bodyEncoding: 'GZIP', bodyDigest: { type: 'MD5', checksum: computeDigest('MD5', wire)! } }), noOps);
    expect(m.text()).toBe('compressed text');
    expect(m.corrupted).toBe(false);
    const broken = new ReceivedMessageImpl(data({ body: Buffer.from('not gzip'), bodyEncoding: 'GZIP' }), noOps);
    expect(broken.corrupted).toBe(true);
  });

  it('runs operations one after another; ack uses the handle extend returned', async () => {
    const log: string[] = [];
    let n = 1;
    const ops: MessageOperations = {
      ack: async (m) => {
        log.push(`ack ${m.receiptHandle}`);
      },
      changeInvisibleDuration: async (m, ms) => {
        log.push(`change ${m.receiptHandle} ${ms}`);
        await new Promise((r) => setTimeout(r, 5));
        return `rh-${++n}`;
      },
      retryDelayMs: () => 0,
    };
    const m = new ReceivedMessageImpl(data(), ops);
    const a = m.extend(60_000);
    const b = m.ack(); // issued while the extend is in flight
    await Promise.all([a, b]);
    expect(log).toEqual(['change rh-1 60000', 'ack rh-2']);
    expect(m.receiptHandle).toBe('rh-2');
    await m.nack();
    expect(log.at(-1)).toBe('change rh-2 0');
    expect(m.receiptHandle).toBe('rh-3');
  });

  it('a failed operation rejects only its own promise', async () => {
    const ops: MessageOperations = {
      ack: () => Promise.reject(new Error('stale')),
      changeInvisibleDuration: () => Promise.resolve('rh-new'),
      retryDelayMs: () => 0,
    };
    const m = new ReceivedMessageImpl(data(), ops);
    await expect(m.ack()).rejects.toThrow('stale');
    await expect(m.extend(1000)).resolves.toBeUndefined();
    expect(m.receiptHandle).toBe('rh-new');
  });
});
