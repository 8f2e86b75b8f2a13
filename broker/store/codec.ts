/**
 * Stored record formats (versioned).
 *
 * Message record:
 *   +---------+-------------+---------------------+------+
 *   | ver:1=1 | hlen:4 (BE) | header JSON (hlen)  | body |
 *   +---------+-------------+---------------------+------+
 * The header is a StoredHeader; the body is stored as sent (bytes), never re-encoded.
 *
 * In-flight record (one per message a group holds, see keys.ts):
 *   +---------+---------------+------------+----------+
 *   | ver:1=1 | visibleAt:8   | attempt:4  | token:4  |
 *   +---------+---------------+------------+----------+
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
}

export interface StoredMessage extends StoredHeader {
  topic: string;
  queueId: number;
  offset: number;
  body: Buffer;
}

export function encodeMessage(h: StoredHeader, body: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  const out = Buffer.allocUnsafe(5 + json.length + body.length);
  out[0] = 1;
  out.writeUInt32BE(json.length, 1);
  json.copy(out, 5);
  body.copy(out, 5 + json.length);
  return out;
}

export function decodeMessage(topic: string, queueId: number, offset: number, value: Buffer): StoredMessage {
  if (value[0] !== 1) throw new Error(`unknown message record version ${value[0]} at ${topic}/${queueId}/${offset}`);
  const hlen = value.readUInt32BE(1);
  const header = JSON.parse(value.toString('utf8', 5, 5 + hlen)) as StoredHeader;
  return { ...header, topic, queueId, offset, body: value.subarray(5 + hlen) };
}

export interface InflightRecord {
  visibleAt: number;
  attempt: number;
  token: number;
}

export function encodeInflight(r: InflightRecord): Buffer {
  const b = Buffer.allocUnsafe(17);
  b[0] = 1;
  b.writeBigUInt64BE(BigInt(r.visibleAt), 1);
  b.writeUInt32BE(r.attempt, 9);
  b.writeUInt32BE(r.token >>> 0, 13);
  return b;
}

export function decodeInflight(b: Buffer): InflightRecord {
  if (b[0] !== 1) throw new Error(`unknown inflight record version ${b[0]}`);
  return { visibleAt: Number(b.readBigUInt64BE(1)), attempt: b.readUInt32BE(9), token: b.readUInt32BE(13) };
}
