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

export function requestMetadata(clientId: string, now: Date = new Date()): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(HEADER_CLIENT_ID, clientId);
  md.set(HEADER_PROTOCOL, 'v2');
  md.set(HEADER_LANGUAGE, 'HTTP');
  md.set(HEADER_CLIENT_VERSION, CLIENT_VERSION);
  md.set(HEADER_REQUEST_ID, randomUUID());
  md.set(HEADER_DATE_TIME, formatMqDateTime(now));
  return md;
}
