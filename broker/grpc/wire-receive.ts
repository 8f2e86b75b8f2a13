/**
 * Hand-written protobuf encoder for the responses of the ReceiveMessage stream (the broker's
 * hottest write after SendMessage), used by `messagingServiceDefinition()` in wire.ts.
 *
 * proto-loader serializes each response with `fromObject` (a protobufjs instance per message,
 * nested ones included) + `encode` + `finish` (a list of write operations, then the Buffer): a
 * tenth of the broker's main thread when consumers are busy. Here `encodeReceiveMessageResponse`
 * makes two passes over the plain object and allocates only the result (and the `Object.keys`
 * of the user properties):
 *
 * - planning: checks each field's type and computes its encoded size, recording string byte
 *   lengths, enum numbers and nested message sizes on a reused `tape`, in writing order;
 * - writing: one Buffer of exactly that size, filled front to back, reading the tape back.
 *
 * The bytes are proto-loader's `responseSerialize(res)` for plain objects (prototype Object or
 * null) whose fields hold what the handlers build (messaging.ts, convert.ts): enums as names
 * (an unknown name is left unset, as fromObject does), strings, safe-integer int64s, int32s,
 * Uint8Array bodies, arrays of strings, `{ [key]: string }` user properties. Field values that
 * are null or undefined are absent; any other value is written, defaults included: protobufjs
 * writes every field fromObject set, so `{ queueId: 0 }` or `{ message: '' }` take bytes, proto3
 * `optional` or not. Fields are written in field-number order, map entries in `Object.keys`
 * order, each entry with its key and value; every field of the three messages is covered
 * (SystemProperties' trace context, dead-letter queue and recovery duration too). Keys that are
 * no field (`content`, `_tag`...) are ignored, as fromObject ignores them. Anything else
 * (numeric enums, Long or string int64s, fractional or out-of-range numbers, non-string map
 * values, class instances, arrays where a message goes) is handed to proto-loader's serializer,
 * so bytes and errors are proto-loader's there by construction.
 *
 * Tested against proto-loader byte for byte in test/broker/wire-receive.test.ts: random
 * deliveries through convert.ts's `deliveryToWire` / `liteDeliveryToWire`, statuses, delivery
 * timestamps, every field, defaults and odd values, and the fallbacks.
 */
import { messagingService } from '../../proto/index.js';
import { Writer, delimitedSize, intSize, isPlain, rocketmqEnum, utf8Length, varintSize } from '../../proto/common/protobuf-wire.js';
import type { ReceiveMessageResponse } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageResponse.js';

// ---------------------------------------------------------------------------------------------
// enums, from the loaded protos

interface ReceiveEnums {
  code: Map<string, number>;
  digestType: Map<string, number>;
  encoding: Map<string, number>;
  messageType: Map<string, number>;
}

let enums: ReceiveEnums | undefined;

function receiveEnums(): ReceiveEnums {
  if (!enums) {
    enums = {
      code: rocketmqEnum('Code').byName,
      digestType: rocketmqEnum('DigestType').byName,
      encoding: rocketmqEnum('Encoding').byName,
      messageType: rocketmqEnum('MessageType').byName,
    };
  }
  return enums;
}

// ---------------------------------------------------------------------------------------------
// the plan: sizes recorded while planning, read back in the same order while writing

/** A string or message field that is null or undefined: not written. */
const ABSENT = -2;

let tape = new Float64Array(256);
/** Planning: the next slot to fill. */
let top = 0;
/** Writing: the next slot to read. */
let next = 0;
/** Set by planning when a value is not of the handled shape: proto-loader encodes the response instead. */
let unsupported = false;

function reserve(): number {
  if (top === tape.length) {
    const grown = new Float64Array(tape.length * 2);
    grown.set(tape);
    tape = grown;
  }
  return top++;
}

function fail(): number {
  unsupported = true;
  return 0;
}

/** Bytes of a field's tag: all tags here are below 2^14. */
function tagSize(tag: number): number {
  return tag < 0x80 ? 1 : 2;
}

/** Size of a length-delimited field of `len` bytes. */
function delimited(tag: number, len: number): number {
  return tagSize(tag) + delimitedSize(len);
}

// ---------------------------------------------------------------------------------------------
// planning: each returns the encoded size of the field (0 if absent), or fails

function planString(v: unknown, tag: number): number {
  const at = reserve();
  if (typeof v === 'string') {
    const len = utf8Length(v);
    tape[at] = len;
    return delimited(tag, len);
  }
  tape[at] = ABSENT;
  return v == null ? 0 : fail();
}

/** An enum given by name; an unknown name stays unset, as in fromObject's switch. */
function planEnum(v: unknown, names: Map<string, number>, tag: number): number {
  const at = reserve();
  tape[at] = ABSENT;
  if (typeof v === 'string') {
    const n = names.get(v);
    if (n === undefined) return 0;
    if (n < 0) return fail(); // none in these protos: a negative number would take 10 bytes
    tape[at] = n;
    return tagSize(tag) + varintSize(n);
  }
  return v == null ? 0 : fail();
}

/** fromObject's `d | 0` keeps exactly the int32 numbers. */
function planInt32(v: unknown, tag: number): number {
  if (typeof v === 'number' && (v | 0) === v) return tagSize(tag) + intSize(v);
  return v == null ? 0 : fail();
}

/** Long.fromValue keeps exactly the safe integers. */
function planInt64(v: unknown, tag: number): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return tagSize(tag) + intSize(v);
  return v == null ? 0 : fail();
}

function planBytes(v: unknown, tag: number): number {
  if (v instanceof Uint8Array) return delimited(tag, v.length);
  return v == null ? 0 : fail();
}

/**
 * Starts a message field: reserves the slot of its size. Returns the slot, or -1 when the field
 * is absent (ABSENT recorded) or not a plain object (failed): then the caller returns 0.
 */
function openMessage(v: unknown): number {
  const at = reserve();
  tape[at] = ABSENT;
  if (v == null) return -1;
  if (!isPlain(v)) {
    fail();
    return -1;
  }
  return at;
}

function closeMessage(at: number, size: number, tag: number): number {
  tape[at] = size;
  return delimited(tag, size);
}

/** google.protobuf.Timestamp or Duration: int64 seconds = 1, int32 nanos = 2. */
function planTime(v: unknown, tag: number): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const t = v as Record<string, unknown>;
  return closeMessage(at, planInt64(t.seconds, 0x08) + planInt32(t.nanos, 0x10), tag);
}

// Two-field messages, each with its own function: named (monomorphic) property loads.

/** Status: Code code = 1, string message = 2. */
function planStatus(v: unknown, codes: Map<string, number>, tag: number): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const m = v as Record<string, unknown>;
  return closeMessage(at, planEnum(m.code, codes, 0x08) + planString(m.message, 0x12), tag);
}

/** Digest: DigestType type = 1, string checksum = 2. */
function planDigest(v: unknown, types: Map<string, number>, tag: number): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const m = v as Record<string, unknown>;
  return closeMessage(at, planEnum(m.type, types, 0x08) + planString(m.checksum, 0x12), tag);
}

/** Resource: string resource_namespace = 1, string name = 2. */
function planResource(v: unknown, tag: number): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const m = v as Record<string, unknown>;
  return closeMessage(at, planString(m.resourceNamespace, 0x0a) + planString(m.name, 0x12), tag);
}

/** DeadLetterQueue: string topic = 1, string message_id = 2. */
function planDeadLetterQueue(v: unknown, tag: number): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const m = v as Record<string, unknown>;
  return closeMessage(at, planString(m.topic, 0x0a) + planString(m.messageId, 0x12), tag);
}

/** repeated string keys = 2 of SystemProperties. */
function planKeys(v: unknown): number {
  if (v == null) return 0;
  if (!Array.isArray(v)) return fail();
  let size = 0;
  for (let i = 0; i < v.length; i++) {
    const key = v[i] as unknown;
    // fromObject writes String(key): a null or a hole would be 'null' / 'undefined'.
    if (typeof key !== 'string') return fail();
    size += planString(key, 0x12);
  }
  return size;
}

/** map<string, string> user_properties = 2 of Message: an entry per own enumerable key. */
function planProperties(v: unknown): number {
  if (v == null) return 0;
  if (!isPlain(v)) return fail();
  const keys = Object.keys(v);
  let size = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = v[key];
    if (typeof value !== 'string') return fail();
    const entry = planString(key, 0x0a) + planString(value, 0x12);
    size += delimited(0x12, entry);
  }
  return size;
}

function planSystemProperties(v: unknown, e: ReceiveEnums): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const sp = v as Record<string, unknown>;
  let size = planString(sp.tag, 0x0a);
  size += planKeys(sp.keys);
  size += planString(sp.messageId, 0x1a);
  size += planDigest(sp.bodyDigest, e.digestType, 0x22);
  size += planEnum(sp.bodyEncoding, e.encoding, 0x28);
  size += planEnum(sp.messageType, e.messageType, 0x30);
  size += planTime(sp.bornTimestamp, 0x3a);
  size += planString(sp.bornHost, 0x42);
  size += planTime(sp.storeTimestamp, 0x4a);
  size += planString(sp.storeHost, 0x52);
  size += planTime(sp.deliveryTimestamp, 0x5a);
  size += planString(sp.receiptHandle, 0x62);
  size += planInt32(sp.queueId, 0x68);
  size += planInt64(sp.queueOffset, 0x70);
  size += planTime(sp.invisibleDuration, 0x7a);
  size += planInt32(sp.deliveryAttempt, 0x80);
  size += planString(sp.messageGroup, 0x8a);
  size += planString(sp.traceContext, 0x92);
  size += planTime(sp.orphanedTransactionRecoveryDuration, 0x9a);
  size += planDeadLetterQueue(sp.deadLetterQueue, 0xa2);
  size += planString(sp.liteTopic, 0xaa);
  size += planInt32(sp.priority, 0xb0);
  return closeMessage(at, size, 0x1a);
}

function planMessage(v: unknown, e: ReceiveEnums): number {
  const at = openMessage(v);
  if (at < 0) return 0;
  const m = v as Record<string, unknown>;
  let size = planResource(m.topic, 0x0a);
  size += planProperties(m.userProperties);
  size += planSystemProperties(m.systemProperties, e);
  size += planBytes(m.body, 0x22);
  return closeMessage(at, size, 0x12);
}

/** ReceiveMessageResponse: oneof content { Status status = 1; Message message = 2; Timestamp delivery_timestamp = 3 }. */
function planResponse(res: Record<string, unknown>, e: ReceiveEnums): number {
  // fromObject sets each member that is present and encode writes them all: so do we.
  let size = planStatus(res.status, e.code, 0x0a);
  size += planMessage(res.message, e);
  size += planTime(res.deliveryTimestamp, 0x1a);
  return size;
}

// ---------------------------------------------------------------------------------------------
// writing: the same traversal, reading the tape

function writeString(w: Writer, v: unknown, tag: number): void {
  const len = tape[next++]!;
  if (len === ABSENT) return;
  w.varint(tag);
  w.string(v as string, len);
}

function writeEnum(w: Writer, tag: number): void {
  const n = tape[next++]!;
  if (n === ABSENT) return;
  w.varint(tag);
  w.varint(n);
}

function writeInt(w: Writer, v: unknown, tag: number): void {
  if (v == null) return;
  w.varint(tag);
  w.int(v as number);
}

function writeBytes(w: Writer, v: unknown, tag: number): void {
  if (v == null) return;
  w.varint(tag);
  w.bytes(v as Uint8Array);
}

/** Writes a message field's tag and size; false when it is absent. */
function openWrite(w: Writer, tag: number): boolean {
  const size = tape[next++]!;
  if (size === ABSENT) return false;
  w.varint(tag);
  w.varint(size);
  return true;
}

function writeTime(w: Writer, v: unknown, tag: number): void {
  if (!openWrite(w, tag)) return;
  const t = v as Record<string, unknown>;
  writeInt(w, t.seconds, 0x08);
  writeInt(w, t.nanos, 0x10);
}

function writeStatus(w: Writer, v: unknown, tag: number): void {
  if (!openWrite(w, tag)) return;
  writeEnum(w, 0x08);
  writeString(w, (v as Record<string, unknown>).message, 0x12);
}

function writeDigest(w: Writer, v: unknown, tag: number): void {
  if (!openWrite(w, tag)) return;
  writeEnum(w, 0x08);
  writeString(w, (v as Record<string, unknown>).checksum, 0x12);
}

function writeResource(w: Writer, v: unknown, tag: number): void {
  if (!openWrite(w, tag)) return;
  const m = v as Record<string, unknown>;
  writeString(w, m.resourceNamespace, 0x0a);
  writeString(w, m.name, 0x12);
}

function writeDeadLetterQueue(w: Writer, v: unknown, tag: number): void {
  if (!openWrite(w, tag)) return;
  const m = v as Record<string, unknown>;
  writeString(w, m.topic, 0x0a);
  writeString(w, m.messageId, 0x12);
}

function writeKeys(w: Writer, v: unknown): void {
  if (v == null) return;
  const keys = v as string[];
  for (let i = 0; i < keys.length; i++) writeString(w, keys[i], 0x12);
}

function writeProperties(w: Writer, v: unknown): void {
  if (v == null) return;
  const props = v as Record<string, string>;
  const keys = Object.keys(props);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const keyLen = tape[next]!;
    const valueLen = tape[next + 1]!;
    w.byte(0x12);
    w.varint(1 + varintSize(keyLen) + keyLen + 1 + varintSize(valueLen) + valueLen);
    writeString(w, key, 0x0a);
    writeString(w, props[key], 0x12);
  }
}

function writeSystemProperties(w: Writer, v: unknown): void {
  if (!openWrite(w, 0x1a)) return;
  const sp = v as Record<string, unknown>;
  writeString(w, sp.tag, 0x0a);
  writeKeys(w, sp.keys);
  writeString(w, sp.messageId, 0x1a);
  writeDigest(w, sp.bodyDigest, 0x22);
  writeEnum(w, 0x28);
  writeEnum(w, 0x30);
  writeTime(w, sp.bornTimestamp, 0x3a);
  writeString(w, sp.bornHost, 0x42);
  writeTime(w, sp.storeTimestamp, 0x4a);
  writeString(w, sp.storeHost, 0x52);
  writeTime(w, sp.deliveryTimestamp, 0x5a);
  writeString(w, sp.receiptHandle, 0x62);
  writeInt(w, sp.queueId, 0x68);
  writeInt(w, sp.queueOffset, 0x70);
  writeTime(w, sp.invisibleDuration, 0x7a);
  writeInt(w, sp.deliveryAttempt, 0x80);
  writeString(w, sp.messageGroup, 0x8a);
  writeString(w, sp.traceContext, 0x92);
  writeTime(w, sp.orphanedTransactionRecoveryDuration, 0x9a);
  writeDeadLetterQueue(w, sp.deadLetterQueue, 0xa2);
  writeString(w, sp.liteTopic, 0xaa);
  writeInt(w, sp.priority, 0xb0);
}

function writeMessage(w: Writer, v: unknown): void {
  if (!openWrite(w, 0x12)) return;
  const m = v as Record<string, unknown>;
  writeResource(w, m.topic, 0x0a);
  writeProperties(w, m.userProperties);
  writeSystemProperties(w, m.systemProperties);
  writeBytes(w, m.body, 0x22);
}

function writeResponse(w: Writer, res: Record<string, unknown>): void {
  writeStatus(w, res.status, 0x0a);
  writeMessage(w, res.message);
  writeTime(w, res.deliveryTimestamp, 0x1a);
}

// ---------------------------------------------------------------------------------------------

/** proto-loader's serializer, looked up on each (rare) call: tests watch that handler-built responses never get here. */
function fallback(res: ReceiveMessageResponse): Buffer {
  return messagingService().service.ReceiveMessage.responseSerialize(res);
}

/** Encodes an apache.rocketmq.v2.ReceiveMessageResponse, byte-identical to proto-loader (see the file comment). */
export function encodeReceiveMessageResponse(res: ReceiveMessageResponse): Buffer {
  if (!isPlain(res)) return fallback(res);
  top = 0;
  unsupported = false;
  const total = planResponse(res, receiveEnums());
  if (unsupported) return fallback(res);
  const w = new Writer(Buffer.allocUnsafe(total));
  next = 0;
  writeResponse(w, res);
  if (w.pos !== total || next !== top) throw new Error(`ReceiveMessageResponse encoding: wrote ${w.pos} of ${total} bytes, ${next} of ${top} sizes`);
  return w.buf;
}
