/**
 * AbortSignal helpers: link several signals into one, and an abortable sleep. The sleep timer is
 * ref'd on purpose: it stands for work the caller is awaiting (a retry back-off), is short, and is
 * cancelled by the signal on close().
 */
import { ClientError } from '../errors.js';

/** A controller that aborts when any of `signals` does; `dispose()` unhooks it. */
export function linkSignals(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const hooks: [AbortSignal, () => void][] = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const onAbort = () => controller.abort(s.reason);
    s.addEventListener('abort', onAbort, { once: true });
    hooks.push([s, onAbort]);
  }
  return {
    signal: controller.signal,
    dispose() {
      for (const [s, h] of hooks) s.removeEventListener('abort', h);
      hooks.length = 0;
    },
  };
}

/** Resolves after `ms`; rejects with ClientError('ABORTED') as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error an aborted operation rejects with: the signal's reason if it is a ClientError. */
export function abortError(signal: AbortSignal | undefined): ClientError {
  const reason: unknown = signal?.reason;
  if (reason instanceof ClientError) return reason;
  return new ClientError('ABORTED', 'operation aborted', reason === undefined ? {} : { cause: reason });
}
