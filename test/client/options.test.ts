/**
 * Option resolution: defaults, normalisation, and validation errors naming the field (client,
 * producer, simple consumer, TAG expressions).
 */
import { describe, expect, it } from 'vitest';
import { Code } from '../../proto/common/codes.js';
import { MqError } from '../../proto/common/errors.js';
import { silentLogger } from '../../proto/common/logger.js';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_NAMESERVER,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_ROUTE_REFRESH_INTERVAL_MS,
  resolveClientOptions,
} from '../../client/options.js';
import { resolveProducerOptions } from '../../client/producer/producer-options.js';
import { normalizeTagExpression, resolveSimpleConsumerOptions } from '../../client/consumer/simple-consumer-options.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MqError);
    return (err as MqError).code;
  }
  return 'OK';
}

describe('client options', () => {
  it('fills defaults, including a fresh client id per client', () => {
    const a = resolveClientOptions();
    const b = resolveClientOptions({});
    expect(a.nameserver).toBe(DEFAULT_NAMESERVER);
    expect(a.requestTimeoutMs).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    expect(a.routeRefreshIntervalMs).toBe(DEFAULT_ROUTE_REFRESH_INTERVAL_MS);
    expect(a.heartbeatIntervalMs).toBe(DEFAULT_HEARTBEAT_INTERVAL_MS);
    expect(a.clientId).toMatch(/^.+@\d+@\d+@[0-9a-z]+$/);
    expect(a.clientId).not.toBe(b.clientId);
  });

  it('normalises the nameserver address (default port 9876, IPv6 brackets)', () => {
    expect(resolveClientOptions({ nameserver: 'ns.local' }).nameserver).toBe('ns.local:9876');
    expect(resolveClientOptions({ nameserver: ' 10.0.0.1:1234 ' }).nameserver).toBe('10.0.0.1:1234');
    expect(resolveClientOptions({ nameserver: '[::1]:9000' }).nameserver).toBe('[::1]:9000');
  });

  it('keeps what the caller gave', () => {
    const r = resolveClientOptions({ clientId: 'me', requestTimeoutMs: 500, logger: silentLogger });
    expect(r.clientId).toBe('me');
    expect(r.requestTimeoutMs).toBe(500);
    expect(r.logger).toBe(silentLogger);
  });

  it('rejects bad values naming the field', () => {
    expect(codeOf(() => resolveClientOptions({ nameserver: 'host:notaport' }))).toBe(Code.ILLEGAL_ACCESS_POINT);
    expect(codeOf(() => resolveClientOptions({ clientId: ' ' }))).toBe(Code.CLIENT_ID_REQUIRED);
    expect(() => resolveClientOptions({ requestTimeoutMs: 0 })).toThrow(/^requestTimeoutMs /);
    expect(() => resolveClientOptions({ heartbeatIntervalMs: 1.5 })).toThrow(/^heartbeatIntervalMs /);
  });
});

describe('producer options', () => {
  it('defaults: 64 messages / 4 MiB per batch, linger 0, 16 in flight, 3 attempts', () => {
    const r = resolveProducerOptions();
    expect(r).toMatchObject({ topics: [], maxBatchMessages: 64, maxBatchBytes: 4 * 1024 * 1024, lingerMs: 0, maxInFlightBatches: 16, maxAttempts: 3 });
  });

  it('validates', () => {
    expect(codeOf(() => resolveProducerOptions({ topics: ['ok', 'not ok'] }))).toBe(Code.ILLEGAL_TOPIC);
    expect(() => resolveProducerOptions({ maxBatchMessages: 0 })).toThrow(/^maxBatchMessages /);
    expect(() => resolveProducerOptions({ lingerMs: -1 })).toThrow(/^lingerMs /);
    expect(resolveProducerOptions({ lingerMs: 2, topics: ['a', 'a'] })).toMatchObject({ lingerMs: 2, topics: ['a'] });
  });
});

describe('simple consumer options', () => {
  const base = { group: 'billing', subscriptions: { orders: '*' } };

  it('defaults: await 20 s, invisible 30 s, 32 messages', () => {
    expect(resolveSimpleConsumerOptions(base)).toMatchObject({ awaitDurationMs: 20_000, invisibleDurationMs: 30_000, maxMessages: 32 });
  });

  it('validates group, topics, expressions and durations with the broker codes', () => {
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, group: 'bad group' }))).toBe(Code.ILLEGAL_CONSUMER_GROUP);
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, subscriptions: {} }))).toBe(Code.BAD_REQUEST);
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, subscriptions: { 'a b': '*' } }))).toBe(Code.ILLEGAL_TOPIC);
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, subscriptions: { t: 'a||\u0001' } }))).toBe(Code.ILLEGAL_FILTER_EXPRESSION);
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, invisibleDurationMs: 10 }))).toBe(Code.ILLEGAL_INVISIBLE_TIME);
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, awaitDurationMs: 120_000 }))).toBe(Code.ILLEGAL_POLLING_TIME);
    expect(codeOf(() => resolveSimpleConsumerOptions({ ...base, maxMessages: 65 }))).toBe(Code.BAD_REQUEST);
  });

  it('normalises TAG expressions', () => {
    expect(normalizeTagExpression('e', '*')).toBe('*');
    expect(normalizeTagExpression('e', ' ')).toBe('*');
    expect(normalizeTagExpression('e', ' a || b ')).toBe('a||b');
    expect(normalizeTagExpression('e', 'a||||b')).toBe('a||b');
    expect(() => normalizeTagExpression('e', '||')).toThrow(MqError);
  });
});
