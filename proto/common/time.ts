/** Duration/Timestamp <-> milliseconds, and an injectable clock. */

export interface DurationLike {
  seconds?: number | string | null;
  nanos?: number | null;
}

export function durationToMs(d: DurationLike | null | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6);
}

export function msToDuration(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

export const timestampToMs = durationToMs;
export const msToTimestamp = msToDuration;

/** Time source; tests may inject their own. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
