/**
 * EndpointIsolation: failing brokers are set aside with a doubling pause, successes clear it,
 * and filtering never leaves a caller with no candidate.
 */
import { describe, expect, it } from 'vitest';
import { ClientError } from '../../client/errors.js';
import { EndpointIsolation, isTransportFailure } from '../../client/route/endpoint-isolation.js';
import { MqError } from '../../proto/common/errors.js';

describe('EndpointIsolation', () => {
  it('isolates with a doubling pause, and a success clears it', () => {
    let now = 0;
    const iso = new EndpointIsolation(() => now);
    expect(iso.fail('a')).toBe(true); // newly isolated
    expect(iso.isIsolated('a')).toBe(true);
    now = 999;
    expect(iso.isIsolated('a')).toBe(true);
    now = 1000;
    expect(iso.isIsolated('a')).toBe(false); // 1 s pause over
    expect(iso.fail('a')).toBe(false); // still in its failure streak
    now = 2999;
    expect(iso.isIsolated('a')).toBe(true); // 2 s pause
    iso.succeed('a');
    expect(iso.isIsolated('a')).toBe(false);
  });

  it('caps the pause at 30 s', () => {
    let now = 0;
    const iso = new EndpointIsolation(() => now);
    for (let i = 0; i < 20; i++) iso.fail('a');
    now = 30_000;
    expect(iso.isIsolated('a')).toBe(false);
  });

  it('filters isolated candidates unless all are', () => {
    const iso = new EndpointIsolation(() => 0);
    iso.fail('b');
    expect(iso.filter(['a', 'b', 'c'], (e) => e)).toEqual(['a', 'c']);
    expect(iso.anyHealthy(['b', 'c'])).toBe(true);
    iso.fail('a');
    iso.fail('c');
    expect(iso.filter(['a', 'b', 'c'], (e) => e)).toEqual(['a', 'b', 'c']);
    expect(iso.anyHealthy(['a', 'b', 'c'])).toBe(false);
  });

  it('only transport failures count', () => {
    expect(isTransportFailure(new ClientError('TRANSPORT', 'x'))).toBe(true);
    expect(isTransportFailure(new ClientError('TIMEOUT', 'x'))).toBe(true);
    expect(isTransportFailure(new ClientError('ABORTED', 'x'))).toBe(false);
    expect(isTransportFailure(new MqError('INTERNAL_ERROR', 'x'))).toBe(false);
  });
});
