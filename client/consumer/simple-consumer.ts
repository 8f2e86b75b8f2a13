/**
 * SimpleConsumer: pop-style consumption. The caller pulls messages (`receive()` or the
 * `messages()` async iterator), and acks, nacks or extends each one.
 *
 * - `start()` resolves the route of every subscribed topic and completes the telemetry settings
 *   handshake with their brokers (rejecting if no broker answers).
 * - `receive()` sends one long-polling ReceiveMessage, round-robin over (topic, broker) pairs;
 *   the broker pops across all queues of the topic it holds, so one queue per broker is named.
 * - Acks issued in the same tick for the same (broker, topic) travel in one AckMessage (the group
 *   is the consumer's); every `ack()` settles with its own entry's status.
 * - `nack(msg, delayMs)` / `changeInvisibleDuration(msg, ms)` are ChangeInvisibleDuration calls;
 *   the message adopts the receipt handle the broker returns.
 * - `close()` aborts parked receives, flushes pending acks, sends NotifyClientTermination and
 *   closes telemetry and channels.
 */
import { backoffDelayMs } from '../rpc/convert.js';
import { ClientCore } from '../client.js';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { ClientError, isRetryableError } from '../errors.js';
import type { ChangeInvisibleRequest } from '../rpc/broker-rpc.js';
import { isTransportFailure } from '../route/endpoint-isolation.js';
import { readableQueues } from '../route/route-cache.js';
import type { RouteQueue } from '../route/route-cache.js';
import { linkSignals, sleep } from '../util/abort.js';
import { AckDispatcher } from './ack-dispatcher.js';
import { ReceivedMessageImpl } from './received-message.js';
import type { MessageOperations, ReceivedMessage } from './received-message.js';
import {
  checkAwaitDuration,
  checkInvisibleDuration,
  checkMaxMessages,
  MAX_INVISIBLE_DURATION_MS,
  resolveSimpleConsumerOptions,
} from './simple-consumer-options.js';
import type { ReceiveOptions, ResolvedSimpleConsumerOptions, SimpleConsumerOptions } from './simple-consumer-options.js';

type State = 'created' | 'starting' | 'started' | 'closing' | 'closed';

/** Errors the `messages()` loop rides out (with back-off) instead of ending the iteration. */
function isTransient(err: unknown): boolean {
  return isRetryableError(err) || (err instanceof ClientError && err.code === 'NO_ROUTE');
}

/** Until a broker's Settings say otherwise: 1 s, doubling, at most 60 s (the broker's defaults). */
const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 60_000, multiplier: 2 };

export class SimpleConsumer {
  private readonly options: ResolvedSimpleConsumerOptions;
  private readonly core: ClientCore;
  private readonly acks: AckDispatcher;
  private readonly ops: MessageOperations;
  private readonly topics: string[];
  private state: State = 'created';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  /** Aborted by close(): cancels parked receives and back-off sleeps. */
  private readonly closeController = new AbortController();
  private cursor = 0;
  /** Retry backoff for nack() without a delay; replaced by the broker's Settings reply. */
  private backoff = DEFAULT_BACKOFF;

  constructor(options: SimpleConsumerOptions) {
    this.options = resolveSimpleConsumerOptions(options);
    this.topics = Object.keys(this.options.subscriptions);
    const { client, group, subscriptions, awaitDurationMs, maxMessages } = this.options;
    this.core = new ClientCore({
      options: client,
      clientType: 'SIMPLE_CONSUMER',
      group,
      settings: () => ({
        clientType: 'SIMPLE_CONSUMER',
        accessPoint: client.nameserver,
        requestTimeoutMs: client.requestTimeoutMs,
        subscription: { group, subscriptions, longPollingTimeoutMs: awaitDurationMs, receiveBatchSize: maxMessages },
      }),
      onSettings: (_endpoint, settings) => {
        if (settings.backoff) this.backoff = settings.backoff;
      },
    });
    this.acks = new AckDispatcher(this.core, group);
    this.ops = {
      ack: (m) => this.doAck(m),
      changeInvisibleDuration: (m, ms) => this.doChangeInvisibleDuration(m, ms),
      retryDelayMs: (attempt) => backoffDelayMs(this.backoff, attempt),
    };
  }

  /** The `x-mq-client-id` of this consumer. */
  get clientId(): string {
    return this.core.clientId;
  }

  get group(): string {
    return this.options.group;
  }

  /** Resolves routes and completes the telemetry handshake with the topics' brokers. Idempotent. */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new ClientError('CLOSED', 'consumer is closed'));
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.startPromise = undefined;
      if (this.state === 'starting') this.state = 'created';
      throw err;
    });
    return this.startPromise;
  }

  /**
   * One long-polling receive from the next (topic, broker) in the round. Resolves with up to
   * `maxMessages` messages, or none when the await duration passed without any. Rejects with
   * ClientError('CLOSED') if the consumer closes meanwhile, ClientError('ABORTED') if `signal`
   * aborts.
   */
  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    this.checkStarted();
    const maxMessages = checkMaxMessages('maxMessages', options.maxMessages ?? this.options.maxMessages);
    const invisibleDurationMs = checkInvisibleDuration('invisibleDurationMs', options.invisibleDurationMs ?? this.options.invisibleDurationMs);
    const awaitDurationMs = checkAwaitDuration('awaitDurationMs', options.awaitDurationMs ?? this.options.awaitDurationMs);
    const queue = this.nextQueue();
    const linked = linkSignals(this.closeController.signal, options.signal);
    try {
      const data = await this.core.brokers.receiveMessages(
        queue.endpoint,
        {
          group: this.options.group,
          queue,
          tagExpression: this.options.subscriptions[queue.topic] ?? '*',
          batchSize: maxMessages,
          invisibleDurationMs,
          longPollingTimeoutMs: awaitDurationMs,
        },
        linked.signal,
      );
      return data.map((d) => new ReceivedMessageImpl(d, this.ops));
    } catch (err) {
      if (isRetryableError(err)) {
        this.core.routes.refresh(queue.topic).catch((e: unknown) => this.core.logger.debug('route refresh failed', { topic: queue.topic, err: e }));
      }
      throw err;
    } finally {
      linked.dispose();
    }
  }

  /**
   * Messages as an async iterable: keeps receiving (one long-poll in flight at a time) until the
   * consumer closes, `signal` aborts, or the loop `break`s. Transient failures (broker down,
   * timeouts, no route yet) are logged and retried with back-off; other errors end the iteration
   * by throwing. Messages received but not yet handed out when the loop stops are nacked so they
   * are redelivered at once.
   */
  messages(options: ReceiveOptions = {}): AsyncIterable<ReceivedMessage> {
    return { [Symbol.asyncIterator]: () => this.iterate(options) };
  }

  /** Acknowledges `msg` (same as `msg.ack()`). */
  ack(msg: ReceivedMessage): Promise<void> {
    return this.own(msg).ack();
  }

  /**
   * Makes `msg` visible again after `delayMs`, or after the broker's retry backoff when omitted
   * (same as `msg.nack(delayMs)`).
   */
  nack(msg: ReceivedMessage, delayMs?: number): Promise<void> {
    return this.own(msg).nack(delayMs);
  }

  /** Sets `msg` invisible for `ms` from now; `msg.receiptHandle` becomes the new handle. */
  changeInvisibleDuration(msg: ReceivedMessage, ms: number): Promise<void> {
    return this.own(msg).changeInvisibleDuration(ms);
  }

  /**
   * Aborts parked receives, flushes pending acks, sends NotifyClientTermination, closes telemetry
   * and channels. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    this.core.start();
    const routes = await Promise.all(this.topics.map((t) => this.core.routes.get(t)));
    const endpoints = new Set<string>();
    for (const r of routes) {
      const queues = readableQueues(r);
      if (queues.length === 0) throw new ClientError('NO_ROUTE', `topic ${r.topic} has no readable queue`, { topic: r.topic });
      for (const q of queues) endpoints.add(q.endpoint);
    }
    const results = await this.core.connect(endpoints);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0 && failed.length === results.length) throw failed[0]!.reason;
    for (const f of failed) this.core.logger.warn('telemetry handshake failed; retrying in the background', { err: f.reason });
    if (this.state === 'starting') this.state = 'started';
  }

  private async doClose(): Promise<void> {
    const wasStarted = this.state !== 'created';
    this.state = 'closing';
    this.closeController.abort(new ClientError('CLOSED', 'consumer closed'));
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    if (wasStarted) await this.acks.flush();
    this.acks.close();
    await this.core.close().catch((err: unknown) => this.core.logger.warn('close failed', { err }));
    this.state = 'closed';
  }

  private checkStarted(): void {
    if (this.state === 'closing' || this.state === 'closed') throw new ClientError('CLOSED', 'consumer is closed', { group: this.options.group });
    if (this.state !== 'started') throw new ClientError('NOT_STARTED', 'call consumer.start() first', { group: this.options.group });
  }

  /** Endpoints of every readable queue of the subscribed topics (current routes). */
  private targetEndpoints(): Set<string> {
    const out = new Set<string>();
    for (const topic of this.topics) {
      const route = this.core.routes.peek(topic);
      if (route) for (const q of readableQueues(route)) out.add(q.endpoint);
    }
    return out;
  }

  /** The next (topic, broker) of the round, from the current routes (isolated brokers skipped). */
  private nextQueue(): RouteQueue {
    const targets: RouteQueue[] = [];
    for (const topic of this.topics) {
      const route = this.core.routes.peek(topic);
      if (route) targets.push(...readableQueues(route));
    }
    if (targets.length === 0) {
      for (const topic of this.topics) {
        this.core.routes.refresh(topic).catch((err: unknown) => this.core.logger.debug('route refresh failed', { topic, err }));
      }
      throw new ClientError('NO_ROUTE', `no readable queue for ${this.topics.join(', ')}`, { group: this.options.group });
    }
    const healthy = this.core.isolation.filter(targets, (q) => q.endpoint);
    const queue = healthy[this.cursor % healthy.length]!;
    this.cursor = (this.cursor + 1) % 0x7fffffff;
    return queue;
  }

  private async *iterate(options: ReceiveOptions): AsyncGenerator<ReceivedMessage, void, undefined> {
    this.checkStarted();
    let buffer: ReceivedMessage[] = [];
    let failures = 0;
    const stopped = () => this.state === 'closing' || this.state === 'closed' || options.signal?.aborted === true;
    try {
      while (!stopped()) {
        try {
          buffer = await this.receive(options);
          failures = 0;
        } catch (err) {
          if (stopped()) return;
          if (!isTransient(err)) throw err;
          // A dead broker is now isolated: go straight on to a healthy one if there is any.
          if (isTransportFailure(err) && this.core.isolation.anyHealthy(this.targetEndpoints())) continue;
          failures++;
          const fields = { group: this.options.group, failures, err };
          if (failures === 1) this.core.logger.warn('receive failed; backing off', fields);
          else this.core.logger.debug('receive failed; backing off', fields);
          const linked = linkSignals(this.closeController.signal, options.signal);
          try {
            await sleep(Math.min(5_000, 250 * 2 ** (failures - 1)), linked.signal);
          } catch {
            return; // closed or aborted while backing off
          } finally {
            linked.dispose();
          }
          continue;
        }
        while (buffer.length > 0) yield buffer.shift()!;
      }
    } finally {
      if (buffer.length > 0) {
        const left = buffer;
        buffer = [];
        await Promise.allSettled(left.map((m) => m.nack(0)));
      }
    }
  }

  private own(msg: ReceivedMessage): ReceivedMessageImpl {
    if (!(msg instanceof ReceivedMessageImpl)) {
      throw InvalidArgumentError.format('message', 'must be a message received by a SimpleConsumer', Code.BAD_REQUEST);
    }
    return msg;
  }

  private doAck(m: ReceivedMessageImpl): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new ClientError('CLOSED', 'consumer is closed', { group: this.options.group }));
    return this.acks.ack(m);
  }

  private async doChangeInvisibleDuration(m: ReceivedMessageImpl, ms: number): Promise<string> {
    if (this.state === 'closed' || !this.acks.isOpen) throw new ClientError('CLOSED', 'consumer is closed', { group: this.options.group });
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_INVISIBLE_DURATION_MS) {
      throw InvalidArgumentError.format('invisibleDurationMs', `must be between 0 and ${MAX_INVISIBLE_DURATION_MS} ms (got ${String(ms)})`, Code.ILLEGAL_INVISIBLE_TIME);
    }
    const req: ChangeInvisibleRequest = {
      group: this.options.group,
      topic: m.topic,
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      invisibleDurationMs: ms,
    };
    if (m.liteTopic !== undefined) req.liteTopic = m.liteTopic;
    return this.core.brokers.changeInvisibleDuration(m.endpoint, req);
  }
}
