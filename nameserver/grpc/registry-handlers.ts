/**
 * agentmq.v1.NameServerRegistry handlers: how brokers register, heartbeat (a registration is
 * the heartbeat) and leave. Thin: validate -> BrokerRegistry -> convert.
 */
import type { Logger } from '../../proto/common/logger.js';
import { okStatus } from '../../proto/common/status.js';
import type { NameServerRegistryHandlers } from '../../proto/index.js';
import type { BrokerRegistry } from '../registry/broker-registry.js';
import { brokerDraftFromWire, brokerToWire } from './convert.js';
import { validateBrokerName, validateBrokerRegistration } from './validate.js';
import { unary } from './wrap.js';

export interface RegistryHandlerDeps {
  registry: BrokerRegistry;
  /** Reported to brokers in RegisterBrokerResponse.expiry_ms. */
  brokerExpiryMs: number;
  logger: Logger;
}

export function registryHandlers({ registry, brokerExpiryMs, logger }: RegistryHandlerDeps): NameServerRegistryHandlers {
  return {
    RegisterBroker: unary('RegisterBroker', logger, (req) => {
      registry.register(validateBrokerRegistration(brokerDraftFromWire(req.broker)));
      return { status: okStatus(), expiryMs: brokerExpiryMs };
    }),

    UnregisterBroker: unary('UnregisterBroker', logger, (req) => {
      // Unknown brokers are not an error: unregistration is best effort and may be repeated.
      registry.unregister(validateBrokerName(req.brokerName, 'broker_name'));
      return { status: okStatus() };
    }),

    ListBrokers: unary('ListBrokers', logger, () => ({
      status: okStatus(),
      brokers: registry.list().map(brokerToWire),
    })),
  };
}
