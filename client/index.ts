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
