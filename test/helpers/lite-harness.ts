/**
 * Wire-level lite topic clients for broker tests: each LiteWireClient has its own client id and
 * talks raw RocketMQ v2 (SyncLiteSubscription, ReceiveMessage on the parent, AckMessage with
 * lite_topic), optionally with a Telemetry stream open to see NotifyUnsubscribeLiteCommand.
 */
import type * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { MessagingServiceClient } from '../../proto/index.js';
import type { Message, Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { TelemetryCommand__Output } from '../../proto/gen/apache/rocketmq/v2/TelemetryCommand.js';
import type { OffsetOption } from '../../proto/gen/apache/rocketmq/v2/OffsetOption.js';
import { call, receiveAll, wireMetadata } from './wire.js';
import { ms } from './broker-fixture.js';

export type LiteAction = 'PARTIAL_ADD' | 'PARTIAL_REMOVE' | 'COMPLETE_ADD' | 'COMPLETE_REMOVE';

let seq = 0;

/** A LITE message for `parent`/`lite`. */
export function liteMessage(parent: string, lite: string, body: string, id = `lite-${process.pid}-${++seq}-${randomUUID().slice(0, 8)}`): Message {
  return { topic: { name: parent }, body: Buffer.from(body), systemProperties: { messageId: id, messageType: 'LITE', liteTopic: lite } };
}

export interface LiteReceived {
  code: string;
  messages: Message__Output[];
}

export const liteOf = (m: Message__Output): string => m.systemProperties?.liteTopic ?? '';
export const bodyOf = (m: Message__Output): string => Buffer.from(m.body).toString();

export class LiteWireClient {
  readonly clientId: string;
  readonly notices: string[] = [];
  private telemetry: grpc.ClientDuplexStream<unknown, TelemetryCommand__Output> | undefined;

  constructor(
    private readonly mq: MessagingServiceClient,
    readonly parent: string,
    readonly group: string,
    name = 'c',
  ) {
    this.clientId = `${name}@${process.pid}@${randomUUID().slice(0, 8)}`;
  }

  md(): grpc.Metadata {
    return wireMetadata(this.clientId);
  }

  async sync(action: LiteAction, lites: string[], offsetOption?: OffsetOption): Promise<{ code: string; message: string }> {
    const res = await call(this.mq, this.mq.SyncLiteSubscription, { action, topic: { name: this.parent }, group: { name: this.group }, liteTopicSet: lites, ...(offsetOption ? { offsetOption } : {}) }, this.md());
    return { code: res.status?.code ?? '', message: res.status?.message ?? '' };
  }

  async receive(pollMs = 0, batchSize = 32, invisibleMs = 30_000): Promise<LiteReceived> {
    const frames = await receiveAll(
      this.mq,
      { group: { name: this.group }, messageQueue: { topic: { name: this.parent }, id: 0 }, filterExpression: { type: 'TAG', expression: '*' }, batchSize, invisibleDuration: ms(invisibleMs), longPollingTimeout: ms(pollMs) },
      this.md(),
      pollMs + 10_000,
    );
    return { code: frames.find((f) => f.status)?.status?.code ?? 'NO_STATUS', messages: frames.filter((f) => f.message).map((f) => f.message!) };
  }

  async ack(m: Message__Output, withLite = true): Promise<string> {
    const res = await call(this.mq, this.mq.AckMessage, { topic: { name: this.parent }, group: { name: this.group }, entries: [{ messageId: m.systemProperties!.messageId, receiptHandle: m.systemProperties!.receiptHandle!, ...(withLite ? { liteTopic: liteOf(m) } : {}) }] }, this.md());
    return res.entries[0]?.status?.code ?? res.status?.code ?? '';
  }

  async changeInvisible(m: Message__Output, invisibleMs: number, suspend = false): Promise<string> {
    const res = await call(this.mq, this.mq.ChangeInvisibleDuration, {
      topic: { name: this.parent },
      group: { name: this.group },
      receiptHandle: m.systemProperties!.receiptHandle!,
      messageId: m.systemProperties!.messageId,
      invisibleDuration: ms(invisibleMs),
      liteTopic: liteOf(m),
      suspend,
    }, this.md());
    return res.status?.code ?? '';
  }

  async heartbeat(): Promise<void> {
    await call(this.mq, this.mq.Heartbeat, { clientType: 'LITE_PUSH_CONSUMER', group: { name: this.group } }, this.md());
  }

  /** Opens a Telemetry stream (settings as a lite push consumer); notices land in `notices`. */
  async openTelemetry(): Promise<TelemetryCommand__Output> {
    const stream = this.mq.Telemetry(this.md());
    this.telemetry = stream as unknown as grpc.ClientDuplexStream<unknown, TelemetryCommand__Output>;
    const first = new Promise<TelemetryCommand__Output>((resolve) => {
      stream.on('data', (cmd: TelemetryCommand__Output) => {
        if (cmd.notifyUnsubscribeLiteCommand) this.notices.push(cmd.notifyUnsubscribeLiteCommand.liteTopic);
        else resolve(cmd);
      });
    });
    stream.on('error', () => undefined);
    stream.write({ settings: { clientType: 'LITE_PUSH_CONSUMER', subscription: { group: { name: this.group }, subscriptions: [{ topic: { name: this.parent }, expression: { type: 'TAG', expression: '*' } }] } } });
    return first;
  }

  close(): void {
    this.telemetry?.end();
  }
}

/** Receives (long polling) until `want` messages or `budgetMs`; acks each as it arrives when `ackEach`. */
export async function receiveUntil(c: LiteWireClient, want: number, budgetMs = 10_000, ackEach = true): Promise<Message__Output[]> {
  const out: Message__Output[] = [];
  const until = Date.now() + budgetMs;
  for (let round = 0; out.length < want && Date.now() < until && round < 10_000; round++) {
    const r = await c.receive(Math.max(0, Math.min(2000, until - Date.now())));
    for (const m of r.messages) {
      out.push(m);
      if (ackEach) await c.ack(m);
    }
  }
  return out;
}
