/**
 * A sub-agent: `registerAgent(options)` registers the agent's capability topic (semantic metadata
 * for discovery, created if missing) and serves its tasks until `close()`.
 *
 * - Tasks are consumed from the capability topic in a consumer group (default `agent-<topic>`),
 *   so every instance of the agent shares the work; each instance receives only as many tasks as
 *   it has free slots (`concurrency`), with long-polling receives (no polling loop). Being an
 *   online consumer of the topic is what makes it "live" for discovery; the SDK clients heartbeat.
 * - Each task runs as a `TaskRun` (task-run.ts): input checked against the input schema
 *   (REJECTED otherwise), WORKING, the handler, then the result artifact and COMPLETED (or FAILED /
 *   CANCELED / REJECTED), all on the task's reply lite topic, then the task message is acked.
 * - Cancel requests come on the lite topic `cancel.<taskId>` of the control parent: the instance
 *   running a task subscribes it from its oldest message while the task runs (one LiteConsumer per
 *   instance covers all of them), so a cancel sent before the task started is seen too.
 * - At-least-once: a task whose instance crashed comes back to the group after
 *   `invisibleDurationMs` and runs again; a copy of a task that is already running here (same
 *   task id) joins the running one instead of running twice; a task finished here recently is
 *   acked without running again.
 * - `close()`: stops receiving, lets running tasks finish for up to `closeTimeoutMs`, then aborts
 *   the rest (`signal`, cause `shutdown`) and gives their messages back at once so another
 *   instance takes them. Idempotent; never rejects.
 */
import { EventEmitter } from 'node:events';
import { AdminClient } from '../admin/admin-client.js';
import { LiteConsumer } from '../consumer/lite-consumer.js';
import type { LiteMessage } from '../consumer/lite-message.js';
import type { ReceivedMessage } from '../consumer/received-message.js';
import { SimpleConsumer } from '../consumer/simple-consumer.js';
import { ClientError, isRetryableError } from '../errors.js';
import { Producer } from '../producer/producer.js';
import type { ClientOptions } from '../options.js';
import { sleep } from '../util/abort.js';
import { resolveAgentOptions } from './agent-options.js';
import type { RegisterAgentOptions, ResolvedAgentOptions } from './agent-options.js';
import { AGENT_PROPERTIES, decodeCancel, decodeInput, decodeTask, DEFAULT_CONTROL_TTL_MS, type TaskEnvelope, type TaskState } from './protocol.js';
import { TaskRun } from './task-run.js';

/** Task ids finished here that a redelivery is recognised by (the oldest are forgotten first). */
const REMEMBERED_FINISHED_TASKS = 4096;

/** Events of an Agent. */
export interface AgentEvents {
  /** A task started running here (its input passed the schema check). */
  taskStarted: [taskId: string, attempt: number];
  /** A task's message was settled here: the terminal state sent, or 'released' (given back by close()). */
  taskSettled: [taskId: string, outcome: TaskState | 'released'];
  /** The receive loop hit an error it cannot ride out; the agent stopped receiving. */
  error: [error: Error];
}

/** A registered, serving agent instance. */
export interface Agent {
  /** The capability topic it serves. */
  readonly topic: string;
  /** The consumer group its instances share. */
  readonly group: string;
  /** The display name registered with the topic. */
  readonly name: string;
  /** Task ids running on this instance now. */
  running(): string[];
  on<K extends keyof AgentEvents>(event: K, listener: (...args: AgentEvents[K]) => void): this;
  once<K extends keyof AgentEvents>(event: K, listener: (...args: AgentEvents[K]) => void): this;
  off<K extends keyof AgentEvents>(event: K, listener: (...args: AgentEvents[K]) => void): this;
  /**
   * Stops receiving, lets running tasks finish for up to `timeoutMs` (default: the agent's
   * `closeTimeoutMs`), then releases the rest to other instances, and closes the clients.
   * Idempotent; never rejects.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Registers an agent and starts serving its tasks. Resolves once the topic is registered and
 * the consumers are online (the topic is then live for discovery). Rejects with a
 * TopicDocumentError when the description is invalid, an InvalidArgumentError for a bad option or
 * an input schema that does not compile, or the error of the broker that refused.
 */
export async function registerAgent<I = unknown, O = unknown>(options: RegisterAgentOptions<I, O>): Promise<Agent> {
  const agent = new AgentImpl(resolveAgentOptions(options as unknown as RegisterAgentOptions<never, unknown>));
  try {
    await agent.start();
  } catch (err) {
    await agent.close({ timeoutMs: 1 });
    throw err;
  }
  return agent;
}

type State = 'created' | 'started' | 'closing' | 'closed';

/** Options of one of the agent's clients: its own client id, derived from the agent's. */
function clientOptions(o: ResolvedAgentOptions, suffix: string): ClientOptions {
  return { ...o.client, clientId: `${o.client.clientId}-${suffix}` };
}

class AgentImpl extends EventEmitter<AgentEvents> implements Agent {
  private state: State = 'created';
  private readonly admin: AdminClient;
  private readonly producer: Producer;
  private readonly tasks: SimpleConsumer;
  private readonly control: LiteConsumer;
  private readonly runs = new Map<string, TaskRun>();
  /** Task ids finished here, oldest first (Map keeps insertion order). */
  private readonly finished = new Map<string, true>();
  /** Aborted by close(): ends the receive loop (a parked receive returns at once). */
  private readonly stopReceiving = new AbortController();
  private loop: Promise<void> | undefined;
  private controlLoop: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  /** Wakes the receive loop when a slot frees up. */
  private slotFreed: (() => void) | undefined;

  constructor(private readonly o: ResolvedAgentOptions) {
    super();
    this.admin = new AdminClient(clientOptions(o, 'admin'));
    this.producer = new Producer(clientOptions(o, 'replies'));
    this.tasks = new SimpleConsumer({
      ...clientOptions(o, 'tasks'),
      group: o.group,
      subscriptions: { [o.topic]: '*' },
      awaitDurationMs: o.awaitDurationMs,
      invisibleDurationMs: o.invisibleDurationMs,
      maxMessages: o.concurrency,
    });
    this.control = new LiteConsumer({ ...clientOptions(o, 'control'), group: o.controlGroup, topic: o.controlTopic, awaitDurationMs: o.awaitDurationMs });
  }

  get topic(): string {
    return this.o.topic;
  }

  get group(): string {
    return this.o.group;
  }

  get name(): string {
    return this.o.name;
  }

  running(): string[] {
    return [...this.runs.keys()];
  }

  async start(): Promise<void> {
    const o = this.o;
    const { name: topic, ...metadata } = o.document;
    await Promise.all([
      o.register
        ? this.admin.registerTopic({ name: topic, ...metadata, ...(o.queueCount ? { queueCount: o.queueCount } : {}) })
        : Promise.resolve(),
      this.admin.createTopic({ name: o.controlTopic, messageType: 'LITE', liteTtlMs: DEFAULT_CONTROL_TTL_MS }, { ifNotExists: true }),
    ]);
    await Promise.all([this.producer.start(), this.tasks.start(), this.control.start()]);
    if (this.state !== 'created') throw new ClientError('CLOSED', 'agent closed while starting');
    this.state = 'started';
    this.controlLoop = this.control.consume((m) => this.onControl(m), { concurrency: 64 }).catch((err: unknown) => {
      if (this.state === 'started') this.o.client.logger.error('cancel channel consumer stopped; tasks can no longer be canceled on this instance', { topic: o.topic, err });
    });
    this.loop = this.receiveLoop();
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closePromise ??= this.doClose(options.timeoutMs ?? this.o.closeTimeoutMs);
    return this.closePromise;
  }

  // --- receiving -----------------------------------------------------------------------------------

  private async receiveLoop(): Promise<void> {
    const signal = this.stopReceiving.signal;
    let failures = 0;
    while (!signal.aborted) {
      const free = this.o.concurrency - this.activeRuns();
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            signal.removeEventListener('abort', done);
            this.slotFreed = undefined;
            resolve();
          };
          this.slotFreed = done;
          signal.addEventListener('abort', done, { once: true });
        });
        continue;
      }
      let batch: ReceivedMessage[];
      try {
        batch = await this.tasks.receive({ maxMessages: free, signal });
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        if (!isRetryableError(err) && !(err instanceof ClientError && err.code === 'NO_ROUTE')) {
          this.o.client.logger.error('task receive failed; the agent stopped receiving', { topic: this.o.topic, err });
          if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
          return;
        }
        failures++;
        this.o.client.logger[failures === 1 ? 'warn' : 'debug']('task receive failed; backing off', { topic: this.o.topic, failures, err });
        try {
          await sleep(Math.min(5_000, 250 * 2 ** (failures - 1)), signal);
        } catch {
          return; // closing
        }
        continue;
      }
      for (const m of batch) this.accept(m);
    }
  }

  /** Runs that hold a slot (released ones no longer do). */
  private activeRuns(): number {
    let n = 0;
    for (const r of this.runs.values()) if (r.holdsSlot) n++;
    return n;
  }

  private accept(m: ReceivedMessage): void {
    const logger = this.o.client.logger;
    if (this.state !== 'started') {
      void m.nack(0).catch(() => undefined); // closing: someone else takes it
      return;
    }
    const env = decodeTask(m.text(), m.properties, m.messageId);
    if ('problem' in env) {
      // Nothing can be answered (no task to answer to): drop it, loudly.
      logger.warn('dropping a message that is not a task', { topic: this.o.topic, messageId: m.messageId, problem: env.problem });
      void m.ack().catch(() => undefined);
      return;
    }
    const { taskId } = env;
    const existing = this.runs.get(taskId);
    if (existing) {
      logger.debug('task delivered again while it runs here; it joins the running one', { taskId, attempt: m.deliveryAttempt });
      existing.adopt(m);
      return;
    }
    if (this.finished.has(taskId)) {
      logger.debug('task delivered again after it finished here; acked without running it again', { taskId, attempt: m.deliveryAttempt });
      void m.ack().catch(() => undefined);
      return;
    }
    const run = new TaskRun(env, m, {
      topic: this.o.topic,
      producer: this.producer,
      logger,
      handler: this.o.handler,
      validator: this.o.validator,
      outputValidator: this.o.outputValidator,
      invisibleDurationMs: this.o.invisibleDurationMs,
    });
    this.runs.set(taskId, run);
    // A task answered at once (input rejected, deadline passed) has nothing to cancel. The cancel
    // channel is subscribed one macrotask after the handler started: a handler that answers at
    // once costs no subscribe/unsubscribe round trips, and a cancel sent earlier is still seen
    // (the subscription starts at the channel's first message).
    const cancelLite = run.running ? this.cancelChannel(env) : undefined;
    let cancelSubscribed = false;
    if (cancelLite !== undefined) {
      setImmediate(() => {
        if (!run.running || this.state !== 'started') return;
        cancelSubscribed = true;
        this.control.subscribe(cancelLite, { offset: 'MIN' }).catch((err: unknown) => logger.warn('subscribing the cancel channel failed; the task cannot be canceled', { taskId, err }));
      });
    }
    if (run.running) this.emit('taskStarted', taskId, m.deliveryAttempt);
    void run.settled.then(() => {
      this.runs.delete(taskId);
      if (run.outcome !== 'released') {
        this.finished.set(taskId, true);
        if (this.finished.size > REMEMBERED_FINISHED_TASKS) this.finished.delete(this.finished.keys().next().value!);
      }
      if (cancelLite !== undefined && cancelSubscribed && this.state === 'started') {
        this.control.unsubscribe(cancelLite).catch((err: unknown) => logger.debug('unsubscribing a cancel channel failed', { taskId, err }));
      }
      this.emit('taskSettled', taskId, run.outcome ?? 'TASK_STATE_FAILED');
      this.slotFreed?.();
    });
  }

  /** The lite topic of the task's cancel channel, if this instance can watch it. */
  private cancelChannel(env: TaskEnvelope): string | undefined {
    if (!env.channels) return undefined; // a fire-and-forget task: nobody cancels it
    if (env.channels.cancelTopic !== this.o.controlTopic) {
      this.o.client.logger.warn('task names a cancel channel on another control topic; it cannot be canceled here (its deadline still applies)', {
        taskId: env.taskId,
        cancelTopic: env.channels.cancelTopic,
        controlTopic: this.o.controlTopic,
      });
      return undefined;
    }
    return env.channels.cancelLite;
  }

  /** A message on a task's control channel: a cancel request, or a follow-up (multi-turn). */
  private onControl(m: LiteMessage): void {
    if (m.properties[AGENT_PROPERTIES.kind] === 'input') {
      const f = decodeInput(m.text());
      if ('problem' in f) {
        this.o.client.logger.warn('dropping a malformed follow-up message', { liteTopic: m.liteTopic, problem: f.problem });
        return;
      }
      const taskId = m.properties[AGENT_PROPERTIES.taskId] ?? f.message.taskId ?? '';
      this.runs.get(taskId)?.followUp(f.message); // not running here: its next run asks again and replays it
      return;
    }
    const req = decodeCancel(m.text());
    if ('problem' in req) {
      this.o.client.logger.warn('dropping a malformed cancel request', { liteTopic: m.liteTopic, problem: req.problem });
      return;
    }
    const run = this.runs.get(req.id);
    if (!run) return; // not running here (finished, or never started here): nothing to cancel
    const reason = typeof req.metadata?.reason === 'string' ? req.metadata.reason : undefined;
    this.o.client.logger.debug('cancel request received', { taskId: req.id, reason });
    run.cancel(reason);
  }

  // --- closing -------------------------------------------------------------------------------------

  private async doClose(timeoutMs: number): Promise<void> {
    const wasStarted = this.state === 'started';
    this.state = 'closing';
    this.stopReceiving.abort(new ClientError('CLOSED', 'agent closing'));
    try {
      if (wasStarted) {
        await this.loop;
        const settled = () => Promise.allSettled([...this.runs.values()].map((r) => r.settled));
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          settled().then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        if (!drained) {
          const released = await Promise.all([...this.runs.values()].map(async (r) => ((await r.release()) ? r.taskId : undefined)));
          const ids = released.filter((id): id is string => id !== undefined);
          if (ids.length > 0) this.o.client.logger.info('close: released unfinished tasks to other instances', { topic: this.o.topic, tasks: ids });
          // Runs already sending their final update finish that (a few sends and an ack).
          await settled();
        }
      }
    } finally {
      await Promise.all([this.tasks.close(), this.control.close(), this.producer.close(), this.admin.close()]);
      await this.controlLoop;
      this.state = 'closed';
    }
  }
}
