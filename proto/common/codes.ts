/**
 * RocketMQ v2 status codes (apache.rocketmq.v2.Code), as the string names our loader uses
 * (`enums: String`). The numeric values are on the wire; these names are what code compares.
 */
import { Code as GeneratedCode } from '../gen/apache/rocketmq/v2/Code.js';

export const Code = GeneratedCode;
/** A RocketMQ status code name, e.g. `'TOPIC_NOT_FOUND'`. */
export type Code = (typeof GeneratedCode)[keyof typeof GeneratedCode];

/** Codes a client may retry as-is (server-side trouble or throttling, not bad input). */
export function isRetryable(code: Code): boolean {
  return (
    code === Code.TOO_MANY_REQUESTS ||
    code === Code.INTERNAL_ERROR ||
    code === Code.INTERNAL_SERVER_ERROR ||
    code === Code.PROXY_TIMEOUT ||
    code === Code.MASTER_PERSISTENCE_TIMEOUT ||
    code === Code.HA_NOT_AVAILABLE
  );
}
