/**
 * Every RocksDB key layout of the broker. Keys are binary and big-endian so that lexicographic
 * order is numeric order, and every key of a topic starts with the topic, so deleting a topic is
 * a handful of range deletes.
 *
 *   prefix  layout                                                   value
 *   ------  -------------------------------------------------------  ---------------------------
 *   'M'     +----+-------+-------+---------+----------+               message record (codec.ts)
 *   message | 'M'| tlen:1| topic | queue:2 | offset:8 |
 *           +----+-------+-------+---------+----------+
 *   'T'     | 'T'| topic |                                          topic config JSON
 *   'G'     | 'G'| group |                                          group config JSON
 *   'C'     +----+-------+-------+-------+-------+---------+         next offset to pop: u64
 *   cursor  | 'C'| tlen:1| topic | glen:1| group | queue:2 |         (per group, topic, queue)
 *           +----+-------+-------+-------+-------+---------+
 *   'I'     +----+-------+-------+-------+-------+---------+----------+
 *   inflight| 'I'| tlen:1| topic | glen:1| group | queue:2 | offset:8 |   inflight record (codec.ts)
 *           +----+-------+-------+-------+-------+---------+----------+
 *   'S'     | 'S'| name  |                                          broker metadata (secret key...)
 *
 * Invariants: a message is in the group's hands iff it has an 'I' record; every offset below the
 * group's cursor without an 'I' record is acknowledged (or filtered out). So the ack floor needs
 * no storage of its own: it is min(inflight offsets ∪ {cursor}).
 */

export const P_MESSAGE = 0x4d; // 'M'
export const P_TOPIC = 0x54; // 'T'
export const P_GROUP = 0x47; // 'G'
export const P_CURSOR = 0x43; // 'C'
export const P_INFLIGHT = 0x49; // 'I'
export const P_META = 0x53; // 'S'

function lenPrefixed(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 255) throw new Error(`name too long for a key: ${s.length}`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

// --- messages ---------------------------------------------------------------------------------
export function messagePrefix(topic: string, queueId?: number): Buffer {
  const parts = [Buffer.from([P_MESSAGE]), lenPrefixed(topic)];
  if (queueId !== undefined) parts.push(u16(queueId));
  return Buffer.concat(parts);
}

export function messageKey(topic: string, queueId: number, offset: number): Buffer {
  return Buffer.concat([messagePrefix(topic, queueId), u64(offset)]);
}

/** Offset from a message key (last 8 bytes). */
export function messageKeyOffset(key: Buffer): number {
  return Number(key.readBigUInt64BE(key.length - 8));
}

// --- configs and metadata ---------------------------------------------------------------------
export const topicKey = (topic: string): Buffer => Buffer.concat([Buffer.from([P_TOPIC]), Buffer.from(topic)]);
export const groupKey = (group: string): Buffer => Buffer.concat([Buffer.from([P_GROUP]), Buffer.from(group)]);
export const metaKey = (name: string): Buffer => Buffer.concat([Buffer.from([P_META]), Buffer.from(name)]);

// --- consumer state ---------------------------------------------------------------------------
/** 'C'|'I' prefix for a topic, optionally narrowed to a group and queue. */
export function consumerPrefix(kind: typeof P_CURSOR | typeof P_INFLIGHT, topic: string, group?: string, queueId?: number): Buffer {
  const parts = [Buffer.from([kind]), lenPrefixed(topic)];
  if (group !== undefined) parts.push(lenPrefixed(group));
  if (queueId !== undefined) parts.push(u16(queueId));
  return Buffer.concat(parts);
}

export function cursorKey(topic: string, group: string, queueId: number): Buffer {
  return consumerPrefix(P_CURSOR, topic, group, queueId);
}

export function inflightKey(topic: string, group: string, queueId: number, offset: number): Buffer {
  return Buffer.concat([consumerPrefix(P_INFLIGHT, topic, group, queueId), u64(offset)]);
}

export interface ConsumerKey {
  topic: string;
  group: string;
  queueId: number;
  offset?: number;
}

/** Decodes a 'C' or 'I' key. */
export function decodeConsumerKey(key: Buffer): ConsumerKey {
  let pos = 1;
  const tlen = key[pos++]!;
  const topic = key.toString('utf8', pos, pos + tlen);
  pos += tlen;
  const glen = key[pos++]!;
  const group = key.toString('utf8', pos, pos + glen);
  pos += glen;
  const queueId = key.readUInt16BE(pos);
  pos += 2;
  const offset = key.length >= pos + 8 ? Number(key.readBigUInt64BE(pos)) : undefined;
  return { topic, group, queueId, offset };
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0xff, 0xff, 0xff, 0xff]);
}

export const encodeU64 = u64;
export const decodeU64 = (b: Buffer): number => Number(b.readBigUInt64BE(0));
