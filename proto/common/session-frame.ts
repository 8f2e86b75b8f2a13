/**
 * agentmq.v1.MessagingSession (proto/agentmq/v1/session.proto): the frame codec and the grpc-js
 * service definition, shared by the broker (server) and the SDK (client).
 *
 * Frames are encoded by hand: the envelope is a handful of scalars around byte strings that are
 * already serialized RocketMQ messages, so a generic protobuf encoder would only add copies. The
 * output is byte-for-byte what protobufjs produces for the same `SessionFrame` (fields in number
 * order, defaults omitted); test/proto/session-frame.test.ts checks both directions.
 *
 * Wire layout of one frame (proto3, each field only when not default):
 *
 *   08 <varint id>  10 <varint method>  (1A <varint len> <payload bytes>)*  20 01 (cancel)
 *   28 <varint timeout_ms>  30 <varint grpc_code>  3A <varint len> <utf-8 grpc_message>
 *
 * A bundle (several frames in one stream message; see session.proto) is a frame with only field 8:
 *
 *   (42 <varint len> <one encoded frame>)*
 */
import type * as grpc from '@grpc/grpc-js';

export const SESSION_PATH = '/agentmq.v1.MessagingSession/Session';

/**
 * Header announcing bundles (session.proto): the broker sends it in its response headers (it
 * accepts bundles), the SDK in its request headers (it reads bundles). Value `1`.
 */
export const SESSION_BUNDLE_HEADER = 'x-mq-session-bundle';

/** agentmq.v1.SessionMethod. */
export const SessionMethod = {
  SEND_MESSAGE: 1,
  RECEIVE_MESSAGE: 2,
  ACK_MESSAGE: 3,
  CHANGE_INVISIBLE_DURATION: 4,
  SYNC_LITE_SUBSCRIPTION: 5,
  HEARTBEAT: 6,
} as const;
export type SessionMethod = (typeof SessionMethod)[keyof typeof SessionMethod];

/** The MessagingService method name of each SessionMethod (for dispatch and logs). */
export const SESSION_METHOD_NAMES: Readonly<Record<number, string>> = {
  1: 'SendMessage',
  2: 'ReceiveMessage',
  3: 'AckMessage',
  4: 'ChangeInvisibleDuration',
  5: 'SyncLiteSubscription',
  6: 'Heartbeat',
};

export interface SessionFrame {
  id: number;
  method: number;
  payload: Buffer[];
  cancel?: boolean;
  timeoutMs?: number;
  grpcCode?: number;
  grpcMessage?: string;
  /** Set on a bundle only: its frames, each still encoded (decode them with decodeFrame). */
  frames?: Buffer[];
}

/** A frame that does not parse. */
export class FrameError extends Error {}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

export function encodeFrame(f: SessionFrame): Buffer {
  const message = f.grpcMessage ? Buffer.from(f.grpcMessage, 'utf8') : undefined;
  let size = 0;
  if (f.id) size += 1 + varintSize(f.id);
  if (f.method) size += 1 + varintSize(f.method);
  for (const p of f.payload) size += 1 + varintSize(p.length) + p.length;
  if (f.cancel) size += 2;
  if (f.timeoutMs) size += 1 + varintSize(f.timeoutMs);
  if (f.grpcCode) size += 1 + varintSize(f.grpcCode);
  if (message && message.length > 0) size += 1 + varintSize(message.length) + message.length;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (f.id) pos = writeVarint(buf, (buf[pos] = 0x08, pos + 1), f.id);
  if (f.method) pos = writeVarint(buf, (buf[pos] = 0x10, pos + 1), f.method);
  for (const p of f.payload) {
    buf[pos++] = 0x1a;
    pos = writeVarint(buf, pos, p.length);
    pos += p.copy(buf, pos);
  }
  if (f.cancel) {
    buf[pos++] = 0x20;
    buf[pos++] = 1;
  }
  if (f.timeoutMs) pos = writeVarint(buf, (buf[pos] = 0x28, pos + 1), f.timeoutMs);
  if (f.grpcCode) pos = writeVarint(buf, (buf[pos] = 0x30, pos + 1), f.grpcCode);
  if (message && message.length > 0) {
    buf[pos++] = 0x3a;
    pos = writeVarint(buf, pos, message.length);
    pos += message.copy(buf, pos);
  }
  return buf;
}

/** One stream message carrying `frames` (each an encodeFrame output), in order. */
export function encodeBundle(frames: readonly Buffer[]): Buffer {
  let size = 0;
  for (const f of frames) size += 1 + varintSize(f.length) + f.length;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const f of frames) {
    buf[pos++] = 0x42;
    pos = writeVarint(buf, pos, f.length);
    pos += f.copy(buf, pos);
  }
  return buf;
}

/**
 * Decodes a frame. Payloads are views into `buf` (no copy). Unknown fields are skipped, as
 * protobuf requires; a truncated or malformed frame throws FrameError.
 */
export function decodeFrame(buf: Buffer): SessionFrame {
  const f: SessionFrame = { id: 0, method: 0, payload: [] };
  const r = new FrameReader(buf);
  while (r.pos < r.end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const v = r.varint();
      if (field === 1) f.id = v;
      else if (field === 2) f.method = v;
      else if (field === 4) f.cancel = v !== 0;
      else if (field === 5) f.timeoutMs = v;
      else if (field === 6) f.grpcCode = v;
    } else if (wire === 2) {
      const b = r.bytes();
      if (field === 3) f.payload.push(b);
      else if (field === 7) f.grpcMessage = b.toString('utf8');
      else if (field === 8) (f.frames ??= []).push(b);
    } else if (wire === 1) {
      r.pos += 8;
    } else if (wire === 5) {
      r.pos += 4;
    } else {
      throw new FrameError(`unsupported wire type ${wire}`);
    }
    if (r.pos > r.end) throw new FrameError('truncated fixed-width field');
  }
  return f;
}

/**
 * The frames of one stream message: the message itself, or the frames of a bundle, decoded.
 * Throws FrameError for a frame that does not parse or a bundle inside a bundle.
 */
export function decodeMessage(buf: Buffer): SessionFrame[] {
  const outer = decodeFrame(buf);
  if (!outer.frames) return [outer];
  return outer.frames.map((b) => {
    const f = decodeFrame(b);
    if (f.frames) throw new FrameError('a bundle inside a bundle');
    return f;
  });
}

/** Read position in a frame (a class, not closures: one frame per request is decoded). */
class FrameReader {
  pos = 0;
  readonly end: number;
  constructor(private readonly buf: Buffer) {
    this.end = buf.length;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new FrameError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new FrameError('varint too long');
  }

  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.end) throw new FrameError('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

/**
 * Coalesces the encoded frames one side writes during an event-loop turn into one stream message
 * (a bundle when there are several), written from `setImmediate`, i.e. after the I/O callbacks of
 * the turn. Until `bundling` is set, every frame is written at once, as before.
 */
export class FrameCoalescer {
  /** Whether the peer reads bundles (it announced SESSION_BUNDLE_HEADER). */
  bundling = false;
  private queue: Buffer[] = [];
  private scheduled = false;
  private closed = false;

  /** @param maxFrames most frames per bundle (a larger turn is written as several). */
  constructor(
    private readonly write: (message: Buffer) => void,
    private readonly maxFrames = 64,
  ) {}

  push(frame: Buffer): void {
    if (this.closed) return;
    if (!this.bundling) {
      this.write(frame);
      return;
    }
    this.queue.push(frame);
    if (this.queue.length >= this.maxFrames) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.write(q.length === 1 ? q[0]! : encodeBundle(q));
  }

  /** Drops what is queued and writes nothing more (the stream is gone). Idempotent. */
  close(): void {
    this.closed = true;
    this.queue = [];
  }

  private readonly flushLater = (): void => {
    this.scheduled = false;
    if (!this.closed) this.flush();
  };
}

const identity = (b: Buffer): Buffer => b;

/**
 * The grpc-js definition of agentmq.v1.MessagingSession, with frames as raw Buffers on both
 * sides (encodeFrame / decodeFrame run in the session code, where errors can be answered).
 */
export const SESSION_SERVICE: grpc.ServiceDefinition = {
  Session: {
    path: SESSION_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: 'Session',
  },
};
