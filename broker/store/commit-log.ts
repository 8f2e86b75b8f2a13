/**
 * The commit log: message records appended to segment files, as RocketMQ's CommitLog does, so that
 * RocksDB only holds small pointers to them (plus indexes and consumer state). A 1 KiB body
 * written into RocksDB is written again by its WAL, its memtable flush and every compaction that
 * moves it down a level; appended here it is written once, with one `writev` per group commit.
 *
 *   DATA_DIR/commitlog/00000000000000000007.seg   records back to back, no framing: a pointer
 *                                                  (segment, position, length) locates each one
 *
 * - `reserve(head, body)` assigns the record its place synchronously (so pointers can go into the
 *   same RocksDB batch) and queues it; `flush()` writes everything reserved so far, one writev per
 *   segment touched, and fdatasyncs under the `sync` policy. Reserved records start being
 *   written on the next turn of the event loop, while the RocksDB batch under way is written; the
 *   WriteQueue calls `flush()` before every RocksDB batch and waits for it, so a pointer is never
 *   committed before the bytes it points at. Under `async` the writev is synchronous (a copy into
 *   the page cache); under `sync` it and the fdatasync run on the thread pool.
 * - Segments roll at `segmentBytes`; every open starts a fresh segment, so a torn tail of the
 *   previous one (a crash mid-write) is never appended to and never referenced.
 * - Space: each segment's count of live records is kept in memory and persisted with the batch
 *   that changes it (key 'L'|segment, see keys.ts). A segment other than the active one whose
 *   count reaches 0 is deleted. At open, segment files without a live count (written but never
 *   committed before a crash) are deleted. A failed write leaves counts too high, which only
 *   delays reclaiming that segment until the next restart.
 */
import { closeSync, mkdirSync, openSync, readdirSync, writevSync } from 'node:fs';
import { close, fdatasync, open, read, unlink, writev } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../proto/common/logger.js';

export interface LogPointer {
  segment: number;
  position: number;
  length: number;
}

export interface CommitLogOptions {
  /** Directory of the segment files (created if missing). */
  dir: string;
  /** fdatasync each flush (the `sync` flush policy). */
  sync: boolean;
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes: number;
  logger: Logger;
}

/** Default segment size: 256 MiB. */
export const DEFAULT_SEGMENT_BYTES = 256 * 1024 * 1024;

const SEGMENT_RE = /^(\d{20})\.seg$/;
const segmentName = (id: number) => `${String(id).padStart(20, '0')}.seg`;

interface PendingWrite {
  segment: number;
  position: number;
  buffers: Buffer[];
}

const p = <T>(fn: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

export class CommitLog {
  private active = -1;
  /** Write descriptors: the active segment's, and a rolled one's until its last flush. */
  private readonly writeFds = new Map<number, number>();
  /** `sync`: the directory must be fsynced (a segment file was created) before the next ack. */
  private dirDirty = false;
  /** Next free position in the active segment. */
  private end = 0;
  private pending: PendingWrite[] = [];
  private readonly readFds = new Map<number, Promise<number>>();
  /** Live records per segment (what RocksDB points at, as far as this process knows). */
  private readonly live = new Map<number, number>();
  private flushing: Promise<void> = Promise.resolve();
  /** A background flush is scheduled (see reserve). */
  private scheduled = false;
  private closed = false;

  private constructor(private readonly o: CommitLogOptions) {}

  /**
   * Opens the log. `persisted` is each segment's live count as committed in RocksDB; segment
   * files without one are deleted (never referenced). A new active segment is started.
   */
  static open(o: CommitLogOptions, persisted: Map<number, number>): CommitLog {
    mkdirSync(o.dir, { recursive: true });
    const log = new CommitLog(o);
    let max = -1;
    for (const name of readdirSync(o.dir)) {
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      const id = Number(m[1]);
      max = Math.max(max, id);
      const count = persisted.get(id) ?? 0;
      if (count > 0) log.live.set(id, count);
      else {
        // Nothing committed points into it: a segment emptied before a crash, or written and
        // never committed.
        void p<void>((cb) => unlink(join(o.dir, name), (err) => cb(err, undefined))).catch((err: unknown) =>
          o.logger.warn('could not delete an unreferenced commit log segment', { segment: name, err: String(err) }),
        );
      }
    }
    log.startSegment(max + 1);
    return log;
  }

  /** Segments holding live records (for stats). */
  get segments(): number {
    return this.live.size;
  }

  private startSegment(id: number): void {
    this.active = id;
    this.writeFds.set(id, openSync(join(this.o.dir, segmentName(id)), 'wx'));
    this.end = 0;
    this.dirDirty = this.o.sync;
  }

  /**
   * Assigns the record `head` + `tail` (written back to back; `tail` saves the caller a copy)
   * its place and queues it for the next flush; counts it as live. Neither buffer may change
   * until the next flush has written it.
   */
  reserve(head: Buffer, tail?: Buffer): LogPointer {
    if (this.closed) throw new Error('commit log is closed');
    const length = head.length + (tail ? tail.length : 0);
    if (this.end > 0 && this.end + length > this.o.segmentBytes) this.startSegment(this.active + 1);
    const ptr = { segment: this.active, position: this.end, length };
    const last = this.pending[this.pending.length - 1];
    let buffers: Buffer[];
    if (last && last.segment === this.active) buffers = last.buffers;
    else this.pending.push({ segment: this.active, position: this.end, buffers: (buffers = []) });
    buffers.push(head);
    if (tail && tail.length > 0) buffers.push(tail);
    this.end += length;
    this.live.set(this.active, (this.live.get(this.active) ?? 0) + 1);
    // Start writing in the background, on the next turn of the event loop (so records reserved
    // together share one writev): the log's write then overlaps the RocksDB batch under way, and
    // the WriteQueue's flush() before the next batch usually finds the records on disk already.
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (!this.closed) this.flush().catch(() => {}); // the batch that needs these records sees the failure
      });
    }
    return ptr;
  }

  /** Writes everything reserved so far (fdatasync under `sync`); resolves when it is on disk. */
  flush(): Promise<void> {
    // Nothing new: wait for a flush under way, but a failed earlier one is not this batch's failure.
    if (this.pending.length === 0) return this.flushing.catch(() => {});
    const batch = this.pending;
    this.pending = [];
    if (!this.o.sync) {
      // Without fdatasync the write only copies into the page cache (RocketMQ's put thread does
      // the same through its mmap): tens of µs for a full group commit, done on this thread. A
      // thread-pool round trip instead made every group commit wait for the main thread to come
      // back to the writev's callback before its RocksDB batch could start. Under `async` every
      // flush takes this path, so none is ever under way here.
      try {
        for (const w of batch) this.writeSync(w);
        this.closeRolled();
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const dirSync = this.dirDirty;
    this.dirDirty = false;
    // Flushes run one after the other; a failed one fails only its own batch.
    const run = this.flushing.catch(() => {}).then(async () => {
      if (dirSync) {
        // A new segment's directory entry must be durable before anything in it is acknowledged.
        const dirFd = openSync(this.o.dir, 'r');
        try {
          await p<void>((cb) => fdatasync(dirFd, (err) => cb(err, undefined)));
        } finally {
          closeSync(dirFd);
        }
      }
      for (const w of batch) {
        const target = this.writeFds.get(w.segment);
        if (target === undefined) throw new Error(`commit log segment ${w.segment} is not open for writing`);
        let written = 0;
        const total = w.buffers.reduce((n, b) => n + b.length, 0);
        while (written < total) {
          // writev writes everything or fails, except for rare short writes: resume after them.
          const bufs = written === 0 ? w.buffers : sliceFrom(w.buffers, written);
          written += await p<number>((cb) => writev(target, bufs, w.position + written, cb));
        }
        if (this.o.sync) await p<void>((cb) => fdatasync(target, (err) => cb(err, undefined)));
      }
      this.closeRolled();
    });
    this.flushing = run;
    return run;
  }

  /** One pending write, synchronously (the `async` policy; see flush). */
  private writeSync(w: PendingWrite): void {
    const target = this.writeFds.get(w.segment);
    if (target === undefined) throw new Error(`commit log segment ${w.segment} is not open for writing`);
    let written = 0;
    const total = w.buffers.reduce((n, b) => n + b.length, 0);
    while (written < total) {
      // writev writes everything or fails, except for rare short writes: resume after them.
      written += writevSync(target, written === 0 ? w.buffers : sliceFrom(w.buffers, written), w.position + written);
    }
  }

  /** Rolled segments are done once their last pending bytes are written: close their descriptors. */
  private closeRolled(): void {
    for (const [segment, fd] of this.writeFds) {
      if (segment !== this.active && !this.pending.some((w) => w.segment === segment)) {
        this.writeFds.delete(segment);
        try {
          closeSync(fd);
        } catch {
          // already closed or invalid: nothing more to release
        }
      }
    }
  }

  /** The record `ptr` points at. */
  async read(ptr: LogPointer): Promise<Buffer> {
    const fd = await this.readFd(ptr.segment);
    const buf = Buffer.allocUnsafe(ptr.length);
    let got = 0;
    while (got < ptr.length) {
      const n = await p<number>((cb) => read(fd, buf, got, ptr.length - got, ptr.position + got, cb));
      if (n === 0) throw new Error(`commit log segment ${ptr.segment} ends before ${ptr.position + ptr.length} (record of ${ptr.length} bytes)`);
      got += n;
    }
    return buf;
  }

  private readFd(segment: number): Promise<number> {
    let fd = this.readFds.get(segment);
    if (!fd) {
      fd = p<number>((cb) => open(join(this.o.dir, segmentName(segment)), 'r', cb));
      this.readFds.set(segment, fd);
      fd.catch(() => this.readFds.delete(segment));
    }
    return fd;
  }

  /** One record of `segment` is no longer referenced (its pointer is being deleted). */
  release(segment: number): void {
    const n = (this.live.get(segment) ?? 0) - 1;
    if (n > 0) this.live.set(segment, n);
    else this.live.set(segment, 0);
  }

  /** The live count of `segment` as it should be persisted with the batch being built. */
  liveCount(segment: number): number {
    return this.live.get(segment) ?? 0;
  }

  /** Deletes the files of segments whose live count is 0 (after that count was committed). */
  async reclaim(segments: Iterable<number>): Promise<void> {
    for (const s of segments) {
      if (s === this.active || (this.live.get(s) ?? 0) > 0) continue;
      this.live.delete(s);
      const fd = this.readFds.get(s);
      this.readFds.delete(s);
      if (fd) await fd.then((n) => p<void>((cb) => close(n, (err) => cb(err, undefined)))).catch(() => {});
      await p<void>((cb) => unlink(join(this.o.dir, segmentName(s)), (err) => cb(err, undefined))).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.o.logger.warn('could not delete an empty commit log segment', { segment: s, err: String(err) });
      });
      this.o.logger.debug('commit log segment reclaimed', { segment: s });
    }
  }

  /** Flushes what is pending and closes every descriptor (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush().catch((err: unknown) => this.o.logger.warn('commit log: last flush failed at close', { err: String(err) }));
    await this.flushing.catch(() => {});
    for (const fd of this.writeFds.values()) closeSync(fd);
    this.writeFds.clear();
    for (const fd of this.readFds.values()) await fd.then((n) => closeSync(n)).catch(() => {});
    this.readFds.clear();
  }
}

/** The buffers of `bufs` from byte `from` on (after a short write). */
function sliceFrom(bufs: Buffer[], from: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = from;
  for (const b of bufs) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
