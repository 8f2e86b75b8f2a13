/**
 * The SDK's messaging session (client/rpc/session-mux.ts) against hand-made gRPC servers that
 * misbehave on purpose: deadlines, aborts, broken streams, and brokers without the session.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientError, silentLogger } from '../../client/index.js';
import { BrokerRpc } from '../../client/rpc/broker-rpc.js';
import { ChannelPool } from '../../client/rpc/channels.js';
import { SessionMux } from '../../client/rpc/session-mux.js';
import type { RpcContext } from '../../client/rpc/rpc-context.js';
import { messagingService } from '../../proto/index.js';
import { decodeFrame, encodeBundle, encodeFrame, SESSION_BUNDLE_HEADER, SESSION_SERVICE, SessionMethod, type SessionFrame } from '../../proto/common/session-frame.js';

const service = messagingService().service;

interface FakeBroker {
  endpoint: string;
  frames: SessionFrame[];
  /** Stream messages from the client that were bundles. */
  bundles: number;
  /** The client's `x-mq-session-bundle` header values. */
  bundleHeaders: string[];
  streams: number;
  unaryHeartbeats: number;
  close(): Promise<void>;
}

/**
 * A server whose session handler is `onFrame` (reply with `write`), or none at all, plus a unary
 * Heartbeat that answers OK.
 */
async function fakeBroker(
  onFrame?: (f: SessionFrame, write: (f: SessionFrame) => void, stream: grpc.ServerDuplexStream<Buffer, Buffer>) => void,
  announceBundles = false,
): Promise<FakeBroker> {
  const server = new grpc.Server();
  const state: FakeBroker = { endpoint: '', frames: [], bundles: 0, bundleHeaders: [], streams: 0, unaryHeartbeats: 0, close: async () => {} };
  if (onFrame) {
    server.addService(SESSION_SERVICE, {
      Session: (stream: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        state.streams++;
        state.bundleHeaders.push(...(stream.metadata.get(SESSION_BUNDLE_HEADER) as string[]));
        if (announceBundles) {
          const md = new grpc.Metadata();
          md.set(SESSION_BUNDLE_HEADER, '1');
          stream.sendMetadata(md);
        }
        stream.on('data', (b: Buffer) => {
          const outer = decodeFrame(b);
          if (outer.frames) state.bundles++;
          for (const f of outer.frames ? outer.frames.map((x) => decodeFrame(x)) : [outer]) {
            state.frames.push(f);
            onFrame(f, (r) => stream.write(encodeFrame(r)), stream);
          }
        });
        stream.on('end', () => stream.end());
        stream.on('error', () => {});
      },
    });
  }
  server.addService(service, {
    Heartbeat: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
      state.unaryHeartbeats++;
      cb(null, { status: { code: 'OK', message: 'OK' } });
    },
  } as never);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  state.endpoint = `127.0.0.1:${port}`;
  state.close = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  return state;
}

const heartbeatOk = (f: SessionFrame, write: (f: SessionFrame) => void) => {
  if (f.method === SessionMethod.HEARTBEAT && !f.cancel) write({ id: f.id, method: f.method, payload: [service.Heartbeat.responseSerialize({ status: { code: 'OK', message: 'OK' } } as never)] });
};

describe('client - messaging session', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function rpc(requestTimeoutMs = 2_000) {
    const channels = new ChannelPool();
    const ctx: RpcContext = { channels, clientId: 'session-test@1', requestTimeoutMs, logger: silentLogger };
    const mux = new SessionMux(ctx);
    cleanups.push(() => {
      mux.close();
      channels.close();
    });
    return { rpc: new BrokerRpc(ctx, mux), mux };
  }

  it('session mux - requests share one stream; answers are matched by id in any order', async () => {
    let held: SessionFrame | undefined;
    const b = await fakeBroker((f, write) => {
      // Answer the first heartbeat only after the second one.
      if (!held) held = f;
      else {
        heartbeatOk(f, write);
        heartbeatOk(held, write);
      }
    });
    cleanups.push(() => b.close());
    const { rpc: r } = rpc();
    await Promise.all([r.heartbeat(b.endpoint, 'PRODUCER'), r.heartbeat(b.endpoint, 'PRODUCER')]);
    expect(b.streams).toBe(1);
    expect(b.unaryHeartbeats).toBe(0);
    expect(new Set(b.frames.map((f) => f.id)).size).toBe(b.frames.length);
  });

  it('session mux - requests are bundled only once the broker announced bundles; bundled answers are matched by id', async () => {
    const b = await fakeBroker((f, _write, stream) => {
      // Answer every heartbeat of a turn in one bundle, in reverse order.
      held.push(f);
      if (held.length === 1) {
        setImmediate(() => {
          const answers = held.splice(0).reverse();
          stream.write(encodeBundle(answers.map((a) => encodeFrame({ id: a.id, method: a.method, payload: [service.Heartbeat.responseSerialize({ status: { code: 'OK', message: 'OK' } } as never)] }))));
        });
      }
    }, true);
    const held: SessionFrame[] = [];
    cleanups.push(() => b.close());
    const { rpc: r } = rpc();
    // The first request opens the stream: no header seen yet, so it goes alone.
    await r.heartbeat(b.endpoint, 'PRODUCER');
    expect(b.bundles).toBe(0);
    await Promise.all(Array.from({ length: 8 }, () => r.heartbeat(b.endpoint, 'PRODUCER')));
    expect(b.bundleHeaders).toEqual(['1']);
    expect(b.streams).toBe(1);
    expect(b.frames.length).toBe(9);
    expect(b.bundles).toBe(1); // the eight requests of one turn in one stream message
  });

  it('session mux - without the broker announcing bundles, every request is its own stream message', async () => {
    const b = await fakeBroker(heartbeatOk);
    cleanups.push(() => b.close());
    const { rpc: r } = rpc();
    await r.heartbeat(b.endpoint, 'PRODUCER');
    await Promise.all(Array.from({ length: 8 }, () => r.heartbeat(b.endpoint, 'PRODUCER')));
    expect(b.frames.length).toBe(9);
    expect(b.bundles).toBe(0);
  });

  it('session mux - a request the broker never answers times out (TIMEOUT) and is cancelled with a cancel frame', async () => {
    const b = await fakeBroker(() => {});
    cleanups.push(() => b.close());
    const { rpc: r } = rpc(300);
    const t0 = Date.now();
    const err = await r.heartbeat(b.endpoint, 'PRODUCER').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await new Promise((r2) => setTimeout(r2, 50));
    const [req, cancel] = b.frames;
    expect(req!.timeoutMs).toBe(300);
    expect(cancel).toMatchObject({ id: req!.id, cancel: true });
  });

  it('session mux - an aborted receive rejects at once (ABORTED) and cancels its request on the broker', async () => {
    const b = await fakeBroker(() => {});
    cleanups.push(() => b.close());
    const { rpc: r } = rpc();
    const ac = new AbortController();
    const p = r.receiveMessages(
      b.endpoint,
      { group: 'g', queue: { topic: 't', id: 0, brokerName: 'b', endpoint: b.endpoint, permission: 'READ_WRITE', acceptTypes: [] } as never, tagExpression: '*', batchSize: 1, invisibleDurationMs: 30_000, longPollingTimeoutMs: 20_000 },
      ac.signal,
    );
    await new Promise((r2) => setTimeout(r2, 100));
    ac.abort();
    const err = await p.catch((e: unknown) => e);
    expect((err as ClientError).code).toBe('ABORTED');
    await new Promise((r2) => setTimeout(r2, 50));
    expect(b.frames.map((f) => [f.method, f.cancel ?? false])).toEqual([
      [SessionMethod.RECEIVE_MESSAGE, false],
      [SessionMethod.RECEIVE_MESSAGE, true],
    ]);
    expect(b.frames[0]!.timeoutMs).toBe(22_000); // request timeout + long poll
  });

  it('session mux - a broken stream fails its pending requests (TRANSPORT) and the next request opens a new one', async () => {
    let first = true;
    const b = await fakeBroker((f, write, stream) => {
      if (first) {
        first = false;
        stream.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
        return;
      }
      heartbeatOk(f, write);
    });
    cleanups.push(() => b.close());
    const { rpc: r } = rpc();
    const err = await r.heartbeat(b.endpoint, 'PRODUCER').catch((e: unknown) => e);
    expect((err as ClientError).code).toBe('TRANSPORT');
    expect((err as ClientError).message).toMatch(/going away/);
    await r.heartbeat(b.endpoint, 'PRODUCER');
    expect(b.streams).toBe(2);
  });

  it('session mux - a broker without the session gets unary calls, and is not asked again', async () => {
    const b = await fakeBroker();
    cleanups.push(() => b.close());
    const { rpc: r, mux } = rpc();
    await r.heartbeat(b.endpoint, 'PRODUCER');
    expect(mux.supports(b.endpoint)).toBe(false);
    await r.heartbeat(b.endpoint, 'PRODUCER');
    expect(b.unaryHeartbeats).toBe(2);
  });

  it('session mux - close() fails pending requests (ABORTED) and later requests (CLOSED); it is idempotent', async () => {
    const b = await fakeBroker(() => {});
    cleanups.push(() => b.close());
    const { rpc: r, mux } = rpc();
    const p = r.heartbeat(b.endpoint, 'PRODUCER').catch((e: unknown) => e);
    await new Promise((r2) => setTimeout(r2, 50));
    mux.close();
    mux.close();
    expect(((await p) as ClientError).code).toBe('ABORTED');
    // A closed mux is no longer used: BrokerRpc makes the unary call instead.
    expect(mux.supports(b.endpoint)).toBe(false);
  });
});
