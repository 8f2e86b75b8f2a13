/**
 * The agent callback pattern on Mosquitto 2.x (the `mqtt` npm client), MQTT 5, QoS 1, persistent
 * sessions (clean start off, a session expiry of an hour) for both the supervisor and the worker.
 *
 * Tasks: MQTT has no queues, only topics; the "durable tasks queue" is the topic `tasks` plus the
 * worker's persistent session holding the shared subscription `$share/workers/tasks` (more
 * worker sessions would split the tasks between them). The broker queues QoS 1 messages for that
 * session while the worker is offline — but a task published while no worker session exists at
 * all is dropped (there is no retention without a subscriber).
 *
 * The worker acks a task after sending its replies: mqtt.js sends the PUBACK for a received
 * QoS 1 message when `handleMessage`'s callback is called, and it handles one incoming packet at
 * a time, so the handler cannot await the PUBACKs of its own replies (they arrive on the same
 * connection, behind it). Instead it writes the three reply PUBLISHes (QoS 1) and then calls the
 * callback: on the wire the task's PUBACK follows the replies, and mosquitto processes a
 * connection's packets in order, so the broker has routed the replies before it drops the task.
 * The replies' own PUBACKs are tracked to count the task as handled (and report failures).
 *
 * Replies: the topic `results/<taskId>` is the fresh channel. The supervisor subscribes to it
 * (QoS 1, awaiting the SUBACK) before publishing the task, gets the messages on its one
 * connection's 'message' event (routed to the task's trace by topic), and unsubscribes (awaiting
 * the UNSUBACK) after the final reply. Mosquitto keeps the three replies in order (one publisher,
 * one subscriber, QoS 1).
 */
import type { Socket } from 'node:net';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { encodeTask, workerReplies } from './messages.js';
import { checkPeer, startMosquitto } from './servers.js';
import type { PeerServer } from './servers.js';
import type { CallbackContext, CallbackSystem, RunningCallbackSystem, TaskSpec, TaskTrace } from './system.js';

const TASKS_TOPIC = 'tasks';
const SHARED_TASKS = `$share/workers/${TASKS_TOPIC}`;
const resultTopic = (taskId: string): string => `results/${taskId}`;

type Mqtt = typeof import('mqtt');

async function connect(mqtt: Mqtt, srv: PeerServer, clientId: string): Promise<MqttClient> {
  const opts: IClientOptions = {
    clientId,
    protocolVersion: 5,
    // Persistent session: subscriptions and undelivered QoS 1 messages outlive the connection.
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    // A dropped connection is an error of the run (reported), not something to ride out.
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  const client = await mqtt.connectAsync(`mqtt://${srv.host}:${srv.port}`, opts);
  // mqtt.js leaves Nagle on (ioredis and nats.js turn it off): small QoS 1 packets would wait for
  // delayed ACKs. Its TCP stream is a net.Socket.
  const stream = client.stream as unknown as Partial<Socket>;
  stream.setNoDelay?.(true);
  return client;
}

/** Fails on a SUBACK/UNSUBACK reason code ≥ 0x80 (MQTT 5 failure codes). */
function checkGranted(what: string, codes: (number | undefined)[]): void {
  const bad = codes.find((c) => c !== undefined && c >= 0x80);
  if (bad !== undefined) throw new Error(`${what} refused (reason code 0x${bad.toString(16)})`);
}

class Worker {
  handled = 0;
  stopping = false;

  constructor(
    private readonly client: MqttClient,
    private readonly ctx: CallbackContext,
  ) {}

  async start(): Promise<void> {
    // Replaces mqtt.js's default (which calls back at once): see the header comment.
    this.client.handleMessage = (packet: IPublishPacket, done) => {
      this.handle(packet);
      done();
    };
    const granted = await this.client.subscribeAsync(SHARED_TASKS, { qos: 1 });
    checkGranted(`subscribe ${SHARED_TASKS}`, granted.map((g) => g.qos));
  }

  private handle(packet: IPublishPacket): void {
    let out: ReturnType<typeof workerReplies>;
    try {
      out = workerReplies(packet.payload);
    } catch (err) {
      this.ctx.fail(err);
      return;
    }
    let pending = out.replies.length;
    for (const body of out.replies) {
      this.client.publish(out.task.replyTo, body, { qos: 1 }, (err) => {
        if (err) {
          if (!this.stopping) this.ctx.fail(err);
        } else if (--pending === 0) {
          this.handled++;
        }
      });
    }
  }
}

class Supervisor {
  private readonly traces = new Map<string, TaskTrace>();

  constructor(
    private readonly client: MqttClient,
    private readonly ctx: CallbackContext,
  ) {
    client.on('message', (topic, payload) => {
      const trace = this.traces.get(topic);
      if (trace) trace.reply(payload);
      else ctx.fail(new Error(`a message on ${topic}, which no task is subscribed to`));
    });
  }

  async runTask(task: TaskSpec, trace: TaskTrace): Promise<void> {
    const topic = resultTopic(task.id);
    this.traces.set(topic, trace);
    try {
      // 1. The channel: subscribe before dispatching (nothing is stored for a topic nobody follows).
      const granted = await this.client.subscribeAsync(topic, { qos: 1 });
      checkGranted(`subscribe ${topic}`, granted.map((g) => g.qos));
      // 2. Dispatch, QoS 1: resolved by the broker's PUBACK.
      trace.dispatched();
      await this.client.publishAsync(TASKS_TOPIC, encodeTask(task.id, topic), { qos: 1 });
      // 4. The 'message' handler feeds the trace.
      await trace.completed;
    } finally {
      // 5. Cleanup.
      await this.client.unsubscribeAsync(topic);
      this.traces.delete(topic);
    }
  }
}

async function start(ctx: CallbackContext): Promise<RunningCallbackSystem> {
  const mqtt: Mqtt = await import('mqtt');
  const srv = await startMosquitto(ctx.tmpBase);
  const clients: MqttClient[] = [];
  let worker: Worker | undefined;
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    if (worker) worker.stopping = true;
    for (const c of clients) await c.endAsync().catch(() => c.end(true));
    await srv.stop();
  };
  try {
    const open = async (clientId: string): Promise<MqttClient> => {
      const c = await connect(mqtt, srv, clientId);
      clients.push(c);
      c.on('error', (err) => {
        if (!stopping) ctx.fail(err);
      });
      c.on('close', () => {
        if (!stopping) ctx.fail(new Error(`${clientId}: connection closed`));
      });
      return c;
    };
    // The worker's session (with its subscription) must exist before the first task is sent.
    worker = new Worker(await open(`cb-worker-${ctx.runId}`), ctx);
    await worker.start();
    const supervisor = new Supervisor(await open(`cb-supervisor-${ctx.runId}`), ctx);
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

export const mqttSystem: CallbackSystem = {
  id: 'mqtt',
  label: 'Mosquitto (MQTT 5, QoS 1)',
  role: 'peer',
  durability:
    'QoS 1 + persistent sessions: a PUBACK means the broker has the message in memory; mosquitto (persistence true) writes its ' +
    'in-memory database (sessions, subscriptions, queued messages) to mosquitto.db only every autosave_interval (default 1800 s) and ' +
    'on a clean shutdown — a broker crash loses everything since the last save. A task published while no worker session exists is dropped.',
  idiom:
    'tasks: QoS 1 publish to "tasks", worker session subscribed to $share/workers/tasks, PUBACK (the ack) sent after its replies; ' +
    'replies: QoS 1 to results/<taskId>, supervisor subscribes per task before dispatch, unsubscribes after.',
  check: (ctx) => checkPeer(ctx.repoRoot, 'mosquitto', 'mosquitto', 'mqtt'),
  start,
};
