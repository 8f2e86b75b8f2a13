/**
 * agentmq.v1.MessagingSession on the broker: the MessagingService calls of the AgentMQ SDK,
 * multiplexed over one bidirectional stream per client (proto/agentmq/v1/session.proto).
 *
 * Each request frame is dispatched to the very same handler that serves the unary call
 * (messaging.ts), through a small call object that looks like grpc-js's to it: `request`, the
 * stream's `metadata`, `getDeadline()` from the frame's timeout, and for ReceiveMessage
 * `write` / `end` / the `cancelled` event. So validation, statuses and semantics cannot drift
 * between the two paths. The handler's response(s) go back as one frame with the request's id.
 *
 * Failures before the handler (unknown method, unparsable payload) are answered per request with
 * a gRPC code in the frame, like a failed unary call; a frame that does not parse at all ends the
 * stream with INVALID_ARGUMENT (the client re-opens one). The stream ending or being cancelled
 * cancels every parked receive of it.
 *
 * Bundles (session.proto): a stream message with several frames is handled frame by frame, as if
 * they had arrived one after the other. The broker announces that it reads bundles in its
 * response headers; to a client that announced the same, the answers ready in one event-loop turn
 * go out as one stream message (FrameCoalescer).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessagingServiceHandlers } from '../../proto/index.js';
import {
  decodeMessage,
  encodeFrame,
  FrameCoalescer,
  SESSION_BUNDLE_HEADER,
  SESSION_METHOD_NAMES,
  SessionMethod,
  type SessionFrame,
} from '../../proto/common/session-frame.js';
import { messagingServiceDefinition } from './wire.js';

/** Requests of one session handled at once, unless the broker is configured otherwise. */
export const DEFAULT_MAX_IN_FLIGHT = 4096;

/** When a frame carries no timeout: the same bound the unary calls get from grpc-js (none). */
const DEFAULT_TIMEOUT_MS = 2 ** 31 - 1;

type Duplex = grpc.ServerDuplexStream<Buffer, Buffer>;

/**
 * What a handler sees of a call (the subset of grpc-js's ServerUnaryCall / ServerWritableStream it
 * uses). Not an EventEmitter: the only event a handler listens to is 'cancelled' (a parked
 * receive), and one of these is made per request frame.
 */
class SessionCall {
  cancelled = false;
  private readonly out: Buffer[] = [];
  private done = false;
  private onCancelled: Array<() => void> | undefined;

  constructor(
    readonly request: unknown,
    readonly metadata: grpc.Metadata,
    /** Absolute deadline, ms since the epoch. */
    private readonly deadlineMs: number,
    private readonly peer: string,
    private readonly serialize: (value: unknown) => Buffer,
    private readonly finish: (payload: Buffer[]) => void,
    /** The request was cancelled: it is over without an answer (the client gave up on it). */
    private readonly release: () => void,
  ) {}

  /** Only 'cancelled' is ever emitted (a grpc-js call's other events do not occur here). */
  on(event: string, fn: () => void): this {
    if (event === 'cancelled') (this.onCancelled ??= []).push(fn);
    return this;
  }

  /** grpc-js's `Deadline` may be a number (ms since the epoch); no Date per request. */
  getDeadline(): number {
    return this.deadlineMs;
  }

  getPeer(): string {
    return this.peer;
  }

  getPath(): string {
    return '';
  }

  sendMetadata(): void {}

  write(value: unknown): boolean {
    if (!this.done) this.out.push(this.serialize(value));
    return true;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.finish(this.out);
  }

  cancel(): void {
    if (this.cancelled || this.done) return;
    this.cancelled = true;
    this.done = true; // whatever the handler writes now goes nowhere, as on a cancelled call
    const fns = this.onCancelled;
    this.onCancelled = undefined;
    if (fns) for (const fn of fns) fn();
    this.release();
  }
}

/**
 * @param maxInFlight most requests of one stream being handled at once (parked receives
 *   included); more are refused with RESOURCE_EXHAUSTED, as an HTTP/2 connection refuses streams
 *   beyond its concurrency limit. The SDK keeps far fewer in flight.
 */
export function createSessionHandler(handlers: MessagingServiceHandlers, logger: Logger, maxInFlight = DEFAULT_MAX_IN_FLIGHT): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  const service = messagingServiceDefinition();
  const table = handlers as unknown as Record<string, (...args: unknown[]) => unknown>;

  return (stream: Duplex) => {
    /** Receives parked on this stream, by request id. */
    const parked = new Map<number, SessionCall>();
    /** Requests dispatched and not answered yet. */
    let inFlight = 0;
    let open = true;
    const peer = stream.getPeer();
    const out = new FrameCoalescer((message) => stream.write(message));
    out.bundling = stream.metadata.get(SESSION_BUNDLE_HEADER)[0] === '1';
    const announce = new grpc.Metadata();
    announce.set(SESSION_BUNDLE_HEADER, '1');
    stream.sendMetadata(announce);

    const reply = (f: SessionFrame) => {
      if (open) out.push(encodeFrame(f));
    };

    const close = () => {
      if (!open) return;
      open = false;
      out.close();
      for (const c of parked.values()) c.cancel();
      parked.clear();
    };

    /** A frame that does not parse (or a nested bundle) ends the stream. */
    const malformed = (err: unknown) => {
      logger.warn('session frame does not parse; ending the stream', { peer, err: String(err) });
      close();
      stream.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `session frame does not parse: ${(err as Error).message}` });
    };

    stream.on('data', (buf: Buffer) => {
      let frames: SessionFrame[];
      try {
        frames = decodeMessage(buf);
      } catch (err) {
        malformed(err);
        return;
      }
      for (const f of frames) {
        if (!open) return;
        handle(f);
      }
    });

    const handle = (frame: SessionFrame) => {
      const { id, method } = frame;
      if (frame.cancel) {
        parked.get(id)?.cancel();
        return;
      }
      const name = SESSION_METHOD_NAMES[method];
      const definition = name ? service[name as keyof typeof service] : undefined;
      const handler = name ? table[name] : undefined;
      if (!name || !definition || !handler) {
        reply({ id, method, payload: [], grpcCode: grpc.status.UNIMPLEMENTED, grpcMessage: `session method ${method} is not served by this broker` });
        return;
      }
      if (frame.payload.length !== 1) {
        reply({ id, method, payload: [], grpcCode: grpc.status.INVALID_ARGUMENT, grpcMessage: `a ${name} request frame carries exactly one payload (got ${frame.payload.length})` });
        return;
      }
      if (inFlight >= maxInFlight) {
        reply({ id, method, payload: [], grpcCode: grpc.status.RESOURCE_EXHAUSTED, grpcMessage: `more than ${maxInFlight} requests in flight on this session; wait for answers before sending more` });
        return;
      }
      let request: unknown;
      try {
        request = definition.requestDeserialize(frame.payload[0]!);
      } catch (err) {
        reply({ id, method, payload: [], grpcCode: grpc.status.INTERNAL, grpcMessage: `Request message serialization failure: ${(err as Error).message}` });
        return;
      }
      const deadline = Date.now() + (frame.timeoutMs || DEFAULT_TIMEOUT_MS);
      const serialize = definition.responseSerialize as (value: unknown) => Buffer;
      inFlight++;
      let over = false;
      const end = (): boolean => {
        if (over) return false;
        over = true;
        inFlight--;
        if (method === SessionMethod.RECEIVE_MESSAGE) parked.delete(id);
        return true;
      };
      const answer = (f: SessionFrame) => {
        if (end()) reply(f);
      };
      const finish = (payload: Buffer[]) => answer({ id, method, payload });
      const call = new SessionCall(request, stream.metadata, deadline, peer, serialize, finish, end);
      if (method === SessionMethod.RECEIVE_MESSAGE) {
        parked.set(id, call);
        handler(call);
      } else {
        handler(call, (err: grpc.ServiceError | null, res: unknown) => {
          if (err) answer({ id, method, payload: [], grpcCode: err.code ?? grpc.status.UNKNOWN, grpcMessage: err.details || err.message });
          else {
            call.write(res);
            call.end();
          }
        });
      }
    };
    stream.on('end', () => {
      if (open) out.flush(); // answers already made go out before the stream ends
      close();
      stream.end();
    });
    stream.on('cancelled', close);
    stream.on('error', close);
  };
}
