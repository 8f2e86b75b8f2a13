/**
 * The AgentMQ side of the agent callback pattern, against any NameServer (bench:callback's own
 * `agentmq dev`, or bench:cluster's cluster): the worker and the supervisor clients.
 *
 * Tasks: the durable NORMAL topic `tasks`, consumed by the group `workers` with a SimpleConsumer
 * (long-polling receives of up to 32 tasks, `workerLoops` in parallel). For each task the worker
 * sends the three replies on the task's lite topic with one Producer (the SDK keeps one lite
 * topic's messages in send order and batches different ones together), waits for their
 * acknowledgements, then acks the task.
 *
 * Replies: the LITE parent `replies`; each task gets the fresh lite topic `r-<taskId>`. The
 * supervisor runs ONE LiteConsumer (one client id, one parked receive per broker covering all of
 * its lite topics, woken only when one of them has a message): a task subscribes its lite topic
 * (the SDK coalesces concurrent subscribes into one SyncLiteSubscription per round trip) while it
 * dispatches (nothing is missed: a new subscriber starts at the lite topic's oldest message), and
 * its replies are routed by `liteTopic` to the task's trace; acks are batched by the SDK.
 * Cleanup: unsubscribe (coalesced too); the empty lite topic expires after its TTL.
 */
import { LiteConsumer, Producer, SimpleConsumer, silentLogger, type LiteMessage, type ReceivedMessage } from '../../client/index.js';
import { encodeTask, workerReplies } from './messages.js';
import { StageClock, type StageMeans, type TaskSpec, type TaskTrace } from './system.js';

export const TASKS = 'tasks';

/** A task's critical path, in the order it is reached (bench:callback prints the means). */
export const STAGES = ['subscribed', 'task stored', 'worker has task', 'first reply', 'final reply', 'replies stored', 'channel removed'] as const;
export const REPLIES = 'replies';

export interface AgentmqCallbackClientsOptions {
  nameserver: string;
  /** Parallel long-polling receive loops of the worker. */
  workerLoops: number;
  /** Parallel long-polling receive loops of the supervisor. */
  supervisorLoops: number;
  /** A client or connection error (not reported while stopping). */
  fail: (err: unknown) => void;
}

export interface AgentmqCallbackClients {
  /** Dispatches one task and resolves once its trace saw the final reply (or rejects). */
  runTask(task: TaskSpec, trace: TaskTrace): Promise<void>;
  /** Tasks the worker handled so far. */
  handled(): number;
  /** Mean milestone times of the tasks completed since the last call (StageClock). */
  stages(): StageMeans;
  /** Stops the loops and closes every client. Idempotent. */
  stop(): Promise<void>;
}

/** Runs `fn` until `running()` is false; errors go to `fail` (unless stopping). */
function loop(running: () => boolean, fn: () => Promise<void>, fail: (err: unknown) => void): Promise<void> {
  return (async () => {
    while (running()) {
      try {
        await fn();
      } catch (err) {
        if (running()) fail(err);
        return;
      }
    }
  })();
}

/** Starts the worker and the supervisor; `tasks` and `replies` must exist. */
export async function startAgentmqCallbackClients(o: AgentmqCallbackClientsOptions): Promise<AgentmqCallbackClients> {
  const { nameserver } = o;
  const clients: { close(): Promise<void> }[] = [];
  const loops: Promise<void>[] = [];
  let running = true;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      running = false;
      for (const c of clients.reverse()) await c.close().catch(() => undefined);
      await Promise.allSettled(loops);
    })());
  const fail = (err: unknown): void => {
    if (running) o.fail(err);
  };
  try {
    // --- worker -------------------------------------------------------------------------------
    const workerProducer = new Producer({ nameserver, logger: silentLogger, topics: [REPLIES] });
    const taskConsumer = new SimpleConsumer({ nameserver, logger: silentLogger, group: 'workers', subscriptions: { [TASKS]: '*' }, awaitDurationMs: 2000, maxMessages: 32 });
    clients.push(taskConsumer, workerProducer);
    await workerProducer.start();
    await taskConsumer.start();
    let handled = 0;
    const clock = new StageClock(STAGES);
    const handle = async (m: ReceivedMessage): Promise<void> => {
      const { task, replies } = workerReplies(m.body);
      clock.mark(task.replyTo, 'worker has task');
      // Sent back to back: one lite topic's messages are stored in send order.
      await Promise.all(replies.map((body) => workerProducer.send({ topic: REPLIES, liteTopic: task.replyTo, body })));
      clock.mark(task.replyTo, 'replies stored');
      await taskConsumer.ack(m);
      handled++;
    };
    for (let i = 0; i < o.workerLoops; i++) {
      loops.push(
        loop(
          () => running,
          async () => {
            for (const m of await taskConsumer.receive()) void handle(m).catch(fail);
          },
          fail,
        ),
      );
    }

    // --- supervisor ---------------------------------------------------------------------------
    const supervisorProducer = new Producer({ nameserver, logger: silentLogger, topics: [TASKS] });
    const replies = new LiteConsumer({ nameserver, logger: silentLogger, group: 'supervisor', topic: REPLIES, awaitDurationMs: 2000, batchSize: 64 });
    clients.push(replies, supervisorProducer);
    await supervisorProducer.start();
    await replies.start();
    const traces = new Map<string, TaskTrace>();
    const route = (m: LiteMessage): void => {
      clock.mark(m.liteTopic, 'first reply');
      traces.get(m.liteTopic)?.reply(m.body);
      void m.ack().catch(fail);
    };
    for (let i = 0; i < o.supervisorLoops; i++) {
      loops.push(
        loop(
          () => running,
          async () => {
            for (const m of await replies.receive()) route(m);
          },
          fail,
        ),
      );
    }

    const runTask = async (task: TaskSpec, trace: TaskTrace): Promise<void> => {
      const lite = `r-${task.id}`;
      traces.set(lite, trace);
      clock.start(lite);
      try {
        // Subscribe and dispatch at once: a group new to a lite topic starts at its oldest message,
        // so replies stored before the subscription lands are delivered when it does.
        const subscribed = replies.subscribe(lite).then(() => clock.mark(lite, 'subscribed'));
        trace.dispatched();
        const sent = supervisorProducer.send({ topic: TASKS, body: encodeTask(task.id, lite) }).then(() => clock.mark(lite, 'task stored'));
        await Promise.all([subscribed, sent]);
        await trace.completed;
        clock.mark(lite, 'final reply');
      } finally {
        traces.delete(lite);
        await replies.unsubscribe(lite).catch(() => undefined);
        clock.mark(lite, 'channel removed');
        clock.finish(lite);
      }
    };
    return { runTask, handled: () => handled, stages: () => clock.take(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
