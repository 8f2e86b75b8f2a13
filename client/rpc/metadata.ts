/**
 * Request headers of every call and stream (rocketmq-notes §2.1, the official Node client's
 * `BaseClient#getRequestMetadata`):
 *
 * | header | value |
 * |---|---|
 * | x-mq-client-id | the client's id |
 * | x-mq-protocol | `v2` |
 * | x-mq-language | `HTTP` (the Java proxy rejects unknown language codes; the real language, NODE_JS, travels in Settings.user_agent) |
 * | x-mq-client-version | CLIENT_VERSION |
 * | x-mq-request-id | a fresh UUID per call |
 * | x-mq-date-time | `yyyyMMdd'T'HHmmss'Z'` (UTC) |
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { CLIENT_VERSION } from '../version.js';

export const HEADER_CLIENT_ID = 'x-mq-client-id';
export const HEADER_PROTOCOL = 'x-mq-protocol';
export const HEADER_LANGUAGE = 'x-mq-language';
export const HEADER_CLIENT_VERSION = 'x-mq-client-version';
export const HEADER_REQUEST_ID = 'x-mq-request-id';
export const HEADER_DATE_TIME = 'x-mq-date-time';

/** `20230913T063059Z` for 2023-09-13 06:30:59 UTC. */
export function formatMqDateTime(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** The x-mq-date-time of the current second (it changes once a second: format it once). */
let dateSecond = Number.NaN;
let dateText = '';

function mqDateTime(now: Date): string {
  const ms = now.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    if (Number.isNaN(ms)) return formatMqDateTime(now); // throws RangeError, as before
    dateSecond = second;
    dateText = formatMqDateTime(now);
  }
  return dateText;
}

/** Per client id, the headers that do not change between its calls, set (and validated) once. */
const templates = new Map<string, grpc.Metadata>();
const MAX_TEMPLATES = 64;

export function requestMetadata(clientId: string, now: Date = new Date()): grpc.Metadata {
  let template = templates.get(clientId);
  if (!template) {
    template = new grpc.Metadata();
    template.set(HEADER_CLIENT_ID, clientId);
    template.set(HEADER_PROTOCOL, 'v2');
    template.set(HEADER_LANGUAGE, 'HTTP');
    template.set(HEADER_CLIENT_VERSION, CLIENT_VERSION);
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(clientId, template);
  }
  const md = template.clone();
  md.set(HEADER_REQUEST_ID, randomUUID());
  md.set(HEADER_DATE_TIME, mqDateTime(now));
  return md;
}
