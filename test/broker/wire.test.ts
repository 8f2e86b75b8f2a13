/**
 * The broker's hand-written SendMessage codec (broker/grpc/wire.ts) against proto-loader's own
 * deserializer and serializer: identical decoded requests (from the official client's encoder,
 * our SDK's, protobufjs's and hand-made bytes), byte-identical responses.
 */
import { describe, expect, it } from 'vitest';
import servicePb from 'rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_pb.js';
import { PublishingMessage } from 'rocketmq-client-nodejs/dist/message/PublishingMessage.js';
import { messagingService } from '../../proto/index.js';
import { Code } from '../../proto/common/codes.js';
import { decodeSendMessageRequest, encodeSendMessageResponse, messagingServiceDefinition } from '../../broker/grpc/wire.js';
import { encodeSendMessageRequest } from '../../client/rpc/wire.js';
import { prepareMessage } from '../../client/producer/outgoing-message.js';
import { WELL_FORMED_ALPHABET, liteName, randomMessage, rng, text as randomText } from '../helpers/random.js';
import type { Rng } from '../helpers/random.js';
import { everyField } from '../helpers/wire-fixtures.js';

const method = () => messagingService().service.SendMessage;
const theirs = (buf: Buffer): unknown => method().requestDeserialize(buf);
const serializeRequest = (req: object): Buffer => method().requestSerialize(req as never);

/** decodeSendMessageRequest(buf) deep-equals proto-loader's result (and is not just loosely equal). */
function expectSameDecode(buf: Buffer): void {
  const ours = decodeSendMessageRequest(buf);
  expect(ours).toStrictEqual(theirs(buf));
}

/** Random text without lone surrogates. */
const text = (r: Rng, max: number, safe = false): string => randomText(r, max, safe, WELL_FORMED_ALPHABET);

// Raw protobuf building blocks for hand-made bytes.
function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const field = (n: number, wt: number): number[] => varint((n << 3) | wt);
const bytesField = (n: number, b: number[] | Buffer): number[] => [...field(n, 2), ...varint(b.length), ...b];
const strField = (n: number, s: string): number[] => bytesField(n, Buffer.from(s));
const intField = (n: number, v: number | bigint): number[] => [...field(n, 0), ...varint(v)];
const request = (...messages: number[][]): Buffer => Buffer.from(messages.flatMap((m) => bytesField(1, m)));

/** A small valid message, fields in number order. */
function rawMessage(extraSp: number[] = [], extraMsg: number[] = []): number[] {
  return [
    ...bytesField(1, strField(2, 'topic')),
    ...bytesField(2, [...strField(1, 'k'), ...strField(2, 'v')]),
    ...bytesField(3, [...strField(3, 'id-1'), ...intField(6, 1), ...extraSp]),
    ...bytesField(4, Buffer.from('body')),
    ...extraMsg,
  ];
}

describe('SendMessage request decoding', () => {
  it('matches proto-loader on our SDK encoder: random messages, every option, many batches', () => {
    const r = rng(7);
    for (let round = 0; round < 200; round++) {
      const born = r() < 0.1 ? 0 : Math.floor(r() * 2 ** 42);
      const batch = Array.from({ length: 1 + Math.floor(r() * 8) }, () => prepareMessage(randomMessage(r, WELL_FORMED_ALPHABET), undefined, born));
      expectSameDecode(Buffer.from(encodeSendMessageRequest(batch)));
    }
  });

  it('matches proto-loader on a 64 x 1 KiB batch; bodies are views of the input', () => {
    const batch = Array.from({ length: 64 }, (_, i) => prepareMessage({ topic: 'bench', body: Buffer.alloc(1024, i), tag: 't' }));
    const buf = Buffer.from(encodeSendMessageRequest(batch));
    expectSameDecode(buf);
    const ours = decodeSendMessageRequest(buf);
    expect(ours.messages).toHaveLength(64);
    for (const [i, m] of ours.messages.entries()) {
      expect(m.body.buffer).toBe(buf.buffer);
      expect(m.body.equals(Buffer.alloc(1024, i))).toBe(true);
    }
    // Repeated strings of a batch are shared, not decoded 64 times.
    expect(ours.messages[63]!.topic!.name).toBe('bench');
  });

  it('matches proto-loader on requests built by the official RocketMQ Node client', () => {
    const r = rng(99);
    for (let round = 0; round < 100; round++) {
      const req = new servicePb.SendMessageRequest();
      const n = 1 + Math.floor(r() * 6);
      for (let i = 0; i < n; i++) {
        const options: Record<string, unknown> = { topic: text(r, 30, true), body: Buffer.alloc(Math.floor(r() * 2000), i) };
        if (r() < 0.5) options.tag = text(r, 10);
        if (r() < 0.5) options.keys = [text(r, 10), text(r, 10)];
        if (r() < 0.5) options.properties = new Map([[text(r, 8), text(r, 20)], ['b', ''], ['a', 'x']]);
        const kind = r();
        if (kind < 0.2) options.messageGroup = text(r, 20);
        else if (kind < 0.4) options.deliveryTimestamp = new Date(Date.now() + Math.floor(r() * 1e9));
        else if (kind < 0.6) options.liteTopic = liteName(r);
        else if (kind < 0.8) options.priority = Math.floor(r() * 10);
        const pm = new PublishingMessage(options as never, { maxBodySizeBytes: 4 * 1024 * 1024 } as never, false);
        req.addMessages(pm.toProtobuf(r() < 0.3 ? 'ns' : '', { queueId: Math.floor(r() * 8) } as never));
      }
      expectSameDecode(Buffer.from(req.serializeBinary()));
    }
  });

  it('matches proto-loader on every SystemProperties field, empty strings, unicode and large or negative numbers', () => {
    const reqs: object[] = [
      { messages: [everyField(0)] },
      { messages: Array.from({ length: 100 }, (_, i) => everyField(i)) },
      {
        messages: [
          everyField(1, { tag: '', messageGroup: '', liteTopic: '', traceContext: '', receiptHandle: '', priority: 0, deliveryAttempt: 0, queueOffset: 0 }),
          everyField(2, { queueOffset: -(2 ** 53 - 1), queueId: 2 ** 31 - 1, priority: -(2 ** 31), bornTimestamp: { seconds: -(2 ** 40), nanos: -999_999_999 } }),
          everyField(3, { messageType: 'LITE', bodyEncoding: 'IDENTITY', bodyDigest: { type: 'SHA1' } }),
          everyField(4, { bodyDigest: {}, bornTimestamp: {}, deadLetterQueue: {}, invisibleDuration: {}, keys: [] }),
        ],
      },
      { messages: [{}, { topic: {} }, { systemProperties: {} }, { body: Buffer.alloc(0) }, { userProperties: {} }] },
      { messages: [{ topic: { name: '中文 topic 😀' }, systemProperties: { messageId: 'x'.repeat(20_000) }, body: Buffer.alloc(300_000, 1) }] },
      { messages: [] },
      {},
    ];
    for (const req of reqs) expectSameDecode(serializeRequest(req));
  });

  it('matches proto-loader on enum numbers the proto does not name (kept as numbers)', () => {
    const sp = [...strField(3, 'id'), ...intField(5, 77), ...intField(6, 12345), ...bytesField(4, intField(1, 9))];
    const buf = request(rawMessage(sp));
    expectSameDecode(buf);
    const m = decodeSendMessageRequest(buf).messages[0]!;
    expect(m.systemProperties!.messageType).toBe(12345);
    expect(m.systemProperties!.bodyEncoding).toBe(77);
    expect(m.systemProperties!.bodyDigest!.type).toBe(9);
  });

  it('skips unknown fields of every wire type at every level, as proto-loader does', () => {
    const unknown = [
      ...intField(90, 2n ** 63n), // varint, 10 bytes
      ...field(91, 1), 1, 2, 3, 4, 5, 6, 7, 8, // fixed64
      ...strField(92, 'unknown'), // length-delimited
      ...field(93, 5), 1, 2, 3, 4, // fixed32
      ...field(94, 3), ...intField(1, 5), ...field(2, 3), ...strField(1, 'x'), ...field(2, 4), ...field(94, 4), // nested groups
    ];
    const sp = [...unknown, ...strField(3, 'id'), ...bytesField(7, [...intField(1, 5), ...unknown]), ...unknown];
    const msg = [...unknown, ...bytesField(1, [...unknown, ...strField(2, 'topic')]), ...bytesField(2, [...strField(1, 'k'), ...unknown, ...strField(2, 'v')]), ...bytesField(3, sp), ...unknown];
    const buf = Buffer.from([...unknown, ...bytesField(1, msg), ...unknown, ...bytesField(1, rawMessage()), ...unknown]);
    expectSameDecode(buf);
    // ... and appended to a real request
    const sdk = Buffer.from(encodeSendMessageRequest([prepareMessage({ topic: 't', body: 'b' })]));
    expectSameDecode(Buffer.concat([sdk, Buffer.from(unknown)]));
  });

  it('matches proto-loader on duplicates, fields out of order, odd map entries and __proto__ keys', () => {
    const cases: Buffer[] = [
      // fields in reverse order; a repeated singular field: the last one wins
      request([
        ...bytesField(4, Buffer.from('first')),
        ...bytesField(3, [...intField(22, 3), ...strField(21, 'lite'), ...strField(3, 'id-a'), ...strField(1, 'tag')]),
        ...bytesField(1, strField(2, 'a')),
        ...bytesField(1, strField(2, 'b')),
        ...bytesField(4, Buffer.from('second')),
        ...bytesField(3, strField(3, 'id-b')),
      ]),
      // map entries: duplicate keys (last wins), missing key or value, value before key, integer-like keys, __proto__
      request([
        ...bytesField(2, [...strField(1, 'dup'), ...strField(2, '1')]),
        ...bytesField(2, [...strField(2, 'no key')]),
        ...bytesField(2, [...strField(1, 'no value')]),
        ...bytesField(2, [...strField(2, 'v first'), ...strField(1, 'swapped')]),
        ...bytesField(2, [...strField(1, '__proto__'), ...strField(2, 'not a prototype')]),
        ...bytesField(2, [...strField(1, '7'), ...strField(2, 'seven')]),
        ...bytesField(2, [...strField(1, 'dup'), ...strField(2, '2')]),
        ...bytesField(2, []),
      ]),
      // empty body on the wire, empty nested messages
      request([...bytesField(4, []), ...bytesField(1, []), ...bytesField(3, [...bytesField(4, []), ...bytesField(7, []), ...bytesField(20, [])])]),
      // invalid UTF-8 becomes U+FFFD in both
      request(bytesField(1, bytesField(2, [0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]))),
      // int32 written as negative 10-byte varints, int64 extremes
      request(rawMessage([...intField(13, -1), ...intField(16, -(2 ** 31)), ...intField(14, -(2n ** 63n)), ...bytesField(9, [...intField(1, 2n ** 63n - 1n), ...intField(2, -1)])])),
    ];
    for (const buf of cases) expectSameDecode(buf);
    const props = decodeSendMessageRequest(cases[1]!).messages[0]!.userProperties;
    expect(Object.getPrototypeOf(props)).toBe(Object.prototype);
    expect(Object.keys(props)).toContain('__proto__');
    expect(props.dup).toBe('2');
  });

  it('throws on truncated input, as proto-loader does', () => {
    const full = Buffer.from(encodeSendMessageRequest([prepareMessage({ topic: 'orders', body: 'hello', tag: 't', keys: ['k'], properties: { a: 'b' }, deliveryTimestampMs: 1_800_000_000_000 })]));
    // Every cut inside the message: the outer length then overruns the input.
    for (let cut = 1; cut < full.length; cut++) {
      const buf = full.subarray(0, cut);
      expect(() => theirs(buf), `proto-loader at ${cut}`).toThrow();
      expect(() => decodeSendMessageRequest(buf), `ours at ${cut}`).toThrow();
    }
  });

  it('throws on malformed input proto-loader also rejects', () => {
    const bad: Buffer[] = [
      Buffer.from([0x0a]), // a tag without its length
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a length far past the end
      request(bytesField(1, [...field(3, 2), 0x05, 0x61])), // a nested message past its message
      request(rawMessage([], [...field(40, 7)])), // wire type 7
      request(rawMessage([], [...field(40, 6)])), // wire type 6
      request(rawMessage([], [...field(40, 4)])), // an end-group without a start
      request(rawMessage([], [...field(40, 1), 1, 2, 3])), // fixed64 cut short
      request(rawMessage([], [...field(40, 5), 1])), // fixed32 cut short
      request(rawMessage([], [...field(40, 0), 0x80, 0x80])), // varint cut short
      request(rawMessage([], [...field(40, 3), ...intField(1, 1)])), // a group never closed
      request(rawMessage([...field(14, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), // an 11-byte int64
    ];
    for (const [i, buf] of bad.entries()) {
      expect(() => theirs(buf), `proto-loader case ${i}`).toThrow();
      expect(() => decodeSendMessageRequest(buf), `ours case ${i}`).toThrow();
    }
  });

  it('also throws where protobufjs is lenient: wrong wire types, field number 0, strings past their message', () => {
    const bad: Buffer[] = [
      request(rawMessage([], intField(4, 5))), // body as a varint
      request([...intField(1, 3), ...rawMessage()]), // a message field as a varint
      request(rawMessage([...field(3, 0), 0x01])), // message_id as a varint
      request(rawMessage([], intField(0, 1))), // field number 0
      // a string whose length runs past its (otherwise valid) enclosing message (protobufjs truncates it)
      request(bytesField(1, [...field(2, 2), 0x05, 0x61])),
      Buffer.from(bytesField(1, bytesField(1, [...field(2, 2), 0x05, 0x61]))),
    ];
    for (const [i, buf] of bad.entries()) expect(() => decodeSendMessageRequest(buf), `case ${i}`).toThrow();
  });
});

describe('SendMessage response encoding', () => {
  const reference = (res: object): Buffer => method().responseSerialize(res as never);
  const decode = (buf: Buffer): unknown => method().responseDeserialize(buf);

  function expectSameBytes(res: object): void {
    const ours = encodeSendMessageResponse(res as never);
    const want = reference(res);
    if (!ours.equals(want)) throw new Error(`encodings differ for ${JSON.stringify(res)}:\n ours ${ours.toString('hex')}\n want ${want.toString('hex')}`);
    expect(decode(ours)).toStrictEqual(decode(want));
  }

  const ok = () => ({ code: Code.OK, message: 'OK' });

  it('is byte-identical to proto-loader for what the SendMessage handler builds', () => {
    const entries = Array.from({ length: 64 }, (_, i) => ({ status: ok(), messageId: `01H${String(i).padStart(31, '0')}`, transactionId: '', offset: i * 1_000_003 }));
    expectSameBytes({ status: ok(), entries });
    // a delayed message's recall handle; per-entry failures and MULTIPLE_RESULTS
    expectSameBytes({
      status: { code: Code.MULTIPLE_RESULTS, message: '2 of 4 entries failed; see each entry\'s status' },
      entries: [
        { status: ok(), messageId: 'a', transactionId: '', offset: 0, recallHandle: 'rh-ü-😀' },
        { status: { code: Code.TOPIC_NOT_FOUND, message: 'topic nope does not exist' }, messageId: '', transactionId: '', offset: 0 },
        { status: { code: Code.MESSAGE_BODY_EMPTY, message: 'body must not be empty' }, messageId: 'c', transactionId: '', offset: 0 },
        { status: ok(), messageId: 'd', transactionId: '', offset: 2 ** 53 - 1 },
      ],
    });
    // a whole-call failure: just a status
    expectSameBytes({ status: { code: Code.BAD_REQUEST, message: 'messages must contain at least one message' } });
    expectSameBytes({ status: { code: Code.INTERNAL_ERROR, message: `internal error: ${'x'.repeat(300)}` } });
    expectSameBytes({ status: { code: Code.ILLEGAL_MESSAGE_ID, message: 'é\ud800 lone surrogate and a long one '.repeat(3) + '\udfff' } });
  });

  it('is byte-identical for every status code name, and for defaults, nulls and odd values', () => {
    for (const code of Object.values(Code)) expectSameBytes({ status: { code, message: code }, entries: [{ status: { code, message: '' }, offset: -1 }] });
    const cases: object[] = [
      {},
      { status: null, entries: null },
      { status: {}, entries: [] },
      { status: { code: 'NO_SUCH_CODE', message: 'unknown names are left unset' } },
      // statuses that differ from the previous one in code or message only (the encoder remembers the last one)
      { status: ok(), entries: [{ status: { code: Code.OK, message: 'Ok' } }, { status: { code: Code.BAD_REQUEST, message: 'OK' } }, { status: ok() }, { status: { code: Code.OK } }, { status: { message: 'OK' } }] },
      { entries: [{}, { status: null, messageId: null, transactionId: undefined, offset: null, recallHandle: undefined }, { offset: 0 }, { offset: -(2 ** 53 - 1) }, { offset: -5, messageId: 'neg' }] },
      { entries: [{ messageId: 'x'.repeat(40) }, { messageId: 'é'.repeat(39) }, { messageId: 'é'.repeat(40) }, { transactionId: '😀'.repeat(100) }] },
      Object.assign(Object.create(null) as object, { status: ok() }),
    ];
    for (const c of cases) expectSameBytes(c);
  });

  it('hands anything else to proto-loader: same bytes, same errors', () => {
    const fallbacks: object[] = [
      { status: { code: 20000, message: 'numeric code' } },
      { status: { code: 1e9 }, entries: [{ status: { code: -7 } }] },
      { entries: [{ offset: '12345678901234567890' }, { offset: 1.5 }, { offset: -2.5 }, { offset: 2 ** 60 }, { offset: Number.NaN }] },
      { entries: [{ offset: { low: 1, high: 2, unsigned: false } }] },
      { entries: [{ messageId: 42, transactionId: true, recallHandle: 1n }] },
      { status: { code: 'OK', message: 7 } },
      { status: [] },
      { entries: 0 },
    ];
    for (const c of fallbacks) expectSameBytes(c);
    const throwing: unknown[] = [{ status: 'OK' }, { entries: {} }, { entries: [null] }, { entries: [5] }, [], { status: 0 }];
    for (const c of throwing) {
      expect(() => reference(c as object)).toThrow();
      expect(() => encodeSendMessageResponse(c as never)).toThrow();
    }
  });
});

describe('messaging service definition', () => {
  it('swaps in the SendMessage codec and keeps every other method of proto-loader', () => {
    const def = messagingServiceDefinition();
    expect(messagingServiceDefinition()).toBe(def);
    const send = def.SendMessage!;
    expect(send.requestDeserialize).toBe(decodeSendMessageRequest);
    expect(send.responseSerialize).toBe(encodeSendMessageResponse);
    const original = messagingService().service;
    expect(send.path).toBe(original.SendMessage.path);
    expect(send.requestSerialize).toBe(original.SendMessage.requestSerialize);
    expect(send.responseDeserialize).toBe(original.SendMessage.responseDeserialize);
    expect(Object.keys(def).sort()).toEqual(Object.keys(original).sort());
    for (const name of Object.keys(original)) if (name !== 'SendMessage' && name !== 'ReceiveMessage') expect(def[name]).toBe(original[name as keyof typeof original]);
  });
});
