/** What every typed RPC wrapper needs: channels, the client's identity, deadlines, a logger. */
import type { Logger } from '../../proto/common/logger.js';
import type { EndpointIsolation } from '../route/endpoint-isolation.js';
import type { ChannelPool } from './channels.js';

export interface RpcContext {
  channels: ChannelPool;
  clientId: string;
  /** Deadline of a unary call. */
  requestTimeoutMs: number;
  logger: Logger;
  /** Told about transport failures and successes of broker calls (so callers avoid dead brokers). */
  isolation?: EndpointIsolation;
}
