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
import { checkLiteTopicName } from '../lite/lite-topic-name.js';
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
  /** Makes it a FIFO message (FIFO topics): ordered with every other message of the same group. */
  messageGroup?: string;
  /**
   * Not delivered before this time (ms since the epoch). Alone it makes a DELAY message; it may
   * also delay a FIFO or PRIORITY message. Cancel with `producer.recall(receipt)`.
   */
  deliveryTimestampMs?: number;
  /** Makes it a PRIORITY message (PRIORITY topics): 0..9, higher is delivered first. */
  priority?: number;
  /**
   * Makes it a LITE message (`topic` must be a LITE parent topic): the lite topic inside the
   * parent, /^[a-zA-Z0-9_.:-]+$/, at most 64 characters. Created by the broker on first send;
   * ordered with every other message of the same lite topic. Cannot be combined with
   * `messageGroup` or `priority`; may be delayed.
   */
  liteTopic?: string;
  /**
   * Time to live (ms), counted from when the message becomes deliverable: not delivered after
   * that, and deleted. Sent as the user property `agentmq.ttl.ms`.
   */
  ttlMs?: number;
  /**
   * Deduplication key: a second message with the same key sent to the topic within its dedup
   * window (default 10 min) is not stored; its receipt carries the original's message id.
   * Sent as the user property `agentmq.dedup.key`.
   */
  dedupKey?: string;
}

/** User property that carries `ttlMs`. */
export const TTL_PROPERTY = 'agentmq.ttl.ms';
/** User property that carries `dedupKey`. */
export const DEDUP_KEY_PROPERTY = 'agentmq.dedup.key';

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
  /** For delayed messages: the handle that cancels delivery (`producer.recall(receipt)`). */
  recallHandle?: string;
  /** The broker (host:port) that stored the message. */
  broker: string;
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
  liteTopic?: string;
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

/** Shared by every message without keys / properties (never mutated: frozen). */
export const NO_KEYS: string[] = Object.freeze([]) as unknown as string[];
export const NO_PROPERTIES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The last topic name that passed `nameProblem` (producers mostly send to one or few topics). */
let lastGoodTopic: string | undefined;

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
  const topic = msg.topic;
  if (topic !== lastGoodTopic || typeof topic !== 'string') {
    const topicProblem = nameProblem(topic);
    if (topicProblem) throw InvalidArgumentError.format('topic', topicProblem, Code.ILLEGAL_TOPIC);
    lastGoodTopic = topic;
  }

  const body = toBuffer(msg.body);
  if (body.length === 0) throw InvalidArgumentError.format('body', 'must not be empty', Code.MESSAGE_BODY_EMPTY);
  if (body.length > maxBodySize) {
    throw InvalidArgumentError.format('body', `must be at most ${maxBodySize} bytes (got ${body.length})`, Code.MESSAGE_BODY_TOO_LARGE);
  }

  let bytes = MESSAGE_OVERHEAD_BYTES + body.length + topic.length;
  const tag = msg.tag;
  if (tag !== undefined) {
    const p = typeof tag === 'string' ? tagProblem(tag) : 'must be a string';
    if (p) throw InvalidArgumentError.format('tag', p, Code.ILLEGAL_MESSAGE_TAG);
    bytes += tag.length;
  }

  let keys = NO_KEYS;
  if (msg.keys !== undefined && msg.keys !== null) {
    keys = [];
    for (const [i, k] of msg.keys.entries()) {
      keys.push(checkText(`keys[${i}]`, k, Code.ILLEGAL_MESSAGE_KEY, MAX_KEY_LENGTH));
      bytes += k.length + 2;
    }
  }

  let properties = NO_PROPERTIES;
  if (msg.properties !== undefined && msg.properties !== null) {
    properties = {};
    let propertiesSize = 0;
    for (const [k, v] of Object.entries(msg.properties)) {
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
  }

  // The type: LITE (lite topic), FIFO (group) or PRIORITY, else DELAY (timestamp), else NORMAL. A delivery
  // timestamp may delay a FIFO or PRIORITY message too; a message is not both FIFO and PRIORITY.
  let messageType: MessageType = 'NORMAL';
  const deliveryTimestampMs = msg.deliveryTimestampMs;
  if (deliveryTimestampMs !== undefined) {
    if (!Number.isSafeInteger(deliveryTimestampMs) || deliveryTimestampMs < 0) {
      throw InvalidArgumentError.format('deliveryTimestampMs', 'must be a non-negative integer (ms since the epoch)', Code.ILLEGAL_DELIVERY_TIME);
    }
    messageType = 'DELAY';
  }
  const messageGroup = msg.messageGroup;
  if (messageGroup !== undefined) {
    checkText('messageGroup', messageGroup, Code.ILLEGAL_MESSAGE_GROUP, MAX_MESSAGE_GROUP_LENGTH);
    messageType = 'FIFO';
    bytes += messageGroup.length;
  }
  const priority = msg.priority;
  if (priority !== undefined) {
    if (!Number.isSafeInteger(priority) || priority < 0 || priority > 9) {
      throw InvalidArgumentError.format('priority', 'must be an integer between 0 and 9', Code.BAD_REQUEST);
    }
    if (messageGroup !== undefined) {
      throw InvalidArgumentError.format('messageGroup and priority', 'cannot be combined (a message is FIFO or PRIORITY)', Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE);
    }
    messageType = 'PRIORITY';
  }
  const liteTopic = msg.liteTopic;
  if (liteTopic !== undefined) {
    checkLiteTopicName('liteTopic', liteTopic);
    if (messageGroup !== undefined || priority !== undefined) {
      throw InvalidArgumentError.format(
        messageGroup !== undefined ? 'liteTopic and messageGroup' : 'liteTopic and priority',
        'cannot be combined (a LITE message is ordered by its lite topic)',
        Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
      );
    }
    messageType = 'LITE'; // a delivery timestamp may still delay it
    bytes += liteTopic.length;
  }
  if (msg.ttlMs !== undefined) {
    if (!Number.isSafeInteger(msg.ttlMs) || msg.ttlMs <= 0) throw InvalidArgumentError.format('ttlMs', 'must be a positive integer (ms)', Code.BAD_REQUEST);
    if (properties === NO_PROPERTIES) properties = {};
    properties[TTL_PROPERTY] = String(msg.ttlMs);
  }
  if (msg.dedupKey !== undefined) {
    if (msg.dedupKey.length === 0 || msg.dedupKey.length > 512) throw InvalidArgumentError.format('dedupKey', 'must be 1 to 512 characters', Code.BAD_REQUEST);
    if (properties === NO_PROPERTIES) properties = {};
    properties[DEDUP_KEY_PROPERTY] = msg.dedupKey;
  }

  // Every field is always present (undefined when unset): one object shape for all messages.
  return {
    topic,
    body,
    tag,
    keys,
    properties,
    messageGroup,
    deliveryTimestampMs,
    priority,
    liteTopic,
    messageId: createMessageId(nowMs),
    messageType,
    bornTimestampMs: nowMs,
    bornHost: BORN_HOST,
    bytes,
  };
}
