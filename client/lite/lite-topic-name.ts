/**
 * Lite topic names, checked on the client with the broker's own rule (broker/lite/lite-names.ts)
 * so a bad name fails at the call that used it, with the code the broker would answer.
 */
import { Code } from '../../proto/common/codes.js';
import { IllegalLiteTopicError } from '../errors.js';

/** Characters of a lite topic name: task ids, UUIDs, dotted or colon-separated paths. */
export const LITE_TOPIC_PATTERN = /^[a-zA-Z0-9_.:-]+$/;
/** Longest lite topic name the AgentMQ broker accepts by default (Settings.max_lite_topic_size). */
export const DEFAULT_MAX_LITE_TOPIC_LENGTH = 64;

/** `lite` if it is a valid lite topic name, else IllegalLiteTopicError (ILLEGAL_LITE_TOPIC) naming `field`. */
export function checkLiteTopicName(field: string, lite: unknown, maxLength: number = DEFAULT_MAX_LITE_TOPIC_LENGTH): string {
  if (typeof lite !== 'string' || lite === '') throw badLiteTopicName(field, lite, 'must be a non-empty string');
  if (lite.length > maxLength) throw badLiteTopicName(field, lite, `must be at most ${maxLength} characters (got ${lite.length})`);
  if (!LITE_TOPIC_PATTERN.test(lite)) throw badLiteTopicName(field, lite, `must match ${LITE_TOPIC_PATTERN.source}`);
  return lite;
}

// Module level, not a closure per call: names are checked for every lite send and subscribe.
function badLiteTopicName(field: string, lite: unknown, why: string): IllegalLiteTopicError {
  return new IllegalLiteTopicError(Code.ILLEGAL_LITE_TOPIC, `${field} ${JSON.stringify(lite ?? '')} ${why}`, { field, liteTopic: typeof lite === 'string' ? lite : '' });
}
