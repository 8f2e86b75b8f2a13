/** Public API of the broker component. */
export { createBroker } from './broker.js';
export type { Broker } from './broker.js';
export { resolveBrokerOptions, DEFAULT_BROKER_PORT, DEFAULT_MAX_BODY_SIZE } from './options.js';
export type { BrokerOptions, ResolvedBrokerOptions, StoreOptions, PopOptions } from './options.js';
