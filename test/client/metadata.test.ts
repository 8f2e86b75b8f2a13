/**
 * Request headers on every call (rocketmq-notes §2.1) and the x-mq-date-time format.
 */
import { describe, expect, it } from 'vitest';
import { formatMqDateTime, requestMetadata } from '../../client/rpc/metadata.js';
import { CLIENT_VERSION } from '../../client/version.js';

describe('request metadata', () => {
  it('formats x-mq-date-time as yyyyMMddTHHmmssZ in UTC', () => {
    expect(formatMqDateTime(new Date(Date.UTC(2023, 8, 13, 6, 30, 59, 123)))).toBe('20230913T063059Z');
  });

  it('carries the client id, protocol, language, version, a fresh request id and the time', () => {
    const now = new Date(Date.UTC(2026, 10, 21, 10, 0, 0));
    const a = requestMetadata('host@1@0@abc', now).getMap();
    const b = requestMetadata('host@1@0@abc', now).getMap();
    expect(a).toMatchObject({
      'x-mq-client-id': 'host@1@0@abc',
      'x-mq-protocol': 'v2',
      'x-mq-language': 'HTTP',
      'x-mq-client-version': CLIENT_VERSION,
      'x-mq-date-time': '20261121T100000Z',
    });
    expect(a['x-mq-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a['x-mq-request-id']).not.toBe(b['x-mq-request-id']);
  });

  it('keeps each client id and each second apart (headers are cached per client and per second)', () => {
    const t0 = new Date(Date.UTC(2026, 10, 21, 10, 0, 0, 900));
    const t1 = new Date(Date.UTC(2026, 10, 21, 10, 0, 1, 0));
    const a = requestMetadata('client-a', t0);
    const b = requestMetadata('client-b', t1);
    const c = requestMetadata('client-a', t1);
    expect(a.get('x-mq-client-id')).toEqual(['client-a']);
    expect(b.get('x-mq-client-id')).toEqual(['client-b']);
    expect(c.get('x-mq-client-id')).toEqual(['client-a']);
    expect(a.get('x-mq-date-time')).toEqual(['20261121T100000Z']);
    expect(c.get('x-mq-date-time')).toEqual(['20261121T100001Z']);
    // a call's metadata is its own: changing it does not leak into the next call
    a.set('x-extra', '1');
    expect(requestMetadata('client-a', t0).get('x-extra')).toEqual([]);
    expect(() => requestMetadata('client-a', new Date(Number.NaN))).toThrow(RangeError);
  });
});
