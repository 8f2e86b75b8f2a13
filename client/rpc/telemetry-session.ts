/**
 * One Telemetry bidi stream to one broker (rocketmq-notes §2.2).
 *
 * - On open (and on every reopen) the client writes `TelemetryCommand{settings}` describing
 *   itself (type, access point, timeout, publishing topics or subscriptions, user agent).
 * - `ready()` resolves with the first `settings` reply, and rejects if the stream fails first, a
 *   reply carries a non-OK status without settings, or no reply comes within
 *   `handshakeTimeoutMs` (the official Node client waits forever; Java gives up after 3 s).
 * - While the session is open, a stream that errors or ends is reopened after
 *   `reconnectDelayMs` (1 s, like the official clients); `reconnect_endpoints_command` reopens at
 *   once.
 * - `close()` half-closes the stream, gives the broker a moment to finish, then cancels it, so no
 *   call outlives the client.
 *
 * - `notify_unsubscribe_lite_command` (a lite topic of an Exclusive group was taken over by
 *   another client) goes to `onNotifyUnsubscribeLite`.
 *
 * Other server commands (transaction check-back, thread dumps, message verification) are logged
 * and ignored: no client in this SDK needs them yet.
 */
import type * as grpc from '@grpc/grpc-js';
import { fromStatus } from '../../proto/common/status.js';
import type { TelemetryCommand, TelemetryCommand__Output } from '../../proto/gen/apache/rocketmq/v2/TelemetryCommand.js';
import { ClientError } from '../errors.js';
import type { Endpoint } from '../types.js';
import { settingsFromWire, settingsToWire } from './convert.js';
import type { ClientSettings, ServerSettings } from './convert.js';
import { requestMetadata } from './metadata.js';
import type { RpcContext } from './rpc-context.js';
import { toClientError } from './unary-call.js';

export const DEFAULT_TELEMETRY_RECONNECT_DELAY_MS = 1_000;
/** How long close() waits for the broker to finish the stream before cancelling it. */
const CLOSE_GRACE_MS = 200;

export interface TelemetrySessionOptions {
  ctx: RpcContext;
  endpoint: Endpoint;
  /** The settings to report; called at every (re)open and `syncSettings()`. */
  settings: () => ClientSettings;
  /** Called with every settings reply. */
  onSettings?: (endpoint: Endpoint, settings: ServerSettings) => void;
  /** The broker dropped one of this client's lite subscriptions (NotifyUnsubscribeLiteCommand). */
  onNotifyUnsubscribeLite?: (endpoint: Endpoint, liteTopic: string) => void;
  /** How long `ready()` waits for the first settings reply. */
  handshakeTimeoutMs: number;
  /** Delay before reopening a failed stream. @default 1000 */
  reconnectDelayMs?: number;
}

type TelemetryStream = grpc.ClientDuplexStream<TelemetryCommand, TelemetryCommand__Output>;

export class TelemetrySession {
  readonly endpoint: Endpoint;
  private stream: TelemetryStream | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly readyPromise: Promise<void>;
  private settleReady!: (err?: Error) => void;
  private readySettled = false;

  constructor(private readonly options: TelemetrySessionOptions) {
    this.endpoint = options.endpoint;
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => {
        if (this.readySettled) return;
        this.readySettled = true;
        if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
        this.handshakeTimer = undefined;
        if (err) reject(err);
        else resolve();
      };
    });
    // Nobody may be waiting; rejections reach whoever calls ready().
    this.readyPromise.catch(() => undefined);
    this.handshakeTimer = setTimeout(() => {
      this.settleReady(
        new ClientError('TIMEOUT', `no telemetry settings reply from ${this.endpoint} within ${options.handshakeTimeoutMs} ms`, {
          endpoint: this.endpoint,
          method: 'Telemetry',
        }),
      );
    }, options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.open();
  }

  /** Resolves when the broker has answered the first settings command. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Re-sends the current settings (e.g. after the producer learned a new topic). */
  syncSettings(): void {
    this.write({ settings: settingsToWire(this.options.settings()) });
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.settleReady(new ClientError('CLOSED', 'client closed before the telemetry handshake finished', { endpoint: this.endpoint }));
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        stream.cancel();
        resolve();
      }, CLOSE_GRACE_MS);
      timer.unref();
      stream.once('status', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        stream.end();
      } catch {
        // already finished: 'status' has fired or the timer will cancel
      }
    });
  }

  private open(): void {
    if (this.closed) return;
    let stream: TelemetryStream;
    try {
      stream = this.options.ctx.channels.messaging(this.endpoint).telemetry(requestMetadata(this.options.ctx.clientId));
    } catch (err) {
      this.settleReady(err as Error); // channel pool closed: the client is going away
      return;
    }
    this.stream = stream;
    stream.on('data', (cmd: TelemetryCommand__Output) => this.onCommand(cmd));
    stream.on('error', (err: Error) => this.onBroken(stream, err));
    stream.on('end', () => this.onBroken(stream, undefined));
    this.write({ settings: settingsToWire(this.options.settings()) });
  }

  private write(cmd: TelemetryCommand): void {
    try {
      this.stream?.write(cmd);
    } catch (err) {
      this.options.ctx.logger.debug('telemetry write failed', { endpoint: this.endpoint, err });
    }
  }

  private onCommand(cmd: TelemetryCommand__Output): void {
    const logger = this.options.ctx.logger;
    if (cmd.settings) {
      this.options.onSettings?.(this.endpoint, settingsFromWire(cmd.settings));
      this.settleReady();
      return;
    }
    if (cmd.notifyUnsubscribeLiteCommand) {
      const liteTopic = cmd.notifyUnsubscribeLiteCommand.liteTopic;
      logger.debug('notify unsubscribe lite command', { endpoint: this.endpoint, liteTopic });
      if (liteTopic) this.options.onNotifyUnsubscribeLite?.(this.endpoint, liteTopic);
      return;
    }
    if (cmd.reconnectEndpointsCommand) {
      logger.info('broker asked to reconnect telemetry', { endpoint: this.endpoint });
      const old = this.stream;
      this.stream = undefined;
      old?.cancel();
      this.open();
      return;
    }
    if (cmd.status && !this.readySettled) {
      try {
        fromStatus(cmd.status);
      } catch (err) {
        this.settleReady(err as Error);
        return;
      }
    }
    logger.debug('ignoring telemetry command', { endpoint: this.endpoint, command: cmd.command ?? 'none' });
  }

  private onBroken(stream: TelemetryStream, err: Error | undefined): void {
    if (stream !== this.stream) return; // a stream we already replaced or closed
    this.stream = undefined;
    const site = { endpoint: this.endpoint, method: 'Telemetry' };
    this.settleReady(
      err ? toClientError(err, site) : new ClientError('TRANSPORT', `telemetry stream to ${this.endpoint} ended before the settings reply`, site),
    );
    if (this.closed) return;
    this.options.ctx.logger.debug('telemetry stream broken; reopening', { endpoint: this.endpoint, err });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, this.options.reconnectDelayMs ?? DEFAULT_TELEMETRY_RECONNECT_DELAY_MS);
    this.reconnectTimer.unref();
  }
}
