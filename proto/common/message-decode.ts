/**
 * Hand-written decoder of apache.rocketmq.v2.Message and the responses that carry messages,
 * shared by the broker (SendMessageRequest, broker/grpc/wire.ts) and the SDK
 * (ReceiveMessageResponse, client/rpc/wire.ts).
 *
 * Each decoder builds in one pass an object deep-equal to proto-loader's `deserialize` output:
 * defaults filled in, absent messages `null`, enums as names (an unknown number stays a number),
 * int64 as numbers, proto3 `optional` fields only when present and then with their oneof marker
 * (`_tag: 'tag'`), a oneof's virtual field naming the member that is set, user properties a plain
 * object (`__proto__` an own key). Bodies are views into the input buffer, as protobufjs's are.
 * Unknown fields are skipped. Malformed input throws: truncation, bad lengths or varints, invalid
 * wire types, and - stricter than protobufjs, which misreads them - a known field with the wrong
 * wire type, field number 0, a string running past its message. proto-loader decodes with the
 * generic `decode` (protobufjs instances, a Long per int64) plus `toObject` (a second, plain
 * copy), which costs several times more time and garbage per message.
 *
 * Tested against proto-loader in test/broker/wire.test.ts and test/client/wire-receive-decode.test.ts.
 */
import { Reader, rocketmqEnum } from './protobuf-wire.js';
import type { EnumTable } from './protobuf-wire.js';
import type { Message__Output } from '../gen/apache/rocketmq/v2/Message.js';
import type { SystemProperties__Output } from '../gen/apache/rocketmq/v2/SystemProperties.js';
import type { Resource__Output } from '../gen/apache/rocketmq/v2/Resource.js';
import type { Digest__Output } from '../gen/apache/rocketmq/v2/Digest.js';
import type { DeadLetterQueue__Output } from '../gen/apache/rocketmq/v2/DeadLetterQueue.js';
import type { Timestamp__Output } from '../gen/google/protobuf/Timestamp.js';
import type { Status__Output } from '../gen/apache/rocketmq/v2/Status.js';
import type { ReceiveMessageResponse__Output } from '../gen/apache/rocketmq/v2/ReceiveMessageResponse.js';

// ---------------------------------------------------------------------------------------------
// enums, from the loaded protos

export interface WireEnums {
  messageType: EnumTable;
  encoding: EnumTable;
  digestType: EnumTable;
  code: EnumTable;
}

let enums: WireEnums | undefined;

/** The enum tables the message codecs use (loaded once). */
export function wireEnums(): WireEnums {
  if (!enums) {
    enums = {
      messageType: rocketmqEnum('MessageType'),
      encoding: rocketmqEnum('Encoding'),
      digestType: rocketmqEnum('DigestType'),
      code: rocketmqEnum('Code'),
    };
  }
  return enums;
}

/** toObject with `enums: String`: the name of a known number, an unknown number as is. */
function enumName(e: EnumTable, n: number): string {
  return e.byNumber.get(n) ?? (n as unknown as string);
}

// ---------------------------------------------------------------------------------------------
// decoding

/** Strings of the previous message of a request, for `Reader.stringLike`. */
export interface Previous {
  namespace: string;
  topic: string;
  tag: string;
  host: string;
  group: string;
  lite: string;
}

/** Enters a nested message: returns the outer end, to give back to `leave`. */
function enter(r: Reader): number {
  const end = r.delimitedEnd();
  const outer = r.end;
  r.end = end;
  return outer;
}

function leave(r: Reader, outer: number): void {
  // Every read is bounded by r.end, so the loop stopped exactly at it.
  r.end = outer;
}

function decodeResource(r: Reader, prev: Previous): Resource__Output {
  const outer = enter(r);
  const out: Resource__Output = { resourceNamespace: '', name: '' };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        out.resourceNamespace = prev.namespace = r.stringLike(prev.namespace);
        break;
      case 0x12:
        out.name = prev.topic = r.stringLike(prev.topic);
        break;
      default:
        r.other(tag, 2);
    }
  }
  leave(r, outer);
  return out;
}

/** google.protobuf.Timestamp and Duration: int64 seconds = 1, int32 nanos = 2. */
export function decodeTime(r: Reader): Timestamp__Output {
  const outer = enter(r);
  const out: Timestamp__Output = { seconds: 0, nanos: 0 };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08:
        out.seconds = r.int64();
        break;
      case 0x10:
        out.nanos = r.int32();
        break;
      default:
        r.other(tag, 2);
    }
  }
  leave(r, outer);
  return out;
}

function decodeDigest(r: Reader, e: WireEnums): Digest__Output {
  const outer = enter(r);
  const out = { type: e.digestType.defaultName, checksum: '' } as Digest__Output;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08:
        out.type = enumName(e.digestType, r.int32()) as Digest__Output['type'];
        break;
      case 0x12:
        out.checksum = r.string();
        break;
      default:
        r.other(tag, 2);
    }
  }
  leave(r, outer);
  return out;
}

function decodeDeadLetterQueue(r: Reader): DeadLetterQueue__Output {
  const outer = enter(r);
  const out: DeadLetterQueue__Output = { topic: '', messageId: '' };
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        out.topic = r.string();
        break;
      case 0x12:
        out.messageId = r.string();
        break;
      default:
        r.other(tag, 2);
    }
  }
  leave(r, outer);
  return out;
}

/** One map<string, string> entry of Message.user_properties into `props`. */
function decodeProperty(r: Reader, props: Record<string, string>): void {
  const outer = enter(r);
  let key = '';
  let value = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        key = r.string();
        break;
      case 0x12:
        value = r.string();
        break;
      default:
        r.other(tag, 2);
    }
  }
  leave(r, outer);
  // As protobufjs: `__proto__` becomes an own property, not the object's prototype.
  if (key === '__proto__') Object.defineProperty(props, key, { value, enumerable: true, configurable: true, writable: true });
  else props[key] = value;
}

/** Mutable view of the output, optional fields and their oneof markers included. */
type SystemPropertiesOut = { -readonly [K in keyof SystemProperties__Output]: SystemProperties__Output[K] };

function decodeSystemProperties(r: Reader, e: WireEnums, prev: Previous): SystemProperties__Output {
  const outer = enter(r);
  // Defaults in proto-loader's key order; optional fields are added when present.
  const sp = {
    keys: [] as string[],
    messageId: '',
    bodyDigest: null,
    bodyEncoding: e.encoding.defaultName,
    messageType: e.messageType.defaultName,
    bornTimestamp: null,
    bornHost: '',
    storeHost: '',
    queueId: 0,
  } as SystemPropertiesOut;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a: // tag = 1
        sp.tag = prev.tag = r.stringLike(prev.tag);
        sp._tag = 'tag';
        break;
      case 0x12: // keys = 2
        sp.keys.push(r.string());
        break;
      case 0x1a: // message_id = 3
        sp.messageId = r.string();
        break;
      case 0x22: // body_digest = 4
        sp.bodyDigest = decodeDigest(r, e);
        break;
      case 0x28: // body_encoding = 5
        sp.bodyEncoding = enumName(e.encoding, r.int32()) as SystemPropertiesOut['bodyEncoding'];
        break;
      case 0x30: // message_type = 6
        sp.messageType = enumName(e.messageType, r.int32()) as SystemPropertiesOut['messageType'];
        break;
      case 0x3a: // born_timestamp = 7
        sp.bornTimestamp = decodeTime(r);
        break;
      case 0x42: // born_host = 8
        sp.bornHost = prev.host = r.stringLike(prev.host);
        break;
      case 0x4a: // store_timestamp = 9
        sp.storeTimestamp = decodeTime(r);
        sp._storeTimestamp = 'storeTimestamp';
        break;
      case 0x52: // store_host = 10
        sp.storeHost = r.string();
        break;
      case 0x5a: // delivery_timestamp = 11
        sp.deliveryTimestamp = decodeTime(r);
        sp._deliveryTimestamp = 'deliveryTimestamp';
        break;
      case 0x62: // receipt_handle = 12
        sp.receiptHandle = r.string();
        sp._receiptHandle = 'receiptHandle';
        break;
      case 0x68: // queue_id = 13
        sp.queueId = r.int32();
        break;
      case 0x70: // queue_offset = 14
        sp.queueOffset = r.int64();
        sp._queueOffset = 'queueOffset';
        break;
      case 0x7a: // invisible_duration = 15
        sp.invisibleDuration = decodeTime(r);
        sp._invisibleDuration = 'invisibleDuration';
        break;
      case 0x80: // delivery_attempt = 16
        sp.deliveryAttempt = r.int32();
        sp._deliveryAttempt = 'deliveryAttempt';
        break;
      case 0x8a: // message_group = 17
        sp.messageGroup = prev.group = r.stringLike(prev.group);
        sp._messageGroup = 'messageGroup';
        break;
      case 0x92: // trace_context = 18
        sp.traceContext = r.string();
        sp._traceContext = 'traceContext';
        break;
      case 0x9a: // orphaned_transaction_recovery_duration = 19
        sp.orphanedTransactionRecoveryDuration = decodeTime(r);
        sp._orphanedTransactionRecoveryDuration = 'orphanedTransactionRecoveryDuration';
        break;
      case 0xa2: // dead_letter_queue = 20
        sp.deadLetterQueue = decodeDeadLetterQueue(r);
        sp._deadLetterQueue = 'deadLetterQueue';
        break;
      case 0xaa: // lite_topic = 21
        sp.liteTopic = prev.lite = r.stringLike(prev.lite);
        sp._liteTopic = 'liteTopic';
        break;
      case 0xb0: // priority = 22
        sp.priority = r.int32();
        sp._priority = 'priority';
        break;
      default:
        r.other(tag, 22);
    }
  }
  leave(r, outer);
  return sp;
}

/** A length-delimited Message at `r` (its tag already read). */
export function decodeMessage(r: Reader, e: WireEnums, prev: Previous): Message__Output {
  const outer = enter(r);
  const userProperties: Record<string, string> = {};
  let topic: Resource__Output | null = null;
  let systemProperties: SystemProperties__Output | null = null;
  let body: Buffer | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        topic = decodeResource(r, prev);
        break;
      case 0x12:
        decodeProperty(r, userProperties);
        break;
      case 0x1a:
        systemProperties = decodeSystemProperties(r, e, prev);
        break;
      case 0x22:
        body = r.bytes();
        break;
      default:
        r.other(tag, 4);
    }
  }
  leave(r, outer);
  return { userProperties, topic, systemProperties, body: body ?? Buffer.alloc(0) };
}

/** A fresh `Previous` (one per decoded request or response). */
export function newPrevious(): Previous {
  return { namespace: '', topic: '', tag: '', host: '', group: '', lite: '' };
}

/**
 * The last status decoded, with its encoded bytes: a response carries one status per entry,
 * nearly always the same `OK`, so identical ones share one (frozen) object.
 */
let lastStatus: { bytes: Buffer; status: Status__Output } | undefined;

/**
 * apache.rocketmq.v2.Status (Code code = 1, string message = 2) at `r`, its tag already read;
 * `codeNames` is the Code enum's number -> name table.
 */
export function decodeStatus(r: Reader, codeNames: Map<number, string>): Status__Output {
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
    switch (tag) {
      case 0x08: // code = 1
        code = r.int32();
        break;
      case 0x12: // message = 2
        message = r.string();
        break;
      default:
        r.other(tag, 2);
    }
  }
  r.end = outer;
  r.pos = end;
  const status = Object.freeze({ code: (codeNames.get(code) ?? code) as Status__Output['code'], message });
  if (end - start <= 64) lastStatus = { bytes: Buffer.from(buf.subarray(start, end)), status };
  return status;
}

type ReceiveMessageResponseOut = { -readonly [K in keyof ReceiveMessageResponse__Output]: ReceiveMessageResponse__Output[K] };

/**
 * Decodes an apache.rocketmq.v2.ReceiveMessageResponse: `oneof content { Status status = 1;
 * Message message = 2; google.protobuf.Timestamp delivery_timestamp = 3; }`. As proto-loader
 * (protobufjs), a response carrying several members keeps them all, and `content` names the
 * highest-numbered one (a conforming sender sets one).
 */
export function decodeReceiveMessageResponse(buf: Buffer): ReceiveMessageResponse__Output {
  const e = wireEnums();
  const r = new Reader(buf);
  const out: ReceiveMessageResponseOut = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a:
        out.status = decodeStatus(r, e.code.byNumber);
        break;
      case 0x12:
        out.message = decodeMessage(r, e, newPrevious());
        break;
      case 0x1a:
        out.deliveryTimestamp = decodeTime(r);
        break;
      default:
        r.other(tag, 3);
    }
  }
  if (out.deliveryTimestamp) out.content = 'deliveryTimestamp';
  else if (out.message) out.content = 'message';
  else if (out.status) out.content = 'status';
  return out;
}
