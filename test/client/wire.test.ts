/**
 * The hand-written SendMessage codec (client/rpc/wire.ts) against proto-loader's own serializer
 * and deserializer: byte-identical requests, identical decoded responses.
 */
import { describe, expect, it } from 'vitest';
import { messagingService } from '../../proto/index.js';
import { messageToWire } from '../../client/rpc/convert.js';
import { decodeSendMessageResponse, encodeSendMessageRequest, messagingClientConstructor, releaseSendMessageRequest } from '../../client/rpc/wire.js';
import { prepareMessage } from '../../client/producer/outgoing-message.js';
import type { PreparedMessage } from '../../client/producer/outgoing-message.js';
import { randomMessage, rng } from '../helpers/random.js';

const method = () => messagingService().service.SendMessage;
const reference = (messages: PreparedMessage[]): Buffer => method().requestSerialize({ messages: messages.map(messageToWire) });

describe('SendMessage request encoding', () => {
  it('is byte-identical to proto-loader for plain messages', () => {
    const batch = Array.from({ length: 64 }, (_, i) => prepareMessage({ topic: 'bench', body: Buffer.alloc(1024, i) }));
    expect(encodeSendMessageRequest(batch).equals(reference(batch))).toBe(true);
  });

  it('is byte-identical to proto-loader for every field, unicode, lone surrogates and odd sizes', () => {
    const r = rng(42);
    for (let round = 0; round < 300; round++) {
      const born = r() < 0.1 ? 0 : Math.floor(r() * 2 ** 42);
      const batch = Array.from({ length: 1 + Math.floor(r() * 8) }, () => prepareMessage(randomMessage(r), undefined, born));
      const ours = encodeSendMessageRequest(batch);
      const theirs = reference(batch);
      if (!ours.equals(theirs)) {
        let at = 0;
        while (ours[at] === theirs[at]) at++;
        throw new Error(`round ${round}: encodings differ at byte ${at} of ${theirs.length}`);
      }
    }
  });

  it('is byte-identical to proto-loader for LITE messages (lite_topic = 21, message_type LITE), delayed or not', () => {
    const batch = [
      prepareMessage({ topic: 'replies', body: 'r1', liteTopic: 'task-1' }),
      prepareMessage({ topic: 'replies', body: 'r2', liteTopic: 'a'.repeat(64), tag: 't', keys: ['k'], properties: { p: 'v' } }),
      prepareMessage({ topic: 'replies', body: 'r3', liteTopic: 'session:42.x_y-z', deliveryTimestampMs: 1_800_000_000_123, ttlMs: 5000, dedupKey: 'd' }),
    ];
    expect(batch.map((m) => m.messageType)).toEqual(['LITE', 'LITE', 'LITE']);
    expect(encodeSendMessageRequest(batch).equals(reference(batch))).toBe(true);
    const back = method().requestDeserialize(encodeSendMessageRequest(batch)) as { messages: { systemProperties: { liteTopic?: string; messageType: string } }[] };
    expect(back.messages.map((m) => [m.systemProperties.liteTopic, m.systemProperties.messageType])).toEqual([
      ['task-1', 'LITE'],
      ['a'.repeat(64), 'LITE'],
      ['session:42.x_y-z', 'LITE'],
    ]);
  });

  it('handles bodies whose length prefixes take 3 and 4 bytes', () => {
    for (const size of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const batch = [prepareMessage({ topic: 't', body: Buffer.alloc(size, 7) })];
      expect(encodeSendMessageRequest(batch).equals(reference(batch))).toBe(true);
    }
  });

  it('decodes back with proto-loader to the same message', () => {
    const p = prepareMessage({ topic: 'orders', body: 'hi', tag: 't', keys: ['a'], properties: { x: 'y' }, messageGroup: 'g', deliveryTimestampMs: 1_800_000_000_500 });
    const back = method().requestDeserialize(encodeSendMessageRequest([p]));
    const again = method().requestDeserialize(reference([p]));
    expect(back).toEqual(again);
  });

  it('reuses a released request buffer (once) and encodes correctly into it', () => {
    const a = Array.from({ length: 64 }, (_, i) => prepareMessage({ topic: 'bench', body: Buffer.alloc(1024, i) }));
    const b = Array.from({ length: 60 }, (_, i) => prepareMessage({ topic: 'other', body: Buffer.alloc(1000, 255 - i), tag: 'x' }));
    const first = encodeSendMessageRequest(a);
    releaseSendMessageRequest(first);
    releaseSendMessageRequest(first); // a second release is ignored
    const second = encodeSendMessageRequest(b);
    expect(second.buffer).toBe(first.buffer);
    expect(second.equals(reference(b))).toBe(true);
    const third = encodeSendMessageRequest(a); // the pool is empty again: a new buffer
    expect(third.buffer).not.toBe(first.buffer);
    expect(third.equals(reference(a))).toBe(true);
    // small requests are not pooled (they live in Node's shared buffer pool)
    const smallMessage = [prepareMessage({ topic: 't', body: 'x' })];
    const small = encodeSendMessageRequest(smallMessage);
    releaseSendMessageRequest(small);
    encodeSendMessageRequest([prepareMessage({ topic: 't', body: 'y' })]);
    expect(small.equals(reference(smallMessage))).toBe(true);
  });

  it('an empty batch encodes to an empty request', () => {
    expect(encodeSendMessageRequest([]).length).toBe(0);
  });
});

describe('SendMessage response decoding', () => {
  const serialize = (res: object): Buffer => method().responseSerialize(res as never);
  const expected = (bytes: Buffer): unknown => method().responseDeserialize(bytes);

  it('matches proto-loader: statuses, entries, defaults, negative and large offsets', () => {
    const cases: object[] = [
      {},
      { status: { code: 'OK', message: 'OK' } },
      { status: { code: 'MULTIPLE_RESULTS', message: 'see entries' }, entries: [] },
      {
        status: { code: 'OK', message: 'OK' },
        entries: [
          { status: { code: 'OK', message: 'OK' }, messageId: '01ABC', offset: 0 },
          { status: { code: 'OK', message: 'OK' }, messageId: '01ABD', offset: 12_345_678_901, recallHandle: 'rh' },
          { status: { code: 'TOPIC_NOT_FOUND', message: 'no such topic: é' }, messageId: 'x', transactionId: 't', offset: -1 },
          { messageId: 'no status', offset: 2 ** 53 - 1 },
          { status: {}, offset: -(2 ** 40) },
          {},
        ],
      },
    ];
    for (const c of cases) {
      const bytes = serialize(c);
      expect(decodeSendMessageResponse(bytes)).toEqual(expected(bytes));
      // twice: the second time identical statuses come from the cache
      expect(decodeSendMessageResponse(bytes)).toEqual(expected(bytes));
    }
  });

  it('reuses the id strings of the messages sent when the entries carry them', () => {
    const sent = [{ messageId: '01ABC' }, { messageId: '01ABD' }, { messageId: 'other' }];
    const bytes = serialize({ entries: [{ messageId: '01ABC' }, { messageId: '01ABX' }, { messageId: 'other' }, { messageId: 'extra' }] });
    const res = decodeSendMessageResponse(bytes, sent);
    expect(res).toEqual(expected(bytes));
    expect(res.entries.map((e) => e.messageId)).toEqual(['01ABC', '01ABX', 'other', 'extra']);
    expect(res.entries[0]!.messageId).toBe(sent[0]!.messageId);
  });

  it('keeps an unknown code number as a number and skips unknown fields, as proto-loader does', () => {
    // status { code = 12345 }, then unknown fields 9 (varint), 10 (fixed64), 11 (bytes), 12 (fixed32)
    const bytes = Buffer.from([
      0x0a, 0x03, 0x08, 0xb9, 0x60,
      0x48, 0x96, 0x01,
      0x51, 1, 2, 3, 4, 5, 6, 7, 8,
      0x5a, 0x02, 0x61, 0x62,
      0x65, 1, 2, 3, 4,
      0x12, 0x04, 0x20, 0x07, 0x78, 0x01,
    ]);
    expect(decodeSendMessageResponse(bytes)).toEqual(expected(bytes));
    expect(decodeSendMessageResponse(bytes).status?.code).toBe(12345);
  });

  it('rejects truncated input', () => {
    const bytes = serialize({ status: { code: 'OK', message: 'OK' }, entries: [{ messageId: 'abc', offset: 5 }] });
    expect(() => decodeSendMessageResponse(bytes.subarray(0, bytes.length - 2))).toThrow();
  });

  it('rejects known fields with the wrong wire type and field number 0 (stricter than protobufjs)', () => {
    const bad = [
      Buffer.from([0x08, 0x01]), // status as a varint
      Buffer.from([0x12, 0x02, 0x22, 0x00]), // an entry's offset as bytes
      Buffer.from([0x0a, 0x05, 0x0d, 0x00, 0x00, 0x00, 0x00]), // a status code as fixed32
      Buffer.from([0x12, 0x02, 0x00, 0x01]), // field number 0
    ];
    for (const [i, buf] of bad.entries()) expect(() => decodeSendMessageResponse(buf), `case ${i}`).toThrow();
  });
});

describe('messaging client constructor', () => {
  it('passes pre-encoded SendMessage requests through, serialises objects as before, hands responses over raw', () => {
    const Ctor = messagingClientConstructor() as unknown as { service: Record<string, { requestSerialize(x: unknown): Buffer; responseDeserialize(b: Buffer): unknown }> };
    const send = Ctor.service.SendMessage!;
    const encoded = Buffer.from([1, 2, 3]);
    expect(send.requestSerialize(encoded)).toBe(encoded);
    const p = prepareMessage({ topic: 't', body: 'x' });
    expect(send.requestSerialize({ messages: [messageToWire(p)] }).equals(reference([p]))).toBe(true);
    const response = Buffer.from([0x0a, 0x00]);
    expect(send.responseDeserialize(response)).toBe(response);
    // every other method is proto-loader's
    expect(Ctor.service.AckMessage!.requestSerialize).toBe(messagingService().service.AckMessage.requestSerialize);
  });
});
