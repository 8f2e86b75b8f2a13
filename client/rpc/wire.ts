/**
 * Hand-written protobuf codec for the SDK's hot call, SendMessage, and the MessagingService client
 * constructor that uses it.
 *
 * proto-loader serialises a request with `Type.fromObject` (a full copy of every message into
 * protobufjs instances, Long objects for timestamps) and then `encode` + `finish` (a writer op
 * per field, then a second copy of every body); it decodes a response with `decode` + `toObject`.
 * For a batch of 64 x 1 KiB messages that was most of the SDK's CPU and garbage. Here:
 *
 * - `encodeSendMessageRequest(messages)` sizes the request first and writes it into one Buffer
 *   (each body copied once), taken from a small pool of buffers given back by
 *   `releaseSendMessageRequest` after successful calls. The bytes are exactly those
 *   proto-loader's serializer produces for `{ messages: messages.map(messageToWire) }` (same
 *   fields, same order, same explicit defaults), checked by test/client/wire.test.ts.
 * - `decodeSendMessageResponse(bytes, sent)` builds the same plain object proto-loader's
 *   deserializer gives (`SendMessageResponse__Output`: defaults filled in, enums as names, int64
 *   as numbers), sharing identical statuses and reusing the sent messages' id strings.
 * - `messagingClientConstructor()` is the loaded MessagingService client with SendMessage's
 *   request serializer passing a pre-encoded Buffer through (anything else still goes through
 *   proto-loader) and its response deserializer handing over the raw bytes, for the caller to
 *   decode with the decoder above. Every other method is proto-loader's.
 *
 * Enum numbers and names come from the loaded proto definitions, not from copies.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtos, messagingService } from '../../proto/index.js';
import type { MessagingServiceClient } from '../../proto/index.js';
import type { SendMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/SendMessageResponse.js';
import type { SendResultEntry__Output } from '../../proto/gen/apache/rocketmq/v2/SendResultEntry.js';
import type { Status__Output } from '../../proto/gen/apache/rocketmq/v2/Status.js';
import { NO_PROPERTIES } from '../producer/outgoing-message.js';
import type { PreparedMessage } from '../producer/outgoing-message.js';

// ---------------------------------------------------------------------------------------------
// enums, from the loaded protos

interface EnumDescriptor {
  type: { value: { name: string; number: number }[] };
}

function enumValues(name: string): { byName: Map<string, number>; byNumber: Map<number, string> } {
  const v2 = loadProtos().apache.rocketmq.v2 as unknown as Record<string, EnumDescriptor>;
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  for (const { name: n, number } of v2[name]!.type.value) {
    byName.set(n, number);
    byNumber.set(number, n); // the last name of a number wins, as in protobufjs (valuesById)
  }
  return { byName, byNumber };
}

let enums: { messageType: Map<string, number>; identity: number; codeNames: Map<number, string> } | undefined;

function wireEnums(): NonNullable<typeof enums> {
  if (!enums) {
    enums = {
      messageType: enumValues('MessageType').byName,
      identity: enumValues('Encoding').byName.get('IDENTITY')!,
      codeNames: enumValues('Code').byNumber,
    };
  }
  return enums;
}

// ---------------------------------------------------------------------------------------------
// encoding

/** UTF-8 length as protobufjs (Buffer.byteLength) counts it: a lone surrogate takes 3 bytes. */
function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      len += 2; // 4 bytes for 2 code units
    } else len += 2;
  }
  return len;
}

/** Bytes of a varint for a non-negative integer below 2^53. */
function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

/** Size of an int32 field value (negative values take 10 bytes, as in protobufjs). */
function int32Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/** Size of a length-delimited field's value part: length prefix + bytes. */
function delimited(len: number): number {
  return varintSize(len) + len;
}

function timestampSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = ((ms - seconds * 1000) * 1e6) | 0;
  return 1 + int64Size(seconds) + 1 + int32Size(nanos);
}

function int64Size(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80000000) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  int32(v: number): void {
    if (v >= 0) this.varint(v);
    else this.int64(v);
  }

  int64(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    // Two's complement over 64 bits, 10 bytes (protobufjs LongBits.fromNumber + writeVarint64).
    const a = -v;
    let lo = a >>> 0;
    let hi = ((a - lo) / 4294967296) >>> 0;
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 4294967295) {
      lo = 0;
      if (++hi > 4294967295) hi = 0;
    }
    const buf = this.buf;
    while (hi) {
      buf[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[this.pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  /** Writes `s` (byte length `len`, from utf8Length) with its length prefix. */
  string(s: string, len: number): void {
    this.varint(len);
    const buf = this.buf;
    if (len === s.length) {
      const pos = this.pos;
      if (len > 32) buf.write(s, pos, len, 'latin1');
      else for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
      this.pos = pos + len;
      return;
    }
    // As protobufjs's BufferWriter: Node's encoder from 40 code units on (a lone surrogate
    // becomes U+FFFD), its own utf8.write below that (a lone surrogate is kept as 3 bytes).
    if (s.length >= 40) {
      buf.write(s, this.pos, len, 'utf8');
      this.pos += len;
      return;
    }
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      let c1 = s.charCodeAt(i);
      let c2: number;
      if (c1 < 128) {
        buf[p++] = c1;
      } else if (c1 < 2048) {
        buf[p++] = (c1 >> 6) | 192;
        buf[p++] = (c1 & 63) | 128;
      } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
        c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
        ++i;
        buf[p++] = (c1 >> 18) | 240;
        buf[p++] = ((c1 >> 12) & 63) | 128;
        buf[p++] = ((c1 >> 6) & 63) | 128;
        buf[p++] = (c1 & 63) | 128;
      } else {
        buf[p++] = (c1 >> 12) | 224;
        buf[p++] = ((c1 >> 6) & 63) | 128;
        buf[p++] = (c1 & 63) | 128;
      }
    }
    this.pos = p;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  timestamp(ms: number, size: number): void {
    const seconds = Math.floor(ms / 1000);
    const nanos = ((ms - seconds * 1000) * 1e6) | 0;
    this.varint(size);
    this.byte(0x08);
    this.int64(seconds);
    this.byte(0x10);
    this.int32(nanos);
  }
}

let lastType = '';
let lastTypeNumber = 0;

/** The wire number of a message type name. */
function messageTypeNumber(type: string): number {
  if (type === lastType) return lastTypeNumber;
  const n = wireEnums().messageType.get(type);
  if (n === undefined) throw new Error(`unknown message type ${type}`);
  lastType = type;
  lastTypeNumber = n;
  return n;
}

/** Size of the user-properties map entries (field 2 of Message), tags included. */
function propertiesSize(props: Record<string, string>): number {
  if (props === NO_PROPERTIES) return 0;
  let size = 0;
  for (const k of Object.keys(props)) {
    const entry = 1 + delimited(utf8Length(k)) + 1 + delimited(utf8Length(String(props[k])));
    size += 1 + delimited(entry);
  }
  return size;
}

// Per-message sizes from the first pass, PLAN_FIELDS slots per message in a reused array.
const P_TOPIC = 0;
const P_TAG = 1;
const P_ID = 2;
const P_HOST = 3;
const P_GROUP = 4;
const P_BORN = 5;
const P_DELIVERY = 6;
const P_PROPS = 7;
const P_SP = 8;
const P_SIZE = 9;
const P_LITE = 10;
const PLAN_FIELDS = 11;
let plan = new Float64Array(64 * PLAN_FIELDS);

/** Computes the sizes of `m` into `plan` at `at`; returns the message's encoded size. */
/** Byte lengths of the last topic and born host: the same strings message after message. */
let lastTopic = '';
let lastTopicLen = 0;
let lastHost = '';
let lastHostLen = 0;

function planMessage(m: PreparedMessage, at: number): number {
  if (m.topic !== lastTopic) {
    lastTopic = m.topic;
    lastTopicLen = utf8Length(m.topic);
  }
  if (m.bornHost !== lastHost) {
    lastHost = m.bornHost;
    lastHostLen = utf8Length(m.bornHost);
  }
  const topicLen = lastTopicLen;
  const hostLen = lastHostLen;
  const idLen = utf8Length(m.messageId);
  const bornSize = timestampSize(m.bornTimestampMs);
  let sp = 0;
  let tagLen = 0;
  if (m.tag !== undefined) {
    tagLen = utf8Length(m.tag);
    sp += 1 + delimited(tagLen);
  }
  const keys = m.keys;
  for (let i = 0; i < keys.length; i++) sp += 1 + delimited(utf8Length(keys[i]!));
  sp += 1 + delimited(idLen); // message_id = 3
  sp += 2; // body_encoding = 5 (IDENTITY)
  sp += 1 + int32Size(messageTypeNumber(m.messageType)); // message_type = 6
  sp += 1 + delimited(bornSize); // born_timestamp = 7
  sp += 1 + delimited(hostLen); // born_host = 8
  let deliverySize = 0;
  if (m.deliveryTimestampMs !== undefined) {
    deliverySize = timestampSize(m.deliveryTimestampMs);
    sp += 1 + delimited(deliverySize); // delivery_timestamp = 11
  }
  sp += 2; // queue_id = 13, 0
  let groupLen = 0;
  if (m.messageGroup !== undefined) {
    groupLen = utf8Length(m.messageGroup);
    sp += 2 + delimited(groupLen); // message_group = 17
  }
  let liteLen = 0;
  if (m.liteTopic !== undefined) {
    liteLen = utf8Length(m.liteTopic);
    sp += 2 + delimited(liteLen); // lite_topic = 21
  }
  if (m.priority !== undefined) sp += 2 + int32Size(m.priority | 0); // priority = 22
  const propsSize = propertiesSize(m.properties);
  const resource = 2 + 1 + delimited(topicLen); // resource_namespace '' + name
  const size = 1 + delimited(resource) + propsSize + 1 + delimited(sp) + 1 + delimited(m.body.length);
  plan[at + P_TOPIC] = topicLen;
  plan[at + P_TAG] = tagLen;
  plan[at + P_ID] = idLen;
  plan[at + P_HOST] = hostLen;
  plan[at + P_GROUP] = groupLen;
  plan[at + P_BORN] = bornSize;
  plan[at + P_DELIVERY] = deliverySize;
  plan[at + P_PROPS] = propsSize;
  plan[at + P_SP] = sp;
  plan[at + P_SIZE] = size;
  plan[at + P_LITE] = liteLen;
  return size;
}

function writeMessage(w: Writer, m: PreparedMessage, at: number): void {
  const topicLen = plan[at + P_TOPIC]!;
  w.byte(0x0a); // messages = 1
  w.varint(plan[at + P_SIZE]!);
  // topic = 1: Resource { resource_namespace = 1: '', name = 2 }
  w.byte(0x0a);
  w.varint(2 + 1 + delimited(topicLen));
  w.byte(0x0a);
  w.byte(0x00);
  w.byte(0x12);
  w.string(m.topic, topicLen);
  // user_properties = 2
  if (plan[at + P_PROPS]! > 0) {
    const props = m.properties;
    for (const k of Object.keys(props)) {
      const v = String(props[k]);
      const kl = utf8Length(k);
      const vl = utf8Length(v);
      w.byte(0x12);
      w.varint(1 + delimited(kl) + 1 + delimited(vl));
      w.byte(0x0a);
      w.string(k, kl);
      w.byte(0x12);
      w.string(v, vl);
    }
  }
  // system_properties = 3
  w.byte(0x1a);
  w.varint(plan[at + P_SP]!);
  if (m.tag !== undefined) {
    w.byte(0x0a);
    w.string(m.tag, plan[at + P_TAG]!);
  }
  const keys = m.keys;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    w.byte(0x12);
    w.string(k, utf8Length(k));
  }
  w.byte(0x1a);
  w.string(m.messageId, plan[at + P_ID]!);
  w.byte(0x28);
  w.varint(wireEnums().identity);
  w.byte(0x30);
  w.int32(messageTypeNumber(m.messageType));
  w.byte(0x3a);
  w.timestamp(m.bornTimestampMs, plan[at + P_BORN]!);
  w.byte(0x42);
  w.string(m.bornHost, plan[at + P_HOST]!);
  if (m.deliveryTimestampMs !== undefined) {
    w.byte(0x5a);
    w.timestamp(m.deliveryTimestampMs, plan[at + P_DELIVERY]!);
  }
  w.byte(0x68);
  w.byte(0x00);
  if (m.messageGroup !== undefined) {
    w.byte(0x8a);
    w.byte(0x01);
    w.string(m.messageGroup, plan[at + P_GROUP]!);
  }
  if (m.liteTopic !== undefined) {
    w.byte(0xaa);
    w.byte(0x01);
    w.string(m.liteTopic, plan[at + P_LITE]!);
  }
  if (m.priority !== undefined) {
    w.byte(0xb0);
    w.byte(0x01);
    w.int32(m.priority | 0);
  }
  // body = 4
  w.byte(0x22);
  w.bytes(m.body);
}

/**
 * Request buffers handed back after a successful call (`releaseSendMessageRequest`) and reused:
 * allocating ~64 KiB of fresh memory per call (malloc, page faults, external-memory GC pressure)
 * costs more than encoding into it. Bounded: buffers up to 1 MiB, 4 MiB in all.
 */
const POOL_MIN_BYTES = 16 * 1024;
const POOL_MAX_BUFFER = 1024 * 1024;
const POOL_MAX_BYTES = 4 * 1024 * 1024;
const pooled: ArrayBuffer[] = [];
let pooledBytes = 0;
/** Backing stores the pool handed out (only those come back into it). */
const owned = new WeakSet<ArrayBuffer>();

function requestBuffer(size: number): Buffer {
  if (size < POOL_MIN_BYTES || size > POOL_MAX_BUFFER) return Buffer.allocUnsafe(size);
  for (let i = pooled.length - 1; i >= 0; i--) {
    const ab = pooled[i]!;
    if (ab.byteLength >= size) {
      pooled[i] = pooled[pooled.length - 1]!;
      pooled.pop();
      pooledBytes -= ab.byteLength;
      owned.add(ab);
      return Buffer.from(ab, 0, size);
    }
  }
  // Room for slightly larger batches next time: round up to 16 KiB.
  const ab = new ArrayBuffer(Math.min(POOL_MAX_BUFFER, Math.ceil(size / POOL_MIN_BYTES) * POOL_MIN_BYTES));
  owned.add(ab);
  return Buffer.from(ab, 0, size);
}

/**
 * Gives a buffer from `encodeSendMessageRequest` back for reuse. Only after the call succeeded
 * (grpc-js copies a request into its own frame before sending it, so once the broker answered,
 * nothing reads this buffer any more); a failed call's buffer is simply dropped.
 */
export function releaseSendMessageRequest(buf: Buffer): void {
  const ab = buf.buffer as ArrayBuffer;
  if (!owned.has(ab) || pooledBytes + ab.byteLength > POOL_MAX_BYTES) return;
  owned.delete(ab); // handed out again only from the pool: a second release is a no-op
  pooled.push(ab);
  pooledBytes += ab.byteLength;
}

/** The encoded apache.rocketmq.v2.SendMessageRequest carrying `messages` (see the file comment). */
export function encodeSendMessageRequest(messages: readonly PreparedMessage[]): Buffer {
  const n = messages.length;
  if (plan.length < n * PLAN_FIELDS) plan = new Float64Array(n * PLAN_FIELDS);
  let total = 0;
  for (let i = 0; i < n; i++) total += 1 + delimited(planMessage(messages[i]!, i * PLAN_FIELDS));
  const w = new Writer(requestBuffer(total));
  for (let i = 0; i < n; i++) writeMessage(w, messages[i]!, i * PLAN_FIELDS);
  if (w.pos !== total) throw new Error(`SendMessageRequest encoding: wrote ${w.pos} of ${total} bytes`);
  return w.buf;
}

// ---------------------------------------------------------------------------------------------
// decoding

class Reader {
  pos = 0;
  /** End of the message being read (nested messages narrow it). */
  end: number;
  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  private overrun(): never {
    throw new RangeError(`index out of range: ${this.pos} > ${this.end}`);
  }

  /** A varint as a uint32 (protobufjs `uint32()`: higher bits dropped). */
  uint32(): number {
    const buf = this.buf;
    let v = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.overrun();
      const b = buf[this.pos++]!;
      if (shift < 32) v |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) return v >>> 0;
    }
    throw new Error('invalid varint encoding');
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** An int64 varint as a (signed) number, as protobufjs LongBits.toNumber(false). */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (this.pos >= this.end) this.overrun();
      const b = buf[this.pos++]!;
      lo = (lo | ((b & 127) << (i * 7))) >>> 0;
      if (b < 128) return lo;
    }
    if (this.pos >= this.end) this.overrun();
    let b = buf[this.pos++]!;
    lo = (lo | ((b & 127) << 28)) >>> 0;
    hi = (hi | ((b & 127) >> 4)) >>> 0;
    if (b < 128) return toNumber(lo, hi);
    for (i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.overrun();
      b = buf[this.pos++]!;
      hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
      if (b < 128) return toNumber(lo, hi);
    }
    throw new Error('invalid varint encoding');
  }

  /** Reads a length prefix; returns where that field ends. */
  delimitedEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) this.overrun();
    return end;
  }

  string(): string {
    const end = this.delimitedEnd();
    const s = end > this.pos ? this.buf.toString('utf8', this.pos, end) : '';
    this.pos = end;
    return s;
  }

  /** A string field that is likely `expected` (ASCII): returns `expected` itself when it is. */
  stringLike(expected: string | undefined): string {
    if (expected === undefined) return this.string();
    const end = this.delimitedEnd();
    const n = end - this.pos;
    if (n === expected.length) {
      const buf = this.buf;
      let i = 0;
      while (i < n && buf[this.pos + i] === expected.charCodeAt(i)) i++;
      if (i === n) {
        this.pos = end;
        return expected;
      }
    }
    const s = n > 0 ? this.buf.toString('utf8', this.pos, end) : '';
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint32();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.delimitedEnd();
        return;
      case 3:
        for (;;) {
          const tag = this.uint32();
          const wt = tag & 7;
          if (wt === 4) return;
          this.skip(wt);
        }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
    if (this.pos > this.end) this.overrun();
  }
}

function toNumber(lo: number, hi: number): number {
  if (hi >>> 31) {
    lo = (~lo + 1) >>> 0;
    hi = ~hi >>> 0;
    if (!lo) hi = (hi + 1) >>> 0;
    return -(lo + hi * 4294967296);
  }
  return lo + hi * 4294967296;
}

/**
 * The last status decoded, with its encoded bytes: a response carries one status per entry,
 * nearly always the same `OK`, so identical ones share one (frozen) object.
 */
let lastStatus: { bytes: Buffer; status: Status__Output } | undefined;

function decodeStatus(r: Reader, codeNames: Map<number, string>): Status__Output {
  const end = r.delimitedEnd();
  const start = r.pos;
  const buf = r.buf;
  const cached = lastStatus;
  if (cached && cached.bytes.length === end - start) {
    const bytes = cached.bytes;
    let i = 0;
    while (i < bytes.length && buf[start + i] === bytes[i]) i++;
    if (i === bytes.length) {
      r.pos = end;
      return cached.status;
    }
  }
  const outer = r.end;
  r.end = end;
  let code = 0;
  let message = '';
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        code = r.int32();
        break;
      case 2:
        message = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
  r.pos = end;
  const status = Object.freeze({ code: (codeNames.get(code) ?? code) as Status__Output['code'], message });
  if (end - start <= 64) lastStatus = { bytes: Buffer.from(buf.subarray(start, end)), status };
  return status;
}

function decodeEntry(r: Reader, codeNames: Map<number, string>, expectedId: string | undefined): SendResultEntry__Output {
  const end = r.delimitedEnd();
  const outer = r.end;
  r.end = end;
  const entry: SendResultEntry__Output = { status: null, messageId: '', transactionId: '', offset: 0, recallHandle: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        entry.status = decodeStatus(r, codeNames);
        break;
      case 2:
        entry.messageId = r.stringLike(expectedId);
        break;
      case 3:
        entry.transactionId = r.string();
        break;
      case 4:
        entry.offset = r.int64();
        break;
      case 5:
        entry.recallHandle = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
  r.pos = end;
  return entry;
}

/**
 * Decodes a SendMessageResponse into what proto-loader's deserializer returns (statuses are
 * shared frozen objects). `expected[i].messageId`, the id of the i-th message sent, is returned
 * as the i-th entry's `messageId` when the bytes match, instead of a fresh copy of that string.
 */
export function decodeSendMessageResponse(buf: Buffer, expected?: readonly { readonly messageId: string }[]): SendMessageResponse__Output {
  const codeNames = wireEnums().codeNames;
  const r = new Reader(buf);
  const out: SendMessageResponse__Output = { status: null, entries: [] };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        out.status = decodeStatus(r, codeNames);
        break;
      case 2:
        out.entries.push(decodeEntry(r, codeNames, expected?.[out.entries.length]?.messageId));
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the client constructor

type MessagingClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => MessagingServiceClient;

let clientConstructor: MessagingClientConstructor | undefined;

/** MessagingService client with the SendMessage codec above (see the file comment). */
export function messagingClientConstructor(): MessagingClientConstructor {
  if (!clientConstructor) {
    const service = messagingService().service;
    const send = service.SendMessage;
    const serialize = send.requestSerialize;
    const definition: grpc.ServiceDefinition = {
      ...service,
      SendMessage: {
        ...send,
        requestSerialize: (req: unknown) => (Buffer.isBuffer(req) ? req : serialize(req as Parameters<typeof serialize>[0])),
        // The raw bytes: callSendMessages decodes them knowing the ids it sent.
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    clientConstructor = grpc.makeGenericClientConstructor(definition, 'MessagingService') as unknown as MessagingClientConstructor;
  }
  return clientConstructor;
}
