/**
 * Typed calls to one broker's agentmq.v1.BrokerAdmin service. Fan-out over brokers is the
 * AdminClient's business; this module only speaks to the endpoint it is given.
 */
import type * as grpc from '@grpc/grpc-js';
import { fromStatus } from '../../proto/common/status.js';
import type { DeleteGroupResponse__Output } from '../../proto/gen/agentmq/v1/DeleteGroupResponse.js';
import type { DeleteTopicResponse__Output } from '../../proto/gen/agentmq/v1/DeleteTopicResponse.js';
import type { GroupResponse__Output } from '../../proto/gen/agentmq/v1/GroupResponse.js';
import type { ListClientsResponse__Output } from '../../proto/gen/agentmq/v1/ListClientsResponse.js';
import type { ListGroupsResponse__Output } from '../../proto/gen/agentmq/v1/ListGroupsResponse.js';
import type { ListTopicsResponse__Output } from '../../proto/gen/agentmq/v1/ListTopicsResponse.js';
import type { TopicResponse__Output } from '../../proto/gen/agentmq/v1/TopicResponse.js';
import type { TopicConfig__Output } from '../../proto/gen/agentmq/v1/TopicConfig.js';
import type { GetMessageResponse__Output } from '../../proto/gen/agentmq/v1/GetMessageResponse.js';
import type { FindMessagesResponse__Output } from '../../proto/gen/agentmq/v1/FindMessagesResponse.js';
import type { RedriveDeadLettersResponse__Output } from '../../proto/gen/agentmq/v1/RedriveDeadLettersResponse.js';
import type { MessageInfo__Output } from '../../proto/gen/agentmq/v1/MessageInfo.js';
import type { MessageDetails } from '../admin/admin-types.js';
import { semanticToWire, type SemanticMetadata } from '../../proto/common/semantic-metadata.js';
import type { ClientDetails, GroupDetails, GroupSpec, TopicDetails, TopicSpec } from '../admin/admin-types.js';
import type { Endpoint } from '../types.js';
import { clientFromWire, groupFromWire, groupSpecToWire, topicFromWire, topicSpecToWire } from './convert.js';
import { requestMetadata } from './metadata.js';
import type { RpcContext } from './rpc-context.js';
import { deadlineIn, unaryCall } from './unary-call.js';

type Invoke<Res> = (md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** What a successful topic call returns when the broker leaves `topic` out. */
function topicFromSpec(spec: TopicSpec): TopicDetails {
  return {
    name: spec.name,
    queueCount: spec.queueCount ?? 0,
    messageType: spec.messageType ?? 'NORMAL',
    permission: spec.permission ?? 'READ_WRITE',
    attributes: spec.attributes ?? {},
    createdAtMs: 0,
  };
}

function topicOr(t: TopicConfig__Output | null | undefined, spec: TopicSpec): TopicDetails {
  return t ? topicFromWire(t) : topicFromSpec(spec);
}

export class AdminRpc {
  constructor(private readonly ctx: RpcContext) {}

  async createTopic(endpoint: Endpoint, spec: TopicSpec, ifNotExists: boolean): Promise<TopicDetails> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<TopicResponse__Output>(endpoint, 'CreateTopic', (md, o, cb) =>
      admin.createTopic({ topic: topicSpecToWire(spec), ifNotExists }, md, o, cb),
    );
    fromStatus(res.status);
    return topicOr(res.topic, spec);
  }

  async updateTopic(endpoint: Endpoint, spec: TopicSpec): Promise<TopicDetails> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<TopicResponse__Output>(endpoint, 'UpdateTopic', (md, o, cb) => admin.updateTopic({ topic: topicSpecToWire(spec) }, md, o, cb));
    fromStatus(res.status);
    return topicOr(res.topic, spec);
  }

  async deleteTopic(endpoint: Endpoint, name: string, ifExists: boolean): Promise<void> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<DeleteTopicResponse__Output>(endpoint, 'DeleteTopic', (md, o, cb) => admin.deleteTopic({ name, ifExists }, md, o, cb));
    fromStatus(res.status);
  }

  async getTopic(endpoint: Endpoint, name: string): Promise<TopicDetails> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<TopicResponse__Output>(endpoint, 'GetTopic', (md, o, cb) => admin.getTopic({ name }, md, o, cb));
    fromStatus(res.status);
    return topicOr(res.topic, { name });
  }

  async listTopics(endpoint: Endpoint): Promise<TopicDetails[]> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<ListTopicsResponse__Output>(endpoint, 'ListTopics', (md, o, cb) => admin.listTopics({}, md, o, cb));
    fromStatus(res.status);
    return (res.topics ?? []).map(topicFromWire);
  }

  async createGroup(endpoint: Endpoint, spec: GroupSpec, ifNotExists: boolean): Promise<GroupDetails> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<GroupResponse__Output>(endpoint, 'CreateGroup', (md, o, cb) =>
      admin.createGroup({ group: groupSpecToWire(spec), ifNotExists }, md, o, cb),
    );
    fromStatus(res.status);
    return res.group ? groupFromWire(res.group) : { name: spec.name, maxDeliveryAttempts: spec.maxDeliveryAttempts ?? 0, createdAtMs: 0, attributes: groupSpecToWire(spec).attributes ?? {} };
  }

  async deleteGroup(endpoint: Endpoint, name: string, ifExists: boolean): Promise<void> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<DeleteGroupResponse__Output>(endpoint, 'DeleteGroup', (md, o, cb) => admin.deleteGroup({ name, ifExists }, md, o, cb));
    fromStatus(res.status);
  }

  async listGroups(endpoint: Endpoint): Promise<GroupDetails[]> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<ListGroupsResponse__Output>(endpoint, 'ListGroups', (md, o, cb) => admin.listGroups({}, md, o, cb));
    fromStatus(res.status);
    return (res.groups ?? []).map(groupFromWire);
  }

  async listClients(endpoint: Endpoint, group?: string): Promise<ClientDetails[]> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<ListClientsResponse__Output>(endpoint, 'ListClients', (md, o, cb) => admin.listClients({ group: group ?? '' }, md, o, cb));
    fromStatus(res.status);
    return (res.clients ?? []).map(clientFromWire);
  }

  /** RegisterTopic: semantic metadata (or an AgentCard as JSON) for a topic, created if missing. */
  async registerTopic(endpoint: Endpoint, req: { name: string; metadata?: SemanticMetadata; agentCardJson?: string; queueCount?: number }): Promise<TopicDetails> {
    const admin = this.ctx.channels.admin(endpoint);
    const wire = {
      name: req.name,
      ...(req.metadata ? { metadata: semanticToWire(req.metadata) } : {}),
      agentCardJson: req.agentCardJson ?? '',
      queueCount: req.queueCount ?? 0,
    };
    const res = await this.call<TopicResponse__Output>(endpoint, 'RegisterTopic', (md, o, cb) => admin.registerTopic(wire, md, o, cb));
    fromStatus(res.status);
    return topicFromWire(res.topic as TopicConfig__Output);
  }

  /** GetMessage; undefined when the broker does not know the id. */
  async getMessage(endpoint: Endpoint, messageId: string, includeBody: boolean): Promise<MessageDetails | undefined> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<GetMessageResponse__Output>(endpoint, 'GetMessage', (md, o, cb) => admin.getMessage({ messageId, includeBody }, md, o, cb));
    if (res.status?.code === 'MESSAGE_NOT_FOUND') return undefined;
    fromStatus(res.status);
    return res.message ? messageFromWire(res.message, endpoint) : undefined;
  }

  async findMessages(endpoint: Endpoint, topic: string, key: string, limit: number, includeBody: boolean): Promise<MessageDetails[]> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<FindMessagesResponse__Output>(endpoint, 'FindMessages', (md, o, cb) => admin.findMessages({ topic, key, limit, includeBody }, md, o, cb));
    fromStatus(res.status);
    return (res.messages ?? []).map((m) => messageFromWire(m, endpoint));
  }

  async redriveDeadLetters(endpoint: Endpoint, group: string, maxMessages: number): Promise<{ redriven: number; skipped: number }> {
    const admin = this.ctx.channels.admin(endpoint);
    const res = await this.call<RedriveDeadLettersResponse__Output>(endpoint, 'RedriveDeadLetters', (md, o, cb) => admin.redriveDeadLetters({ group, maxMessages }, md, o, cb));
    fromStatus(res.status);
    return { redriven: res.redriven, skipped: res.skipped };
  }

  private call<Res>(endpoint: Endpoint, method: string, invoke: Invoke<Res>): Promise<Res> {
    return unaryCall({ endpoint, method }, (cb) =>
      invoke(requestMetadata(this.ctx.clientId), { deadline: deadlineIn(this.ctx.requestTimeoutMs) }, cb),
    );
  }
}

function messageFromWire(m: MessageInfo__Output, broker: Endpoint): MessageDetails {
  return {
    messageId: m.messageId,
    topic: m.topic,
    broker,
    queueId: m.queueId,
    offset: m.offset,
    ...(m.tag ? { tag: m.tag } : {}),
    keys: m.keys ?? [],
    properties: m.properties ?? {},
    messageType: m.messageType,
    ...(m.messageGroup ? { messageGroup: m.messageGroup } : {}),
    ...(m.priority ? { priority: m.priority } : {}),
    bornTimestampMs: m.bornTimestampMs,
    storeTimestampMs: m.storeTimestampMs,
    ...(m.deliveryTimestampMs ? { deliveryTimestampMs: m.deliveryTimestampMs } : {}),
    ...(m.expireAtMs ? { expireAtMs: m.expireAtMs } : {}),
    state: m.state === 'scheduled' ? 'scheduled' : 'stored',
    groups: (m.groups ?? []).map((g) => ({ group: g.group, state: g.state as MessageDetails['groups'][number]['state'], deliveryAttempt: g.deliveryAttempt, visibleAtMs: g.visibleAtMs })),
    bodySize: m.bodySize,
    ...(m.body && m.body.length > 0 ? { body: m.body } : {}),
  };
}
