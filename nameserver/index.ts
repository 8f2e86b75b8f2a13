/**
 * Public API of the NameServer component. Adding a name here makes it public.
 */
export { createNameServer } from './name-server.js';
export type { NameServer } from './name-server.js';
export {
  DEFAULT_BROKER_EXPIRY_MS,
  DEFAULT_HOST,
  DEFAULT_PORT,
  resolveNameServerOptions,
} from './options.js';
export type { DiscoveryOptions, NameServerOptions, ResolvedNameServerOptions } from './options.js';
