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
 *   'W'     +----+-------+-------+-------+-------+---------+----------+
 *   waiting | 'W'| tlen:1| topic | glen:1| group | queue:2 | offset:8 |   message group (utf8)
 *           +----+-------+-------+-------+-------+---------+----------+
 *           FIFO: a message passed by the cursor but held back behind an unacked message of its
 *           message group.
 *   'D'     +----+-------------+--------+                            pending message (codec.ts)
 *   delayed | 'D'| deliverAt:8 | seq:8  |                            due at deliverAt, then moved
 *           +----+-------------+--------+                            into its topic
 *   'X'     +----+------+--------+---------------------------------+
 *   expiry  | 'X'| at:8 | kind:1 | 'M': tlen topic queue:2 offset:8 |  (empty) — message TTL
 *           |    |      |        | 'U': tlen topic dedup-key       |  (empty) — dedup window end
 *           +----+------+--------+---------------------------------+
 *   'U'     | 'U'| tlen:1| topic | dedup key |                      {id, queueId, offset, expireAt}
 *   'N'     | 'N'| message id |                                     {topic, queueId, offset} or
 *           |    |            |                                     {scheduled: D key (hex)}
 *   'K'     +----+-------+-------+--------+-----+-------+---------+----------+
 *   key     | 'K'| tlen:1| topic | klen:2 | key | seq:8 | queue:2 | offset:8 |   (empty)
 *           +----+-------+-------+--------+-----+-------+---------+----------+
 *           seq: the store's append sequence, so a key's messages sort oldest first across queues
 *   'L'     | 'L'| segment:4 |                                      live records in that commit
 *   log     |    |           |                                      log segment: u32 (commit-log.ts)
 *   'Q'     +----+-------+--------+------------+                    created-at ms: u64
 *   lite    | 'Q'| plen:1| parent | lite topic |                    (a lite topic exists; its
 *           +----+-------+--------+------------+                    messages are topic parent$lite)
 *
 * Time-ordered prefixes ('D', 'X') make "what is due" a range scan from the start of the prefix
 * up to now; one timer per prefix is armed at the first key's time.
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
export const P_WAITING = 0x57; // 'W'
export const P_DELAYED = 0x44; // 'D'
export const P_EXPIRY = 0x58; // 'X'
export const P_DEDUP = 0x55; // 'U'
export const P_MSGID = 0x4e; // 'N'
export const P_KEY = 0x4b; // 'K'
export const P_LITE = 0x51; // 'Q'
export const P_LOG = 0x4c; // 'L'

/** 'L'|segment: the live record count of a commit log segment. */
export function logLiveKey(segment: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = P_LOG;
  b.writeUInt32BE(segment, 1);
  return b;
}

export function logLiveKeySegment(key: Buffer): number {
  return key.readUInt32BE(1);
}

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

/** Writes a non-negative safe integer as 8 big-endian bytes (two 32-bit halves: no BigInt). */
function writeU64(b: Buffer, n: number, at: number): void {
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at);
  b.writeUInt32BE(n >>> 0, at + 4);
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64(b, n, 0);
  return b;
}

// --- messages ---------------------------------------------------------------------------------
export function messagePrefix(topic: string, queueId?: number): Buffer {
  const parts = [Buffer.from([P_MESSAGE]), lenPrefixed(topic)];
  if (queueId !== undefined) parts.push(u16(queueId));
  return Buffer.concat(parts);
}

/** Prefixes 'M'|topic|queue, cached: message keys are built on the hot path. */
const queuePrefixes = new Map<string, Buffer[]>();

export function messageKey(topic: string, queueId: number, offset: number): Buffer {
  let list = queuePrefixes.get(topic);
  if (!list) {
    if (queuePrefixes.size > 10_000) queuePrefixes.clear();
    list = [];
    queuePrefixes.set(topic, list);
  }
  const prefix = (list[queueId] ??= messagePrefix(topic, queueId));
  const key = Buffer.allocUnsafe(prefix.length + 8);
  prefix.copy(key, 0);
  writeU64(key, offset, prefix.length);
  return key;
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
/** 'C'|'I'|'W' prefix for a topic, optionally narrowed to a group and queue. */
export function consumerPrefix(kind: typeof P_CURSOR | typeof P_INFLIGHT | typeof P_WAITING, topic: string, group?: string, queueId?: number): Buffer {
  if (group !== undefined && queueId !== undefined) return consumerKey(kind, topic, group, queueId, -1);
  const parts = [Buffer.from([kind]), lenPrefixed(topic)];
  if (group !== undefined) parts.push(lenPrefixed(group));
  if (queueId !== undefined) parts.push(u16(queueId));
  return Buffer.concat(parts);
}

/**
 * kind | tlen | topic | glen | group | queue:2 [| offset:8 when offset >= 0], written into one
 * buffer (these keys are built for every pop, ack and cursor move).
 */
function consumerKey(kind: number, topic: string, group: string, queueId: number, offset: number): Buffer {
  const tlen = Buffer.byteLength(topic, 'utf8');
  const glen = Buffer.byteLength(group, 'utf8');
  if (tlen > 255 || glen > 255) throw new Error(`name too long for a key: ${tlen > 255 ? topic.length : group.length}`);
  const b = Buffer.allocUnsafe(1 + 1 + tlen + 1 + glen + 2 + (offset >= 0 ? 8 : 0));
  b[0] = kind;
  b[1] = tlen;
  let at = 2 + b.write(topic, 2, 'utf8');
  b[at++] = glen;
  at += b.write(group, at, 'utf8');
  b.writeUInt16BE(queueId, at);
  if (offset >= 0) writeU64(b, offset, at + 2);
  return b;
}

export function cursorKey(topic: string, group: string, queueId: number): Buffer {
  return consumerKey(P_CURSOR, topic, group, queueId, -1);
}

export function inflightKey(topic: string, group: string, queueId: number, offset: number): Buffer {
  return consumerKey(P_INFLIGHT, topic, group, queueId, offset);
}

export function waitingKey(topic: string, group: string, queueId: number, offset: number): Buffer {
  return consumerKey(P_WAITING, topic, group, queueId, offset);
}

export interface ConsumerKey {
  topic: string;
  group: string;
  queueId: number;
  offset?: number;
}

/** Decodes a 'C', 'I' or 'W' key. */
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

// --- delayed messages ---------------------------------------------------------------------------
export function delayedKey(deliverAt: number, seq: number): Buffer {
  return Buffer.concat([Buffer.from([P_DELAYED]), u64(deliverAt), u64(seq)]);
}

export function delayedKeyTime(key: Buffer): number {
  return Number(key.readBigUInt64BE(1));
}

// --- expiry index -------------------------------------------------------------------------------
export const EXPIRY_MESSAGE = 0x4d; // 'M'
export const EXPIRY_DEDUP = 0x55; // 'U'

export type ExpiryTarget =
  | { kind: 'message'; topic: string; queueId: number; offset: number }
  | { kind: 'dedup'; topic: string; key: string };

export function expiryKey(at: number, target: ExpiryTarget): Buffer {
  const head = Buffer.concat([Buffer.from([P_EXPIRY]), u64(at)]);
  if (target.kind === 'message') {
    return Buffer.concat([head, Buffer.from([EXPIRY_MESSAGE]), lenPrefixed(target.topic), u16(target.queueId), u64(target.offset)]);
  }
  return Buffer.concat([head, Buffer.from([EXPIRY_DEDUP]), lenPrefixed(target.topic), Buffer.from(target.key, 'utf8')]);
}

export function decodeExpiryKey(key: Buffer): { at: number; target: ExpiryTarget } {
  const at = Number(key.readBigUInt64BE(1));
  const kind = key[9];
  const tlen = key[10]!;
  const topic = key.toString('utf8', 11, 11 + tlen);
  const rest = 11 + tlen;
  if (kind === EXPIRY_MESSAGE) {
    return { at, target: { kind: 'message', topic, queueId: key.readUInt16BE(rest), offset: Number(key.readBigUInt64BE(rest + 2)) } };
  }
  return { at, target: { kind: 'dedup', topic, key: key.toString('utf8', rest) } };
}

export function expiryTime(key: Buffer): number {
  return Number(key.readBigUInt64BE(1));
}

// --- dedup, message id and key indexes ----------------------------------------------------------
export function dedupPrefix(topic: string): Buffer {
  return Buffer.concat([Buffer.from([P_DEDUP]), lenPrefixed(topic)]);
}

export function dedupKey(topic: string, key: string): Buffer {
  return Buffer.concat([dedupPrefix(topic), Buffer.from(key, 'utf8')]);
}

export function decodeDedupKey(key: Buffer): { topic: string; key: string } {
  const tlen = key[1]!;
  return { topic: key.toString('utf8', 2, 2 + tlen), key: key.toString('utf8', 2 + tlen) };
}

export function messageIdKey(id: string): Buffer {
  const key = Buffer.allocUnsafe(1 + Buffer.byteLength(id));
  key[0] = P_MSGID;
  key.write(id, 1, 'utf8');
  return key;
}

/**
 * Value of an 'N' entry for a stored message:
 *   +---------+---------+----------+---------------+
 *   | ver:1=1 | queue:2 | offset:8 | topic (utf8)  |
 *   +---------+---------+----------+---------------+
 * (a scheduled message's entry is JSON {"scheduled": "<D key hex>"}, first byte '{')
 */
export function encodeLocation(topic: string, queueId: number, offset: number): Buffer {
  const b = Buffer.allocUnsafe(11 + Buffer.byteLength(topic));
  b[0] = 1;
  b.writeUInt16BE(queueId, 1);
  writeU64(b, offset, 3);
  b.write(topic, 11, 'utf8');
  return b;
}

export function decodeLocation(b: Buffer): { topic: string; queueId: number; offset: number } | { scheduled: string } {
  if (b[0] === 1) return { topic: b.toString('utf8', 11), queueId: b.readUInt16BE(1), offset: Number(b.readBigUInt64BE(3)) };
  return JSON.parse(b.toString('utf8')) as { scheduled: string };
}

export function keyIndexPrefix(topic: string, key?: string): Buffer {
  const parts = [Buffer.from([P_KEY]), lenPrefixed(topic)];
  if (key !== undefined) {
    const k = Buffer.from(key, 'utf8');
    parts.push(u16(k.length), k);
  }
  return Buffer.concat(parts);
}

/** `seq` orders entries of one key by append time across queues (MessageStore.append). */
export function keyIndexKey(topic: string, key: string, seq: number, queueId: number, offset: number): Buffer {
  return Buffer.concat([keyIndexPrefix(topic, key), u64(seq), u16(queueId), u64(offset)]);
}

/** queue and offset from the end of a 'K' key */
export function decodeKeyIndexKey(key: Buffer): { queueId: number; offset: number } {
  return { queueId: key.readUInt16BE(key.length - 10), offset: Number(key.readBigUInt64BE(key.length - 8)) };
}

// --- lite topics --------------------------------------------------------------------------------
export function liteKey(parent: string, lite?: string): Buffer {
  const parts = [Buffer.from([P_LITE]), lenPrefixed(parent)];
  if (lite !== undefined) parts.push(Buffer.from(lite, 'utf8'));
  return Buffer.concat(parts);
}

export function decodeLiteKey(key: Buffer): { parent: string; lite: string } {
  const plen = key[1]!;
  return { parent: key.toString('utf8', 2, 2 + plen), lite: key.toString('utf8', 2 + plen) };
}
