/**
 * Lite topic names. A lite topic L of the LITE parent topic P is stored as the internal topic
 * `P$L` (one queue): `$` never appears in topic names (names.ts), so the split is unambiguous.
 */
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';

export const LITE_SEPARATOR = '$';
/** Characters of a lite topic name: task ids, UUIDs, dotted or colon-separated paths. */
export const LITE_NAME_PATTERN = /^[a-zA-Z0-9_.:-]+$/;

export function liteInternalName(parent: string, lite: string): string {
  return `${parent}${LITE_SEPARATOR}${lite}`;
}

/** The parent and lite topic of an internal name, or undefined for any other topic. */
export function parseLiteInternal(name: string): { parent: string; lite: string } | undefined {
  const i = name.indexOf(LITE_SEPARATOR);
  if (i <= 0 || i === name.length - 1) return undefined;
  return { parent: name.slice(0, i), lite: name.slice(i + 1) };
}

/** The lite topic name, or ILLEGAL_LITE_TOPIC saying what is wrong with it. */
export function checkLiteTopic(lite: string | undefined | null, maxLength: number): string {
  if (!lite) throw badLiteTopic(lite, 'is required');
  if (lite.length > maxLength) throw badLiteTopic(lite, `must be at most ${maxLength} characters (got ${lite.length})`);
  if (!LITE_NAME_PATTERN.test(lite)) throw badLiteTopic(lite, `must match ${LITE_NAME_PATTERN.source}`);
  return lite;
}

// Module level, not a closure per call: checkLiteTopic runs for every lite message and subscription.
function badLiteTopic(lite: string | undefined | null, why: string): MqError {
  return new MqError(Code.ILLEGAL_LITE_TOPIC, `lite topic ${JSON.stringify(lite ?? '')} ${why}`, { liteTopic: lite ?? '' });
}
