/**
 * Deadline-driven processing of a time-ordered RocksDB prefix ('D' delayed messages, 'X'
 * expiries): exactly one timer, armed at the earliest key's time. When it fires, the due keys are
 * read with one range scan and handed to the handler in bounded chunks; then the timer is armed
 * at the next key. `notify(at)` re-arms earlier when a new key is written. No polling interval.
 */
import type { Clock } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { RocksDb } from '../store/rocks.js';
import { encodeU64 } from '../store/keys.js';

export type DueHandler = (entries: [Buffer, Buffer][]) => Promise<void>;

/** Keys handed to the handler per call. */
const CHUNK = 512;
/** Longest single setTimeout (Node caps at 2^31-1 ms); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class DueScanner {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private running = false;
  private rerun = false;
  private closed = false;

  constructor(
    private readonly db: RocksDb,
    private readonly prefix: number,
    private readonly timeOf: (key: Buffer) => number,
    private readonly handle: DueHandler,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Arms the timer at the first key on disk (call once after open). */
  async start(): Promise<void> {
    await this.armFromDisk();
  }

  /** A key due at `at` was written. */
  notify(at: number): void {
    if (this.closed) return;
    if (this.running) {
      if (at <= this.clock.now()) this.rerun = true;
      else this.arm(at);
      return;
    }
    this.arm(at);
  }

  private arm(at: number): void {
    if (this.closed || at >= this.armedAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock.now()));
    this.timer = setTimeout(() => void this.fire(), delay);
    this.timer.unref();
  }

  private async armFromDisk(): Promise<void> {
    const start = Buffer.from([this.prefix]);
    for await (const [key] of this.db.range({ gte: start, lt: Buffer.from([this.prefix + 1]), limit: 1 })) this.arm(this.timeOf(key));
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.armedAt = Infinity;
    if (this.closed || this.running) return;
    this.running = true;
    try {
      do {
        this.rerun = false;
        const now = this.clock.now();
        // Everything with time <= now: keys below prefix|u64(now + 1).
        const end = Buffer.concat([Buffer.from([this.prefix]), encodeU64(now + 1)]);
        let chunk: [Buffer, Buffer][] = [];
        for await (const entry of this.db.range({ gte: Buffer.from([this.prefix]), lt: end })) {
          chunk.push(entry);
          if (chunk.length >= CHUNK) {
            await this.handle(chunk);
            chunk = [];
          }
          if (this.closed) return;
        }
        if (chunk.length > 0) await this.handle(chunk);
      } while (this.rerun && !this.closed);
    } catch (err) {
      this.logger.error('due processing failed; retrying in 1 s', { err: err instanceof Error ? err.message : String(err) });
      this.running = false;
      this.arm(this.clock.now() + 1000);
      return;
    }
    this.running = false;
    if (!this.closed) await this.armFromDisk().catch(() => this.arm(this.clock.now() + 1000));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
