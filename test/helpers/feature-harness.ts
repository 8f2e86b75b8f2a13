/**
 * Harness for the message-feature tests (test/broker/features/): one in-process broker on its
 * own tmp dir that can be closed and reopened on the same dir (a restart), plus typed shortcuts
 * for the feature knobs (delay, priority, TTL, dedup, FIFO group) and the admin lookups.
 *
 * Short invisibility: pop.minInvisibleMs is 100 so redeliveries happen within a test.
 */
import { expect } from 'vitest';
import type { BrokerOptions } from '../../broker/index.js';
import type { Message } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { SendResultEntry__Output } from '../../proto/gen/apache/rocketmq/v2/SendResultEntry.js';
import type { SystemProperties } from '../../proto/gen/apache/rocketmq/v2/SystemProperties.js';
import type { MessageInfo__Output } from '../../proto/gen/agentmq/v1/MessageInfo.js';
import { tmpDir } from './tmp-dir.js';
import { call } from './wire.js';
import { ack, handleOf, idOf, ms, receive, send, startBroker, type ReceiveOptions, type ReceiveResult, type RunningBroker } from './broker-fixture.js';

export const TTL_PROPERTY = 'agentmq.ttl.ms';
export const DEDUP_PROPERTY = 'agentmq.dedup.key';

export const FEATURE_OPTS: Omit<BrokerOptions, 'store'> = { pop: { minInvisibleMs: 100 } };

export type TopicType = 'NORMAL' | 'FIFO' | 'DELAY' | 'PRIORITY';

export interface MsgOptions {
  /** Message type on the wire (default: FIFO if `group`, PRIORITY if `priority`, DELAY if `deliverAt`, else NORMAL). */
  type?: SystemProperties['messageType'];
  /** Absolute delivery time, ms since the epoch. */
  deliverAt?: number;
  priority?: number;
  /** FIFO message group. */
  group?: string;
  ttlMs?: number | string;
  dedupKey?: string;
  keys?: string[];
  tag?: string;
  props?: Record<string, string>;
  body?: string;
}

/** A wire message with the feature knobs set. */
export function featureMessage(topic: string, id: string, o: MsgOptions = {}): Message {
  const type = o.type ?? (o.group !== undefined ? 'FIFO' : o.priority !== undefined ? 'PRIORITY' : o.deliverAt !== undefined ? 'DELAY' : 'NORMAL');
  const props: Record<string, string> = { ...(o.props ?? {}) };
  if (o.ttlMs !== undefined) props[TTL_PROPERTY] = String(o.ttlMs);
  if (o.dedupKey !== undefined) props[DEDUP_PROPERTY] = o.dedupKey;
  return {
    topic: { name: topic },
    body: Buffer.from(o.body ?? `body-${id}`),
    userProperties: props,
    systemProperties: {
      messageId: id,
      messageType: type,
      keys: o.keys ?? [],
      ...(o.tag !== undefined ? { tag: o.tag } : {}),
      ...(o.deliverAt !== undefined ? { deliveryTimestamp: ms(o.deliverAt) } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.group !== undefined ? { messageGroup: o.group } : {}),
    },
  };
}

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

export const propsOf = (m: Message__Output): Record<string, string> => m.userProperties ?? {};

export class FeatureBroker {
  private dir: ReturnType<typeof tmpDir> | undefined;
  private running: RunningBroker | undefined;

  constructor(private readonly opts: Omit<BrokerOptions, 'store'> = FEATURE_OPTS) {}

  get b(): RunningBroker {
    if (!this.running) throw new Error('broker not running');
    return this.running;
  }

  /** The broker's data directory (it outlives restarts). */
  get dataDir(): string {
    if (!this.dir) throw new Error('broker not started');
    return this.dir.path;
  }

  async start(): Promise<this> {
    this.dir ??= tmpDir('agentmq-features-');
    this.running = await startBroker(this.dir.path, this.opts);
    return this;
  }

  /** Closes the broker (the data dir stays). */
  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  /** Closes the broker, optionally waits `downMs`, and opens a new one on the same dir. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }

  /** Closes the broker and removes the data dir. */
  async dispose(): Promise<void> {
    await this.stop();
    this.dir?.cleanup();
    this.dir = undefined;
  }

  async createTopic(name: string, messageType: TopicType = 'NORMAL', queueCount = 1, attributes: Record<string, string> = {}): Promise<void> {
    const res = await call(this.b.admin, this.b.admin.CreateTopic, { topic: { name, queueCount, messageType, attributes } });
    expect(res.status?.code, res.status?.message).toBe('OK');
  }

  async createGroup(name: string, maxDeliveryAttempts: number): Promise<void> {
    const res = await call(this.b.admin, this.b.admin.CreateGroup, { group: { name, maxDeliveryAttempts } });
    expect(res.status?.code, res.status?.message).toBe('OK');
    expect(res.group?.maxDeliveryAttempts).toBe(maxDeliveryAttempts);
  }

  /** Sends messages in one SendMessage; expects the call (every entry) to be OK. */
  async sendOk(messages: Message[]): Promise<SendResultEntry__Output[]> {
    const res = await send(this.b.mq, messages);
    expect(res.status?.code, res.status?.message).toBe('OK');
    expect(res.entries).toHaveLength(messages.length);
    return res.entries;
  }

  async sendOne(topic: string, id: string, o: MsgOptions = {}): Promise<SendResultEntry__Output> {
    return (await this.sendOk([featureMessage(topic, id, o)]))[0]!;
  }

  /** Sends one message expected to be refused; returns the entry's status code. */
  async sendRejected(topic: string, id: string, o: MsgOptions = {}): Promise<{ code: string; message: string }> {
    const res = await send(this.b.mq, [featureMessage(topic, id, o)]);
    const st = res.entries[0]?.status ?? res.status;
    expect(st?.code, `${id} should be refused`).not.toBe('OK');
    return { code: st?.code ?? '', message: st?.message ?? '' };
  }

  receive(o: ReceiveOptions): Promise<ReceiveResult> {
    return receive(this.b.mq, o);
  }

  /** One receive that must find nothing (with an optional long-poll wait). */
  async expectNothing(o: ReceiveOptions): Promise<void> {
    const r = await receive(this.b.mq, o);
    expect(r.messages.map(idOf), `nothing expected on ${o.topic}/${o.group}`).toEqual([]);
    expect(r.code).toBe('MESSAGE_NOT_FOUND');
  }

  /**
   * Receives (long polling) until `want` messages arrived or `budgetMs` passed (bounded in count
   * and time). Returns each message with when it arrived and in which receive call.
   */
  async receiveUntil(o: ReceiveOptions, want: number, budgetMs: number): Promise<{ msgs: Message__Output[]; at: Map<string, number>; batch: Map<string, number> }> {
    const msgs: Message__Output[] = [];
    const at = new Map<string, number>();
    const batch = new Map<string, number>();
    const until = Date.now() + budgetMs;
    for (let i = 0; i < 200 && msgs.length < want && Date.now() < until; i++) {
      const r = await receive(this.b.mq, { ...o, pollMs: Math.max(0, Math.min(o.pollMs ?? 1000, until - Date.now())) });
      expect(['OK', 'MESSAGE_NOT_FOUND'], r.message).toContain(r.code);
      const now = Date.now();
      for (const m of r.messages) {
        msgs.push(m);
        at.set(idOf(m), now);
        batch.set(idOf(m), i);
      }
    }
    return { msgs, at, batch };
  }

  async ackAll(topic: string, group: string, msgs: Message__Output[]): Promise<void> {
    if (msgs.length === 0) return;
    const res = await ack(this.b.mq, topic, group, msgs.map((m) => ({ messageId: idOf(m), receiptHandle: handleOf(m) })));
    expect(res.status?.code, res.status?.message).toBe('OK');
  }

  async getMessage(messageId: string, includeBody = false): Promise<{ code: string; message?: MessageInfo__Output | null }> {
    const res = await call(this.b.admin, this.b.admin.GetMessage, { messageId, includeBody });
    return { code: res.status?.code ?? '', message: res.message };
  }

  async findMessages(topic: string, key: string, limit = 0, includeBody = false): Promise<MessageInfo__Output[]> {
    const res = await call(this.b.admin, this.b.admin.FindMessages, { topic, key, limit, includeBody });
    expect(res.status?.code, res.status?.message).toBe('OK');
    return res.messages;
  }

  /** Messages stored in a topic (stats.message_count), or undefined if the topic does not exist. */
  async messageCount(topic: string): Promise<number | undefined> {
    const res = await call(this.b.admin, this.b.admin.GetTopic, { name: topic });
    if (res.status?.code === 'TOPIC_NOT_FOUND') return undefined;
    expect(res.status?.code, res.status?.message).toBe('OK');
    return Number(res.topic?.stats?.messageCount ?? 0);
  }

  async recall(topic: string, recallHandle: string): Promise<{ code: string; message: string; messageId: string }> {
    const res = await call(this.b.mq, this.b.mq.RecallMessage, { topic: { name: topic }, recallHandle });
    return { code: res.status?.code ?? '', message: res.status?.message ?? '', messageId: res.messageId };
  }

  async forwardToDlq(topic: string, group: string, m: Message__Output): Promise<{ code: string; message: string }> {
    const res = await call(this.b.mq, this.b.mq.ForwardMessageToDeadLetterQueue, {
      topic: { name: topic },
      group: { name: group },
      receiptHandle: handleOf(m),
      messageId: idOf(m),
      deliveryAttempt: m.systemProperties?.deliveryAttempt ?? 0,
      maxDeliveryAttempts: 16,
    });
    return { code: res.status?.code ?? '', message: res.status?.message ?? '' };
  }

  async redrive(group: string, maxMessages = 0): Promise<{ code: string; redriven: number; skipped: number }> {
    const res = await call(this.b.admin, this.b.admin.RedriveDeadLetters, { group, maxMessages });
    return { code: res.status?.code ?? '', redriven: res.redriven, skipped: res.skipped };
  }
}

/** Polls `check` (bounded: every 50 ms until `budgetMs`) until it returns true. */
export async function eventually(check: () => Promise<boolean> | boolean, budgetMs = 3000): Promise<boolean> {
  const until = Date.now() + budgetMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await sleep(50);
  }
}
