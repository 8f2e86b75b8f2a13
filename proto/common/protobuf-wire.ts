/**
 * Protobuf wire-format primitives for the hand-written SendMessage codecs: client/rpc/wire.ts (the
 * SDK encodes requests, decodes responses) and broker/grpc/wire.ts (the broker decodes requests,
 * encodes responses). One copy here, as broker/ and client/ may not import each other.
 *
 * - `Reader`: varints, int64 as numbers, strings, bytes as views, unknown fields skipped. Malformed
 *   input throws: truncation, bad lengths or varints, invalid wire types, groups nested too deep,
 *   and (via `other`, stricter than protobufjs) a known field with the wrong wire type or field
 *   number 0. Every read is bounded by `end`, the end of the message being read, so a string
 *   cannot run past its message either.
 * - `Writer`: writes into a Buffer sized beforehand (`utf8Length`, `varintSize`, `intSize`), the
 *   same bytes protobufjs's BufferWriter produces.
 * - `rocketmqEnum(name)`: an apache.rocketmq.v2 enum's names and numbers, from the loaded protos.
 *
 * Hot paths: classes with monomorphic methods, no allocation per field except the values read.
 */
import { loadProtos } from '../index.js';

// ---------------------------------------------------------------------------------------------
// enums, from the loaded protos

interface EnumDescriptor {
  type: { value: { name: string; number: number }[] };
}

export interface EnumTable {
  /** Number -> name (the first name of a number, as protobufjs's Enum.add keeps it). */
  byNumber: Map<number, string>;
  /** Name -> number. */
  byName: Map<string, number>;
  /** The name toObject gives an absent field: that of the first declared value's number. */
  defaultName: string;
}

/** The names and numbers of the enum apache.rocketmq.v2.`name`, from the loaded protos. */
export function rocketmqEnum(name: string): EnumTable {
  const v2 = loadProtos().apache.rocketmq.v2 as unknown as Record<string, EnumDescriptor>;
  const values = v2[name]!.type.value;
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  for (const { name: n, number } of values) {
    byName.set(n, number);
    if (!byNumber.has(number)) byNumber.set(number, n);
  }
  return { byName, byNumber, defaultName: byNumber.get(values[0]!.number)! };
}

// ---------------------------------------------------------------------------------------------
// sizes

/** UTF-8 length as protobufjs (Buffer.byteLength) counts it: a lone surrogate takes 3 bytes. */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      len += 2; // 4 bytes for 2 code units
    } else len += 2;
  }
  return len;
}

/** Bytes of a varint for a non-negative integer below 2^53. */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

/** Size of an int32/int64 field value (negative values take 10 bytes, as in protobufjs). */
export function intSize(v: number): number {
  return v < 0 ? 10 : varintSize(v);
}

/**
 * A plain object (what protobufjs's fromObject reads the same way a hand-written encoder does);
 * not a protobufjs instance, array or class instance. The broker's encoders hand anything else
 * to proto-loader.
 */
export function isPlain(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Size of a length-delimited field's value part: length prefix + bytes. */
export function delimitedSize(len: number): number {
  return varintSize(len) + len;
}

// ---------------------------------------------------------------------------------------------
// reading

/** Deepest nesting of (unknown) groups `skip` follows. */
const MAX_DEPTH = 100;

/**
 * Node's Buffer methods without the argument checks of toString / write (what protobufjs calls
 * too); present on every Buffer, just not in @types/node.
 */
interface RawBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
}

/** An int64 from its two 32-bit halves, as protobufjs LongBits.toNumber(false). */
function toNumber(lo: number, hi: number): number {
  if (hi >>> 31) {
    lo = (~lo + 1) >>> 0;
    hi = ~hi >>> 0;
    if (!lo) hi = (hi + 1) >>> 0;
    return -(lo + hi * 4294967296);
  }
  return lo + hi * 4294967296;
}

export class Reader {
  pos = 0;
  /** End of the message being read (nested messages narrow it). */
  end: number;
  readonly buf: RawBuffer;
  constructor(buf: Buffer) {
    this.buf = buf as RawBuffer;
    this.end = buf.length;
  }

  overrun(): never {
    throw new RangeError(`index out of range: ${this.pos} > ${this.end}`);
  }

  /** A varint as a uint32 (higher bits of a longer varint dropped, as protobufjs does). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let v = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) {
        this.pos = pos;
        this.overrun();
      }
      const b = buf[pos++]!;
      if (shift < 32) v |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        this.pos = pos;
        return v >>> 0;
      }
    }
    throw new Error('invalid varint encoding');
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** An int64 varint as a (signed) number, as protobufjs LongBits.toNumber(false). */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (this.pos >= this.end) this.overrun();
      const b = buf[this.pos++]!;
      lo = (lo | ((b & 127) << (i * 7))) >>> 0;
      if (b < 128) return lo;
    }
    if (this.pos >= this.end) this.overrun();
    let b = buf[this.pos++]!;
    lo = (lo | ((b & 127) << 28)) >>> 0;
    hi = (hi | ((b & 127) >> 4)) >>> 0;
    if (b < 128) return toNumber(lo, hi);
    for (i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.overrun();
      b = buf[this.pos++]!;
      hi = (hi | ((b & 127) << (i * 7 + 3))) >>> 0;
      if (b < 128) return toNumber(lo, hi);
    }
    throw new Error('invalid varint encoding');
  }

  /** Reads a length prefix; returns where that field ends. */
  delimitedEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) this.overrun();
    return end;
  }

  string(): string {
    const end = this.delimitedEnd();
    const s = end > this.pos ? this.buf.utf8Slice(this.pos, end) : '';
    this.pos = end;
    return s;
  }

  /**
   * A string field that is likely `expected` (e.g. the same field of the previous message):
   * returns `expected` itself when the bytes are its ASCII characters, saving a new string.
   * With `expected` '' this is `string()`.
   */
  stringLike(expected: string): string {
    const end = this.delimitedEnd();
    const start = this.pos;
    const n = end - start;
    this.pos = end;
    if (n === 0) return '';
    if (n === expected.length) {
      const buf = this.buf;
      let i = 0;
      while (i < n) {
        const b = buf[start + i]!;
        if (b >= 0x80 || b !== expected.charCodeAt(i)) break;
        i++;
      }
      if (i === n) return expected;
    }
    return this.buf.utf8Slice(start, end);
  }

  /** Bytes as protobufjs reads them: a view into the input, a fresh empty Buffer if empty. */
  bytes(): Buffer {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    return end > start ? this.buf.subarray(start, end) : Buffer.alloc(0);
  }

  /**
   * A tag the decoder's switch did not match. Fields 1..`knownFields` are the message's own (the
   * decoder matched each with its wire type), so one of them here has the wrong wire type: throws,
   * as does field number 0. Any other field is unknown and skipped.
   */
  other(tag: number, knownFields: number): void {
    const field = tag >>> 3;
    if (field === 0) throw new Error(`invalid tag ${tag} (field number 0) at offset ${this.pos}`);
    if (field <= knownFields) throw new Error(`field ${field} has the wrong wire type ${tag & 7} at offset ${this.pos}`);
    this.skip(tag & 7, 0);
  }

  /** Skips a field's value of wire type `wireType`; `depth` counts the groups it is nested in. */
  skip(wireType: number, depth: number): void {
    switch (wireType) {
      case 0:
        this.uint32();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.delimitedEnd();
        return;
      case 3:
        if (depth >= MAX_DEPTH) throw new Error('maximum nesting depth exceeded');
        for (;;) {
          const wt = this.uint32() & 7;
          if (wt === 4) return;
          this.skip(wt, depth + 1);
        }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
    if (this.pos > this.end) this.overrun();
  }
}

// ---------------------------------------------------------------------------------------------
// writing

export class Writer {
  pos = 0;
  readonly buf: RawBuffer;
  constructor(buf: Buffer) {
    this.buf = buf as RawBuffer;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    const buf = this.buf;
    while (v >= 0x80000000) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** An int32 or int64 value (a safe integer); negative ones take 10 bytes. */
  int(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    // Two's complement over 64 bits, 10 bytes (protobufjs LongBits.fromNumber + writeVarint64).
    const a = -v;
    let lo = a >>> 0;
    let hi = ((a - lo) / 4294967296) >>> 0;
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 4294967295) {
      lo = 0;
      if (++hi > 4294967295) hi = 0;
    }
    const buf = this.buf;
    while (hi) {
      buf[this.pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[this.pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  /** Writes `s` (byte length `len`, from utf8Length) with its length prefix. */
  string(s: string, len: number): void {
    this.varint(len);
    const buf = this.buf;
    if (len === s.length) {
      const pos = this.pos;
      if (len > 32) buf.latin1Write(s, pos, len);
      else for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
      this.pos = pos + len;
      return;
    }
    // As protobufjs's BufferWriter: Node's encoder from 40 code units on (a lone surrogate
    // becomes U+FFFD), its own utf8.write below that (a lone surrogate is kept as 3 bytes).
    if (s.length >= 40) {
      buf.utf8Write(s, this.pos, len);
      this.pos += len;
      return;
    }
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      let c1 = s.charCodeAt(i);
      let c2: number;
      if (c1 < 128) {
        buf[p++] = c1;
      } else if (c1 < 2048) {
        buf[p++] = (c1 >> 6) | 192;
        buf[p++] = (c1 & 63) | 128;
      } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
        c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
        ++i;
        buf[p++] = (c1 >> 18) | 240;
        buf[p++] = ((c1 >> 12) & 63) | 128;
        buf[p++] = ((c1 >> 6) & 63) | 128;
        buf[p++] = (c1 & 63) | 128;
      } else {
        buf[p++] = (c1 >> 12) | 224;
        buf[p++] = ((c1 >> 6) & 63) | 128;
        buf[p++] = (c1 & 63) | 128;
      }
    }
    this.pos = p;
  }

  /** Bytes with their length prefix. */
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}
