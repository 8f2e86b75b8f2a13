/**
 * Client-generated message ids, the v1 layout of the official clients
 * (rocketmq-clients docs/message_id.md), 17 bytes as 34 upper-case hex characters:
 *
 * ```
 *  0      1                7        9                 13                17
 *  +------+----------------+--------+-----------------+-----------------+
 *  | 0x01 | host (6 bytes) |  pid   | seconds since   | sequence        |
 *  |      |                | (lo 2) | 2021-01-01 UTC  | (uint32, wraps) |
 *  +------+----------------+--------+-----------------+-----------------+
 * ```
 *
 * `host` is the first 6 bytes of SHA-1(hostname + MAC addresses) instead of a raw MAC (stable per
 * machine, no MAC lookup needed). The sequence starts at a random value so a restarted process
 * that got the same pid within the same second does not repeat ids.
 */
import { createHash, randomInt } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

const EPOCH_SECONDS = Date.UTC(2021, 0, 1) / 1000;

function hostBytes(): Buffer {
  const macs: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) if (!nic.internal && nic.mac !== '00:00:00:00:00:00') macs.push(nic.mac);
  }
  return createHash('sha1').update(hostname()).update(macs.sort().join(',')).digest().subarray(0, 6);
}

const prefix = Buffer.alloc(9);
prefix.writeUInt8(0x01, 0);
hostBytes().copy(prefix, 1);
prefix.writeUInt16BE(process.pid & 0xffff, 7);
const PREFIX_HEX = prefix.toString('hex').toUpperCase();

let sequence = randomInt(0, 0x1_0000_0000);

/** Upper-case hex of every byte value: ids are built from table lookups, not toString(16). */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

function hex8(n: number): string {
  return HEX_BYTE[(n >>> 24) & 0xff]! + HEX_BYTE[(n >>> 16) & 0xff]! + HEX_BYTE[(n >>> 8) & 0xff]! + HEX_BYTE[n & 0xff]!;
}

/** The prefix and the seconds field change once a second: cache them. */
let cachedSeconds = -1;
let cachedHead = '';

export function createMessageId(nowMs: number = Date.now()): string {
  const seconds = Math.floor(nowMs / 1000 - EPOCH_SECONDS) >>> 0;
  if (seconds !== cachedSeconds) {
    cachedSeconds = seconds;
    cachedHead = PREFIX_HEX + hex8(seconds);
  }
  const seq = sequence;
  sequence = (sequence + 1) >>> 0;
  return cachedHead + hex8(seq);
}

export interface DecodedMessageId {
  version: number;
  host: string;
  pid: number;
  /** Milliseconds since the epoch (second precision). */
  timestampMs: number;
  sequence: number;
}

/** Decodes an id made by `createMessageId` (or by an official client's v1 factory). */
export function decodeMessageId(id: string): DecodedMessageId | undefined {
  if (!/^[0-9A-Fa-f]{34}$/.test(id)) return undefined;
  const b = Buffer.from(id, 'hex');
  return {
    version: b.readUInt8(0),
    host: b.subarray(1, 7).toString('hex').toUpperCase(),
    pid: b.readUInt16BE(7),
    timestampMs: (b.readUInt32BE(9) + EPOCH_SECONDS) * 1000,
    sequence: b.readUInt32BE(13),
  };
}
