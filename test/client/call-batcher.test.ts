/**
 * CallBatcher in isolation: same-tick coalescing, size and byte limits, linger, in-flight limits
 * per target and per lane (ordering), flush, and resilience to a throwing dispatcher.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallBatcher } from '../../client/batching/call-batcher.js';
import type { BatchLane, CallBatcherOptions } from '../../client/batching/call-batcher.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const laneA: BatchLane = { key: 'a', target: 'broker-1' };
const laneB: BatchLane = { key: 'b', target: 'broker-1' };
const laneC: BatchLane = { key: 'c', target: 'broker-2' };

const nextMacrotask = () => new Promise<void>((r) => setImmediate(r));

/** A batcher whose dispatches are recorded and completed by hand. */
function harness(options: Partial<CallBatcherOptions> = {}) {
  const calls: { lane: BatchLane; entries: number[]; done: Deferred }[] = [];
  const errors: unknown[] = [];
  const batcher = new CallBatcher<number>(
    { maxBatchEntries: 64, maxBatchBytes: 1_000_000, lingerMs: 0, maxInFlightPerTarget: 16, ...options },
    (lane, entries) => {
      const done = deferred();
      calls.push({ lane, entries, done });
      return done.promise;
    },
    (err) => errors.push(err),
  );
  const completeAll = async () => {
    for (const c of calls) c.done.resolve();
    await nextMacrotask();
  };
  return { batcher, calls, errors, completeAll };
}

describe('CallBatcher', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sameTickWhenIdle: an idle target gets its call at the end of the tick, a busy one on the next macrotask', async () => {
    const { batcher, calls } = harness({ sameTickWhenIdle: true });
    // entries added from microtasks queued before the flush (as acks are), and synchronously,
    // share one call
    for (let i = 0; i < 3; i++) void Promise.resolve().then(() => batcher.add(laneA, i, 1));
    expect(calls).toHaveLength(0);
    await Promise.resolve();
    batcher.add(laneA, 3, 1);
    expect(calls).toHaveLength(0);
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.entries).toEqual([0, 1, 2, 3]);
    // the target now has a call in flight: the next entries wait for the macrotask and coalesce
    batcher.add(laneA, 4, 1);
    await Promise.resolve();
    batcher.add(laneA, 5, 1);
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    await nextMacrotask();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.entries).toEqual([4, 5]);
    // another target is idle: same tick again
    batcher.add(laneC, 6, 1);
    await Promise.resolve();
    expect(calls).toHaveLength(3);
    expect(calls[2]!.lane).toBe(laneC);
  });

  it('coalesces entries added in one tick into one call on the next macrotask', async () => {
    const { batcher, calls } = harness();
    for (let i = 0; i < 10; i++) batcher.add(laneA, i, 1);
    expect(calls).toHaveLength(0);
    expect(batcher.size).toBe(10);
    await nextMacrotask();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.entries).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps lanes apart and dispatches each lane separately', async () => {
    const { batcher, calls } = harness();
    batcher.add(laneA, 1, 1);
    batcher.add(laneB, 2, 1);
    batcher.add(laneA, 3, 1);
    batcher.add(laneC, 4, 1);
    await nextMacrotask();
    const byKey = Object.fromEntries(calls.map((c) => [c.lane.key, c.entries]));
    expect(byKey).toEqual({ a: [1, 3], b: [2], c: [4] });
  });

  it('closes a batch at maxBatchEntries and sends it at once', async () => {
    const { batcher, calls } = harness({ maxBatchEntries: 4 });
    for (let i = 0; i < 10; i++) batcher.add(laneA, i, 1);
    expect(calls.map((c) => c.entries)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    await nextMacrotask();
    expect(calls.map((c) => c.entries)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('closes a batch before it would exceed maxBatchBytes; an oversized entry travels alone', async () => {
    const { batcher, calls } = harness({ maxBatchBytes: 100 });
    batcher.add(laneA, 1, 40);
    batcher.add(laneA, 2, 40);
    batcher.add(laneA, 3, 40); // would make 120: closes [1, 2] first
    batcher.add(laneA, 4, 500); // alone, and closes at once
    batcher.add(laneA, 5, 10);
    await nextMacrotask();
    expect(calls.map((c) => c.entries)).toEqual([[1, 2], [3], [4], [5]]);
  });

  it('waits lingerMs before sending a partial batch', async () => {
    vi.useFakeTimers();
    const { batcher, calls } = harness({ lingerMs: 5 });
    batcher.add(laneA, 1, 1);
    await vi.advanceTimersByTimeAsync(4);
    batcher.add(laneA, 2, 1);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.entries)).toEqual([[1, 2]]);
  });

  it('bounds in-flight calls per target; waiting entries keep filling the open batch', async () => {
    const { batcher, calls, completeAll } = harness({ maxInFlightPerTarget: 2, maxBatchEntries: 100 });
    batcher.add(laneA, 1, 1);
    await nextMacrotask();
    batcher.add(laneA, 2, 1);
    await nextMacrotask();
    expect(calls).toHaveLength(2);
    // saturated: these accumulate in one batch instead of one call per tick
    for (let i = 3; i <= 6; i++) {
      batcher.add(laneA, i, 1);
      await nextMacrotask();
    }
    // another target is not affected
    batcher.add(laneC, 99, 1);
    await nextMacrotask();
    expect(calls.map((c) => c.entries)).toEqual([[1], [2], [99]]);
    calls[0]!.done.resolve();
    await nextMacrotask();
    expect(calls.map((c) => c.entries)).toEqual([[1], [2], [99], [3, 4, 5, 6]]);
    await completeAll();
    expect(batcher.size).toBe(0);
  });

  it('serves runnable lanes of a saturated target round-robin', async () => {
    const { batcher, calls } = harness({ maxInFlightPerTarget: 1, maxBatchEntries: 1 });
    batcher.add(laneA, 1, 1); // dispatched at once (full)
    batcher.add(laneA, 2, 1);
    batcher.add(laneA, 3, 1);
    batcher.add(laneB, 10, 1);
    batcher.add(laneB, 11, 1);
    const order: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = calls[i]!;
      order.push(...c.entries);
      c.done.resolve();
      await nextMacrotask();
    }
    expect(order).toEqual([1, 10, 2, 11, 3]);
  });

  it('keeps a lane with maxInFlight 1 strictly in order', async () => {
    const fifo: BatchLane = { key: 'fifo', target: 'broker-1', maxInFlight: 1 };
    const { batcher, calls } = harness({ maxBatchEntries: 2 });
    for (let i = 1; i <= 6; i++) batcher.add(fifo, i, 1);
    expect(calls).toHaveLength(1);
    const seen: number[][] = [];
    while (seen.length < 3) {
      const c = calls[seen.length]!;
      seen.push(c.entries);
      expect(calls).toHaveLength(seen.length); // never two in flight
      c.done.resolve();
      await nextMacrotask();
    }
    expect(seen).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it('flush() sends partial batches now and resolves once everything settled', async () => {
    vi.useFakeTimers();
    const { batcher, calls } = harness({ lingerMs: 10_000 });
    batcher.add(laneA, 1, 1);
    batcher.add(laneC, 2, 1);
    let flushed = false;
    const f = batcher.flush().then(() => (flushed = true));
    expect(calls.map((c) => c.entries)).toEqual([[1], [2]]);
    expect(vi.getTimerCount()).toBe(0); // linger timers cleared
    calls[0]!.done.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    calls[1]!.done.resolve();
    await f;
    expect(flushed).toBe(true);
    expect(batcher.size).toBe(0);
  });

  it('flush() on an idle batcher resolves at once', async () => {
    const { batcher } = harness();
    await expect(batcher.flush()).resolves.toBeUndefined();
  });

  it('survives a dispatcher that throws or rejects, and reports it', async () => {
    let n = 0;
    const errors: unknown[] = [];
    const seen: number[][] = [];
    const batcher = new CallBatcher<number>(
      { maxBatchEntries: 10, maxBatchBytes: 1e9, lingerMs: 0, maxInFlightPerTarget: 1 },
      (_lane, entries) => {
        seen.push(entries);
        n++;
        if (n === 1) throw new Error('sync boom');
        if (n === 2) return Promise.reject(new Error('async boom'));
        return Promise.resolve();
      },
      (err) => errors.push(err),
    );
    batcher.add(laneA, 1, 1);
    await nextMacrotask();
    batcher.add(laneA, 2, 1);
    await nextMacrotask();
    batcher.add(laneA, 3, 1);
    await batcher.flush();
    expect(seen).toEqual([[1], [2], [3]]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['sync boom', 'async boom']);
    expect(batcher.size).toBe(0);
  });
});
