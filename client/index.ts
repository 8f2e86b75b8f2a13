/**
 * AgentMQ client SDK: the public API. Every name exported here is an API decision; internal
 * modules (rpc/, batching/, route/, client.ts) are reached only through these classes.
 */
export { Producer } from './producer/producer.js';
export {
  DEFAULT_LINGER_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_BATCH_MESSAGES,
  DEFAULT_MAX_IN_FLIGHT_BATCHES,
} from './producer/producer-options.js';
export type { ProducerOptions } from './producer/producer-options.js';
export { DEFAULT_MAX_BODY_SIZE } from './producer/outgoing-message.js';
export type { OutgoingMessage, SendReceipt } from './producer/outgoing-message.js';
export { TTL_PROPERTY, DEDUP_KEY_PROPERTY } from './producer/outgoing-message.js';
export { decodeMessageId } from './producer/message-id.js';
export type { DecodedMessageId } from './producer/message-id.js';

export { SimpleConsumer } from './consumer/simple-consumer.js';
export {
  DEFAULT_AWAIT_DURATION_MS,
  DEFAULT_INVISIBLE_DURATION_MS,
  DEFAULT_MAX_MESSAGES,
} from './consumer/simple-consumer-options.js';
export type { ReceiveOptions, SimpleConsumerOptions } from './consumer/simple-consumer-options.js';
export type { ReceivedMessage } from './consumer/received-message.js';

export { LiteConsumer } from './consumer/lite-consumer.js';
export type { LiteConsumerEvents } from './consumer/lite-consumer.js';
export { DEFAULT_LITE_CONCURRENCY, DEFAULT_LITE_SYNC_INTERVAL_MS } from './consumer/lite-consumer-options.js';
export type {
  LiteConsumeOptions,
  LiteConsumerOptions,
  LiteMessageHandler,
  LiteOffset,
  LiteReceiveOptions,
  LiteSubscribeOptions,
} from './consumer/lite-consumer-options.js';
export type { LiteMessage } from './consumer/lite-message.js';
export { DEFAULT_MAX_LITE_TOPIC_LENGTH, LITE_TOPIC_PATTERN } from './lite/lite-topic-name.js';
export { LITE_CLIENT_QUOTA_ATTRIBUTE, LITE_SUB_MODEL_ATTRIBUTE, LITE_TTL_ATTRIBUTE } from './lite/lite-attributes.js';
export type { LiteSubModel } from './lite/lite-attributes.js';

export { AdminClient } from './admin/admin-client.js';
export { DiscoveryClient } from './discovery/discovery-client.js';
export type {
  CatalogEvent,
  CatalogTopic,
  DiscoverOptions,
  DiscoveryHit,
  DiscoveryResult,
  JsonSchemaObject,
  SemanticMetadata,
  SemanticSkill,
  TopicRegistration,
} from './discovery/discovery-types.js';
export type { AdminClientOptions, BrokerTarget } from './admin/admin-client.js';
export type {
  BrokerDescriptor,
  BrokerTopicInfo,
  ClientDetails,
  ClientListing,
  GroupDetails,
  GroupListing,
  GroupOnBroker,
  GroupSpec,
  MessageDetails,
  TopicDetails,
  TopicListing,
  TopicOnBroker,
  TopicSpec,
  TopicStats,
} from './admin/admin-types.js';

export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_NAMESERVER,
  DEFAULT_NAMESERVER_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_ROUTE_REFRESH_INTERVAL_MS,
  resolveClientOptions,
} from './options.js';
export type { ClientOptions, ResolvedClientOptions } from './options.js';

export {
  ClientError,
  Code,
  IllegalLiteTopicError,
  InvalidArgumentError,
  isRetryableError,
  LiteSubscriptionQuotaExceededError,
  LiteTopicQuotaExceededError,
  MqError,
  NotFoundError,
} from './errors.js';
export type { ClientErrorCode, ClientErrorContext } from './errors.js';

export type { ClientType, Endpoint, MessageType, Permission } from './types.js';
export { CLIENT_VERSION } from './version.js';
export { consoleLogger, silentLogger } from '../proto/common/logger.js';
export type { Logger, LogFields, LogLevel } from '../proto/common/logger.js';

// --- agents (client/agent/): sub-agents serve tasks, supervisors discover and call them ---------
export { registerAgent } from './agent/agent.js';
export type { Agent, AgentEvents } from './agent/agent.js';
export {
  AGENT_NAME_ATTRIBUTE,
  AGENT_PROTOCOL_ATTRIBUTE,
  DEFAULT_AGENT_CLOSE_TIMEOUT_MS,
  DEFAULT_AGENT_CONCURRENCY,
} from './agent/agent-options.js';
export type { AgentSkillInput, RegisterAgentOptions, TaskHandler } from './agent/agent-options.js';
export type { ArtifactChunk, TaskAbortCause, TaskContext } from './agent/task-context.js';
export { Supervisor } from './agent/supervisor.js';
export type {
  CallManyMode,
  CallManyOptions,
  CallSpec,
  CallTarget,
  FirstCall,
  ResumeOptions,
  SettledCall,
  SupervisorDiscoverOptions,
} from './agent/supervisor.js';
export {
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_CANCEL_GRACE_MS,
  DEFAULT_MAX_FINISHED_TASKS,
  DEFAULT_SUPERVISOR_GROUP,
} from './agent/supervisor-options.js';
export type { CallOptions, SupervisorOptions } from './agent/supervisor-options.js';
export type { ArtifactUpdate, StatusUpdate, TaskEvent, TaskHandle } from './agent/task-handle.js';
export type { DiscoveredCapability } from './agent/capability.js';
export { TaskCanceledError, TaskError, TaskFailedError, TaskRejectedError, TaskTimeoutError } from './agent/task-errors.js';
export type { TaskErrorCode } from './agent/task-errors.js';
export {
  AGENT_PROPERTIES,
  cancelLiteTopicOf,
  DEFAULT_CONTROL_TOPIC,
  DEFAULT_REPLY_TOPIC,
  isTerminalState,
  replyLiteTopicOf,
  TASK_STATES,
  TERMINAL_STATES,
} from './agent/protocol.js';
export type {
  A2AMessage,
  Artifact,
  CancelTaskRequest,
  InterimTaskState,
  Part,
  StreamResponse,
  Task,
  TaskArtifactUpdateEvent,
  TaskState,
  TaskStatus,
  TaskStatusUpdateEvent,
} from './agent/protocol.js';
export { tools, toCapability, toolDescription, objectRootSchema, strictSchema, DEFAULT_MAX_DESCRIPTION_CHARS, MCP_TOPIC_META_KEY, STRICT_LIMITS, WRAPPED_INPUT_PROPERTY, WRAPPED_OUTPUT_PROPERTY } from './agent/tools.js';
export type { AnthropicTool, Capability, CapabilityLike, CapabilitySkill, McpTool, ObjectSchema, OpenAIChatTool, OpenAIResponsesTool, ProviderTools, ToolBinding, ToolCall, ToolSet, ToolsOptions } from './agent/tools.js';
export { ToolNameMap, toolNameRule, OPENAI_TOOL_NAME_RULE, ANTHROPIC_TOOL_NAME_RULE, MCP_TOOL_NAME_RULE, TOOL_NAME_HASH_LENGTH } from './agent/tool-names.js';
export type { ToolNameEntry, ToolNameMapOptions, ToolNameRule, ToolProvider } from './agent/tool-names.js';
export { A2A_PROTOCOL_VERSION, AGENTMQ_PROTOCOL_BINDING, AGENTMQ_TOPIC_EXTENSION_URI, agentCardFromTopicDocument, agentCardProblems, agentMqExtensionOf, agentMqTopicOf, agentMqUrl, parseAgentMqUrl, topicDocumentFromAgentMqCard } from './agent/agent-card.js';
export type { AgentCapabilities, AgentCard, AgentCardExportOptions, AgentExtension, AgentInterface, AgentMqTopicExtensionParams, AgentProvider, AgentSkill } from './agent/agent-card.js';
