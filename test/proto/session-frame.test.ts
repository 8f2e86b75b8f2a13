/** The hand-written agentmq.v1.SessionFrame codec against protobufjs on proto/agentmq/v1/session.proto. */
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { AGENTMQ_PROTO_DIR } from '../../proto/index.js';
import { decodeFrame, encodeBundle, encodeFrame, FrameCoalescer, FrameError, SESSION_METHOD_NAMES, SessionMethod, type SessionFrame } from '../../proto/common/session-frame.js';

const root = protobuf.loadSync(join(AGENTMQ_PROTO_DIR, 'agentmq/v1/session.proto'));
const Frame = root.lookupType('agentmq.v1.SessionFrame');
const Method = root.lookupEnum('agentmq.v1.SessionMethod');

const frames: SessionFrame[] = [
  { id: 1, method: SessionMethod.SEND_MESSAGE, payload: [Buffer.from('abc')] },
  { id: 300, method: SessionMethod.RECEIVE_MESSAGE, payload: [Buffer.alloc(0), Buffer.alloc(200, 7), Buffer.from([1, 2])], timeoutMs: 33_000 },
  { id: 2 ** 40 + 5, method: SessionMethod.ACK_MESSAGE, payload: [], cancel: true },
  { id: 9, method: SessionMethod.HEARTBEAT, payload: [], grpcCode: 12, grpcMessage: 'session method 99 is not served — ünïcode' },
  { id: 0, method: 0, payload: [] },
];

const plain = (f: SessionFrame) => ({
  id: f.id,
  method: f.method,
  payload: f.payload.map((p) => [...p]),
  cancel: f.cancel ?? false,
  timeoutMs: f.timeoutMs ?? 0,
  grpcCode: f.grpcCode ?? 0,
  grpcMessage: f.grpcMessage ?? '',
});

describe('session frame codec', () => {
  it('session frame - encodes byte-for-byte what protobufjs encodes from session.proto', () => {
    // (protobufjs writes explicitly set zeros, e.g. `id: 0`; proto3 omits defaults, as we do.)
    for (const f of frames.filter((x) => x.id !== 0)) {
      const ours = encodeFrame(f);
      const theirs = Buffer.from(Frame.encode(Frame.fromObject(f)).finish());
      expect(ours.toString("hex")).toBe(theirs.toString("hex"));
    }
  });

  it('session frame - an all-default frame is empty on the wire', () => {
    expect(encodeFrame({ id: 0, method: 0, payload: [] }).length).toBe(0);
  });

  it('session frame - decodes what protobufjs encodes, with unknown fields skipped', () => {
    for (const f of frames) {
      const bytes = Buffer.from(Frame.encode(Frame.fromObject(f)).finish());
      const d = decodeFrame(bytes);
      expect(plain(d)).toEqual(plain(f));
      // A field from a newer version (number 15, varint and bytes) is skipped.
      const extended = Buffer.concat([bytes, Buffer.from([0x78, 0x05, 0x7a, 0x02, 0xaa, 0xbb])]);
      expect(plain(decodeFrame(extended))).toEqual(plain(f));
    }
  });

  it('session frame - a bundle encodes byte-for-byte what protobufjs encodes, and decodes to its frames', () => {
    const encoded = frames.filter((x) => x.id !== 0).map((f) => encodeFrame(f));
    const ours = encodeBundle(encoded);
    const theirs = Buffer.from(Frame.encode(Frame.fromObject({ frames: encoded })).finish());
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    const d = decodeFrame(ours);
    expect(d.id).toBe(0);
    expect(d.method).toBe(0);
    expect(d.payload).toEqual([]);
    expect(d.frames!.map((b) => plain(decodeFrame(b)))).toEqual(frames.filter((x) => x.id !== 0).map(plain));
    // A plain frame has no `frames`.
    expect(decodeFrame(encoded[0]!).frames).toBeUndefined();
  });

  it('session frame - the coalescer writes at once until bundling is on, then one message per event-loop turn', async () => {
    const written: Buffer[] = [];
    const out = new FrameCoalescer((m) => written.push(m), 3);
    const f = (id: number) => encodeFrame({ id, method: SessionMethod.HEARTBEAT, payload: [] });
    out.push(f(1));
    expect(written.length).toBe(1);
    out.bundling = true;
    out.push(f(2));
    expect(written.length).toBe(1); // queued until the turn ends
    await new Promise((r) => setImmediate(r));
    expect(written.length).toBe(2);
    expect(decodeFrame(written[1]!).id).toBe(2); // a single frame is not wrapped
    for (const id of [3, 4, 5, 6]) out.push(f(id)); // maxFrames 3: the first three go at once
    expect(written.length).toBe(3);
    expect(decodeFrame(written[2]!).frames!.map((b) => decodeFrame(b).id)).toEqual([3, 4, 5]);
    await new Promise((r) => setImmediate(r));
    expect(decodeFrame(written[3]!).id).toBe(6);
    out.push(f(7));
    out.close();
    out.close();
    await new Promise((r) => setImmediate(r));
    out.push(f(8));
    expect(written.length).toBe(4); // nothing after close
  });

  it('session frame - method numbers match the SessionMethod enum of the proto', () => {
    for (const [name, value] of Object.entries(SessionMethod)) expect(Method.values[name]).toBe(value);
    expect(Object.keys(SESSION_METHOD_NAMES).map(Number).sort()).toEqual(Object.values(SessionMethod).sort());
  });

  it('session frame - truncated or malformed frames throw FrameError', () => {
    const good = encodeFrame(frames[1]!);
    for (let cut = 1; cut < good.length; cut += 7) {
      let thrown: unknown;
      try {
        decodeFrame(good.subarray(0, good.length - cut));
      } catch (err) {
        thrown = err;
      }
      // Cutting at a field boundary leaves a valid shorter frame; anything else must be a FrameError.
      if (thrown !== undefined) expect(thrown).toBeInstanceOf(FrameError);
    }
    expect(() => decodeFrame(Buffer.from([0x1a, 0x10, 0x01]))).toThrow(FrameError); // length beyond the end
    expect(() => decodeFrame(Buffer.from([0x08, 0xff, 0xff]))).toThrow(FrameError); // varint never ends
    expect(() => decodeFrame(Buffer.from([0x0b]))).toThrow(FrameError); // wire type 3 (groups)
    expect(() => decodeFrame(Buffer.from(Array.from({ length: 11 }, () => 0xff)))).toThrow(FrameError);
  });
});
