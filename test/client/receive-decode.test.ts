/**
 * The SDK's hand-written ReceiveMessageResponse decoder (proto/common/message-decode.ts) against
 * proto-loader's deserializer: deep-equal output on what the broker sends, on every field, on
 * odd and hand-made bytes; errors where proto-loader errs, and where it misreads.
 */
import { describe, expect, it } from 'vitest';
import { messagingService } from '../../proto/index.js';
import { decodeReceiveMessageResponse } from '../../proto/common/message-decode.js';
import { messagingClientConstructor } from '../../client/rpc/wire.js';
import { encodeSendMessageRequest } from '../../client/rpc/wire.js';
import { prepareMessage } from '../../client/producer/outgoing-message.js';
import { encodeReceiveMessageResponse } from '../../broker/grpc/wire-receive.js';
import { liteDeliveryToWire } from '../../broker/grpc/convert.js';
import { storedHeader, storedMessage } from '../../broker/store/codec.js';
import { randomMessage, rng } from '../helpers/random.js';
import { everyField } from '../helpers/wire-fixtures.js';
import type { Delivery } from '../../broker/pop/pop-service.js';
import type { TopicConfig } from '../../broker/topic/topic-manager.js';

const method = () => messagingService().service.ReceiveMessage;
const theirs = (buf: Buffer): unknown => method().responseDeserialize(buf);
const serialize = (res: object): Buffer => method().responseSerialize(res as never);

function expectSame(buf: Buffer): void {
  expect(decodeReceiveMessageResponse(buf)).toStrictEqual(theirs(buf));
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const bytesField = (n: number, b: number[] | Buffer): number[] => [...varint((n << 3) | 2), ...varint(b.length), ...b];

/** A message with every field set, as the broker could send it on a lite delivery. */
const everyFieldMessage = everyField(0, { messageType: 'LITE', bodyDigest: { type: 'CRC32', checksum: '123' }, liteTopic: 'task-1' }) as { systemProperties: object };

describe('ReceiveMessageResponse decoding (SDK)', () => {
  it('matches proto-loader on statuses, delivery timestamps, every message field and the empty response', () => {
    for (const code of ['OK', 'MESSAGE_NOT_FOUND', 'BAD_REQUEST', 'LITE_SUBSCRIPTION_QUOTA_EXCEEDED']) {
      expectSame(serialize({ status: { code, message: `m ${code}` } }));
      expectSame(serialize({ status: { code } }));
    }
    expectSame(serialize({ deliveryTimestamp: { seconds: 5, nanos: 1 } }));
    expectSame(serialize({ message: everyFieldMessage }));
    expectSame(serialize({ message: { ...everyFieldMessage, systemProperties: { messageId: 'x' } } }));
    expectSame(serialize({ message: {} }));
    expectSame(Buffer.alloc(0));
    // Unknown enum numbers stay numbers (status code 99999, digest type 9).
    expectSame(Buffer.from(bytesField(1, [0x08, ...varint(99_999)])));
  });

  it('matches proto-loader on what the broker sends for a lite delivery', () => {
    const header = storedHeader({ id: '01HZX', tag: 'order', keys: ['k1'], props: { a: 'b' }, type: 'LITE', bornMs: 1_700_000_000_123, bornHost: 'h' }, 1_700_000_000_456, undefined);
    const d: Delivery = { message: storedMessage(header, 'replies$task-1', 0, 42, Buffer.alloc(1024, 7)), attempt: 1, receiptHandle: 'AbC_-123', visibleAt: 0 };
    const parent: TopicConfig = { name: 'replies', queueCount: 1, messageType: 'LITE', permission: 'READ_WRITE', attributes: {}, createdAtMs: 0 };
    const buf = encodeReceiveMessageResponse({ message: liteDeliveryToWire(d, parent, 'task-1', '10.0.0.1:8081', 30_000) });
    expectSame(buf);
    const out = decodeReceiveMessageResponse(buf);
    expect(out.message?.systemProperties?.liteTopic).toBe('task-1');
    expect(out.message?.body.length).toBe(1024);
  });

  it('matches proto-loader on 300 random messages of our SDK encoder', () => {
    const r = rng(11);
    for (let i = 0; i < 300; i++) {
      const req = encodeSendMessageRequest([prepareMessage(randomMessage(r))]);
      // SendMessageRequest { messages = 1 } holding one message -> ReceiveMessageResponse { message = 2 }.
      const buf = Buffer.from(req);
      expect(buf[0]).toBe(0x0a);
      buf[0] = 0x12;
      expectSame(buf);
    }
  });

  it('several oneof members (a sender bug) and unknown fields decode as in proto-loader', () => {
    const status = bytesField(1, [0x08, 0x00, 0x12, 0x01, 0x61]);
    const message = bytesField(2, bytesField(1, [0x12, 0x01, 0x74]));
    const time = bytesField(3, [0x08, 0x05]);
    for (const parts of [[status, message], [message, status], [message, time], [time, status, message], [status, status]]) {
      expectSame(Buffer.from(parts.flat()));
    }
    expectSame(Buffer.from([...status, ...bytesField(9, [1, 2, 3]), 0x50, 0x01]));
  });

  it('throws on truncated or malformed input, as proto-loader does', () => {
    const whole = serialize({ message: everyFieldMessage });
    for (const cut of [1, 5, 20, whole.length - 1]) {
      const b = whole.subarray(0, cut);
      expect(() => theirs(b)).toThrow();
      expect(() => decodeReceiveMessageResponse(b)).toThrow();
    }
    expect(() => decodeReceiveMessageResponse(Buffer.from([0x0a, 0x05, 0x08]))).toThrow();
  });

  it('is the ReceiveMessage deserializer of the SDK client; other methods stay proto-loader', () => {
    const def = (messagingClientConstructor() as unknown as { service: Record<string, { responseDeserialize: unknown }> }).service;
    expect(def.ReceiveMessage!.responseDeserialize).toBe(decodeReceiveMessageResponse);
    expect(def.AckMessage!.responseDeserialize).toBe(messagingService().service.AckMessage.responseDeserialize);
  });
});
