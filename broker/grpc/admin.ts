/** agentmq.v1.BrokerAdmin: topic and group management, client listing. */
import type { Logger } from '../../proto/common/logger.js';
import { okStatus } from '../../proto/common/status.js';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import type { BrokerAdminHandlers } from '../../proto/index.js';
import type { TopicConfig__Output } from '../../proto/gen/agentmq/v1/TopicConfig.js';
import type { BrokerContext } from '../context.js';
import type { TopicInput, MessageTypeName, PermissionName } from '../topic/topic-manager.js';
import { topicToWire } from './convert.js';
import type { MessageInfo } from '../../proto/gen/agentmq/v1/MessageInfo.js';
import type { MessageType } from '../../proto/gen/apache/rocketmq/v2/MessageType.js';
import type { StoredMessage } from '../store/message-store.js';
import type { TopicConfig } from '../topic/topic-manager.js';
import type { GroupDeliveryState } from '../pop/pop-service.js';
import { clientQueue } from '../topic/lanes.js';
import { semanticFromWire } from '../../proto/common/semantic-metadata.js';
import { topicDocumentFromAgentCard, validateTopicDocument, type TopicDocument } from '../../proto/common/topic-document.js';
import { unary } from './handler.js';

function topicInput(t: TopicConfig__Output | null | undefined): TopicInput {
  if (!t) throw new MqError(Code.BAD_REQUEST, 'topic is required');
  return {
    name: t.name,
    ...(t.queueCount ? { queueCount: t.queueCount } : {}),
    ...(t.messageType && t.messageType !== 'MESSAGE_TYPE_UNSPECIFIED' ? { messageType: t.messageType as MessageTypeName } : {}),
    ...(t.permission && t.permission !== 'PERMISSION_UNSPECIFIED' ? { permission: t.permission as PermissionName } : {}),
    ...(t.attributes && Object.keys(t.attributes).length ? { attributes: t.attributes } : {}),
  };
}

function messageInfo(m: StoredMessage, topic: TopicConfig | undefined, state: 'stored' | 'scheduled', groups: GroupDeliveryState[], includeBody: boolean): MessageInfo {
  return {
    messageId: m.id,
    topic: m.topic,
    queueId: topic ? clientQueue(topic, m.queueId) : m.queueId,
    offset: m.offset,
    tag: m.tag ?? '',
    keys: m.keys ?? [],
    properties: m.props ?? {},
    messageType: m.type as MessageType,
    messageGroup: m.group ?? '',
    priority: m.priority ?? 0,
    bornTimestampMs: m.bornMs,
    storeTimestampMs: m.storeMs,
    deliveryTimestampMs: m.deliveryMs ?? 0,
    expireAtMs: m.expireMs ?? 0,
    state,
    groups: groups.map((g) => ({ group: g.group, state: g.state, deliveryAttempt: g.attempt, visibleAtMs: g.visibleAt })),
    body: includeBody ? m.body : Buffer.alloc(0),
    bodySize: m.body.length,
  };
}

export function createAdminHandlers(ctx: BrokerContext, logger: Logger): BrokerAdminHandlers {
  const withStats = (name: string) => {
    const t = ctx.topics.require(name);
    return topicToWire(t, ctx.store.topicStats(name), ctx.clients.liveTopics().has(name));
  };
  return {
    CreateTopic: unary(logger, async (call) => {
      const t = await ctx.topics.create(topicInput(call.request.topic), call.request.ifNotExists);
      logger.info('topic created', { topic: t.name, queues: t.queueCount, type: t.messageType });
      return { status: okStatus(), topic: withStats(t.name) };
    }),
    UpdateTopic: unary(logger, async (call) => {
      const t = await ctx.topics.update(topicInput(call.request.topic));
      logger.info('topic updated', { topic: t.name, queues: t.queueCount, permission: t.permission });
      return { status: okStatus(), topic: withStats(t.name) };
    }),
    DeleteTopic: unary(logger, async (call) => {
      const name = call.request.name;
      const existed = await ctx.topics.delete(name);
      if (!existed && !call.request.ifExists) throw new MqError(Code.TOPIC_NOT_FOUND, `topic ${name} not found on this broker`, { topic: name });
      if (existed) {
        ctx.pop.dropTopic(name);
        ctx.dedup.dropTopic(name);
        ctx.longPolling.signal(name);
        logger.info('topic deleted', { topic: name });
      }
      return { status: okStatus() };
    }),
    GetTopic: unary(logger, async (call) => ({ status: okStatus(), topic: withStats(call.request.name) })),
    ListTopics: unary(logger, async () => ({ status: okStatus(), topics: ctx.topics.list().map((t) => withStats(t.name)) })),
    RegisterTopic: unary(logger, async (call) => {
      const r = call.request;
      let doc: TopicDocument;
      if (r.agentCardJson) {
        let card: unknown;
        try {
          card = JSON.parse(r.agentCardJson);
        } catch (err) {
          throw new MqError(Code.BAD_REQUEST, `agent_card_json is not valid JSON: ${(err as Error).message}`);
        }
        doc = topicDocumentFromAgentCard(card, r.name ? { topic: r.name } : {});
      } else {
        if (!r.metadata) throw new MqError(Code.BAD_REQUEST, 'metadata or agent_card_json is required');
        doc = validateTopicDocument({ name: r.name, ...semanticFromWire(r.metadata) });
      }
      const { name, ...semantic } = doc;
      const input: TopicInput = { name };
      if (r.queueCount) input.queueCount = r.queueCount;
      if (r.messageType && r.messageType !== 'MESSAGE_TYPE_UNSPECIFIED') input.messageType = r.messageType as MessageTypeName;
      await ctx.topics.setSemantic(input, semantic);
      logger.info('topic registered', { topic: name, skills: semantic.skills.length, tags: semantic.tags.length });
      return { status: okStatus(), topic: withStats(name) };
    }),
    CreateGroup: unary(logger, async (call) => {
      const g = call.request.group;
      if (!g) throw new MqError(Code.BAD_REQUEST, 'group is required');
      const cfg = await ctx.groups.create({ name: g.name, maxDeliveryAttempts: g.maxDeliveryAttempts, attributes: g.attributes ?? {} }, call.request.ifNotExists);
      return { status: okStatus(), group: cfg };
    }),
    DeleteGroup: unary(logger, async (call) => {
      const existed = await ctx.groups.delete(call.request.name);
      if (!existed && !call.request.ifExists) throw new MqError(Code.CONSUMER_GROUP_NOT_FOUND, `consumer group ${call.request.name} not found`, { group: call.request.name });
      return { status: okStatus() };
    }),
    ListGroups: unary(logger, async () => ({ status: okStatus(), groups: ctx.groups.list() })),
    GetMessage: unary(logger, async (call) => {
      const id = call.request.messageId;
      if (!id) throw new MqError(Code.ILLEGAL_MESSAGE_ID, 'message_id is required');
      const notFound = () => new MqError(Code.MESSAGE_NOT_FOUND, `message ${id} not found (unknown, expired, recalled or deleted)`, { messageId: id });
      const loc = await ctx.store.locate(id);
      if (!loc) throw notFound();
      if ('scheduled' in loc) {
        const p = await ctx.delays.pendingAt(loc.scheduled);
        if (!p) throw notFound();
        const topic = ctx.topics.get(p.topic);
        return { status: okStatus(), message: messageInfo({ ...p.header, topic: p.topic, queueId: 0, offset: -1, body: p.body }, topic, 'scheduled', [], call.request.includeBody) };
      }
      const topic = ctx.topics.get(loc.topic);
      const m = topic ? await ctx.store.readOne(loc.topic, loc.queueId, loc.offset) : undefined;
      // The id check: an index entry left by a crash before its message committed may point at
      // an offset a later message took (the index has its own write queue, docs/broker.md).
      if (!m || !topic || m.id !== id) throw notFound();
      return { status: okStatus(), message: messageInfo(m, topic, 'stored', ctx.pop.deliveryStates(loc.topic, loc.queueId, loc.offset), call.request.includeBody) };
    }),
    FindMessages: unary(logger, async (call) => {
      const { topic: name, key } = call.request;
      const topic = ctx.topics.require(name);
      if (!key) throw new MqError(Code.ILLEGAL_MESSAGE_KEY, 'key is required');
      const limit = call.request.limit || 32;
      if (limit < 1 || limit > 1024) throw new MqError(Code.BAD_REQUEST, `limit must be between 1 and 1024 (got ${limit})`);
      const found = await ctx.store.findByKey(name, key, limit);
      return {
        status: okStatus(),
        messages: found.map((m) => messageInfo(m, topic, 'stored', ctx.pop.deliveryStates(name, m.queueId, m.offset), call.request.includeBody)),
      };
    }),
    RedriveDeadLetters: unary(logger, async (call) => {
      const group = call.request.group;
      if (!ctx.groups.get(group) && !ctx.topics.get(`%DLQ%${group}`)) {
        throw new MqError(Code.CONSUMER_GROUP_NOT_FOUND, `consumer group ${group} not found`, { group });
      }
      const max = call.request.maxMessages;
      if (max < 0) throw new MqError(Code.BAD_REQUEST, 'max_messages must be >= 0');
      const res = await ctx.deadLetters.redrive(group, max);
      logger.info('dead letters re-driven', { group, ...res });
      return { status: okStatus(), ...res };
    }),
    ListClients: unary(logger, async (call) => ({
      status: okStatus(),
      clients: ctx.clients.list(call.request.group || undefined).map((c) => ({
        clientId: c.clientId,
        clientType: c.clientType as never,
        group: c.group,
        channel: c.streams > 0 ? 'telemetry' : 'heartbeat',
        lastSeenMs: c.lastSeenMs,
        language: c.language,
        version: c.version,
      })),
    })),
  };
}
