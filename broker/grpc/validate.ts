/**
 * Request validation for the broker's gRPC edge (RocketMQ GrpcValidator). Every check throws an
 * MqError with the specific RocketMQ Code and a message that names the field.
 */
import type { OffsetOption__Output } from '../../proto/gen/apache/rocketmq/v2/OffsetOption.js';
import type { OffsetSpec } from '../lite/lite-service.js';
import type * as grpc from '@grpc/grpc-js';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem, tagProblem } from '../../proto/common/names.js';
import type { ResolvedBrokerOptions } from '../options.js';
import { MAX_PRIORITY } from '../topic/lanes.js';
import { MAX_DEDUP_KEY_LENGTH } from '../send/dedup.js';

export const MAX_MESSAGE_ID_LENGTH = 128;
export const MAX_KEY_LENGTH = 1024;
export const MAX_MESSAGE_GROUP_LENGTH = 128;
export const MAX_MESSAGES_PER_SEND = 1024;

/** The caller's client id (header x-mq-client-id), or CLIENT_ID_REQUIRED. */
export function requireClientId(metadata: grpc.Metadata): string {
  const v = metadata.get('x-mq-client-id')[0];
  const id = typeof v === 'string' ? v.trim() : v ? v.toString('utf8').trim() : '';
  if (!id) throw new InvalidArgumentError(Code.CLIENT_ID_REQUIRED, 'header x-mq-client-id is required', { field: 'x-mq-client-id' });
  if (id.length > 256) throw InvalidArgumentError.format('x-mq-client-id', 'must be at most 256 characters', Code.CLIENT_ID_REQUIRED);
  return id;
}

export function header(metadata: grpc.Metadata, name: string): string {
  const v = metadata.get(name)[0];
  return typeof v === 'string' ? v : v ? v.toString('utf8') : '';
}

export function requireTopicName(name: string | null | undefined, field = 'topic'): string {
  const problem = nameProblem(name);
  if (problem) throw InvalidArgumentError.format(field, problem, Code.ILLEGAL_TOPIC);
  return name!;
}

export function requireGroupName(name: string | null | undefined, field = 'group'): string {
  const problem = nameProblem(name);
  if (problem) throw InvalidArgumentError.format(field, problem, Code.ILLEGAL_CONSUMER_GROUP);
  return name!;
}

export function checkTag(tag: string): void {
  const problem = tagProblem(tag);
  if (problem) throw InvalidArgumentError.format('tag', problem, Code.ILLEGAL_MESSAGE_TAG);
}

export function checkKeys(keys: readonly string[]): void {
  for (const k of keys) {
    if (k.trim().length === 0) throw InvalidArgumentError.format('keys', 'must not contain a blank key', Code.ILLEGAL_MESSAGE_KEY);
    if (k.length > MAX_KEY_LENGTH) throw InvalidArgumentError.format('keys', `must be at most ${MAX_KEY_LENGTH} characters each`, Code.ILLEGAL_MESSAGE_KEY);
  }
}

export function checkMessageId(id: string): void {
  if (!id || id.trim().length === 0) throw InvalidArgumentError.format('message_id', 'is required (client-generated)', Code.ILLEGAL_MESSAGE_ID);
  if (id.length > MAX_MESSAGE_ID_LENGTH) throw InvalidArgumentError.format('message_id', `must be at most ${MAX_MESSAGE_ID_LENGTH} characters`, Code.ILLEGAL_MESSAGE_ID);
}

export function checkMessageGroup(group: string): void {
  if (group.trim().length === 0) throw InvalidArgumentError.format('message_group', 'must not be blank', Code.ILLEGAL_MESSAGE_GROUP);
  if (group.length > MAX_MESSAGE_GROUP_LENGTH) throw InvalidArgumentError.format('message_group', `must be at most ${MAX_MESSAGE_GROUP_LENGTH} characters`, Code.ILLEGAL_MESSAGE_GROUP);
}

export function checkProperties(props: Record<string, string>, max: number): void {
  let size = 0;
  for (const [k, v] of Object.entries(props)) {
    // eslint-disable-next-line no-control-regex
    if (k.trim().length === 0 || /[\u0000-\u001f]/.test(k)) {
      throw InvalidArgumentError.format('user_properties', `has an illegal key ${JSON.stringify(k)}`, Code.ILLEGAL_MESSAGE_PROPERTY_KEY);
    }
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > max) throw InvalidArgumentError.format('user_properties', `total ${size} bytes exceeds the limit of ${max}`, Code.MESSAGE_PROPERTIES_TOO_LARGE);
}

export function checkBody(body: Buffer, maxBodySize: number): void {
  if (body.length === 0) throw InvalidArgumentError.format('body', 'must not be empty', Code.MESSAGE_BODY_EMPTY);
  if (body.length > maxBodySize) {
    throw InvalidArgumentError.format('body', `is ${body.length} bytes, over the limit of ${maxBodySize} (max_body_size)`, Code.MESSAGE_BODY_TOO_LARGE);
  }
}

/** Invisible duration of a receive / change request, with the default applied. */
export function invisibleMs(ms: number | undefined, opts: ResolvedBrokerOptions, allowZero = false): number {
  if (ms === undefined) return opts.pop.defaultInvisibleMs;
  const min = allowZero ? 0 : opts.pop.minInvisibleMs;
  if (!Number.isFinite(ms) || ms < min || ms > opts.pop.maxInvisibleMs) {
    throw InvalidArgumentError.format('invisible_duration', `must be between ${min} ms and ${opts.pop.maxInvisibleMs} ms (got ${ms} ms)`, Code.ILLEGAL_INVISIBLE_TIME);
  }
  return ms;
}

export function pollingMs(ms: number | undefined, opts: ResolvedBrokerOptions): number {
  if (ms === undefined) return 0;
  if (!Number.isFinite(ms) || ms < 0 || ms > opts.pop.maxLongPollingMs) {
    throw InvalidArgumentError.format('long_polling_timeout', `must be between 0 and ${opts.pop.maxLongPollingMs} ms (got ${ms} ms)`, Code.ILLEGAL_POLLING_TIME);
  }
  return ms;
}

export function batchSize(n: number | undefined, opts: ResolvedBrokerOptions): number {
  const v = n ?? 0;
  if (!Number.isInteger(v) || v < 1 || v > opts.pop.maxBatchSize) {
    throw InvalidArgumentError.format('batch_size', `must be between 1 and ${opts.pop.maxBatchSize} (got ${v})`);
  }
  return v;
}

export function checkPriority(p: number): void {
  if (!Number.isInteger(p) || p < 0 || p > MAX_PRIORITY) throw InvalidArgumentError.format('priority', `must be an integer between 0 and ${MAX_PRIORITY} (got ${p})`);
}

export function checkDeliveryTime(at: number, now: number, maxDelayMs: number): void {
  if (!Number.isFinite(at) || at < 0) throw InvalidArgumentError.format('delivery_timestamp', 'must be a valid time', Code.ILLEGAL_DELIVERY_TIME);
  if (at - now > maxDelayMs) {
    throw InvalidArgumentError.format('delivery_timestamp', `is ${at - now} ms ahead; the longest delay is ${maxDelayMs} ms`, Code.ILLEGAL_DELIVERY_TIME);
  }
}

/** The TTL property (ms), validated. */
export function ttlProperty(raw: string | undefined, maxTtlMs: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > maxTtlMs) {
    throw InvalidArgumentError.format(`user property ${'agentmq.ttl.ms'}`, `must be a whole number of milliseconds between 1 and ${maxTtlMs} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

export function dedupProperty(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim().length === 0 || raw.length > MAX_DEDUP_KEY_LENGTH) {
    throw InvalidArgumentError.format('user property agentmq.dedup.key', `must be 1 to ${MAX_DEDUP_KEY_LENGTH} characters`);
  }
  return raw;
}

/** OffsetOption of SyncLiteSubscription -> where the subscription starts. */
export function offsetOption(o: OffsetOption__Output): OffsetSpec {
  switch (o.offsetType) {
    case 'offset':
      return { offset: Number(o.offset) };
    case 'tailN':
      return { tailN: Number(o.tailN) };
    case 'timestamp':
      return { timestamp: Number(o.timestamp) };
    case 'policy':
    default:
      return { policy: o.policy === 'MIN' || o.policy === 'MAX' ? o.policy : 'LAST' };
  }
}
