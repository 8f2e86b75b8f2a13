/**
 * Supervisor: finds capabilities, hands tasks to the agents serving them, and follows each task
 * to its end over a lite topic of its own.
 *
 * - `discover(query)`: ranked capabilities (DiscoveryClient, the NameServer's semantic index).
 * - `call(topic | capability, args)`: a UUIDv4 task id; the task's reply lite topic
 *   `task.<taskId>` of the reply parent (LITE, default `agentmq-replies`) is subscribed while the
 *   task is sent (safe: a group new to a lite topic starts at its oldest message, so a reply stored
 *   before the subscription lands is still delivered); the task goes to the capability topic
 *   with the reply and cancel channels in its properties. ONE LiteConsumer per supervisor covers
 *   every call (one long poll, woken only for its own lite topics); replies are routed to the
 *   call's TaskHandle by lite topic, in order; the lite topic is unsubscribed when the call ends.
 * - Timeouts and cancellation: the agent is told on `cancel.<taskId>` of the control parent.
 * - `status(taskId)` / `task(taskId)` answer from the supervisor's own state (running and the
 *   last `maxFinishedTasks` finished tasks), never by asking the agent.
 * - `resume(taskId)`: follows a task another (e.g. crashed) supervisor started: subscribes its
 *   lite topic from the oldest message and replays every event.
 * - `close()`: ends the calls still running with ClientError CLOSED (the tasks go on; another
 *   supervisor can resume them) and closes the clients. Idempotent; never rejects.
 */
import { AdminClient } from '../admin/admin-client.js';
import { LiteConsumer } from '../consumer/lite-consumer.js';
import type { LiteMessage } from '../consumer/lite-message.js';
import { DiscoveryClient } from '../discovery/discovery-client.js';
import type { DiscoverOptions } from '../discovery/discovery-types.js';
import { ClientError } from '../errors.js';
import { checkLiteTopicName } from '../lite/lite-topic-name.js';
import type { ClientOptions } from '../options.js';
import { Producer } from '../producer/producer.js';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError } from '../../proto/common/errors.js';
import { nameProblem } from '../../proto/common/names.js';
import { capabilityFromTopic, type DiscoveredCapability } from './capability.js';
import { tools as renderTools, type CapabilityLike, type ProviderTools, type ToolProvider, type ToolSet, type ToolsOptions } from './tools.js';
import {
  cancelLiteTopicOf,
  cancelProperties,
  inputProperties,
  userMessage,
  decodeStreamResponse,
  DEFAULT_CONTROL_TTL_MS,
  newId,
  replyLiteTopicOf,
  TASK_TAG,
  taskMessage,
  taskProperties,
  type CancelTaskRequest,
  type Task,
  type TaskState,
} from './protocol.js';
import { checkTimeoutMs, resolveSupervisorOptions } from './supervisor-options.js';
import type { CallOptions, ResolvedSupervisorOptions, SupervisorOptions } from './supervisor-options.js';
import { TaskHandleImpl, type TaskHandle } from './task-handle.js';

/** Longest per-message TTL the broker accepts by default (30 days); longer timeouts send no TTL. */
const MAX_TASK_TTL_MS = 30 * 24 * 3600_000;

/** A fresh task id with its reply lite topic, and its subscription. */
interface ReplyChannel {
  taskId: string;
  replyLite: string;
  subscribed: Promise<void>;
  /** Its subscribe failed: never handed to a call. */
  failed: boolean;
}

export interface SupervisorDiscoverOptions extends DiscoverOptions {
  /**
   * Also return the hits when the NameServer judged that nothing fits the query well enough
   * (near misses). Off: such a search returns no capability.
   * @default false
   */
  includeNearMisses?: boolean;
}

/** One call of `callMany()`. */
export interface CallSpec {
  /** A topic name, or a capability (anything with its `topic`: `discover()` results, tool calls). */
  target: string | CallTarget;
  args: unknown;
  /** Overrides the batch's options for this call. */
  options?: CallOptions;
}

export type CallManyMode = 'all' | 'first' | 'settled';

export interface CallManyOptions extends CallOptions {
  /**
   * - `all` (default): every result, in call order; the first failure rejects and cancels the rest.
   * - `first`: the first success; the rest are canceled; AggregateError if every call fails.
   * - `settled`: every outcome, successes and failures (partial results).
   */
  mode?: CallManyMode;
}

/** The outcome of one call of a `settled` fan-out. */
export type SettledCall<R = unknown> =
  | { index: number; taskId: string; status: 'fulfilled'; value: R }
  | { index: number; taskId: string | undefined; status: 'rejected'; reason: unknown };

/** The winner of a `first` fan-out. */
export interface FirstCall<R = unknown> {
  index: number;
  taskId: string;
  value: R;
}

export interface ResumeOptions extends Omit<CallOptions, 'contextId' | 'metadata'> {
  /** The task's reply lite topic. @default `task.<taskId>` (what `call()` uses) */
  replyLiteTopic?: string;
  /** The capability topic (informational: shown in errors). */
  topic?: string;
}

/** What `call()` accepts besides a topic name: a capability, a parsed tool call... */
export interface CallTarget {
  topic: string;
}

type State = 'created' | 'starting' | 'started' | 'closing' | 'closed';

function clientOptions(o: ResolvedSupervisorOptions, suffix: string): ClientOptions {
  return { ...o.client, clientId: `${o.client.clientId}-${suffix}` };
}

export class Supervisor {
  private readonly o: ResolvedSupervisorOptions;
  private readonly admin: AdminClient;
  private readonly producer: Producer;
  private readonly replies: LiteConsumer;
  private discovery: DiscoveryClient | undefined;
  private state: State = 'created';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private consuming: Promise<void> | undefined;
  /** Calls not ended, by task id and by reply lite topic. */
  private readonly active = new Map<string, TaskHandleImpl>();
  /** Reply channels subscribed ahead of use (see `spareReplyChannels`). */
  private readonly spareChannels: ReplyChannel[] = [];
  private readonly byLite = new Map<string, TaskHandleImpl>();
  /** Ended calls, oldest first (Map insertion order), at most `maxFinishedTasks`. */
  private readonly finished = new Map<string, TaskHandleImpl>();

  constructor(options: SupervisorOptions = {}) {
    this.o = resolveSupervisorOptions(options);
    this.admin = new AdminClient(clientOptions(this.o, 'admin'));
    this.producer = new Producer(clientOptions(this.o, 'tasks'));
    this.replies = new LiteConsumer({ ...clientOptions(this.o, 'replies'), group: this.o.group, topic: this.o.replyTopic, awaitDurationMs: this.o.awaitDurationMs });
  }

  /** The LITE parent of this supervisor's reply channels. */
  get replyTopic(): string {
    return this.o.replyTopic;
  }

  /**
   * Creates the reply and control parents if missing (`createTopics`), starts the producer and the
   * reply consumer. Idempotent; `call()`, `callMany()` and `resume()` call it.
   */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new ClientError('CLOSED', 'supervisor is closed'));
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.startPromise = undefined;
      if (this.state === 'starting') this.state = 'created';
      throw err;
    });
    return this.startPromise;
  }

  /**
   * Capabilities for a natural-language query, best first (live ones unless `includeOffline`).
   * Empty when nothing fits (the NameServer's no-match verdict) unless `includeNearMisses`.
   */
  async discover(query: string, options: SupervisorDiscoverOptions = {}): Promise<DiscoveredCapability[]> {
    this.checkOpen();
    const { includeNearMisses, ...rest } = options;
    const res = await this.discoveryClient().discover(query, rest);
    if (res.noMatch && !includeNearMisses) return [];
    return res.hits.map((h) => capabilityFromTopic(h.topic, h.score));
  }

  /**
   * The capabilities that fit `query` (discovered as `discover` does), or the ones given, rendered
   * as the tools of `options.provider` ('openai-chat', 'openai-responses', 'anthropic', 'mcp'):
   * hand `.tools` to the LLM, then `call(set.parseCall(name, args), args)` runs the one it picks.
   * An empty set when nothing fits (the LLM can only pick real, live agents).
   */
  async tools<P extends ToolProvider>(
    queryOrCapabilities: string | Iterable<CapabilityLike>,
    options: ToolsOptions<P> & SupervisorDiscoverOptions,
  ): Promise<ToolSet<ProviderTools[P]>> {
    const { provider, strict, maxDescriptionChars, ...discover } = options;
    const caps = typeof queryOrCapabilities === 'string' ? await this.discover(queryOrCapabilities, discover) : queryOrCapabilities;
    return renderTools(caps, { provider, ...(strict !== undefined ? { strict } : {}), ...(maxDescriptionChars !== undefined ? { maxDescriptionChars } : {}) });
  }

  /** One capability by topic name from the NameServer's catalog; undefined if not registered. */
  async capability(topic: string): Promise<DiscoveredCapability | undefined> {
    this.checkOpen();
    const t = await this.discoveryClient().getTopic(topic);
    return t ? capabilityFromTopic(t) : undefined;
  }

  /**
   * Sends a task to `target` (a topic or a capability) with `args` as its input. Resolves with the
   * task's handle once the task is stored and its reply channel subscribed; rejects if either
   * fails (e.g. the topic does not exist).
   */
  async call<R = unknown>(target: string | CallTarget, args: unknown, options: CallOptions = {}): Promise<TaskHandle<R>> {
    const topic = typeof target === 'string' ? target : target?.topic;
    const problem = nameProblem(topic);
    if (problem) throw InvalidArgumentError.format('target', problem, Code.ILLEGAL_TOPIC);
    const timeoutMs = checkTimeoutMs('timeoutMs', options.timeoutMs ?? this.o.timeoutMs);
    if (options.signal?.aborted) throw new ClientError('ABORTED', 'call aborted before it was sent', { topic });
    await this.start();
    this.checkOpen();
    const startedAt = Date.now();
    const channel = this.takeChannel();
    const { taskId, replyLite } = channel;
    const contextId = options.contextId ?? newId();
    const handle = this.track(new TaskHandleImpl({ taskId, contextId, topic, replyLiteTopic: replyLite }, this.hooks()));
    const deadlineMs = timeoutMs > 0 ? startedAt + timeoutMs : undefined;
    try {
      await Promise.all([
        channel.subscribed,
        this.producer.send({
          topic,
          body: JSON.stringify(taskMessage(taskId, contextId, args, options.metadata)),
          tag: TASK_TAG,
          keys: [taskId],
          dedupKey: taskId,
          ...(timeoutMs > 0 && timeoutMs <= MAX_TASK_TTL_MS ? { ttlMs: timeoutMs } : {}),
          properties: taskProperties({
            taskId,
            contextId,
            message: { messageId: '', role: 'ROLE_USER', parts: [] },
            channels: { replyTopic: this.o.replyTopic, replyLite, cancelTopic: this.o.controlTopic, cancelLite: cancelLiteTopicOf(taskId) },
            ...(deadlineMs !== undefined ? { deadlineMs } : {}),
          }),
        }),
      ]);
    } catch (err) {
      handle.abandon(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    handle.arm(timeoutMs, options.signal, deadlineMs === undefined ? 0 : deadlineMs - Date.now());
    return handle as unknown as TaskHandle<R>;
  }

  /** A reply channel for a new task: a spare one already subscribed, else a fresh one (subscribing). */
  private takeChannel(): ReplyChannel {
    let c: ReplyChannel | undefined;
    // A spare whose subscribe failed (a broker was down meanwhile) is dropped, not handed out.
    while ((c = this.spareChannels.shift()) && c.failed);
    return c ?? this.newChannel();
  }

  private newChannel(): ReplyChannel {
    const taskId = newId();
    const replyLite = replyLiteTopicOf(taskId);
    const channel: ReplyChannel = { taskId, replyLite, subscribed: this.replies.subscribe(replyLite), failed: false };
    channel.subscribed.catch(() => (channel.failed = true)); // the call that takes it awaits it too
    return channel;
  }

  /**
   * Tops the spare reply channels up to `spareReplyChannels`: at start, and as calls end (with
   * their reply channel's unsubscribe, one coalesced sync), off every call's path.
   */
  private refillChannels(): void {
    while (this.state === 'started' && this.spareChannels.length < this.o.spareReplyChannels) this.spareChannels.push(this.newChannel());
  }

  /** Fan-out: several calls at once (see `CallManyOptions.mode`). */
  callMany<R = unknown>(calls: CallSpec[], options: CallManyOptions & { mode: 'first' }): Promise<FirstCall<R>>;
  callMany<R = unknown>(calls: CallSpec[], options: CallManyOptions & { mode: 'settled' }): Promise<SettledCall<R>[]>;
  callMany<R = unknown>(calls: CallSpec[], options?: CallManyOptions & { mode?: 'all' }): Promise<R[]>;
  async callMany<R = unknown>(calls: CallSpec[], options: CallManyOptions = {}): Promise<R[] | FirstCall<R> | SettledCall<R>[]> {
    if (!Array.isArray(calls)) throw InvalidArgumentError.format('calls', 'must be an array of { target, args }');
    const { mode = 'all', ...common } = options;
    const handles: (TaskHandle<R> | undefined)[] = new Array(calls.length).fill(undefined);
    const cancelOthers = (except: number) => {
      for (const [i, h] of handles.entries()) if (i !== except && h && !h.done) void h.cancel(mode === 'first' ? 'another call answered first' : 'another call of the fan-out failed');
    };
    // Each entry: the call and its result as one promise that never rejects.
    const outcomes = calls.map(async (spec, index): Promise<SettledCall<R>> => {
      try {
        const h = await this.call<R>(spec.target, spec.args, { ...common, ...spec.options });
        handles[index] = h;
        return { index, taskId: h.taskId, status: 'fulfilled', value: await h.result() };
      } catch (reason) {
        return { index, taskId: handles[index]?.taskId, status: 'rejected', reason };
      }
    });
    if (mode === 'settled') return Promise.all(outcomes);
    if (mode === 'first') {
      return new Promise<FirstCall<R>>((resolve, reject) => {
        let failed = 0;
        const errors: unknown[] = new Array(calls.length);
        if (calls.length === 0) reject(new AggregateError([], 'callMany: no calls'));
        for (const p of outcomes) {
          void p.then((o) => {
            if (o.status === 'fulfilled') {
              cancelOthers(o.index);
              resolve({ index: o.index, taskId: o.taskId, value: o.value });
              return;
            }
            errors[o.index] = o.reason;
            if (++failed === calls.length) reject(new AggregateError(errors, `callMany: all ${calls.length} calls failed`));
          });
        }
      });
    }
    if (mode !== 'all') throw InvalidArgumentError.format('mode', `must be 'all', 'first' or 'settled' (got ${JSON.stringify(mode)})`);
    return new Promise<R[]>((resolve, reject) => {
      const values: R[] = new Array(calls.length);
      let left = calls.length;
      if (left === 0) resolve([]);
      for (const p of outcomes) {
        void p.then((o) => {
          if (o.status === 'rejected') {
            cancelOthers(o.index);
            reject(o.reason);
            return;
          }
          values[o.index] = o.value;
          if (--left === 0) resolve(values);
        });
      }
    });
  }

  /**
   * Follows a task this supervisor did not start (or started before a restart): subscribes its
   * reply lite topic from the oldest message, so every event is replayed, then live ones follow.
   * `replyLiteTopic` defaults to the one `call()` uses for `taskId`.
   */
  async resume<R = unknown>(taskId: string, replyLiteTopicOrOptions?: string | ResumeOptions): Promise<TaskHandle<R>> {
    const options: ResumeOptions = typeof replyLiteTopicOrOptions === 'string' ? { replyLiteTopic: replyLiteTopicOrOptions } : (replyLiteTopicOrOptions ?? {});
    if (typeof taskId !== 'string' || taskId === '') throw InvalidArgumentError.format('taskId', 'must be a non-empty string');
    const replyLite = checkLiteTopicName('replyLiteTopic', options.replyLiteTopic ?? replyLiteTopicOf(taskId));
    const timeoutMs = checkTimeoutMs('timeoutMs', options.timeoutMs ?? this.o.timeoutMs);
    await this.start();
    this.checkOpen();
    const running = this.active.get(taskId);
    if (running) return running as unknown as TaskHandle<R>;
    const handle = this.track(new TaskHandleImpl({ taskId, contextId: taskId, topic: options.topic ?? '', replyLiteTopic: replyLite }, this.hooks()));
    try {
      await this.replies.subscribe(replyLite, { offset: 'MIN' });
    } catch (err) {
      handle.abandon(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    handle.arm(timeoutMs, options.signal);
    return handle as unknown as TaskHandle<R>;
  }

  /** The state of a task this supervisor follows or followed recently; undefined if unknown. */
  status(taskId: string): TaskState | undefined {
    return (this.active.get(taskId) ?? this.finished.get(taskId))?.status();
  }

  /** A2A Task snapshot of a task this supervisor follows or followed recently; undefined if unknown. */
  task(taskId: string): Task | undefined {
    return (this.active.get(taskId) ?? this.finished.get(taskId))?.task();
  }

  /** Task ids of the calls not ended yet. */
  running(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Ends the calls still running with ClientError CLOSED (the tasks themselves go on: resume them
   * from another supervisor), stops the reply consumer and closes the clients. Idempotent; never
   * rejects.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  // --- internals -----------------------------------------------------------------------------------

  private async doStart(): Promise<void> {
    this.state = 'starting';
    const o = this.o;
    if (o.createTopics) {
      await Promise.all([
        this.admin.createTopic({ name: o.replyTopic, messageType: 'LITE', ...(o.replyTtlMs !== undefined ? { liteTtlMs: o.replyTtlMs } : {}) }, { ifNotExists: true }),
        this.admin.createTopic({ name: o.controlTopic, messageType: 'LITE', liteTtlMs: DEFAULT_CONTROL_TTL_MS }, { ifNotExists: true }),
      ]);
    }
    await Promise.all([this.producer.start(), this.replies.start()]);
    if (this.state !== 'starting') throw new ClientError('CLOSED', 'supervisor closed while starting');
    this.consuming = this.replies.consume((m) => this.onReply(m), { concurrency: o.concurrency }).catch((err: unknown) => {
      if (this.state !== 'started') return;
      o.client.logger.error('reply consumer stopped; running calls end', { replyTopic: o.replyTopic, err });
      const error = err instanceof Error ? err : new Error(String(err));
      for (const h of [...this.active.values()]) h.abandon(error);
    });
    this.state = 'started';
    this.refillChannels();
  }

  private async doClose(): Promise<void> {
    const wasStarted = this.state !== 'created';
    this.state = 'closing';
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    for (const h of [...this.active.values()]) h.detach();
    this.spareChannels.length = 0; // their subscriptions go with the reply consumer
    await Promise.all([this.replies.close(), wasStarted ? this.producer.close() : Promise.resolve(), this.admin.close(), this.discovery?.close()]);
    await this.consuming;
    this.state = 'closed';
  }

  private checkOpen(): void {
    if (this.state === 'closing' || this.state === 'closed') throw new ClientError('CLOSED', 'supervisor is closed');
  }

  private discoveryClient(): DiscoveryClient {
    this.discovery ??= new DiscoveryClient(clientOptions(this.o, 'discovery'));
    return this.discovery;
  }

  private track(h: TaskHandleImpl): TaskHandleImpl {
    this.active.set(h.taskId, h);
    this.byLite.set(h.replyLiteTopic, h);
    return h;
  }

  private hooks() {
    return {
      cancelGraceMs: this.o.cancelGraceMs,
      sendCancel: (h: TaskHandleImpl, reason: string) => this.sendCancel(h, reason),
      sendInput: (h: TaskHandleImpl, input: unknown) => this.sendInput(h, input),
      onEnd: (h: TaskHandleImpl) => this.onEnd(h),
    };
  }

  /** A follow-up on the task's control channel (the lite topic its agent watches while it runs). */
  private async sendInput(h: TaskHandleImpl, input: unknown): Promise<void> {
    this.checkOpen();
    await this.producer.send({
      topic: this.o.controlTopic,
      liteTopic: cancelLiteTopicOf(h.taskId),
      body: JSON.stringify({ message: userMessage(h.taskId, h.contextId, input) }),
      tag: 'input',
      keys: [h.taskId],
      properties: inputProperties(h.taskId),
    });
  }

  private async sendCancel(h: TaskHandleImpl, reason: string): Promise<void> {
    if (this.state !== 'started') return;
    const req: CancelTaskRequest = { id: h.taskId, metadata: { reason } };
    try {
      await this.producer.send({
        topic: this.o.controlTopic,
        liteTopic: cancelLiteTopicOf(h.taskId),
        body: JSON.stringify(req),
        tag: 'cancel',
        keys: [h.taskId],
        properties: cancelProperties(h.taskId),
      });
    } catch (err) {
      this.o.client.logger.warn('sending a cancel request failed; the agent goes on with the task', { taskId: h.taskId, err });
    }
  }

  private onEnd(h: TaskHandleImpl): void {
    if (this.active.get(h.taskId) === h) this.active.delete(h.taskId);
    if (this.byLite.get(h.replyLiteTopic) === h) this.byLite.delete(h.replyLiteTopic);
    this.finished.delete(h.taskId);
    this.finished.set(h.taskId, h);
    while (this.finished.size > this.o.maxFinishedTasks) this.finished.delete(this.finished.keys().next().value!);
    if (this.state === 'started') {
      this.replies.unsubscribe(h.replyLiteTopic).catch((err: unknown) => this.o.client.logger.debug('unsubscribing a reply lite topic failed', { liteTopic: h.replyLiteTopic, err }));
      this.refillChannels();
    }
  }

  /** A reply on some task's lite topic: to its handle, in order (consume() keeps a lite topic's order). */
  private onReply(m: LiteMessage): void {
    const h = this.byLite.get(m.liteTopic);
    if (!h) return; // the call ended (or was never ours): nobody waits for it
    const reply = decodeStreamResponse(m.text());
    if ('problem' in reply) {
      this.o.client.logger.warn('dropping a reply that is not an A2A StreamResponse', { liteTopic: m.liteTopic, messageId: m.messageId, problem: reply.problem });
      return;
    }
    const taskId = 'statusUpdate' in reply ? reply.statusUpdate.taskId : reply.artifactUpdate.taskId;
    if (taskId !== h.taskId) {
      this.o.client.logger.warn('dropping a reply for another task on this lite topic', { liteTopic: m.liteTopic, taskId, expected: h.taskId });
      return;
    }
    h.onReply(reply);
  }
}
