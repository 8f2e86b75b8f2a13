/** The services a broker's gRPC handlers work with (built by broker.ts). */
import type { ResolvedBrokerOptions } from './options.js';
import type { MessageStore } from './store/message-store.js';
import type { TopicManager } from './topic/topic-manager.js';
import type { GroupManager } from './consumer/group-manager.js';
import type { ClientRegistry } from './consumer/client-registry.js';
import type { PopService } from './pop/pop-service.js';
import type { LongPolling } from './pop/long-polling.js';
import type { SendService } from './send/send-service.js';
import type { DelayService } from './schedule/delay-service.js';
import type { ExpiryService } from './schedule/expiry-service.js';
import type { DeadLetterService } from './pop/dead-letter.js';
import type { Dedup } from './send/dedup.js';
import type { LiteService } from './lite/lite-service.js';
import type { PeerDirectory } from './cluster/peer-directory.js';
import type { LiteForwarder } from './cluster/lite-forwarder.js';

export interface BrokerContext {
  options: ResolvedBrokerOptions;
  store: MessageStore;
  topics: TopicManager;
  groups: GroupManager;
  clients: ClientRegistry;
  pop: PopService;
  longPolling: LongPolling;
  send: SendService;
  delays: DelayService;
  expiry: ExpiryService;
  deadLetters: DeadLetterService;
  dedup: Dedup;
  lite: LiteService;
  /** The other brokers of a parent topic (lite topic ownership). */
  peers: PeerDirectory;
  /** Sends lite messages on to their owner broker. */
  forwarder: LiteForwarder;
  /** Port actually bound (differs from options.port when that is 0). */
  port(): number;
  /** True once close() began: receives stop parking. */
  closing(): boolean;
}
