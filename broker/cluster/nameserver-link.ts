/**
 * The broker's link to its NameServers: registers the broker (endpoint + full topic table) with
 * EVERY configured NameServer through agentmq.v1.NameServerRegistry, re-registers each heartbeat
 * interval (a registration is the heartbeat) and right after topic changes, and unregisters on
 * close. NameServers share nothing, so each one is handled independently: one being down never
 * blocks the others, and one that comes up later is complete after the next heartbeat.
 *
 * Timing: a single setTimeout chain (unref'd) armed after each registration round; rounds never
 * overlap; notifyChanged() calls in the same tick coalesce into one round.
 */
import { semanticToWire, type SemanticMetadata } from '../../proto/common/semantic-metadata.js';
import * as grpc from '@grpc/grpc-js';
import { parseHostPort, toWireEndpoints } from '../../proto/common/endpoints.js';
import { InvalidArgumentError, MqError } from '../../proto/common/errors.js';
import { silentLogger } from '../../proto/common/logger.js';
import type { Logger } from '../../proto/common/logger.js';
import { fromStatus } from '../../proto/common/status.js';
import type { RegisterBrokerRequest } from '../../proto/gen/agentmq/v1/RegisterBrokerRequest.js';
import type { MessageType } from '../../proto/gen/apache/rocketmq/v2/MessageType.js';
import { registryService } from '../../proto/index.js';
import type { NameServerRegistryClient } from '../../proto/index.js';

/** Default interval between registrations (a third of the NameServer's default 30 s expiry). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
/** Deadline of each RegisterBroker call. */
export const REGISTER_DEADLINE_MS = 3_000;
/** Deadline of each UnregisterBroker call on close (best effort). */
export const UNREGISTER_DEADLINE_MS = 1_000;

/** What the broker reports; `registration()` is called afresh for every round. */
export interface BrokerRegistration {
  brokerName: string;
  clusterName: string;
  /** Where clients reach this broker's MessagingService. */
  host: string;
  port: number;
  /** Process start time (ms since epoch); lets NameServers tell restarts apart. */
  startedAtMs: number;
  topics: {
    name: string;
    /** Queues of the topic on this broker (>= 1). */
    queueCount: number;
    permission: 'READ' | 'WRITE' | 'READ_WRITE';
    /** apache.rocketmq.v2.MessageType names: NORMAL, FIFO, DELAY, TRANSACTION, LITE, PRIORITY. */
    messageTypes: string[];
    /** Semantic metadata of a topic registered as a capability. */
    semantic?: SemanticMetadata;
    /** Some online client consumes the topic on this broker. */
    live?: boolean;
  }[];
}

export interface NameServerLinkOptions {
  /** NameServer addresses, `HOST:PORT` each. */
  nameservers: string[];
  /**
   * Interval between registrations with each NameServer; keep it well below their expiry.
   * @default 10000
   */
  heartbeatIntervalMs?: number;
  /** Snapshot of this broker's registration, taken at every round. */
  registration: () => BrokerRegistration;
  /** @default silentLogger */
  logger?: Logger;
}

/** Per-NameServer state. */
interface Peer {
  readonly address: string;
  readonly client: NameServerRegistryClient;
  /** Outcome of the last round, so only transitions are logged above debug. */
  registered: boolean | undefined;
  /** Set once we warned that our heartbeat is too slow for its expiry. */
  warnedExpiry: boolean;
}

export class NameServerLink {
  private readonly peers: Peer[];
  private readonly heartbeatIntervalMs: number;
  private readonly registration: () => BrokerRegistration;
  private readonly logger: Logger;
  /** Calls in flight, cancelled on close so no registration lands after the unregistration. */
  private readonly inflight = new Set<grpc.ClientUnaryCall>();
  private heartbeat: NodeJS.Timeout | undefined;
  private kick: NodeJS.Immediate | undefined;
  /** The running registration loop; `again` asks it for one more round. */
  private round: Promise<void> | undefined;
  private again = false;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Set first thing in close(), before anything awaits. */
  private closed = false;
  /** Broker name and cluster of the last round, for the unregistration. */
  private lastIdentity: { brokerName: string; clusterName: string } | undefined;

  constructor(opts: NameServerLinkOptions) {
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!Number.isSafeInteger(this.heartbeatIntervalMs) || this.heartbeatIntervalMs <= 0) {
      throw InvalidArgumentError.format('heartbeatIntervalMs', `must be a positive integer (got ${String(opts.heartbeatIntervalMs)})`);
    }
    if (typeof opts.registration !== 'function') {
      throw InvalidArgumentError.format('registration', 'must be a function returning the BrokerRegistration');
    }
    this.registration = opts.registration;
    this.logger = opts.logger ?? silentLogger;
    const Client = registryService();
    // Reconnect at least once per heartbeat, so a NameServer that comes back is reached on the
    // next round (grpc-js backs off up to 120 s by default).
    const channelOptions: grpc.ChannelOptions = {
      'grpc.initial_reconnect_backoff_ms': Math.min(1_000, this.heartbeatIntervalMs),
      'grpc.max_reconnect_backoff_ms': this.heartbeatIntervalMs,
    };
    this.peers = [...new Set(opts.nameservers.map((a) => a.trim()))].map((address) => {
      parseHostPort(address); // throws a clear error on a malformed address
      return {
        address,
        client: new Client(address, grpc.credentials.createInsecure(), channelOptions),
        registered: undefined,
        warnedExpiry: false,
      };
    });
  }

  /**
   * Registers with every NameServer once and starts the heartbeat. Never rejects: a NameServer
   * that is down is logged and retried on the next heartbeat.
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('NameServerLink is closed'));
    this.starting ??= this.requestRound();
    return this.starting;
  }

  /** Re-registers at once (topic table changed). Calls within one tick coalesce into one round. */
  notifyChanged(): void {
    // Before start() there is nothing to refresh: start() sends the current table anyway.
    if (this.closed || !this.starting || this.kick) return;
    this.kick = setImmediate(() => {
      this.kick = undefined;
      void this.requestRound();
    });
  }

  /** Stops the heartbeat, unregisters from every NameServer (best effort), closes channels. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Starts a round, or asks the running loop for one more; resolves when the loop ends. */
  private requestRound(): Promise<void> {
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = this.loop().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.registerAll();
    } while (this.again && !this.closed);
    if (this.closed) return;
    if (this.heartbeat) clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => {
      this.heartbeat = undefined;
      void this.requestRound();
    }, this.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  /** One round: the same snapshot sent to every NameServer in parallel. Never throws. */
  private async registerAll(): Promise<void> {
    let request: RegisterBrokerRequest;
    try {
      request = toRegisterRequest(this.registration());
    } catch (err) {
      this.logger.error('cannot build broker registration; skipping this round', { err });
      return;
    }
    this.lastIdentity = { brokerName: request.broker?.brokerName ?? '', clusterName: request.broker?.clusterName ?? '' };
    await Promise.all(this.peers.map((peer) => this.registerWith(peer, request)));
  }

  private async registerWith(peer: Peer, request: RegisterBrokerRequest): Promise<void> {
    try {
      const expiryMs = await new Promise<number>((resolve, reject) => {
        // `call` stays undefined if grpc-js ever answers synchronously; then it is never tracked.
        let call: grpc.ClientUnaryCall | undefined;
        let answered = false;
        call = peer.client.RegisterBroker(request, { deadline: Date.now() + REGISTER_DEADLINE_MS }, (err, res) => {
          answered = true;
          if (call) this.inflight.delete(call);
          if (err) return reject(err);
          try {
            fromStatus(res?.status);
            resolve(Number(res?.expiryMs ?? 0));
          } catch (statusErr) {
            reject(statusErr);
          }
        });
        if (!answered) this.inflight.add(call);
      });
      if (peer.registered !== true) this.logger.info('registered with nameserver', { nameserver: peer.address });
      else this.logger.debug('heartbeat sent to nameserver', { nameserver: peer.address });
      peer.registered = true;
      if (expiryMs > 0 && this.heartbeatIntervalMs >= expiryMs && !peer.warnedExpiry) {
        peer.warnedExpiry = true;
        this.logger.warn('heartbeat interval is not below the nameserver broker expiry; the broker will flap', {
          nameserver: peer.address,
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          expiryMs,
        });
      }
    } catch (err) {
      if (this.closed) return; // cancelled by close()
      const fields = { nameserver: peer.address, err: describe(err), retryInMs: this.heartbeatIntervalMs };
      if (peer.registered !== false) this.logger.warn('cannot register with nameserver; will retry', fields);
      else this.logger.debug('nameserver still unreachable', fields);
      peer.registered = false;
    }
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.kick) clearImmediate(this.kick);
    this.heartbeat = undefined;
    this.kick = undefined;
    for (const call of this.inflight) call.cancel();
    await this.round?.catch(() => undefined); // settles at once: its calls were just cancelled
    const identity = this.lastIdentity;
    if (identity?.brokerName) {
      await Promise.all(this.peers.map((peer) => this.unregisterFrom(peer, identity)));
    }
    for (const peer of this.peers) peer.client.close();
  }

  private unregisterFrom(peer: Peer, identity: { brokerName: string; clusterName: string }): Promise<void> {
    return new Promise((resolve) => {
      peer.client.UnregisterBroker(identity, { deadline: Date.now() + UNREGISTER_DEADLINE_MS }, (err, res) => {
        try {
          if (err) throw err;
          fromStatus(res?.status);
          this.logger.info('unregistered from nameserver', { nameserver: peer.address });
        } catch (e) {
          // Best effort: the NameServer expires us anyway.
          this.logger.debug('cannot unregister from nameserver', { nameserver: peer.address, err: describe(e) });
        }
        resolve();
      });
    });
  }
}

function toRegisterRequest(r: BrokerRegistration): RegisterBrokerRequest {
  return {
    broker: {
      brokerName: r.brokerName,
      clusterName: r.clusterName,
      endpoints: toWireEndpoints({ host: r.host, port: r.port }),
      startedAtMs: r.startedAtMs,
      topics: r.topics.map((t) => ({
        name: t.name,
        queueCount: t.queueCount,
        permission: t.permission,
        // Unknown names are sent as MESSAGE_TYPE_UNSPECIFIED, which the NameServer rejects by name.
        acceptMessageTypes: t.messageTypes as MessageType[],
        ...(t.semantic ? { semantic: semanticToWire(t.semantic) } : {}),
        live: t.live ?? false,
      })),
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof MqError) return `${err.code}: ${err.message}`;
  const e = err as { code?: number; details?: string; message?: string };
  if (typeof e?.code === 'number' && e.details !== undefined) return `${grpc.status[e.code] ?? e.code}: ${e.details}`;
  return e?.message ?? String(err);
}
