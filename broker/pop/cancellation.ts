/**
 * A receive's cancellation: what `AbortController` + `AbortSignal` give a handler, without their
 * EventTarget machinery (an AbortController, its signal and one listener cost ~1.5 KB of garbage
 * per receive; a broker makes a receive per delivered message, parked or not).
 *
 * It satisfies the part of `AbortSignal` the broker uses (`aborted`, `addEventListener('abort')`,
 * `removeEventListener`), so code written against `AbortSignal` accepts it unchanged.
 */
export class Cancellation {
  aborted = false;
  private listeners: Array<() => void> | undefined;

  /** Marks it aborted and runs the listeners once, in order. Idempotent. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const fns = this.listeners;
    this.listeners = undefined;
    if (fns) for (const fn of fns) fn();
  }

  addEventListener(_type: 'abort', fn: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(fn);
  }

  removeEventListener(_type: 'abort', fn: () => void): void {
    const fns = this.listeners;
    if (!fns) return;
    const i = fns.indexOf(fn);
    if (i >= 0) fns.splice(i, 1);
  }
}

/** What the broker's waits need of a cancellation (an `AbortSignal` or a `Cancellation`). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', fn: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', fn: () => void): void;
}
