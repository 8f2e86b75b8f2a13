/**
 * Stored record formats (versioned).
 *
 * Message record:
 *   +---------+-------------+---------------------+------+
 *   | ver:1=1 | hlen:4 (BE) | header JSON (hlen)  | body |
 *   +---------+-------------+---------------------+------+
 * The header is a StoredHeader; the body is stored as sent (bytes), never re-encoded.
 * Since the commit log, the record lives in a segment file (commit-log.ts) and the 'M' value is a
 * pointer to it (records stored inline by older versions are still read):
 *   +----------+------------+-------------+-----------+
 *   | ver:1=16 | segment:4  | position:4  | length:4  |
 *   +----------+------------+-------------+-----------+
 *
 * In-flight record (one per message a group holds, see keys.ts):
 *   +---------+---------------+------------+----------+--------+----------------------+
 *   | ver:1=2 | visibleAt:8   | attempt:4  | token:4  | glen:2 | message group (utf8) |
 *   +---------+---------------+------------+----------+--------+----------------------+
 *   (version 1 records end after the token: no message group)
 * visibleAt: ms since the epoch when the message becomes deliverable again;
 * attempt: deliveries so far; token: changes on every delivery / invisibility change, so an
 * older receipt handle no longer matches.
 */

/** What the broker keeps of a message besides its body. */
export interface StoredHeader {
  /** Client-generated message id. */
  id: string;
  tag?: string;
  keys?: string[];
  props?: Record<string, string>;
  /** MessageType name (NORMAL, FIFO, ...). */
  type: string;
  group?: string;
  bornMs: number;
  bornHost: string;
  storeMs: number;
  deliveryMs?: number;
  priority?: number;
  /** Body encoding as sent (IDENTITY / GZIP). */
  enc?: string;
  /** Per-message TTL: not delivered after this time (ms since the epoch). */
  expireMs?: number;
  /** A re-driven dead letter: only this consumer group receives the copy (others already had it). */
  forGroup?: string;
}

/** A delayed message waiting for its time (value of a 'D' key). */
export interface PendingMessage {
  topic: string;
  header: StoredHeader;
  /** TTL to apply once due (ms), counted from the delivery time. */
  ttlMs?: number;
  body: Buffer;
}

export function encodePending(p: PendingMessage): Buffer {
  return encodeMessage({ ...p.header, __topic: p.topic, ...(p.ttlMs !== undefined ? { __ttl: p.ttlMs } : {}) } as StoredHeader, p.body);
}

export function decodePending(value: Buffer): PendingMessage {
  if (value[0] !== 1) throw new Error(`unknown pending message record version ${value[0]}`);
  const hlen = value.readUInt32BE(1);
  const { __topic, __ttl, ...header } = JSON.parse(value.toString('utf8', 5, 5 + hlen)) as StoredHeader & { __topic: string; __ttl?: number };
  return { topic: __topic, header, body: value.subarray(5 + hlen), ...(__ttl !== undefined ? { ttlMs: __ttl } : {}) };
}

export interface StoredMessage extends StoredHeader {
  topic: string;
  queueId: number;
  offset: number;
  body: Buffer;
}

/**
 * Headers and messages are built with one fixed shape (every optional field present, undefined
 * when absent) by these two functions only. A spread such as `{ ...header, topic, offset }` or
 * `...(x ? { x } : {})` takes V8's slow object-clone path and gives every combination of fields a
 * shape of its own: measured at ~3 µs per message on the append path, a third of the broker's
 * main thread in the W1 benchmark. JSON.stringify leaves undefined fields out, so the stored
 * record is the same.
 */
export function storedHeader(h: Omit<StoredHeader, 'storeMs'> & { storeMs?: number }, storeMs: number, expireMs: number | undefined): StoredHeader {
  return {
    id: h.id,
    tag: h.tag,
    keys: h.keys,
    props: h.props,
    type: h.type,
    group: h.group,
    bornMs: h.bornMs,
    bornHost: h.bornHost,
    storeMs,
    deliveryMs: h.deliveryMs,
    priority: h.priority,
    enc: h.enc,
    expireMs,
    forGroup: h.forGroup,
  };
}

/** A StoredMessage of the one shape every cached or decoded message has (see storedHeader). */
export function storedMessage(h: StoredHeader, topic: string, queueId: number, offset: number, body: Buffer): StoredMessage {
  return {
    id: h.id,
    tag: h.tag,
    keys: h.keys,
    props: h.props,
    type: h.type,
    group: h.group,
    bornMs: h.bornMs,
    bornHost: h.bornHost,
    storeMs: h.storeMs,
    deliveryMs: h.deliveryMs,
    priority: h.priority,
    enc: h.enc,
    expireMs: h.expireMs,
    forGroup: h.forGroup,
    topic,
    queueId,
    offset,
    body,
  };
}

export function encodeMessage(h: StoredHeader, body: Buffer): Buffer {
  return Buffer.concat([encodeMessageHead(h), body]);
}

/**
 * A message record without its body: version, header length and header. The commit log writes
 * it and the body as two pieces of one record, so a body is never copied on the send path.
 */
export function encodeMessageHead(h: StoredHeader): Buffer {
  const json = JSON.stringify(h);
  const hlen = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(5 + hlen);
  out[0] = 1;
  out.writeUInt32BE(hlen, 1);
  out.write(json, 5, 'utf8');
  return out;
}

export function decodeMessage(topic: string, queueId: number, offset: number, value: Buffer): StoredMessage {
  if (value[0] !== 1) throw new Error(`unknown message record version ${value[0]} at ${topic}/${queueId}/${offset}`);
  const hlen = value.readUInt32BE(1);
  const header = JSON.parse(value.toString('utf8', 5, 5 + hlen)) as StoredHeader;
  return storedMessage(header, topic, queueId, offset, value.subarray(5 + hlen));
}

/** 'M' value version of a commit log pointer. */
export const LOG_POINTER_VERSION = 16;

export function encodeLogPointer(p: { segment: number; position: number; length: number }): Buffer {
  const b = Buffer.allocUnsafe(13);
  b[0] = LOG_POINTER_VERSION;
  b.writeUInt32BE(p.segment, 1);
  b.writeUInt32BE(p.position, 5);
  b.writeUInt32BE(p.length, 9);
  return b;
}

/** The pointer an 'M' value holds, or undefined for a record stored inline. */
export function decodeLogPointer(b: Buffer): { segment: number; position: number; length: number } | undefined {
  if (b[0] !== LOG_POINTER_VERSION) return undefined;
  if (b.length !== 13) throw new Error(`malformed commit log pointer (${b.length} bytes)`);
  return { segment: b.readUInt32BE(1), position: b.readUInt32BE(5), length: b.readUInt32BE(9) };
}

export interface InflightRecord {
  visibleAt: number;
  attempt: number;
  token: number;
  /** FIFO topics: the message group the record blocks. */
  group?: string;
  /**
   * In memory only, never encoded: the receipt handle issued for this token, so an ack that
   * presents exactly it needs no MAC check (see `PopService.resolveHandle`).
   */
  handle?: string;
}

export function encodeInflight(r: InflightRecord): Buffer {
  const g = r.group === undefined ? undefined : Buffer.from(r.group, 'utf8');
  const b = Buffer.allocUnsafe(17 + (g ? 2 + g.length : 0));
  b[0] = g ? 2 : 1;
  b.writeBigUInt64BE(BigInt(r.visibleAt), 1);
  b.writeUInt32BE(r.attempt, 9);
  b.writeUInt32BE(r.token >>> 0, 13);
  if (g) {
    b.writeUInt16BE(g.length, 17);
    g.copy(b, 19);
  }
  return b;
}

export function decodeInflight(b: Buffer): InflightRecord {
  if (b[0] !== 1 && b[0] !== 2) throw new Error(`unknown inflight record version ${b[0]}`);
  const r: InflightRecord = { visibleAt: Number(b.readBigUInt64BE(1)), attempt: b.readUInt32BE(9), token: b.readUInt32BE(13) };
  if (b[0] === 2) r.group = b.toString('utf8', 19, 19 + b.readUInt16BE(17));
  return r;
}
