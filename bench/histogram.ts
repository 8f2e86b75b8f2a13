/**
 * A small log-linear latency histogram (HdrHistogram's layout with 1024 sub-buckets per power of
 * two): exact below 2048 µs, within 0.1% above. Constant memory, so a workload can record
 * millions of samples without keeping them.
 */

const SUB_BITS = 10;
const SUB = 1 << SUB_BITS;
/** Largest recordable value: about 35 minutes in µs; larger values are clamped. */
const MAX_VALUE = 2 ** 31 - 1;
const BUCKETS = SUB * (31 - SUB_BITS + 1);

export interface HistogramSummary {
  count: number;
  /** Milliseconds (three decimals). */
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

function indexOf(us: number): number {
  if (us < 2 * SUB) return us;
  const e = 31 - Math.clz32(us) - SUB_BITS;
  return SUB * (e + 1) + ((us >>> e) - SUB);
}

/** The middle of the value range bucket `i` covers. */
function valueOf(i: number): number {
  if (i < 2 * SUB) return i;
  const e = Math.floor(i / SUB) - 1;
  const sub = i - SUB * (e + 1) + SUB;
  return sub * 2 ** e + (2 ** e - 1) / 2;
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private min = Infinity;
  private max = 0;

  /** Records one value in milliseconds (fractions allowed; negative values count as 0). */
  recordMs(ms: number): void {
    const us = Math.min(MAX_VALUE, Math.max(0, Math.round(ms * 1000)));
    this.counts[indexOf(us)]! += 1;
    this.n++;
    this.sum += us;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
  }

  get count(): number {
    return this.n;
  }

  /** Value (ms) at or below which `q` (0..1) of the samples lie. */
  quantileMs(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, valueOf(i))) / 1000;
    }
    return this.max / 1000;
  }

  summary(): HistogramSummary {
    if (this.n === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    return {
      count: this.n,
      minMs: round3(this.min / 1000),
      meanMs: round3(this.sum / this.n / 1000),
      p50Ms: round3(this.quantileMs(0.5)),
      p90Ms: round3(this.quantileMs(0.9)),
      p99Ms: round3(this.quantileMs(0.99)),
      p999Ms: round3(this.quantileMs(0.999)),
      maxMs: round3(this.max / 1000),
    };
  }
}
