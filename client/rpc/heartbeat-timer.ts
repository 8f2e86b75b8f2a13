/**
 * Keeps the client alive on every broker it knows: a Heartbeat RPC to each endpoint every
 * `intervalMs` (10 s by default). Failures are expected while a broker restarts and are logged at
 * debug only. The timer is unref'd: heartbeats alone never keep the process running.
 */
import type { Logger } from '../../proto/common/logger.js';
import type { ClientType, Endpoint } from '../types.js';
import type { BrokerRpc } from './broker-rpc.js';

export interface HeartbeatTimerOptions {
  rpc: BrokerRpc;
  /** The brokers to beat, read at every tick. */
  endpoints: () => Iterable<Endpoint>;
  /** Read at every beat when a function. */
  clientType: ClientType | (() => ClientType);
  group?: string;
  intervalMs: number;
  logger: Logger;
}

export class HeartbeatTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HeartbeatTimerOptions) {}

  /** Beats once now, then every interval. */
  start(): void {
    if (this.timer) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One Heartbeat to every endpoint; never rejects. */
  beat(): void {
    const { rpc, group, logger } = this.options;
    const clientType = typeof this.options.clientType === 'function' ? this.options.clientType() : this.options.clientType;
    for (const endpoint of this.options.endpoints()) {
      rpc.heartbeat(endpoint, clientType, group).catch((err: unknown) => {
        logger.debug('heartbeat failed', { endpoint, err });
      });
    }
  }
}
