/**
 * The broker's hand-written ReceiveMessage response encoder (broker/grpc/wire-receive.ts) against
 * proto-loader's serializer: byte-identical responses for what the handlers build (deliveries
 * through convert.ts, statuses, delivery timestamps), for every field, defaults and odd values,
 * and for the inputs it hands to proto-loader; proto-loader decodes the same object from both.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it, vi } from 'vitest';
import { ROCKETMQ_PROTO_DIR, messagingService } from '../../proto/index.js';
import { Code } from '../../proto/common/codes.js';
import { encodeReceiveMessageResponse } from '../../broker/grpc/wire-receive.js';
import { messagingServiceDefinition } from '../../broker/grpc/wire.js';
import { deliveryToWire, liteDeliveryToWire } from '../../broker/grpc/convert.js';
import { storedHeader, storedMessage } from '../../broker/store/codec.js';
import type { Delivery } from '../../broker/pop/pop-service.js';
import type { MessageTypeName, TopicConfig } from '../../broker/topic/topic-manager.js';
import { ALPHABET, liteName, rng, text as randomText } from '../helpers/random.js';
import type { Rng } from '../helpers/random.js';
import { crc32 } from '../../proto/common/crc32.js';

const method = () => messagingService().service.ReceiveMessage;
/** long.js, as protobufjs (and so proto-loader) uses it. */
const Long = protobuf.util.Long as unknown as { fromNumber(n: number): object; fromString(s: string): object };
const reference = (res: object): Buffer => method().responseSerialize(res as never);
const decode = (buf: Buffer): unknown => method().responseDeserialize(buf);

/**
 * Our bytes are proto-loader's, in full; with `roundTrip`, proto-loader also decodes the same
 * object from both (deep equality of large bodies is slow: the random tests check a sample).
 */
function expectSameBytes(res: object, roundTrip = true): void {
  const ours = encodeReceiveMessageResponse(res as never);
  const want = reference(res);
  if (!ours.equals(want)) throw new Error(`encodings differ for ${describeValue(res)}:\n ours ${hex(ours)}\n want ${hex(want)}`);
  if (roundTrip) expect(decode(ours)).toStrictEqual(decode(want));
}

const hex = (b: Buffer): string => (b.length > 1000 ? `${b.subarray(0, 1000).toString('hex')}... (${b.length} bytes)` : b.toString('hex'));

function describeValue(res: object): string {
  const s = JSON.stringify(res, (_k, v: unknown) => (typeof v === 'object' && v !== null && (v as { type?: string }).type === 'Buffer' ? `<${(v as { data: unknown[] }).data.length} bytes>` : v));
  return s.length > 2000 ? `${s.slice(0, 2000)}...` : s;
}

/** Random text of the whole alphabet (lone surrogates included), '' one time in ten. */
const text = (r: Rng, max: number): string => (r() < 0.1 ? '' : randomText(r, max, false, ALPHABET));
const int = (r: Rng, max: number): number => Math.floor(r() * max);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const TYPES: readonly MessageTypeName[] = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION', 'LITE', 'PRIORITY'];

function topicConfig(r: Rng, messageType: MessageTypeName = pick(r, TYPES)): TopicConfig {
  return { name: randomText(r, 60, true), queueCount: 1 + int(r, 16), messageType, permission: 'READ_WRITE', attributes: {}, createdAtMs: 0 };
}

function randomBody(r: Rng): Buffer {
  const kind = r();
  if (kind < 0.1) return Buffer.alloc(0);
  if (kind < 0.12) return Buffer.alloc(100_000 + int(r, 200_000), int(r, 256));
  if (kind < 0.6) return Buffer.alloc(1024, int(r, 256));
  return Buffer.alloc(1 + int(r, 5000), int(r, 256));
}

function randomProps(r: Rng): Record<string, string> | undefined {
  const kind = r();
  if (kind < 0.2) return undefined;
  if (kind < 0.3) return {};
  const props: Record<string, string> = {};
  const n = 1 + int(r, 8);
  for (let i = 0; i < n; i++) {
    // integer-like keys come first in Object.keys order, in both encoders
    const key = r() < 0.15 ? String(int(r, 1000)) : text(r, 50);
    props[key] = text(r, r() < 0.2 ? 300 : 40);
  }
  return props;
}

/** A delivery as the pop service hands it over, through the store's own message constructors. */
function randomDelivery(r: Rng, type: MessageTypeName): Delivery {
  const bornMs = r() < 0.05 ? 0 : int(r, 2 ** 42);
  const header = storedHeader(
    {
      id: r() < 0.05 ? '' : `01${randomText(r, 30, true)}`,
      tag: r() < 0.4 ? undefined : text(r, 30),
      keys: r() < 0.4 ? undefined : Array.from({ length: int(r, 4) }, () => text(r, 30)),
      props: randomProps(r),
      type,
      group: r() < 0.7 ? undefined : text(r, 60),
      bornMs,
      bornHost: r() < 0.05 ? '' : `${int(r, 256)}.${int(r, 256)}.0.1`,
      deliveryMs: r() < 0.7 ? undefined : bornMs + int(r, 2 ** 36),
      priority: r() < 0.7 ? undefined : int(r, 10),
      enc: pick(r, [undefined, 'IDENTITY', 'GZIP'] as const),
    },
    bornMs + int(r, 1e6),
    undefined,
  );
  const offset = pick(r, [0, int(r, 1000), int(r, 2 ** 32), int(r, 2 ** 53), 2 ** 53 - 1]);
  const message = storedMessage(header, randomText(r, 60, true), int(r, 64), offset, randomBody(r));
  const attempt = pick(r, [1, 1, 2, 16, 1 + int(r, 100_000)]);
  return { message, attempt, receiptHandle: r() < 0.05 ? '' : randomText(r, 120, true), visibleAt: 0 };
}

const HOSTS = ['10.0.0.1:8081', '', 'broker-ü.example:8081', '[::1]:8081'];
const INVISIBLE = [0, 1, 999, 1000, 30_000, 43_200_000, 2 ** 40 + 7];

describe('ReceiveMessage response encoding', () => {
  it('is byte-identical to proto-loader for random deliveries through deliveryToWire', () => {
    const r = rng(11);
    for (let i = 0; i < 2500; i++) {
      const topic = topicConfig(r);
      const wire = deliveryToWire(randomDelivery(r, topic.messageType), topic, pick(r, HOSTS), pick(r, INVISIBLE) + int(r, 1000));
      expectSameBytes({ message: wire }, i % 20 === 0);
    }
  });

  it('is byte-identical to proto-loader for random lite deliveries through liteDeliveryToWire', () => {
    const r = rng(12);
    for (let i = 0; i < 2500; i++) {
      const parent = topicConfig(r, 'LITE');
      const wire = liteDeliveryToWire(randomDelivery(r, 'LITE'), parent, liteName(r), pick(r, HOSTS), pick(r, INVISIBLE));
      expectSameBytes({ message: wire }, i % 20 === 0);
    }
  });

  it('is byte-identical for a typical lite delivery, and the decoded message carries every field', () => {
    const r = rng(13);
    const parent = topicConfig(r, 'LITE');
    const header = storedHeader({ id: '01HZX', tag: 'order', keys: ['k1', 'k2'], props: { a: 'b' }, type: 'LITE', group: 'g', bornMs: 1_700_000_000_123, bornHost: '10.1.2.3', deliveryMs: 1_700_000_100_000, priority: 3, enc: 'GZIP' }, 1_700_000_000_456, undefined);
    const d: Delivery = { message: storedMessage(header, 'parent$lite', 5, 2 ** 53 - 1, Buffer.alloc(1024, 7)), attempt: 2, receiptHandle: 'rh', visibleAt: 0 };
    const res = { message: liteDeliveryToWire(d, parent, 'lite-1', '10.0.0.1:8081', 30_000) };
    expectSameBytes(res);
    const sp = (decode(encodeReceiveMessageResponse(res)) as { message: { systemProperties: Record<string, unknown> } }).message.systemProperties;
    expect(sp).toMatchObject({
      tag: 'order',
      keys: ['k1', 'k2'],
      messageId: '01HZX',
      bodyDigest: { type: 'CRC32', checksum: String(crc32(Buffer.alloc(1024, 7))) },
      bodyEncoding: 'GZIP',
      messageType: 'LITE',
      bornTimestamp: { seconds: 1_700_000_000, nanos: 123_000_000 },
      storeTimestamp: { seconds: 1_700_000_000, nanos: 456_000_000 },
      deliveryTimestamp: { seconds: 1_700_000_100, nanos: 0 },
      receiptHandle: 'rh',
      queueId: 0,
      queueOffset: 2 ** 53 - 1,
      invisibleDuration: { seconds: 30, nanos: 0 },
      deliveryAttempt: 2,
      messageGroup: 'g',
      liteTopic: 'lite-1',
      priority: 3,
    });
  });

  it('is byte-identical for statuses: every code, messages, defaults and unknown names', () => {
    for (const code of Object.values(Code)) {
      expectSameBytes({ status: { code, message: code } });
      expectSameBytes({ status: { code, message: '' } });
    }
    const cases: object[] = [
      { status: { code: Code.OK, message: 'OK' } },
      { status: { code: Code.MESSAGE_NOT_FOUND, message: 'no new message' } },
      { status: { code: Code.INTERNAL_ERROR, message: `internal error: ${'x'.repeat(300)}` } },
      { status: { code: Code.ILLEGAL_FILTER_EXPRESSION, message: 'é\ud800 lone surrogate and a long one '.repeat(3) + '\udfff' } },
      { status: { code: Code.BAD_REQUEST, message: 'ünïcödé 😀 short' } },
      { status: { code: 'NO_SUCH_CODE', message: 'unknown names are left unset' } },
      { status: {} },
      { status: { code: null, message: undefined } },
      { status: { message: 'no code' } },
      { status: null },
      {},
      Object.assign(Object.create(null) as object, { status: Object.assign(Object.create(null) as object, { code: Code.OK, message: 'null prototypes' }) }),
    ];
    for (const c of cases) expectSameBytes(c);
  });

  it('is byte-identical for delivery timestamps', () => {
    const cases: object[] = [
      { deliveryTimestamp: { seconds: 1_700_000_000, nanos: 123_000_000 } },
      { deliveryTimestamp: { seconds: 0, nanos: 0 } },
      { deliveryTimestamp: {} },
      { deliveryTimestamp: { seconds: 2 ** 53 - 1, nanos: 2 ** 31 - 1 } },
      { deliveryTimestamp: { seconds: -(2 ** 53 - 1), nanos: -(2 ** 31) } },
      { deliveryTimestamp: { seconds: -1, nanos: -1 } },
      { deliveryTimestamp: { seconds: 5 } },
      { deliveryTimestamp: { nanos: 5, content: 'ignored' } },
      { deliveryTimestamp: null },
    ];
    for (const c of cases) expectSameBytes(c);
  });

  it('is byte-identical for every field of every message, defaults, empty values and odd combinations', () => {
    const everyField = (over: Record<string, unknown> = {}): object => ({
      topic: { resourceNamespace: 'ns-α', name: 'topic' },
      userProperties: { a: '1', 'ключ': 'значение', empty: '', '10': 'numeric key', '2': 'comes first', long: '😀'.repeat(50) },
      systemProperties: {
        tag: 'tag',
        keys: ['k1', '', 'k😀', 'x'.repeat(40)],
        messageId: '01ID',
        bodyDigest: { type: 'SHA1', checksum: 'ABCDEF' },
        bodyEncoding: 'GZIP',
        messageType: 'TRANSACTION',
        bornTimestamp: { seconds: 1_700_000_000, nanos: 999_999_999 },
        bornHost: 'host-α',
        storeTimestamp: { seconds: 2 ** 40, nanos: 1 },
        storeHost: '10.0.0.1:8081',
        deliveryTimestamp: { seconds: 2 ** 52, nanos: 0 },
        receiptHandle: 'rh',
        queueId: -3,
        queueOffset: 2 ** 53 - 1,
        invisibleDuration: { seconds: 30, nanos: 5 },
        deliveryAttempt: 7,
        messageGroup: 'group-1',
        traceContext: '00-abc-def-01',
        orphanedTransactionRecoveryDuration: { seconds: -5, nanos: -1 },
        deadLetterQueue: { topic: 'dlq', messageId: 'orig' },
        liteTopic: 'lite:1',
        priority: 9,
        ...over,
      },
      body: Buffer.from('body ✓'),
    });
    const manyProps: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) manyProps[`p${i}`] = `v${i}`;
    const protoKey: Record<string, string> = { a: '1' };
    Object.defineProperty(protoKey, '__proto__', { value: 'an own key', enumerable: true, configurable: true, writable: true });
    const cases: object[] = [
      { message: everyField() },
      // proto3 defaults are written when set, optional fields or not
      { message: everyField({ tag: '', messageId: '', bornHost: '', storeHost: '', receiptHandle: '', messageGroup: '', traceContext: '', liteTopic: '', queueId: 0, queueOffset: 0, deliveryAttempt: 0, priority: 0 }) },
      { message: everyField({ bodyEncoding: 'ENCODING_UNSPECIFIED', messageType: 'MESSAGE_TYPE_UNSPECIFIED', bodyDigest: { type: 'DIGEST_TYPE_UNSPECIFIED', checksum: '' } }) },
      { message: everyField({ bodyDigest: {}, bornTimestamp: {}, deadLetterQueue: {}, invisibleDuration: {}, keys: [] }) },
      { message: everyField({ queueOffset: -(2 ** 53 - 1), queueId: 2 ** 31 - 1, priority: -(2 ** 31), deliveryAttempt: -1, bornTimestamp: { seconds: -(2 ** 40), nanos: -999_999_999 } }) },
      { message: everyField({ bodyEncoding: 'NO_SUCH_ENCODING', messageType: 'nope', bodyDigest: { type: 'CRC33' } }) },
      { message: everyField({ tag: null, keys: null, messageId: undefined, bodyDigest: null, bodyEncoding: null, messageType: undefined, bornTimestamp: null, queueId: null, queueOffset: undefined, priority: null }) },
      // keys that are no field are ignored, as fromObject ignores them
      { message: everyField({ _tag: 'tag', _priority: 'priority', unknownField: { deep: 1 } }), content: 'message', extra: 42 },
      { message: { ...everyField(), topic: null, userProperties: null, systemProperties: null, body: null } },
      { message: { topic: {}, userProperties: {}, systemProperties: {}, body: Buffer.alloc(0) } },
      { message: { body: new Uint8Array([1, 2, 3]) } },
      { message: { body: Buffer.alloc(300_000, 1), userProperties: manyProps } },
      { message: { userProperties: protoKey } },
      { message: { topic: { name: '中文 topic 😀 '.repeat(10) }, systemProperties: { messageId: 'x'.repeat(20_000), keys: Array.from({ length: 500 }, (_, i) => `key-${i}`) } } },
      { message: {} },
      // members of the oneof all present: fromObject sets each and encode writes each
      { status: { code: Code.OK, message: 'OK' }, message: everyField(), deliveryTimestamp: { seconds: 1, nanos: 2 } },
      { message: Object.assign(Object.create(null) as object, { systemProperties: Object.assign(Object.create(null) as object, { tag: 't' }) }) },
    ];
    for (const c of cases) expectSameBytes(c);
  });

  it('hands anything else to proto-loader: same bytes, same errors', () => {
    const fallbacks: object[] = [
      // numeric enums
      { status: { code: 20000, message: 'numeric code' } },
      { status: { code: 99_999 } },
      { message: { systemProperties: { bodyEncoding: 2, messageType: 1, bodyDigest: { type: 1, checksum: 'x' } } } },
      { message: { systemProperties: { messageType: -1 } } },
      { status: { code: true } },
      // int64 as Long, strings, unsafe or fractional numbers
      { message: { systemProperties: { queueOffset: Long.fromNumber(2 ** 60) } } },
      { message: { systemProperties: { queueOffset: Long.fromString('-9223372036854775808') } } },
      { message: { systemProperties: { queueOffset: '12345678901234567890' } } },
      { message: { systemProperties: { queueOffset: 2 ** 60, bornTimestamp: { seconds: 1.5, nanos: 0 } } } },
      { message: { systemProperties: { queueOffset: { low: 1, high: 2, unsigned: false } } } },
      { deliveryTimestamp: { seconds: Long.fromNumber(1_700_000_000), nanos: 1 } },
      { deliveryTimestamp: { seconds: Number.NaN, nanos: Number.POSITIVE_INFINITY } },
      // int32 out of range or fractional (fromObject's `| 0` wraps and truncates)
      { message: { systemProperties: { queueId: 2 ** 31 } } },
      { message: { systemProperties: { deliveryAttempt: 2 ** 32 + 5 } } },
      { message: { systemProperties: { priority: -(2 ** 31) - 1 } } },
      { message: { systemProperties: { priority: 1.5 } } },
      { message: { systemProperties: { queueId: -0 } } },
      { deliveryTimestamp: { seconds: 1, nanos: 0.5 } },
      { message: { systemProperties: { queueId: '7' } } },
      // strings and bytes of other types
      { status: { code: 'OK', message: 7 } },
      { message: { topic: { name: 42, resourceNamespace: false } } },
      { message: { systemProperties: { keys: ['a', null, 3, undefined] } } },
      // eslint-disable-next-line no-sparse-arrays
      { message: { systemProperties: { keys: ['a', , 'b'] } } },
      { message: { systemProperties: { keys: '' } } },
      { message: { userProperties: { a: 1, b: null, c: undefined } } },
      { message: { userProperties: new Map([['a', 'b']]) } },
      { message: { userProperties: '' } },
      { message: { body: 'aGVsbG8=' } },
      { message: { body: [1, 2, 3] } },
      { message: { body: new Uint16Array([1, 2]) } },
      // arrays and class instances where a message goes
      { message: [] },
      { message: new (class Msg { topic = { name: 't' }; })() },
      { status: new (class St { code = 'OK'; message = 'class'; })() },
      new (class Res { status = { code: 'OK', message: 'class' }; })(),
    ];
    for (const c of fallbacks) expectSameBytes(c);
    const throwing: unknown[] = [
      { status: 'OK' },
      { message: 5 },
      { message: { topic: 'name' } },
      { message: { systemProperties: { keys: {} } } },
      { message: { systemProperties: { bodyDigest: 'MD5' } } },
      { message: { userProperties: 7 } },
      { deliveryTimestamp: 1_700_000_000 },
      [],
    ];
    for (const c of throwing) {
      expect(() => reference(c as object), describeValue(c as object)).toThrow();
      expect(() => encodeReceiveMessageResponse(c as never), describeValue(c as object)).toThrow();
    }
  });

  it('hands protobufjs instances to proto-loader too (their prototypes hold defaults fromObject reads)', () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(ROCKETMQ_PROTO_DIR, target);
    root.loadSync('apache/rocketmq/v2/service.proto');
    const Response = root.lookupType('apache.rocketmq.v2.ReceiveMessageResponse');
    const Message = root.lookupType('apache.rocketmq.v2.Message');
    expectSameBytes(Response.fromObject({ status: { code: Code.OK, message: 'instance' } }));
    expectSameBytes({ message: Message.fromObject({ topic: { name: 't' }, systemProperties: { queueOffset: 5 }, body: Buffer.from('b') }) });
    expectSameBytes({ message: { systemProperties: root.lookupType('apache.rocketmq.v2.SystemProperties').fromObject({ tag: 't' }) } });
  });

  it('encodes what the handlers build itself: only the odd cases reach proto-loader', () => {
    const r = rng(14);
    const handlerBuilt: object[] = [
      { status: { code: Code.OK, message: 'OK' } },
      { status: { code: Code.MESSAGE_NOT_FOUND, message: 'no new message' } },
      { deliveryTimestamp: { seconds: 1, nanos: 2 } },
      // not built by handlers, but handled here too
      { status: { code: 'NO_SUCH_CODE', message: '' }, message: {}, deliveryTimestamp: {} },
      { message: { systemProperties: { bodyEncoding: 'nope', keys: [], traceContext: '', deadLetterQueue: { topic: 'd' }, orphanedTransactionRecoveryDuration: { seconds: -1 } }, userProperties: {} } },
      Object.assign(Object.create(null) as object, { content: 'status', status: { code: Code.OK } }),
    ];
    for (let i = 0; i < 200; i++) {
      const topic = topicConfig(r);
      handlerBuilt.push({ message: deliveryToWire(randomDelivery(r, topic.messageType), topic, pick(r, HOSTS), pick(r, INVISIBLE)) });
      handlerBuilt.push({ message: liteDeliveryToWire(randomDelivery(r, 'LITE'), topic, liteName(r), pick(r, HOSTS), pick(r, INVISIBLE)) });
    }
    const spy = vi.spyOn(method(), 'responseSerialize');
    try {
      for (const res of handlerBuilt) encodeReceiveMessageResponse(res as never);
      expect(spy).not.toHaveBeenCalled();
      encodeReceiveMessageResponse({ status: { code: 0 as never } });
      encodeReceiveMessageResponse({ message: { systemProperties: { queueOffset: Long.fromNumber(1) as never } } });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('is what the MessagingService definition serializes ReceiveMessage responses with', () => {
    const def = messagingServiceDefinition();
    const receive = def.ReceiveMessage!;
    const original = messagingService().service.ReceiveMessage;
    expect(receive.responseSerialize).toBe(encodeReceiveMessageResponse);
    expect(receive.path).toBe(original.path);
    expect(receive.responseStream).toBe(true);
    expect(receive.requestDeserialize).toBe(original.requestDeserialize);
    expect(receive.requestSerialize).toBe(original.requestSerialize);
    expect(receive.responseDeserialize).toBe(original.responseDeserialize);
  });
});
