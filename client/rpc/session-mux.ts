/**
 * The SDK's side of agentmq.v1.MessagingSession (proto/agentmq/v1/session.proto): one long-lived
 * bidirectional stream per broker, carrying the MessagingService requests BrokerRpc would
 * otherwise make as separate unary calls. A frame on an open stream costs a fraction of a unary
 * call's HTTP/2 stream, headers and trailers (../shared/reference/grpc-costs.md).
 *
 * - Requests get an id; the broker answers each with one frame of the same id, in any order.
 * - Each request has its own deadline (a timer here, and `timeout_ms` in the frame for the
 *   broker's long polls). A timed-out or aborted request sends a `cancel` frame.
 * - The stream is opened on the first request and re-opened on the next request after it broke;
 *   a broken stream fails its pending requests with the error a unary call would have got
 *   (TRANSPORT, TIMEOUT, ABORTED), so retries and broker isolation work unchanged.
 * - A broker that answers UNIMPLEMENTED (not an AgentMQ broker, or an older one) is remembered:
 *   `supports()` turns false and the pending requests reject with SessionUnsupported, which
 *   BrokerRpc answers by making the unary call instead.
 * - Bundles: once the broker's response headers say it reads them, the requests made in one
 *   event-loop turn go out as one stream message (FrameCoalescer), and the broker answers in
 *   bundles too (we announce that we read them). A gRPC message costs ~13 us on each side.
 */
import * as grpc from '@grpc/grpc-js';
import {
  decodeMessage,
  encodeFrame,
  FrameCoalescer,
  SESSION_BUNDLE_HEADER,
  SESSION_METHOD_NAMES,
  SESSION_PATH,
  type SessionFrame,
  type SessionMethod,
} from '../../proto/common/session-frame.js';
import { ClientError } from '../errors.js';
import type { Endpoint } from '../types.js';
import { abortError } from '../util/abort.js';
import { requestMetadata } from './metadata.js';
import type { RpcContext } from './rpc-context.js';
import { toClientError } from './unary-call.js';

/** The broker does not serve the session: make the unary call instead. */
export class SessionUnsupported extends Error {
  constructor(readonly endpoint: Endpoint) {
    super(`broker ${endpoint} does not serve agentmq.v1.MessagingSession`);
  }
}

interface Pending {
  method: SessionMethod;
  resolve(payload: Buffer[]): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  cleanup?: () => void;
}

type Stream = grpc.ClientDuplexStream<Buffer, Buffer>;

const identity = (b: Buffer): Buffer => b;

class EndpointSession {
  private stream: Stream | undefined;
  private out: FrameCoalescer | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly ctx: RpcContext,
    readonly endpoint: Endpoint,
    private readonly onUnsupported: () => void,
  ) {}

  request(method: SessionMethod, payload: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer[]> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const stream = this.open();
    const id = this.nextId++;
    if (this.nextId > Number.MAX_SAFE_INTEGER) this.nextId = 1;
    return new Promise<Buffer[]>((resolve, reject) => {
      const site = { endpoint: this.endpoint, method: SESSION_METHOD_NAMES[method] ?? String(method) };
      const p: Pending = {
        method,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(id)?.reject(toClientError({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, site));
          this.write({ id, method, payload: [], cancel: true });
        }, timeoutMs),
      };
      if (signal) {
        const onAbort = () => {
          this.settle(id)?.reject(abortError(signal));
          this.write({ id, method, payload: [], cancel: true });
        };
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, p);
      this.out!.push(encodeFrame({ id, method, payload: [payload], timeoutMs: Math.min(timeoutMs, 2 ** 32 - 1) }));
    });
  }

  /** Ends the stream; pending requests fail as cancelled calls would (ABORTED). */
  close(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.out?.close();
    this.out = undefined;
    this.failAll({ code: grpc.status.CANCELLED, details: 'client closed' });
    stream?.cancel();
  }

  private open(): Stream {
    if (this.stream) return this.stream;
    const client = this.ctx.channels.generic(this.endpoint);
    const metadata = requestMetadata(this.ctx.clientId);
    metadata.set(SESSION_BUNDLE_HEADER, '1');
    const stream = client.makeBidiStreamRequest<Buffer, Buffer>(SESSION_PATH, identity, identity, metadata);
    const out = new FrameCoalescer((message) => stream.write(message));
    this.stream = stream;
    this.out = out;
    const broken = (err: Partial<grpc.ServiceError>) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.out = undefined;
      out.close();
      if (err.code === grpc.status.UNIMPLEMENTED) {
        this.onUnsupported();
        for (const id of [...this.pending.keys()]) this.settle(id)?.reject(new SessionUnsupported(this.endpoint));
        return;
      }
      this.failAll(err);
    };
    stream.on('metadata', (md: grpc.Metadata) => {
      if (md.get(SESSION_BUNDLE_HEADER)[0] === '1') out.bundling = true;
    });
    stream.on('data', (buf: Buffer) => this.onMessage(buf));
    stream.on('error', (err: grpc.ServiceError) => broken(err));
    stream.on('end', () => broken({ code: grpc.status.UNAVAILABLE, details: 'the broker ended the session' }));
    return stream;
  }

  /** A stream message: one frame, or a bundle of them. */
  private onMessage(buf: Buffer): void {
    let frames: SessionFrame[];
    try {
      frames = decodeMessage(buf);
    } catch (err) {
      this.ctx.logger.warn('session frame from the broker does not parse; re-opening the session', { endpoint: this.endpoint, err });
      const stream = this.stream;
      this.stream = undefined;
      this.out?.close();
      this.out = undefined;
      this.failAll({ code: grpc.status.INTERNAL, details: `Response message parsing error: ${(err as Error).message}` });
      stream?.cancel();
      return;
    }
    for (const f of frames) this.onFrame(f);
  }

  private onFrame(frame: SessionFrame): void {
    const p = this.settle(frame.id);
    if (!p) return; // timed out or aborted meanwhile
    if (frame.grpcCode) {
      const site = { endpoint: this.endpoint, method: SESSION_METHOD_NAMES[p.method] ?? String(p.method) };
      p.reject(toClientError({ code: frame.grpcCode, details: frame.grpcMessage ?? '' }, site));
    } else {
      p.resolve(frame.payload);
    }
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.cleanup?.();
    return p;
  }

  private failAll(err: Partial<grpc.ServiceError>): void {
    for (const id of [...this.pending.keys()]) {
      const p = this.settle(id)!;
      p.reject(toClientError(err, { endpoint: this.endpoint, method: SESSION_METHOD_NAMES[p.method] ?? String(p.method) }));
    }
  }

  private write(frame: SessionFrame): void {
    this.out?.push(encodeFrame(frame));
  }
}

export class SessionMux {
  private readonly sessions = new Map<Endpoint, EndpointSession>();
  private readonly unsupported = new Set<Endpoint>();
  private closed = false;

  constructor(private readonly ctx: RpcContext) {}

  /** False once `endpoint` answered UNIMPLEMENTED: use the unary calls there. */
  supports(endpoint: Endpoint): boolean {
    return !this.closed && !this.unsupported.has(endpoint);
  }

  /** One request on `endpoint`'s session; resolves with the response payload(s). */
  request(endpoint: Endpoint, method: SessionMethod, payload: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new ClientError('CLOSED', 'client is closed', { endpoint }));
    let s = this.sessions.get(endpoint);
    if (!s) {
      s = new EndpointSession(this.ctx, endpoint, () => {
        this.unsupported.add(endpoint);
        this.ctx.logger.info('broker does not serve the messaging session; using unary calls there', { endpoint });
      });
      this.sessions.set(endpoint, s);
    }
    return s.request(method, payload, timeoutMs, signal);
  }

  /** Ends every session (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}
