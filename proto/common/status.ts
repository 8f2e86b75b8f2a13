/**
 * The single error <-> Status mapping of each edge.
 * - servers: `toStatus(err, logger)` — MqError keeps its code; anything else is INTERNAL_ERROR
 *   and logged (it is a bug or an I/O failure, not the caller's fault).
 * - clients: `fromStatus(status)` — OK (and MESSAGE_NOT_FOUND for receives) is success.
 */
import { Code } from './codes.js';
import { MqError } from './errors.js';
import type { Logger } from './logger.js';

export interface WireStatus {
  code: Code;
  message: string;
}

export const OK_STATUS: WireStatus = Object.freeze({ code: Code.OK, message: 'OK' }) as WireStatus;

export function okStatus(message = 'OK'): WireStatus {
  return { code: Code.OK, message };
}

export function toStatus(err: unknown, logger?: Logger): WireStatus {
  if (err instanceof MqError) return { code: err.code, message: err.message };
  logger?.error('internal error', { err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { code: Code.INTERNAL_ERROR, message: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

/** Throws the MqError a non-OK status stands for. `alsoOk` lists codes that mean success here. */
export function fromStatus(
  status: { code?: string | null; message?: string | null } | null | undefined,
  alsoOk: readonly Code[] = [],
): void {
  const code = (status?.code ?? Code.CODE_UNSPECIFIED) as Code;
  if (code === Code.OK || alsoOk.includes(code)) return;
  throw new MqError(code, status?.message || code);
}
