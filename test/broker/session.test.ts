/**
 * agentmq.v1.MessagingSession on a real broker (in process, real gRPC and RocksDB), spoken frame
 * by frame: the same semantics as the unary calls, per-request errors, cancellation, and a bad
 * frame ending only its own stream.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../broker/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import { messagingService } from '../../proto/index.js';
import { decodeFrame, encodeBundle, encodeFrame, SESSION_BUNDLE_HEADER, SESSION_PATH, SessionMethod, type SessionFrame } from '../../proto/common/session-frame.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { adminClient, call, wireMetadata } from '../helpers/wire.js';

const service = messagingService().service;
const identity = (b: Buffer) => b;

/** A raw session stream with request/answer helpers. */
function openSession(address: string, md = wireMetadata()) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const stream = client.makeBidiStreamRequest<Buffer, Buffer>(SESSION_PATH, identity, identity, md);
  const answers = new Map<number, (f: SessionFrame) => void>();
  const early = new Map<number, SessionFrame>();
  let status: grpc.StatusObject | undefined;
  /** Stream messages received, and how many of them were bundles. */
  const received = { messages: 0, bundles: 0 };
  const headers = new Promise<grpc.Metadata>((resolve) => stream.on('metadata', resolve));
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    stream.on('status', (s: grpc.StatusObject) => {
      status = s;
      resolve(s);
    });
  });
  stream.on('error', () => {});
  stream.on('data', (buf: Buffer) => {
    const outer = decodeFrame(buf);
    received.messages++;
    if (outer.frames) received.bundles++;
    for (const f of outer.frames ? outer.frames.map((b) => decodeFrame(b)) : [outer]) {
      const waiter = answers.get(f.id);
      if (waiter) waiter(f);
      else early.set(f.id, f);
    }
  });
  const answer = (id: number, timeoutMs = 10_000) =>
    new Promise<SessionFrame>((resolve, reject) => {
      const got = early.get(id);
      if (got) return resolve(got);
      const t = setTimeout(() => reject(new Error(`no answer to ${id} within ${timeoutMs} ms`)), timeoutMs);
      answers.set(id, (f) => {
        clearTimeout(t);
        resolve(f);
      });
    });
  return {
    write: (f: SessionFrame) => stream.write(encodeFrame(f)),
    writeBundle: (fs: SessionFrame[]) => stream.write(encodeBundle(fs.map((f) => encodeFrame(f)))),
    received,
    headers,
    writeRaw: (b: Buffer) => stream.write(b),
    answer,
    ended,
    status: () => status,
    hasAnswer: (id: number) => early.has(id),
    end: () => stream.end(),
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

const sendPayload = (topic: string, ids: string[]) =>
  service.SendMessage.requestSerialize({
    messages: ids.map((id) => ({ topic: { name: topic }, body: Buffer.from(`body-${id}`), systemProperties: { messageId: id, messageType: 'NORMAL' } })),
  } as never);

const receivePayload = (topic: string, group: string, pollMs: number) =>
  service.ReceiveMessage.requestSerialize({
    group: { name: group },
    messageQueue: { topic: { name: topic }, id: 0 },
    filterExpression: { type: 'TAG', expression: '*' },
    batchSize: 32,
    invisibleDuration: { seconds: 30 },
    longPollingTimeout: { seconds: Math.floor(pollMs / 1000), nanos: (pollMs % 1000) * 1e6 },
  } as never);

const decodeReceive = (f: SessionFrame) => f.payload.map((p) => service.ReceiveMessage.responseDeserialize(p) as { message?: { body: Buffer; systemProperties: { messageId: string; receiptHandle: string } }; status?: { code: string } });

describe('broker - messaging session (raw frames)', () => {
  let broker: Broker;
  let dir: ReturnType<typeof tmpDir>;
  let addr: string;

  beforeAll(async () => {
    dir = tmpDir();
    broker = createBroker({ port: 0, nameservers: [], store: { dataDir: dir.path }, logger: silentLogger, pop: { maxLongPollingMs: 5_000 } });
    await broker.start();
    addr = `127.0.0.1:${broker.address.port}`;
    const admin = adminClient(addr);
    for (const name of ['sess-a', 'sess-b', 'sess-c']) {
      const res = await call(admin, admin.CreateTopic, { topic: { name, queueCount: 2 } });
      expect(res.status?.code).toBe('OK');
    }
    admin.close();
  });
  afterAll(async () => {
    await broker?.close();
    dir?.cleanup();
  });

  it('session - send, receive and ack as frames answer like the unary calls, matched by id', async () => {
    const s = openSession(addr);
    s.write({ id: 7, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('sess-a', ['s1', 's2', 's3'])] });
    const sent = service.SendMessage.responseDeserialize((await s.answer(7)).payload[0]!) as { status: { code: string }; entries: { messageId: string }[] };
    expect(sent.status.code).toBe('OK');
    expect(sent.entries.map((e) => e.messageId)).toEqual(['s1', 's2', 's3']);

    s.write({ id: 8, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('sess-a', 'g1', 1000)], timeoutMs: 5000 });
    const frames = decodeReceive(await s.answer(8));
    expect(frames[0]!.status?.code).toBe('OK');
    const msgs = frames.filter((f) => f.message).map((f) => f.message!);
    expect(msgs.map((m) => m.body.toString()).sort()).toEqual(['body-s1', 'body-s2', 'body-s3']);

    const ack = service.AckMessage.requestSerialize({
      group: { name: 'g1' },
      topic: { name: 'sess-a' },
      entries: msgs.map((m) => ({ messageId: m.systemProperties.messageId, receiptHandle: m.systemProperties.receiptHandle })),
    } as never);
    s.write({ id: 9, method: SessionMethod.ACK_MESSAGE, payload: [ack] });
    const acked = service.AckMessage.responseDeserialize((await s.answer(9)).payload[0]!) as { status: { code: string } };
    expect(acked.status.code).toBe('OK');

    // Nothing left: an empty long poll answers MESSAGE_NOT_FOUND after its poll time.
    s.write({ id: 10, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('sess-a', 'g1', 200)], timeoutMs: 5000 });
    expect(decodeReceive(await s.answer(10)).map((f) => f.status?.code)).toEqual(['MESSAGE_NOT_FOUND']);
    s.close();
  });

  it('session - a parked receive does not hold up other requests of the same stream, and is woken by a send', async () => {
    const s = openSession(addr);
    s.write({ id: 1, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('sess-b', 'g1', 4000)], timeoutMs: 10_000 });
    const t0 = Date.now();
    s.write({ id: 2, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('sess-b', ['b1'])] });
    await s.answer(2);
    const frames = decodeReceive(await s.answer(1));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(frames.filter((f) => f.message).map((f) => f.message!.body.toString())).toEqual(['body-b1']);
    s.close();
  });

  it('session - status errors travel in the payload; dispatch errors as a gRPC code per request; the stream lives on', async () => {
    const s = openSession(addr);
    // A RocketMQ status error, exactly as the unary call reports it.
    s.write({ id: 1, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('no-such-topic', ['x1'])] });
    const res = service.SendMessage.responseDeserialize((await s.answer(1)).payload[0]!) as { status: { code: string } };
    expect(res.status.code).toBe('TOPIC_NOT_FOUND');
    // Unknown method, bad payload count, unparsable payload.
    s.write({ id: 2, method: 99, payload: [Buffer.alloc(0)] });
    s.write({ id: 3, method: SessionMethod.SEND_MESSAGE, payload: [] });
    s.write({ id: 4, method: SessionMethod.SEND_MESSAGE, payload: [Buffer.from([0x0a, 0x7f, 0x01])] });
    const [a2, a3, a4] = await Promise.all([s.answer(2), s.answer(3), s.answer(4)]);
    expect([a2.grpcCode, a3.grpcCode, a4.grpcCode]).toEqual([grpc.status.UNIMPLEMENTED, grpc.status.INVALID_ARGUMENT, grpc.status.INTERNAL]);
    expect(a2.grpcMessage).toMatch(/not served/);
    // Still usable.
    s.write({ id: 5, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('sess-c', ['c0'])] });
    expect((service.SendMessage.responseDeserialize((await s.answer(5)).payload[0]!) as { status: { code: string } }).status.code).toBe('OK');
    s.close();
  });

  it('session - the client id is required (stream metadata), as on every unary call', async () => {
    const s = openSession(addr, wireMetadata(null));
    s.write({ id: 1, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('sess-c', ['nobody'])] });
    const res = service.SendMessage.responseDeserialize((await s.answer(1)).payload[0]!) as { status: { code: string } };
    expect(res.status.code).toBe('CLIENT_ID_REQUIRED');
    s.close();
  });

  it('session - a frame that does not parse ends that stream with INVALID_ARGUMENT; the broker keeps serving others', async () => {
    const bad = openSession(addr);
    bad.writeRaw(Buffer.from([0x1a, 0x40, 0x01]));
    const st = await bad.ended;
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/does not parse/);
    bad.close();
    const good = openSession(addr);
    good.write({ id: 1, method: SessionMethod.HEARTBEAT, payload: [service.Heartbeat.requestSerialize({ clientType: 'PRODUCER' } as never)] });
    const hb = service.Heartbeat.responseDeserialize((await good.answer(1)).payload[0]!) as { status: { code: string } };
    expect(hb.status.code).toBe('OK');
    good.close();
  });

  it('session - cancelling a parked receive (cancel frame, or closing the stream) leaves new messages to the next receive', async () => {
    const s = openSession(addr);
    s.write({ id: 1, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('sess-c', 'gc', 4000)], timeoutMs: 10_000 });
    s.write({ id: 2, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('sess-c', 'gc', 4000)], timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    s.write({ id: 1, method: SessionMethod.RECEIVE_MESSAGE, payload: [], cancel: true });
    s.close(); // cancels id 2 with the stream
    await new Promise((r) => setTimeout(r, 100));
    const other = openSession(addr);
    other.write({ id: 1, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('sess-c', ['c1'])] });
    await other.answer(1);
    other.write({ id: 2, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('sess-c', 'gc', 2000)], timeoutMs: 10_000 });
    const msgs = decodeReceive(await other.answer(2)).filter((f) => f.message).map((f) => f.message!.body.toString());
    // 'c1' did not go to either cancelled receive ('c0' predates the group, which starts at the end).
    expect(msgs).toEqual(['body-c1']);
    other.close();
  });

  it('session - requests beyond maxSessionInFlight are refused with RESOURCE_EXHAUSTED; answered ones free their place', async () => {
    const d = tmpDir();
    const small = createBroker({ port: 0, nameservers: [], store: { dataDir: d.path }, logger: silentLogger, maxSessionInFlight: 3, pop: { maxLongPollingMs: 5_000 } });
    await small.start();
    const a = `127.0.0.1:${small.address.port}`;
    const admin = adminClient(a);
    await call(admin, admin.CreateTopic, { topic: { name: 'cap', queueCount: 1 } });
    admin.close();
    try {
      const s = openSession(a);
      // Three parked receives fill the session; a fourth request is refused at once.
      for (const id of [1, 2, 3]) s.write({ id, method: SessionMethod.RECEIVE_MESSAGE, payload: [receivePayload('cap', 'g', 3000)], timeoutMs: 10_000 });
      s.write({ id: 4, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('cap', ['c1'])] });
      const refused = await s.answer(4);
      expect(refused.grpcCode).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused.grpcMessage).toMatch(/more than 3 requests in flight/);
      // Cancelling one parked receive frees a place: the send now goes through and wakes another.
      s.write({ id: 1, method: SessionMethod.RECEIVE_MESSAGE, payload: [], cancel: true });
      s.write({ id: 5, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('cap', ['c2'])] });
      const sent = service.SendMessage.responseDeserialize((await s.answer(5)).payload[0]!) as { status: { code: string } };
      expect(sent.status.code).toBe('OK');
      // ...which one of the two receives still parked gets; the cancelled one is never answered.
      const [r2, r3] = await Promise.all([s.answer(2, 5000).then(decodeReceive), s.answer(3, 5000).then(decodeReceive)]);
      expect([...r2, ...r3].filter((f) => f.message).map((f) => f.message!.body.toString())).toEqual(['body-c2']);
      expect(s.hasAnswer(1)).toBe(false);
      s.close();
    } finally {
      await small.close();
      d.cleanup();
    }
  });

  it('session - a bundle of frames is handled frame by frame; a client that reads bundles gets its answers bundled', async () => {
    const md = wireMetadata();
    md.set(SESSION_BUNDLE_HEADER, '1');
    const s = openSession(addr, md);
    // The broker announces that it reads bundles.
    expect((await s.headers).get(SESSION_BUNDLE_HEADER)).toEqual(['1']);
    // Ten sends in one stream message, a heartbeat among them: each is answered under its own id.
    const ids = Array.from({ length: 10 }, (_, i) => i + 1);
    s.writeBundle([
      ...ids.map((id) => ({ id, method: SessionMethod.SEND_MESSAGE, payload: [sendPayload('sess-a', [`bundle-${id}`])] })),
      { id: 11, method: SessionMethod.HEARTBEAT, payload: [service.Heartbeat.requestSerialize({ clientType: 'PRODUCER' } as never)] },
    ]);
    const answers = await Promise.all(ids.map((id) => s.answer(id)));
    for (const [i, a] of answers.entries()) {
      const res = service.SendMessage.responseDeserialize(a.payload[0]!) as { status: { code: string }; entries: { messageId: string }[] };
      expect(res.status.code).toBe('OK');
      expect(res.entries[0]!.messageId).toBe(`bundle-${i + 1}`);
    }
    expect((service.Heartbeat.responseDeserialize((await s.answer(11)).payload[0]!) as { status: { code: string } }).status.code).toBe('OK');
    // Eleven answers in fewer stream messages than answers.
    expect(s.received.bundles).toBeGreaterThan(0);
    expect(s.received.messages).toBeLessThan(11);
    s.close();
  });

  it('session - a client that does not announce bundles gets one frame per stream message, even for a bundle it sent', async () => {
    const s = openSession(addr);
    expect((await s.headers).get(SESSION_BUNDLE_HEADER)).toEqual(['1']);
    const ids = [1, 2, 3, 4, 5];
    s.writeBundle(ids.map((id) => ({ id, method: SessionMethod.HEARTBEAT, payload: [service.Heartbeat.requestSerialize({ clientType: 'PRODUCER' } as never)] })));
    await Promise.all(ids.map((id) => s.answer(id)));
    expect(s.received).toEqual({ messages: 5, bundles: 0 });
    s.close();
  });

  it('session - a bundle inside a bundle ends that stream with INVALID_ARGUMENT', async () => {
    const s = openSession(addr);
    const inner = encodeBundle([encodeFrame({ id: 1, method: SessionMethod.HEARTBEAT, payload: [Buffer.alloc(0)] })]);
    s.writeRaw(encodeBundle([inner]));
    const st = await s.ended;
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toMatch(/bundle inside a bundle/);
    s.close();
  });

  it('session - a broker with messagingSession: false answers UNIMPLEMENTED', async () => {
    const d = tmpDir();
    const plain = createBroker({ port: 0, nameservers: [], store: { dataDir: d.path }, logger: silentLogger, messagingSession: false });
    await plain.start();
    try {
      const s = openSession(`127.0.0.1:${plain.address.port}`);
      s.write({ id: 1, method: SessionMethod.HEARTBEAT, payload: [service.Heartbeat.requestSerialize({ clientType: 'PRODUCER' } as never)] });
      expect((await s.ended).code).toBe(grpc.status.UNIMPLEMENTED);
      s.close();
    } finally {
      await plain.close();
      d.cleanup();
    }
  });
});
