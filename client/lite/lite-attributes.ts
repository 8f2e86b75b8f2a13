/**
 * Topic and group attributes of lite consumption, as the broker reads them (the SDK's typed
 * fields `TopicSpec.liteTtlMs`, `GroupSpec.liteSubModel` / `liteClientQuota` are sent as these).
 */

/** Topic attribute of a LITE parent topic: a lite topic without writes for this long (ms) is deleted; -1 = never. Broker default 24 h. */
export const LITE_TTL_ATTRIBUTE = 'lite.ttl.ms';
/** Group attribute: how the group's clients share a lite topic, `Shared` (default) or `Exclusive` (the newest subscriber takes it over). */
export const LITE_SUB_MODEL_ATTRIBUTE = 'lite.sub.model';
/** Group attribute: lite subscriptions one client of the group may hold; -1 = unlimited. */
export const LITE_CLIENT_QUOTA_ATTRIBUTE = 'lite.sub.client.quota';

export type LiteSubModel = 'Shared' | 'Exclusive';
