/**
 * Coalesces many small requests into few RPCs.
 *
 * One unary gRPC call costs ~110 µs of client CPU whatever it carries (shared/reference/
 * grpc-costs.md), so the producer packs sends, and the consumer packs acks, into batches:
 *
 * - Entries are added to a *lane* (`BatchLane.key`): entries of one lane may share a call
 *   (producer: same broker + topic (+ message group); acks: same broker + group + topic).
 * - A lane's open batch closes when it holds `maxBatchEntries` entries or `maxBatchBytes` bytes,
 *   or once it has lingered `lingerMs` (0 = on the next macrotask, via setImmediate, so a burst of
 *   calls made in one tick becomes one RPC; with `sameTickWhenIdle`, at the end of the current
 *   tick while the target has no call in flight).
 * - Lanes share a *target* (`BatchLane.target`, the broker endpoint): at most
 *   `maxInFlightPerTarget` dispatches are outstanding per target, and a lane may lower that for
 *   itself (`BatchLane.maxInFlight`, 1 for FIFO message groups so their batches go out in order).
 *   Further batches wait; while they wait the open batch keeps filling, so batches grow under
 *   load instead of piling up small ones.
 * - Runnable lanes of a target are served round-robin.
 *
 * The batcher does not know what an entry is: `dispatch(lane, entries)` sends them and settles
 * each entry's promise itself (including retries). It must not reject; if it does, the error is
 * handed to `onDispatchError` (the entries' owners must have settled them already).
 *
 * Linger timers stay ref'd on purpose: they guard work a caller is awaiting, last at most
 * `lingerMs`, and `flush()` clears them.
 */

export interface CallBatcherOptions {
  /** Close a batch at this many entries. */
  maxBatchEntries: number;
  /** Close a batch once its entries' bytes reach this (a single larger entry travels alone). */
  maxBatchBytes: number;
  /** How long an open batch waits for company; 0 = until the next macrotask. */
  lingerMs: number;
  /**
   * With `lingerMs` 0, while the lane's target has no call in flight: send at the end of the
   * current tick (a microtask queued by the first entry, so it runs after the microtasks already
   * queued: entries added in one synchronous run still share a call) instead of on the next
   * macrotask, so an idle client's call does not wait for the rest of the event-loop turn.
   * While calls are in flight, entries wait for the next macrotask as usual and keep coalescing.
   */
  sameTickWhenIdle?: boolean;
  /** Outstanding dispatches per target. */
  maxInFlightPerTarget: number;
}

export interface BatchLane {
  /** Entries with the same key may be sent in one call. */
  readonly key: string;
  /** What the in-flight limit counts against (the broker endpoint). */
  readonly target: string;
  /** A lower in-flight limit for this lane alone (1 keeps its batches strictly in order). */
  readonly maxInFlight?: number;
}

export type BatchDispatch<T> = (lane: BatchLane, entries: T[]) => Promise<void>;

interface LaneState<T> {
  lane: BatchLane;
  target: TargetState<T>;
  /** The batch still accepting entries. */
  open: T[];
  openBytes: number;
  /** Closed batches waiting for an in-flight slot, oldest first. */
  ready: T[][];
  /** The open batch has lingered long enough and may be sent as it is. */
  due: boolean;
  /** Present in `target.runnable`. */
  queued: boolean;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
}

interface TargetState<T> {
  key: string;
  inFlight: number;
  /** Lanes with a sendable batch, in round-robin order. */
  runnable: LaneState<T>[];
  lanes: number;
}

export class CallBatcher<T> {
  private readonly lanes = new Map<string, LaneState<T>>();
  private readonly targets = new Map<string, TargetState<T>>();
  /** Lanes waiting for the shared setImmediate / microtask (lingerMs = 0). */
  private readonly lingering = new Set<LaneState<T>>();
  private immediate: NodeJS.Immediate | undefined;
  private microtaskQueued = false;
  /** Entries queued or in flight. */
  private pending = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: CallBatcherOptions,
    private readonly dispatch: BatchDispatch<T>,
    private readonly onDispatchError: (err: unknown) => void = () => {},
  ) {}

  /** Entries queued or in flight. */
  get size(): number {
    return this.pending;
  }

  add(lane: BatchLane, entry: T, bytes: number): void {
    const ls = this.laneState(lane);
    if (ls.open.length > 0 && ls.openBytes + bytes > this.options.maxBatchBytes) this.closeOpen(ls);
    ls.open.push(entry);
    ls.openBytes += bytes;
    this.pending++;
    if (ls.open.length >= this.options.maxBatchEntries || ls.openBytes >= this.options.maxBatchBytes) {
      this.closeOpen(ls);
    } else if (ls.open.length === 1) {
      this.scheduleLinger(ls);
    }
    this.markRunnable(ls);
    this.pump(ls.target);
  }

  /**
   * Sends everything queued now, ignoring linger, and resolves once nothing is queued or in
   * flight (entries added meanwhile included).
   */
  flush(): Promise<void> {
    for (const ls of this.lanes.values()) {
      if (ls.open.length > 0) this.closeOpen(ls);
      this.markRunnable(ls);
    }
    if (this.immediate && this.lingering.size === 0) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    for (const t of this.targets.values()) this.pump(t);
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private laneState(lane: BatchLane): LaneState<T> {
    let ls = this.lanes.get(lane.key);
    if (ls) return ls;
    let target = this.targets.get(lane.target);
    if (!target) {
      target = { key: lane.target, inFlight: 0, runnable: [], lanes: 0 };
      this.targets.set(lane.target, target);
    }
    target.lanes++;
    ls = { lane, target, open: [], openBytes: 0, ready: [], due: false, queued: false, inFlight: 0, timer: undefined };
    this.lanes.set(lane.key, ls);
    return ls;
  }

  private closeOpen(ls: LaneState<T>): void {
    if (ls.open.length > 0) ls.ready.push(ls.open);
    ls.open = [];
    ls.openBytes = 0;
    ls.due = false;
    this.cancelLinger(ls);
  }

  private scheduleLinger(ls: LaneState<T>): void {
    if (this.options.lingerMs <= 0) {
      this.lingering.add(ls);
      if (this.options.sameTickWhenIdle && ls.target.inFlight === 0) {
        if (!this.microtaskQueued) {
          this.microtaskQueued = true;
          queueMicrotask(() => {
            this.microtaskQueued = false;
            this.flushLingering();
          });
        }
      } else {
        this.immediate ??= setImmediate(() => this.onImmediate());
      }
      return;
    }
    ls.timer = setTimeout(() => {
      ls.timer = undefined;
      ls.due = true;
      this.markRunnable(ls);
      this.pump(ls.target);
    }, this.options.lingerMs);
  }

  private cancelLinger(ls: LaneState<T>): void {
    if (ls.timer) clearTimeout(ls.timer);
    ls.timer = undefined;
    this.lingering.delete(ls);
  }

  private onImmediate(): void {
    this.immediate = undefined;
    this.flushLingering();
  }

  /** Every lingering lane's open batch may go now. */
  private flushLingering(): void {
    const touched = new Set<TargetState<T>>();
    for (const ls of this.lingering) {
      ls.due = true;
      this.markRunnable(ls);
      touched.add(ls.target);
    }
    this.lingering.clear();
    for (const t of touched) this.pump(t);
  }

  private laneLimit(ls: LaneState<T>): number {
    return Math.min(ls.lane.maxInFlight ?? Infinity, this.options.maxInFlightPerTarget);
  }

  private sendable(ls: LaneState<T>): boolean {
    return ls.ready.length > 0 || (ls.due && ls.open.length > 0);
  }

  private markRunnable(ls: LaneState<T>): void {
    if (!ls.queued && ls.inFlight < this.laneLimit(ls) && this.sendable(ls)) {
      ls.queued = true;
      ls.target.runnable.push(ls);
    }
  }

  private take(ls: LaneState<T>): T[] | undefined {
    const ready = ls.ready.shift();
    if (ready) return ready;
    if (ls.due && ls.open.length > 0) {
      const batch = ls.open;
      ls.open = [];
      ls.openBytes = 0;
      ls.due = false;
      this.cancelLinger(ls);
      return batch;
    }
    return undefined;
  }

  private pump(target: TargetState<T>): void {
    while (target.inFlight < this.options.maxInFlightPerTarget && target.runnable.length > 0) {
      const ls = target.runnable.shift()!;
      ls.queued = false;
      if (ls.inFlight >= this.laneLimit(ls)) continue; // re-marked when one of its calls completes
      const batch = this.take(ls);
      if (!batch) continue;
      target.inFlight++;
      ls.inFlight++;
      this.markRunnable(ls); // more work goes to the back of the round
      this.run(ls, batch);
    }
  }

  private run(ls: LaneState<T>, batch: T[]): void {
    let settled: Promise<void>;
    try {
      settled = this.dispatch(ls.lane, batch);
    } catch (err) {
      settled = Promise.reject(err);
    }
    settled
      .catch((err: unknown) => this.onDispatchError(err))
      .finally(() => {
        ls.inFlight--;
        ls.target.inFlight--;
        this.pending -= batch.length;
        this.markRunnable(ls);
        this.pump(ls.target);
        this.maybeDrop(ls);
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
  }

  /** Forgets an idle lane (lanes are per topic / message group, so they must not accumulate). */
  private maybeDrop(ls: LaneState<T>): void {
    if (ls.open.length > 0 || ls.ready.length > 0 || ls.inFlight > 0 || ls.queued || ls.timer) return;
    if (this.lanes.get(ls.lane.key) !== ls) return;
    this.lanes.delete(ls.lane.key);
    ls.target.lanes--;
    if (ls.target.lanes === 0 && ls.target.inFlight === 0) this.targets.delete(ls.target.key);
  }
}
