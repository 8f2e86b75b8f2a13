/**
 * The agent callback pattern on NATS JetStream (the `nats` npm client).
 *
 * Tasks: stream TASKS (subject `tasks`, file storage, R1, work-queue retention: a message is
 * removed once acknowledged) and one durable pull consumer `workers` with explicit acks. The
 * supervisor dispatches with `js.publish()`, resolved by the PubAck (stored). The worker, on its
 * own connection, `consume()`s, publishes the three replies with `js.publish()` (pipelined on
 * one connection, so stored in order) and acks the task once all three PubAcks are back: a task
 * is only removed when its replies are stored.
 *
 * Replies: stream RESULTS (subjects `results.>`, file storage, R1). The per-task "fresh channel"
 * is the subject `results.<taskId>` plus, on the supervisor side, a per-task ephemeral consumer
 * filtered to that subject: ack policy none, in-memory consumer state, R1 — exactly what nats.js
 * creates for an ordered consumer (`js.consumers.get(stream, { filterSubjects })`). We create it
 * ourselves with `jsm.consumers.add()` and wrap the returned info with
 * `stream.getConsumerFromInfo()`, because `js.consumers.get()` first fetches the stream's info on
 * every call — one extra JetStream API round trip per task that the pattern does not need. It is
 * created before the task is sent (subscribe, then dispatch), delivers the subject's messages in
 * stream order, and is deleted afterwards, when the subject is also purged from the stream (the
 * channel's cleanup).
 *
 * Core NATS request-reply (`nc.request()` with a `_INBOX` reply subject) would be far cheaper,
 * but nothing of it is durable: a reply published while the requester is not subscribed (a
 * restart, a slow reconnect) is lost, so it does not implement this pattern. The same goes for a
 * hybrid (replies stored by JetStream, read with a plain core subscription on results.<taskId>):
 * cheaper per task (SUB/UNSUB, no API round trips), but the reading side is at-most-once.
 * Per task this costs four JetStream API round trips (consumer create, PubAck of the task,
 * consumer delete + purge in parallel) on top of the worker's three reply PubAcks.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg, NatsConnection, Stream } from 'nats';
import { encodeTask, REPLIES_PER_TASK, workerReplies } from './messages.js';
import { checkPeer, startNatsServer } from './servers.js';
import type { PeerServer } from './servers.js';
import type { CallbackContext, CallbackSystem, RunningCallbackSystem, TaskSpec, TaskTrace } from './system.js';

const TASKS_STREAM = 'TASKS';
const TASKS_SUBJECT = 'tasks';
const WORKERS = 'workers';
const RESULTS_STREAM = 'RESULTS';
const resultSubject = (taskId: string): string => `results.${taskId}`;

type Nats = typeof import('nats');

async function connectTo(nats: Nats, srv: PeerServer, name: string): Promise<NatsConnection> {
  return nats.connect({ servers: `${srv.host}:${srv.port}`, name, maxReconnectAttempts: 0 });
}

class Worker {
  handled = 0;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly ctx: CallbackContext,
  ) {}

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(TASKS_STREAM, WORKERS);
    // Up to 2× the supervisor's in-flight tasks buffered; each is handled concurrently.
    this.messages = await consumer.consume({ max_messages: Math.max(16, this.ctx.inflight * 2) });
    const messages = this.messages;
    this.loop = (async () => {
      try {
        for await (const m of messages) this.handle(m);
      } catch (err) {
        if (!this.stopping) this.ctx.fail(err);
      }
    })();
  }

  private handle(m: JsMsg): void {
    let out: ReturnType<typeof workerReplies>;
    try {
      out = workerReplies(m.data);
    } catch (err) {
      m.term();
      this.ctx.fail(err);
      return;
    }
    // Published back to back on one connection: stored in this order.
    const acks = out.replies.map((body) => this.js.publish(out.task.replyTo, body));
    Promise.all(acks).then(
      () => {
        m.ack();
        this.handled++;
      },
      (err: unknown) => {
        if (!this.stopping) this.ctx.fail(err);
      },
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.messages?.stop();
    await this.loop;
  }
}

class Supervisor {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly results: Stream,
    private readonly nats: Nats,
  ) {}

  async runTask(task: TaskSpec, trace: TaskTrace): Promise<void> {
    const { AckPolicy, DeliverPolicy, nanos } = this.nats;
    const subject = resultSubject(task.id);
    // 1. The channel: an ephemeral consumer on the task's subject (see the header comment).
    const info = await this.jsm.consumers.add(RESULTS_STREAM, {
      name: `sup-${task.id}`,
      filter_subject: subject,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      // Removed by the server if we die before deleting it.
      inactive_threshold: nanos(60_000),
    });
    let messages: ConsumerMessages | undefined;
    let reader: Promise<void> | undefined;
    let purged = 0;
    try {
      messages = await this.results.getConsumerFromInfo(info).consume({ max_messages: 8 });
      const iter = messages;
      reader = (async () => {
        for await (const m of iter) {
          trace.reply(m.data);
          if (trace.settled) break;
        }
      })().catch((err: unknown) => trace.abort(err instanceof Error ? err : new Error(String(err))));
      // 2. Dispatch: resolved by the PubAck (the task is stored).
      trace.dispatched();
      await this.js.publish(TASKS_SUBJECT, encodeTask(task.id, subject));
      // 4. Wait for the final reply (the reader feeds the trace).
      await trace.completed;
    } finally {
      // 5. Cleanup: stop reading, delete the consumer, purge the task's subject.
      messages?.stop();
      await reader;
      const [, purge] = await Promise.all([this.jsm.consumers.delete(RESULTS_STREAM, info.name), this.jsm.streams.purge(RESULTS_STREAM, { filter: subject })]);
      purged = purge.purged;
    }
    // More stored replies than the pattern sends: something replied twice after the final reply
    // (the reader stopped there, so only the purge count shows it).
    if (purged > REPLIES_PER_TASK) throw new Error(`task ${task.id}: ${purged} replies stored on ${subject}, expected ${REPLIES_PER_TASK}`);
  }
}

async function start(ctx: CallbackContext): Promise<RunningCallbackSystem> {
  const nats: Nats = await import('nats');
  const srv = await startNatsServer(ctx.tmpBase);
  const conns: NatsConnection[] = [];
  let worker: Worker | undefined;
  const stop = async (): Promise<void> => {
    await worker?.stop().catch(() => undefined);
    for (const nc of conns) await nc.drain().catch(() => nc.close());
    await srv.stop();
  };
  try {
    const supNc = await connectTo(nats, srv, 'callback-supervisor');
    conns.push(supNc);
    const jsm = await supNc.jetstreamManager();
    await jsm.streams.add({
      name: TASKS_STREAM,
      subjects: [TASKS_SUBJECT],
      storage: nats.StorageType.File,
      retention: nats.RetentionPolicy.Workqueue,
      num_replicas: 1,
    });
    await jsm.consumers.add(TASKS_STREAM, {
      durable_name: WORKERS,
      ack_policy: nats.AckPolicy.Explicit,
      deliver_policy: nats.DeliverPolicy.All,
      max_ack_pending: 10_000,
      ack_wait: nats.nanos(60_000),
    });
    await jsm.streams.add({
      name: RESULTS_STREAM,
      subjects: ['results.>'],
      storage: nats.StorageType.File,
      retention: nats.RetentionPolicy.Limits,
      num_replicas: 1,
    });
    const js = supNc.jetstream();
    const results = await js.streams.get(RESULTS_STREAM);

    const workerNc = await connectTo(nats, srv, 'callback-worker');
    conns.push(workerNc);
    worker = new Worker(workerNc.jetstream(), ctx);
    await worker.start();
    for (const nc of conns) {
      void nc.closed().then((err) => {
        if (err) ctx.fail(err);
      });
    }

    const supervisor = new Supervisor(js, jsm, results, nats);
    const w = worker;
    return {
      serverPids: [srv.server.pid],
      ...(srv.version ? { serverVersion: srv.version } : {}),
      runTask: (task, trace) => supervisor.runTask(task, trace),
      workerHandled: () => w.handled,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

export const natsSystem: CallbackSystem = {
  id: 'nats',
  label: 'NATS JetStream (file)',
  role: 'peer',
  durability:
    'tasks and replies in file-storage streams (R1): a PubAck means written to the block file in the page cache, fsync every 2 min ' +
    '(nats-server default sync_interval) — survives a process crash, not power loss. The per-task reply consumer is ephemeral ' +
    '(in-memory state); the replies themselves are stored until the supervisor purges them.',
  idiom:
    'tasks: work-queue stream + durable pull consumer, explicit ack after the 3 reply PubAcks; ' +
    'replies: js.publish to results.<taskId> on a second stream, read by a per-task ephemeral (ordered-style) consumer, deleted + subject purged after.',
  check: (ctx) => checkPeer(ctx.repoRoot, 'nats-server', 'nats-server', 'nats'),
  start,
};
