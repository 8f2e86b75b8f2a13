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
 *   as numbers), sharing identical statuses and reusing the sent messages' id strings. Malformed
 *   bytes throw, a known field with the wrong wire type or field number 0 included.
 * - `messagingClientConstructor()` is the loaded MessagingService client with SendMessage's
 *   request serializer passing a pre-encoded Buffer through (anything else still goes through
 *   proto-loader) and its response deserializer handing over the raw bytes, for the caller to
 *   decode with the decoder above, and ReceiveMessage's response deserializer replaced by
 *   `decodeReceiveMessageResponse` (proto/common/message-decode.ts, shared with the broker's
 *   SendMessage decoder: the same plain object as proto-loader's, in one pass). Every other
 *   method is proto-loader's.
 *
 * Enum numbers and names come from the loaded proto definitions, not from copies. The wire-format
 * primitives (Reader, Writer, sizes) are proto/common/protobuf-wire.ts, shared with the broker's
 * codec (broker/grpc/wire.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { messagingService } from '../../proto/index.js';
import { Reader, Writer, delimitedSize, intSize, rocketmqEnum, utf8Length } from '../../proto/common/protobuf-wire.js';
import { decodeReceiveMessageResponse, decodeStatus } from '../../proto/common/message-decode.js';
import type { MessagingServiceClient } from '../../proto/index.js';
import type { SendMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/SendMessageResponse.js';
import type { SendResultEntry__Output } from '../../proto/gen/apache/rocketmq/v2/SendResultEntry.js';
import type { Status__Output } from '../../proto/gen/apache/rocketmq/v2/Status.js';
import { NO_PROPERTIES } from '../producer/outgoing-message.js';
import type { PreparedMessage } from '../producer/outgoing-message.js';

// ---------------------------------------------------------------------------------------------
// enums, from the loaded protos

let enums: { messageType: Map<string, number>; identity: number; codeNames: Map<number, string> } | undefined;

function wireEnums(): NonNullable<typeof enums> {
  if (!enums) {
    enums = {
      messageType: rocketmqEnum('MessageType').byName,
      identity: rocketmqEnum('Encoding').byName.get('IDENTITY')!,
      codeNames: rocketmqEnum('Code').byNumber,
    };
  }
  return enums;
}

// ---------------------------------------------------------------------------------------------
// encoding

function timestampSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = ((ms - seconds * 1000) * 1e6) | 0;
  return 1 + intSize(seconds) + 1 + intSize(nanos);
}

/** A google.protobuf.Timestamp of `ms` (its encoded size from timestampSize) with its length prefix. */
function writeTimestamp(w: Writer, ms: number, size: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = ((ms - seconds * 1000) * 1e6) | 0;
  w.varint(size);
  w.byte(0x08);
  w.int(seconds);
  w.byte(0x10);
  w.int(nanos);
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
    const entry = 1 + delimitedSize(utf8Length(k)) + 1 + delimitedSize(utf8Length(String(props[k])));
    size += 1 + delimitedSize(entry);
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
    sp += 1 + delimitedSize(tagLen);
  }
  const keys = m.keys;
  for (let i = 0; i < keys.length; i++) sp += 1 + delimitedSize(utf8Length(keys[i]!));
  sp += 1 + delimitedSize(idLen); // message_id = 3
  sp += 2; // body_encoding = 5 (IDENTITY)
  sp += 1 + intSize(messageTypeNumber(m.messageType)); // message_type = 6
  sp += 1 + delimitedSize(bornSize); // born_timestamp = 7
  sp += 1 + delimitedSize(hostLen); // born_host = 8
  let deliverySize = 0;
  if (m.deliveryTimestampMs !== undefined) {
    deliverySize = timestampSize(m.deliveryTimestampMs);
    sp += 1 + delimitedSize(deliverySize); // delivery_timestamp = 11
  }
  sp += 2; // queue_id = 13, 0
  let groupLen = 0;
  if (m.messageGroup !== undefined) {
    groupLen = utf8Length(m.messageGroup);
    sp += 2 + delimitedSize(groupLen); // message_group = 17
  }
  let liteLen = 0;
  if (m.liteTopic !== undefined) {
    liteLen = utf8Length(m.liteTopic);
    sp += 2 + delimitedSize(liteLen); // lite_topic = 21
  }
  if (m.priority !== undefined) sp += 2 + intSize(m.priority | 0); // priority = 22
  const propsSize = propertiesSize(m.properties);
  const resource = 2 + 1 + delimitedSize(topicLen); // resource_namespace '' + name
  const size = 1 + delimitedSize(resource) + propsSize + 1 + delimitedSize(sp) + 1 + delimitedSize(m.body.length);
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
  w.varint(2 + 1 + delimitedSize(topicLen));
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
      w.varint(1 + delimitedSize(kl) + 1 + delimitedSize(vl));
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
  w.int(messageTypeNumber(m.messageType));
  w.byte(0x3a);
  writeTimestamp(w, m.bornTimestampMs, plan[at + P_BORN]!);
  w.byte(0x42);
  w.string(m.bornHost, plan[at + P_HOST]!);
  if (m.deliveryTimestampMs !== undefined) {
    w.byte(0x5a);
    writeTimestamp(w, m.deliveryTimestampMs, plan[at + P_DELIVERY]!);
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
    w.int(m.priority | 0);
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
  for (let i = 0; i < n; i++) total += 1 + delimitedSize(planMessage(messages[i]!, i * PLAN_FIELDS));
  const w = new Writer(requestBuffer(total));
  for (let i = 0; i < n; i++) writeMessage(w, messages[i]!, i * PLAN_FIELDS);
  if (w.pos !== total) throw new Error(`SendMessageRequest encoding: wrote ${w.pos} of ${total} bytes`);
  return w.buf;
}

// ---------------------------------------------------------------------------------------------
// decoding

/** One SendResultEntry; `expectedId` is the id it likely carries ('' if none is expected). */
function decodeEntry(r: Reader, codeNames: Map<number, string>, expectedId: string): SendResultEntry__Output {
  const end = r.delimitedEnd();
  const outer = r.end;
  r.end = end;
  const entry: SendResultEntry__Output = { status: null, messageId: '', transactionId: '', offset: 0, recallHandle: '' };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x0a: // status = 1
        entry.status = decodeStatus(r, codeNames);
        break;
      case 0x12: // message_id = 2
        entry.messageId = r.stringLike(expectedId);
        break;
      case 0x1a: // transaction_id = 3
        entry.transactionId = r.string();
        break;
      case 0x20: // offset = 4
        entry.offset = r.int64();
        break;
      case 0x2a: // recall_handle = 5
        entry.recallHandle = r.string();
        break;
      default:
        r.other(tag, 5);
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
    switch (tag) {
      case 0x0a: // status = 1
        out.status = decodeStatus(r, codeNames);
        break;
      case 0x12: // entries = 2
        out.entries.push(decodeEntry(r, codeNames, expected?.[out.entries.length]?.messageId ?? ''));
        break;
      default:
        r.other(tag, 2);
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
      ReceiveMessage: { ...service.ReceiveMessage, responseDeserialize: decodeReceiveMessageResponse },
    };
    clientConstructor = grpc.makeGenericClientConstructor(definition, 'MessagingService') as unknown as MessagingClientConstructor;
  }
  return clientConstructor;
}
