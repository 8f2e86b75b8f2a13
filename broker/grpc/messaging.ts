/**
 * apache.rocketmq.v2.MessagingService on the broker. Handlers are thin: validate (validate.ts),
 * call a service, convert (convert.ts). Errors become response statuses in `unary` (handler.ts)
 * or, for the ReceiveMessage stream, in `receiveMessage`'s single catch.
 */
import type * as grpc from '@grpc/grpc-js';
import { Code } from '../../proto/common/codes.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import { okStatus, toStatus, type WireStatus } from '../../proto/common/status.js';
import type { SyncLiteSubscriptionRequest__Output } from '../../proto/gen/apache/rocketmq/v2/SyncLiteSubscriptionRequest.js';
import { durationToMs, timestampToMs } from '../../proto/common/time.js';
import type { MessagingServiceHandlers } from '../../proto/index.js';
import type { Message__Output } from '../../proto/gen/apache/rocketmq/v2/Message.js';
import type { SendResultEntry } from '../../proto/gen/apache/rocketmq/v2/SendResultEntry.js';
import type { AckMessageResultEntry } from '../../proto/gen/apache/rocketmq/v2/AckMessageResultEntry.js';
import type { ReceiveMessageRequest__Output } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageRequest.js';
import type { ReceiveMessageResponse } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageResponse.js';
import type { Logger } from '../../proto/common/logger.js';
import type { BrokerContext } from '../context.js';
import type { IncomingMessage } from '../send/send-service.js';
import { compileTagFilter } from '../consumer/filter.js';
import { deliveryToWire, liteDeliveryToWire, topicQueues } from './convert.js';
import { liteInternalName } from '../lite/lite-names.js';
import { notImplemented, unary } from './handler.js';
import { createTelemetryHandler } from './telemetry.js';
import * as v from './validate.js';
import { FORWARDED_HEADER, PeerUnavailable } from '../cluster/lite-forwarder.js';
import { FORWARDED_BY_NAMESERVER } from '../../proto/common/lite-owner.js';
import { acceptedTypes } from '../topic/lanes.js';
import type { MessageTypeName, TopicConfig } from '../topic/topic-manager.js';
import { DEDUP_KEY_PROPERTY } from '../send/dedup.js';
import { storedHeader } from '../store/codec.js';
import { Cancellation } from '../pop/cancellation.js';

/** User property carrying a per-message TTL in milliseconds. */
export const TTL_PROPERTY = 'agentmq.ttl.ms';

/** Combined status of per-entry results: OK, the shared failure, or MULTIPLE_RESULTS. */
function summarize(statuses: WireStatus[]): WireStatus {
  const failed = statuses.filter((s) => s.code !== Code.OK);
  if (failed.length === 0) return okStatus();
  if (failed.length === statuses.length && failed.every((s) => s.code === failed[0]!.code)) return failed[0]!;
  return { code: Code.MULTIPLE_RESULTS, message: `${failed.length} of ${statuses.length} entries failed; see each entry's status` };
}

/**
 * A message whose properties do not fit its type or topic. (Module level: a closure made per
 * message costs a `__name` property definition each time under the tsx/esbuild loader.)
 */
function conflict(topic: string, why: string): MqError {
  return new MqError(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, why, { topic });
}

const WRITABLE = new Set(['WRITE', 'READ_WRITE']);
const READABLE = new Set(['READ', 'READ_WRITE']);

export function createMessagingHandlers(ctx: BrokerContext, logger: Logger): MessagingServiceHandlers {
  const opts = ctx.options;

  type LiteSend = { i: number; msg: IncomingMessage; parent: TopicConfig; name: string };

  /**
   * Sends the lite messages another (reachable) broker owns on to it, filling their `entries`
   * from its answer; returns the ones to store here. A peer that does not answer gets its
   * messages stored here instead (see cluster/lite-forwarder.ts).
   */
  async function forwardRemote(lites: LiteSend[], wire: Message__Output[], entries: SendResultEntry[], clientId: string): Promise<LiteSend[]> {
    for (const parent of new Set(lites.map((l) => l.parent.name))) await ctx.peers.load(parent);
    const local: LiteSend[] = [];
    const remote = new Map<string, LiteSend[]>();
    for (const l of lites) {
      const o = ctx.peers.owner(l.parent.name, l.name);
      if (o.local || !ctx.forwarder.reachable(o.endpoint)) local.push(l);
      else {
        const list = remote.get(o.endpoint);
        if (list) list.push(l);
        else remote.set(o.endpoint, [l]);
      }
    }
    await Promise.all(
      [...remote].map(async ([endpoint, list]) => {
        try {
          const res = await ctx.forwarder.send(endpoint, list.map((l) => wire[l.i]!), clientId);
          list.forEach((l, j) => {
            const e = res.entries?.[j];
            entries[l.i] = e
              ? { status: e.status ?? okStatus(), messageId: e.messageId, transactionId: '', offset: Number(e.offset ?? 0), ...(e.recallHandle ? { recallHandle: e.recallHandle } : {}) }
              : { status: toStatus(new MqError(Code.INTERNAL_SERVER_ERROR, `owner broker ${endpoint} answered without an entry for this message`), logger), messageId: l.msg.header.id, transactionId: '', offset: 0 };
          });
        } catch (err) {
          if (!(err instanceof PeerUnavailable)) throw err;
          local.push(...list);
          // The owner may have left the cluster: look again (the NameServers drop it at expiry).
          for (const parent of new Set(list.map((l) => l.parent.name))) void ctx.peers.refresh(parent);
        }
      }),
    );
    return local.sort((a, b) => a.i - b.i);
  }

  /**
   * Passes a partial add's lite topics owned by another (reachable) broker on to their owner;
   * returns the names to apply here and the first refusal an owner answered with.
   */
  async function forwardSubscription(parent: string, names: string[], req: SyncLiteSubscriptionRequest__Output, clientId: string): Promise<{ local: string[]; status: WireStatus }> {
    await ctx.peers.load(parent);
    const local: string[] = [];
    const remote = new Map<string, string[]>();
    for (const n of names) {
      const o = ctx.peers.owner(parent, n);
      if (o.local || ctx.lite.holds(parent, n) || !ctx.forwarder.reachable(o.endpoint)) local.push(n);
      else {
        const list = remote.get(o.endpoint);
        if (list) list.push(n);
        else remote.set(o.endpoint, [n]);
      }
    }
    let status: WireStatus = okStatus();
    await Promise.all(
      [...remote].map(async ([endpoint, list]) => {
        try {
          const s = await ctx.forwarder.syncLite(endpoint, { ...req, liteTopicSet: list }, clientId);
          if (s.code !== Code.OK && status.code === Code.OK) status = s;
        } catch (err) {
          if (!(err instanceof PeerUnavailable)) throw err;
          local.push(...list);
        }
      }),
    );
    return { local, status };
  }

  /** Validates one message of a SendMessage request into what the send service takes. */
  function incoming(m: Message__Output, now: number): { msg: IncomingMessage; lite?: { parent: TopicConfig; name: string } } {
    const topicName = v.requireTopicName(m.topic?.name, 'message.topic');
    const topic = ctx.topics.require(topicName);
    if (!WRITABLE.has(topic.permission)) throw new MqError(Code.FORBIDDEN, `topic ${topicName} is not writable on this broker (permission ${topic.permission})`, { topic: topicName });
    const sp = m.systemProperties;
    if (!sp) throw InvalidArgumentError.format('message.system_properties', 'is required');
    v.checkMessageId(sp.messageId);
    const body = m.body ?? Buffer.alloc(0);
    v.checkBody(body, opts.maxBodySize);
    if (sp.tag !== undefined) v.checkTag(sp.tag);
    v.checkKeys(sp.keys ?? []);
    const props = m.userProperties ?? {};
    v.checkProperties(props, opts.maxPropertiesSize);
    const type = sp.messageType === 'MESSAGE_TYPE_UNSPECIFIED' ? 'NORMAL' : sp.messageType;
    if (type === 'TRANSACTION') throw new MqError(Code.UNSUPPORTED, 'transactional messages are not supported by this broker', { topic: topicName });
    let lite: { parent: TopicConfig; name: string } | undefined;
    if (topic.messageType === 'LITE') {
      if (sp.liteTopic === undefined || sp.liteTopic === '') throw conflict(topicName, `${topicName} is a LITE topic: its messages need a lite_topic`);
      if (type !== 'LITE' && type !== 'NORMAL') throw conflict(topicName, `${topicName} is a LITE topic; it accepts LITE messages, not ${type}`);
      lite = { parent: topic, name: ctx.lite.checkName(sp.liteTopic) };
    } else if (type === 'LITE' || sp.liteTopic !== undefined) {
      throw conflict(topicName, `lite_topic is only allowed on LITE topics (${topicName} is ${topic.messageType}; create a parent with --type lite)`);
    } else if (!acceptedTypes(topic.messageType).includes(type as MessageTypeName)) {
      throw conflict(topicName, `topic ${topicName} is a ${topic.messageType} topic; it accepts ${acceptedTypes(topic.messageType).join(', ')} messages, not ${type}`);
    }
    // Delivery time: DELAY messages need one; any message may carry one (a delayed FIFO message).
    const deliverAtMs = timestampToMs(sp.deliveryTimestamp);
    if (type === 'DELAY' && deliverAtMs === undefined) throw conflict(topicName, 'DELAY messages need a delivery_timestamp');
    if (deliverAtMs !== undefined) v.checkDeliveryTime(deliverAtMs, now, opts.maxDelayMs);
    if (type === 'FIFO' && sp.messageGroup === undefined) throw conflict(topicName, 'FIFO messages need a message_group');
    if (sp.messageGroup !== undefined) {
      if (topic.messageType !== 'FIFO') throw conflict(topicName, `message_group is only allowed on FIFO topics (${topicName} is ${topic.messageType})`);
      v.checkMessageGroup(sp.messageGroup);
    }
    if (type === 'PRIORITY' && sp.priority === undefined) throw conflict(topicName, 'PRIORITY messages need a priority');
    if (sp.priority !== undefined) {
      if (topic.messageType !== 'PRIORITY') throw conflict(topicName, `priority is only allowed on PRIORITY topics (${topicName} is ${topic.messageType})`);
      v.checkPriority(sp.priority);
    }
    const ttlMs = v.ttlProperty(props[TTL_PROPERTY], opts.maxTtlMs);
    const dedupKey = v.dedupProperty(props[DEDUP_KEY_PROPERTY]);
    // One fixed shape, absent fields undefined (see storedHeader in broker/store/codec.ts).
    const msg: IncomingMessage = {
      topic: lite ? liteInternalName(topicName, lite.name) : topicName,
      body,
      deliverAtMs,
      ttlMs,
      dedupKey,
      header: storedHeader(
        {
          id: sp.messageId,
          tag: sp.tag,
          keys: sp.keys.length ? sp.keys : undefined,
          props: hasAny(props) ? props : undefined,
          type: lite ? 'LITE' : type,
          group: sp.messageGroup,
          priority: sp.priority,
          deliveryMs: deliverAtMs,
          bornMs: timestampToMs(sp.bornTimestamp) ?? now,
          bornHost: sp.bornHost ?? '',
          enc: sp.bodyEncoding === 'GZIP' ? 'GZIP' : undefined,
        },
        0,
        undefined,
      ),
    };
    return lite ? { msg, lite } : { msg };
  }

  async function receiveMessage(call: grpc.ServerWritableStream<ReceiveMessageRequest__Output, ReceiveMessageResponse>): Promise<void> {
    const abort = new Cancellation();
    call.on('cancelled', () => abort.abort());
    try {
      const req = call.request;
      const clientId = v.requireClientId(call.metadata);
      const group = v.requireGroupName(req.group?.name);
      if (!req.messageQueue) throw InvalidArgumentError.format('message_queue', 'is required');
      const topicName = v.requireTopicName(req.messageQueue.topic?.name, 'message_queue.topic');
      const topic = ctx.topics.require(topicName);
      if (!READABLE.has(topic.permission)) throw new MqError(Code.FORBIDDEN, `topic ${topicName} is not readable on this broker`, { topic: topicName });
      const filter = compileTagFilter(req.filterExpression?.type, req.filterExpression?.expression);
      const maxMessages = v.batchSize(req.batchSize, opts);
      const invisibleMs = v.invisibleMs(durationToMs(req.invisibleDuration), opts);
      let pollMs = v.pollingMs(durationToMs(req.longPollingTimeout), opts);
      const groupConfig = await ctx.groups.resolve(group);
      ctx.clients.touch(clientId, { group, topics: [topicName] });
      if (topic.messageType === 'LITE') {
        await receiveLite(call, abort, { clientId, group, topic, maxMessages, invisibleMs, pollMs, maxAttempts: groupConfig.maxDeliveryAttempts });
        return;
      }
      // Answer before the caller's deadline expires, or the client sees DEADLINE_EXCEEDED.
      const deadline = call.getDeadline();
      const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
      if (Number.isFinite(deadlineMs)) pollMs = Math.min(pollMs, Math.max(0, deadlineMs - Date.now() - 250));
      const until = Date.now() + pollMs;
      for (;;) {
        const seq = ctx.longPolling.seq(topicName);
        const current = ctx.topics.get(topicName);
        if (!current) throw new MqError(Code.TOPIC_NOT_FOUND, `topic ${topicName} was deleted`, { topic: topicName });
        const deliveries = await ctx.pop.pop({ topic: current, group, filter, maxMessages, invisibleMs, maxAttempts: groupConfig.maxDeliveryAttempts });
        if (deliveries.length > 0) {
          if (abort.aborted) {
            // The caller left: make them visible again at once instead of waiting out the invisibility.
            for (const d of deliveries) await ctx.pop.changeInvisibleDuration(topicName, group, d.receiptHandle, 0).catch(() => undefined);
            return;
          }
          call.write({ status: okStatus() });
          const host = `${opts.advertisedHost}:${ctx.port()}`;
          for (const d of deliveries) call.write({ message: deliveryToWire(d, current, host, invisibleMs) });
          call.end();
          return;
        }
        if (ctx.closing()) break;
        const outcome = await ctx.longPolling.park(topicName, group, seq, until - Date.now(), abort);
        if (outcome !== 'signal') break;
      }
      if (!abort.aborted) {
        call.write({ status: { code: Code.MESSAGE_NOT_FOUND, message: 'no new message' } });
        call.end();
      }
    } catch (err) {
      if (abort.aborted) return;
      call.write({ status: toStatus(err, logger) });
      call.end();
    }
  }

  /** Deadline-bounded long-poll time of a receive. */
  function pollUntil(call: grpc.ServerWritableStream<ReceiveMessageRequest__Output, ReceiveMessageResponse>, pollMs: number): number {
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    if (Number.isFinite(deadlineMs)) pollMs = Math.min(pollMs, Math.max(0, deadlineMs - Date.now() - 250));
    return Date.now() + pollMs;
  }

  /**
   * A receive on a LITE parent topic: messages of whichever of the client's lite topics are
   * ready. One parked receive per client covers all of them (its own long-polling key).
   */
  async function receiveLite(
    call: grpc.ServerWritableStream<ReceiveMessageRequest__Output, ReceiveMessageResponse>,
    aborted: Cancellation,
    r: { clientId: string; group: string; topic: TopicConfig; maxMessages: number; invisibleMs: number; pollMs: number; maxAttempts: number },
  ): Promise<void> {
    const key = ctx.lite.waitKey(r.clientId, r.group, r.topic.name);
    const until = pollUntil(call, r.pollMs);
    for (;;) {
      const seq = ctx.longPolling.seq(key);
      const got = await ctx.lite.receive(r.clientId, r.group, r.topic, r.maxMessages, r.invisibleMs, r.maxAttempts);
      if (got.length > 0) {
        if (aborted.aborted) {
          for (const g of got) await ctx.pop.changeInvisibleDuration(g.delivery.message.topic, r.group, g.delivery.receiptHandle, 0).catch(() => undefined);
          return;
        }
        call.write({ status: okStatus() });
        const host = `${opts.advertisedHost}:${ctx.port()}`;
        for (const g of got) call.write({ message: liteDeliveryToWire(g.delivery, r.topic, g.lite, host, r.invisibleMs) });
        call.end();
        return;
      }
      if (ctx.closing()) break;
      ctx.lite.parked(r.clientId, r.group, r.topic.name, 1);
      const outcome = await ctx.longPolling.park(key, '', seq, until - Date.now(), aborted).finally(() => ctx.lite.parked(r.clientId, r.group, r.topic.name, -1));
      if (outcome !== 'signal') break;
    }
    if (aborted.aborted && !ctx.closing()) ctx.lite.receiveCancelled(r.clientId, r.group, r.topic.name);
    if (!aborted.aborted) {
      call.write({ status: { code: Code.MESSAGE_NOT_FOUND, message: 'no new message' } });
      call.end();
    }
  }

  /** The store topic a settle request addresses: the lite topic's for LITE parents. */
  async function settleTopic(topicName: string, liteTopic: string | undefined): Promise<{ internal: string; lite: boolean }> {
    const topic = ctx.topics.require(topicName);
    if (topic.messageType !== 'LITE') return { internal: topicName, lite: false };
    return { internal: await ctx.lite.internalFor(topic, liteTopic), lite: true };
  }

  return {
    SyncLiteSubscription: unary(logger, async (call) => {
      const clientId = v.requireClientId(call.metadata);
      const req = call.request;
      const parent = v.requireTopicName(req.topic?.name);
      const group = v.requireGroupName(req.group?.name);
      await ctx.groups.resolve(group);
      const offset = req.offsetOption ? { offset: v.offsetOption(req.offsetOption) } : {};
      let names = req.liteTopicSet ?? [];
      let status = okStatus();
      const forwardedBy = call.metadata.get(FORWARDED_HEADER)[0];
      // Passed on by another broker: kept as it is (that broker's view made this one the owner).
      let keepAll = forwardedBy !== undefined && forwardedBy !== FORWARDED_BY_NAMESERVER;
      if (req.action === 'PARTIAL_ADD' && ctx.peers.clustered && forwardedBy === undefined) {
        // Our SDK sends a partial add to the lite topic's owner only; one that reached another
        // broker (a stale route, another client) is passed on to the owner. What stays here
        // (owned, held, or its owner unreachable) is kept whatever the ownership filter says.
        for (const n of names) ctx.lite.checkName(n);
        const r = await forwardSubscription(parent, names, req, clientId);
        names = r.local;
        status = r.status;
        keepAll = true;
        if (names.length === 0) return { status };
      }
      await ctx.lite.sync(clientId, { action: req.action, parent, group, liteTopics: names, ...offset, ...(keepAll ? { keepAll } : {}) });
      return { status };
    }),

    QueryRoute: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const name = v.requireTopicName(call.request.topic?.name);
      const topic = ctx.topics.require(name);
      return { status: okStatus(), messageQueues: topicQueues(topic, opts.brokerName, opts.advertisedHost, ctx.port()) };
    }),

    QueryAssignment: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const name = v.requireTopicName(call.request.topic?.name);
      const group = v.requireGroupName(call.request.group?.name);
      const topic = ctx.topics.require(name);
      // In a cluster the answer covers every broker of the topic (as a RocketMQ proxy's does):
      // the official push consumers ask the first broker of their route.
      const cluster = ctx.peers.clustered ? await ctx.peers.clusterAssignments(name, group) : undefined;
      if (cluster && (cluster.assignments ?? []).length > 0) return { status: okStatus(), assignments: cluster.assignments };
      const queues = topicQueues(topic, opts.brokerName, opts.advertisedHost, ctx.port()).filter((q) => READABLE.has(q.permission as string));
      return { status: okStatus(), assignments: queues.map((messageQueue) => ({ messageQueue })) };
    }),

    Heartbeat: unary(logger, async (call) => {
      const clientId = v.requireClientId(call.metadata);
      const group = call.request.group?.name ?? '';
      if (group) v.requireGroupName(group);
      ctx.clients.touch(clientId, { group, clientType: call.request.clientType });
      ctx.lite.touchClient(clientId);
      return { status: okStatus() };
    }),

    NotifyClientTermination: unary(logger, async (call) => {
      const clientId = v.requireClientId(call.metadata);
      ctx.clients.remove(clientId);
      ctx.lite.removeClient(clientId);
      logger.debug('client terminated', { clientId });
      return { status: okStatus() };
    }),

    SendMessage: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const messages = call.request.messages ?? [];
      if (messages.length === 0) throw InvalidArgumentError.format('messages', 'must contain at least one message');
      if (messages.length > v.MAX_MESSAGES_PER_SEND) throw InvalidArgumentError.format('messages', `must contain at most ${v.MAX_MESSAGES_PER_SEND} messages per call (got ${messages.length})`);
      const entries: SendResultEntry[] = new Array(messages.length);
      const valid: IncomingMessage[] = [];
      const validIdx: number[] = [];
      const now = opts.clock.now();
      const failed = (i: number, err: unknown) => {
        entries[i] = { status: toStatus(err, logger), messageId: messages[i]!.systemProperties?.messageId ?? '', transactionId: '', offset: 0 };
      };
      const lites: LiteSend[] = [];
      messages.forEach((m, i) => {
        try {
          const { msg, lite } = incoming(m, now);
          if (lite) lites.push({ i, msg, ...lite });
          else {
            valid.push(msg);
            validIdx.push(i);
          }
        } catch (err) {
          failed(i, err);
        }
      });
      // Lite messages whose lite topic another broker owns go on to it (unless this is already a
      // forwarded send, or the owner is unreachable: then they stay here).
      const forwarded = call.metadata.get(FORWARDED_HEADER).length > 0;
      const local = forwarded || lites.length === 0 ? lites : await forwardRemote(lites, messages, entries, v.requireClientId(call.metadata));
      // Lite topics are created on first send (or refused past the broker's quota).
      for (const l of local) {
        try {
          await ctx.lite.ensure(l.parent, l.name);
          valid.push(l.msg);
          validIdx.push(l.i);
        } catch (err) {
          failed(l.i, err);
        }
      }
      if (valid.length > 0) {
        const results = await ctx.send.send(valid, now);
        results.forEach((r, j) => {
          const i = validIdx[j]!;
          entries[i] = { status: okStatus(), messageId: r.messageId, transactionId: '', offset: r.offset, ...(r.recallHandle ? { recallHandle: r.recallHandle } : {}) };
        });
      }
      return { status: summarize(entries.map((e) => e.status as WireStatus)), entries };
    }),

    ReceiveMessage: (call) => {
      void receiveMessage(call);
    },

    AckMessage: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const group = v.requireGroupName(call.request.group?.name);
      const topic = v.requireTopicName(call.request.topic?.name);
      ctx.topics.require(topic);
      const reqEntries = call.request.entries ?? [];
      if (reqEntries.length === 0) throw InvalidArgumentError.format('entries', 'must contain at least one entry');
      const entries: AckMessageResultEntry[] = await Promise.all(
        reqEntries.map(async (e) => {
          try {
            const t = await settleTopic(topic, e.liteTopic);
            await ctx.pop.ack(t.internal, group, e.receiptHandle);
            if (t.lite) ctx.lite.afterSettle(t.internal, group);
            return { messageId: e.messageId, receiptHandle: e.receiptHandle, status: okStatus() };
          } catch (err) {
            return { messageId: e.messageId, receiptHandle: e.receiptHandle, status: toStatus(err, logger) };
          }
        }),
      );
      return { status: summarize(entries.map((e) => e.status as WireStatus)), entries };
    }),

    ChangeInvisibleDuration: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const group = v.requireGroupName(call.request.group?.name);
      const topic = v.requireTopicName(call.request.topic?.name);
      ctx.topics.require(topic);
      const ms = durationToMs(call.request.invisibleDuration);
      if (ms === undefined) throw InvalidArgumentError.format('invisible_duration', 'is required', Code.ILLEGAL_INVISIBLE_TIME);
      const invisible = v.invisibleMs(ms, opts, true);
      const t = await settleTopic(topic, call.request.liteTopic);
      const receiptHandle = await ctx.pop.changeInvisibleDuration(t.internal, group, call.request.receiptHandle, invisible, t.lite && call.request.suspend === true);
      return { status: okStatus(), receiptHandle };
    }),

    Telemetry: createTelemetryHandler(ctx, logger),

    ForwardMessageToDeadLetterQueue: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const group = v.requireGroupName(call.request.group?.name);
      const topic = v.requireTopicName(call.request.topic?.name);
      ctx.topics.require(topic);
      await ctx.groups.resolve(group);
      const attempts = call.request.deliveryAttempt || 0;
      const t = await settleTopic(topic, call.request.liteTopic);
      await ctx.pop.forwardToDeadLetter(t.internal, group, call.request.receiptHandle, `forwarded by the client after ${attempts} deliveries`);
      if (t.lite) ctx.lite.afterSettle(t.internal, group);
      return { status: okStatus() };
    }),

    RecallMessage: unary(logger, async (call) => {
      v.requireClientId(call.metadata);
      const topic = v.requireTopicName(call.request.topic?.name);
      ctx.topics.require(topic);
      const messageId = await ctx.delays.recall(topic, call.request.recallHandle);
      return { status: okStatus(), messageId };
    }),

    EndTransaction: notImplemented('EndTransaction (transactional messages)'),
    UpdateOffset: notImplemented('UpdateOffset'),
    GetOffset: notImplemented('GetOffset'),
    QueryOffset: notImplemented('QueryOffset'),
    PullMessage: (call) => {
      call.write({ status: { code: Code.NOT_IMPLEMENTED, message: 'PullMessage is not implemented; use ReceiveMessage (SimpleConsumer / PushConsumer)' } });
      call.end();
    },
  };
}

/** Whether an object has an own enumerable key (without building the array Object.keys makes). */
function hasAny(o: Record<string, string>): boolean {
  for (const _ in o) return true;
  return false;
}
