/**
 * What callers send (`OutgoingMessage`), what they get back (`SendReceipt`), and the checked,
 * stamped form the producer batches (`PreparedMessage`).
 *
 * `prepareMessage` applies the broker's own rules before anything is sent, throwing MqError with
 * the code the broker would answer (ILLEGAL_TOPIC, ILLEGAL_MESSAGE_TAG, MESSAGE_BODY_EMPTY, ...),
 * so one bad message fails fast and alone instead of inside a batch.
 */
import { hostname } from 'node:os';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem, tagProblem } from '../../proto/common/names.js';
import type { MessageType } from '../types.js';
import { createMessageId } from './message-id.js';

export interface OutgoingMessage {
  /** Target topic: [%a-zA-Z0-9_-]{1,127}. */
  topic: string;
  /** Payload; strings are encoded as UTF-8. Must not be empty. */
  body: Buffer | Uint8Array | string;
  /** Single tag consumers can filter on (`'a||b'` expressions); no `|`. */
  tag?: string;
  /** Business keys, indexed by the broker for lookup. */
  keys?: string[];
  /** User properties. */
  properties?: Record<string, string>;
  /** Makes it a FIFO message: ordered with every other message of the same group. */
  messageGroup?: string;
  /** Makes it a DELAY message: not delivered before this time (ms since the epoch). */
  deliveryTimestampMs?: number;
  /** Makes it a PRIORITY message: higher is delivered first. */
  priority?: number;
}

export interface SendReceipt {
  /** Client-generated id (34 upper-case hex characters). */
  messageId: string;
  topic: string;
  /**
   * Queue the broker stored the message in, or -1: apache.rocketmq.v2.SendResultEntry has no
   * queue field, so brokers speaking the plain protocol cannot report it.
   */
  queueId: number;
  /** Offset of the message in its queue. */
  offset: number;
  /** For DELAY messages: the handle that cancels delivery (RecallMessage). */
  recallHandle?: string;
}

/** A validated message with its id and born stamp; what travels in a batch. */
export interface PreparedMessage {
  topic: string;
  body: Buffer;
  tag?: string;
  keys: string[];
  properties: Record<string, string>;
  messageGroup?: string;
  deliveryTimestampMs?: number;
  priority?: number;
  messageId: string;
  messageType: MessageType;
  bornTimestampMs: number;
  bornHost: string;
  /** Estimated encoded size, counted against the batch byte limit. */
  bytes: number;
}

/** Default client-side body limit until a broker's settings reply says otherwise (4 MiB). */
export const DEFAULT_MAX_BODY_SIZE = 4 * 1024 * 1024;
/** Longest message group the AgentMQ broker accepts. */
export const MAX_MESSAGE_GROUP_LENGTH = 128;
/** Longest message key the AgentMQ broker accepts. */
export const MAX_KEY_LENGTH = 1024;
/** Largest total size of user property keys and values (RocketMQ `maxUserPropertySize`). */
export const MAX_PROPERTIES_SIZE = 16 * 1024;
/** Fixed per-message protobuf overhead assumed by the batch byte estimate. */
const MESSAGE_OVERHEAD_BYTES = 96;

const BORN_HOST = hostname();
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f]/;

function toBuffer(body: unknown): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw InvalidArgumentError.format('body', 'must be a Buffer, Uint8Array or string', Code.BAD_REQUEST);
}

function checkText(field: string, value: unknown, code: Code, maxLength?: number): string {
  if (typeof value !== 'string' || value.trim() === '') throw InvalidArgumentError.format(field, 'must be a non-blank string', code);
  if (CONTROL_CHARS.test(value)) throw InvalidArgumentError.format(field, 'must not contain control characters', code);
  if (maxLength !== undefined && value.length > maxLength) {
    throw InvalidArgumentError.format(field, `must be at most ${maxLength} characters (got ${value.length})`, code);
  }
  return value;
}

/**
 * Validates `msg` and stamps it (id, type, born time/host). Throws InvalidArgumentError (an
 * MqError) carrying the broker's code for the first problem found.
 */
export function prepareMessage(
  msg: OutgoingMessage,
  maxBodySize: number = DEFAULT_MAX_BODY_SIZE,
  nowMs: number = Date.now(),
): PreparedMessage {
  if (typeof msg !== 'object' || msg === null) throw InvalidArgumentError.format('message', 'must be an object');
  const topicProblem = nameProblem(msg.topic);
  if (topicProblem) throw InvalidArgumentError.format('topic', topicProblem, Code.ILLEGAL_TOPIC);

  const body = toBuffer(msg.body);
  if (body.length === 0) throw InvalidArgumentError.format('body', 'must not be empty', Code.MESSAGE_BODY_EMPTY);
  if (body.length > maxBodySize) {
    throw InvalidArgumentError.format('body', `must be at most ${maxBodySize} bytes (got ${body.length})`, Code.MESSAGE_BODY_TOO_LARGE);
  }

  let bytes = MESSAGE_OVERHEAD_BYTES + body.length + msg.topic.length;
  if (msg.tag !== undefined) {
    const p = typeof msg.tag === 'string' ? tagProblem(msg.tag) : 'must be a string';
    if (p) throw InvalidArgumentError.format('tag', p, Code.ILLEGAL_MESSAGE_TAG);
    bytes += msg.tag.length;
  }

  const keys: string[] = [];
  for (const [i, k] of (msg.keys ?? []).entries()) {
    keys.push(checkText(`keys[${i}]`, k, Code.ILLEGAL_MESSAGE_KEY, MAX_KEY_LENGTH));
    bytes += k.length + 2;
  }

  const properties: Record<string, string> = {};
  let propertiesSize = 0;
  for (const [k, v] of Object.entries(msg.properties ?? {})) {
    checkText(`properties key ${JSON.stringify(k)}`, k, Code.ILLEGAL_MESSAGE_PROPERTY_KEY);
    if (typeof v !== 'string') {
      throw InvalidArgumentError.format(`properties[${JSON.stringify(k)}]`, 'must be a string', Code.BAD_REQUEST);
    }
    properties[k] = v;
    propertiesSize += k.length + v.length;
  }
  if (propertiesSize > MAX_PROPERTIES_SIZE) {
    throw InvalidArgumentError.format('properties', `must total at most ${MAX_PROPERTIES_SIZE} characters (got ${propertiesSize})`, Code.MESSAGE_PROPERTIES_TOO_LARGE);
  }
  bytes += propertiesSize + 4 * Object.keys(properties).length;

  let messageType: MessageType = 'NORMAL';
  const typed: string[] = [];
  if (msg.messageGroup !== undefined) {
    checkText('messageGroup', msg.messageGroup, Code.ILLEGAL_MESSAGE_GROUP, MAX_MESSAGE_GROUP_LENGTH);
    messageType = 'FIFO';
    typed.push('messageGroup');
    bytes += msg.messageGroup.length;
  }
  if (msg.deliveryTimestampMs !== undefined) {
    if (!Number.isSafeInteger(msg.deliveryTimestampMs) || msg.deliveryTimestampMs < 0) {
      throw InvalidArgumentError.format('deliveryTimestampMs', 'must be a non-negative integer (ms since the epoch)', Code.ILLEGAL_DELIVERY_TIME);
    }
    messageType = 'DELAY';
    typed.push('deliveryTimestampMs');
  }
  if (msg.priority !== undefined) {
    if (!Number.isSafeInteger(msg.priority) || msg.priority < 0) {
      throw InvalidArgumentError.format('priority', 'must be a non-negative integer', Code.BAD_REQUEST);
    }
    messageType = 'PRIORITY';
    typed.push('priority');
  }
  if (typed.length > 1) {
    throw InvalidArgumentError.format(typed.join(' and '), 'cannot be combined (a message is FIFO, DELAY or PRIORITY)', Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE);
  }

  const prepared: PreparedMessage = {
    topic: msg.topic,
    body,
    keys,
    properties,
    messageId: createMessageId(nowMs),
    messageType,
    bornTimestampMs: nowMs,
    bornHost: BORN_HOST,
    bytes,
  };
  if (msg.tag !== undefined) prepared.tag = msg.tag;
  if (msg.messageGroup !== undefined) prepared.messageGroup = msg.messageGroup;
  if (msg.deliveryTimestampMs !== undefined) prepared.deliveryTimestampMs = msg.deliveryTimestampMs;
  if (msg.priority !== undefined) prepared.priority = msg.priority;
  return prepared;
}
