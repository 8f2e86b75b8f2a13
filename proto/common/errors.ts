/**
 * Errors that cross the wire. Servers throw (or return) `MqError`; the gRPC edge turns it into a
 * `Status{code, message}` with `toStatus` (status.ts); the client edge turns a non-OK status back
 * into an `MqError` with `fromStatus`. Nothing else maps errors.
 */
import { Code } from './codes.js';

export interface MqErrorContext {
  topic?: string;
  group?: string;
  field?: string;
  receiptHandle?: string;
  messageId?: string;
  liteTopic?: string;
}

export class MqError extends Error {
  override name = 'MqError';
  readonly code: Code;
  readonly context: MqErrorContext;
  constructor(code: Code, message: string, options: { cause?: unknown } & MqErrorContext = {}) {
    const { cause, ...context } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.context = context;
  }
}

/** Bad input: a field failed validation. The message names the field. */
export class InvalidArgumentError extends MqError {
  override name = 'InvalidArgumentError';
  static format(field: string, problem: string, code: Code = Code.BAD_REQUEST): InvalidArgumentError {
    return new InvalidArgumentError(code, `${field} ${problem}`, { field });
  }
}

export class NotFoundError extends MqError {
  override name = 'NotFoundError';
}

export const errors = { MqError, InvalidArgumentError, NotFoundError };
