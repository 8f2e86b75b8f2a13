/**
 * CRC-32 (IEEE 802.3, the zlib / java.util.zip polynomial): the `body_digest` type the broker
 * sends and clients verify. RocketMQ writes it as the unsigned value in decimal.
 *
 * Uses zlib's native crc32 (Node ≥ 20.15, ~20× faster than a JavaScript table on 1 KiB) and
 * falls back to the table-driven version on older runtimes. Both give identical values.
 */
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table-driven CRC-32 (exported for tests that compare it with the native one). */
export function crc32Table(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array | string, value?: number) => number }).crc32;

/** CRC-32 of `bytes` as an unsigned 32-bit integer. */
export const crc32: (bytes: Uint8Array) => number = native ? (bytes) => native(bytes) >>> 0 : crc32Table;

/** The `body_digest` checksum of type CRC32: the unsigned CRC-32 in decimal. */
export function crc32Checksum(bytes: Uint8Array): string {
  return String(crc32(bytes));
}
