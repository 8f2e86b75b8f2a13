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

export function createAdminHandlers(ctx: BrokerContext, logger: Logger): BrokerAdminHandlers {
  const withStats = (name: string) => {
    const t = ctx.topics.require(name);
    return topicToWire(t, ctx.store.topicStats(name));
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
        ctx.longPolling.signal(name);
        logger.info('topic deleted', { topic: name });
      }
      return { status: okStatus() };
    }),
    GetTopic: unary(logger, async (call) => ({ status: okStatus(), topic: withStats(call.request.name) })),
    ListTopics: unary(logger, async () => ({ status: okStatus(), topics: ctx.topics.list().map((t) => withStats(t.name)) })),
    CreateGroup: unary(logger, async (call) => {
      const g = call.request.group;
      if (!g) throw new MqError(Code.BAD_REQUEST, 'group is required');
      const cfg = await ctx.groups.create({ name: g.name, maxDeliveryAttempts: g.maxDeliveryAttempts }, call.request.ifNotExists);
      return { status: okStatus(), group: cfg };
    }),
    DeleteGroup: unary(logger, async (call) => {
      const existed = await ctx.groups.delete(call.request.name);
      if (!existed && !call.request.ifExists) throw new MqError(Code.CONSUMER_GROUP_NOT_FOUND, `consumer group ${call.request.name} not found`, { group: call.request.name });
      return { status: okStatus() };
    }),
    ListGroups: unary(logger, async () => ({ status: okStatus(), groups: ctx.groups.list() })),
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
