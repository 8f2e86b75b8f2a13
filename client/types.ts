/**
 * Plain string unions shared by the public API. They spell the apache.rocketmq.v2 enum names, so
 * converting to and from the wire (client/rpc/convert.ts) is a checked identity, and logs read
 * the same on both sides.
 */

/** A broker or NameServer address, `host:port` (IPv6 hosts in brackets). */
export type Endpoint = string;

export type MessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION' | 'LITE' | 'PRIORITY';

export type Permission = 'NONE' | 'READ' | 'WRITE' | 'READ_WRITE';

export type ClientType =
  | 'PRODUCER'
  | 'PUSH_CONSUMER'
  | 'SIMPLE_CONSUMER'
  | 'PULL_CONSUMER'
  | 'LITE_PUSH_CONSUMER'
  | 'LITE_SIMPLE_CONSUMER';

export function isReadable(p: Permission): boolean {
  return p === 'READ' || p === 'READ_WRITE';
}

export function isWritable(p: Permission): boolean {
  return p === 'WRITE' || p === 'READ_WRITE';
}
