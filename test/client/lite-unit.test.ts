/** Lite topics in the SDK without a broker: validation, option defaults, wire conversions, typed errors. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AWAIT_DURATION_MS,
  DEFAULT_INVISIBLE_DURATION_MS,
  DEFAULT_LITE_SYNC_INTERVAL_MS,
  IllegalLiteTopicError,
  InvalidArgumentError,
  LiteConsumer,
  LiteSubscriptionQuotaExceededError,
  LiteTopicQuotaExceededError,
  MqError,
  silentLogger,
} from '../../client/index.js';
import { liteError } from '../../client/errors.js';
import { liteOffsetOption, resolveLiteConsumerOptions } from '../../client/consumer/lite-consumer-options.js';
import { prepareMessage } from '../../client/producer/outgoing-message.js';
import { groupFromWire, groupSpecToWire, messageToWire, settingsFromWire, settingsToWire, topicSpecToWire } from '../../client/rpc/convert.js';

describe('lite messages', () => {
  it('lite - liteTopic makes a LITE message, delayed or not, and travels as system property lite_topic', () => {
    const m = prepareMessage({ topic: 'replies', body: 'x', liteTopic: 'task-1' });
    expect(m.messageType).toBe('LITE');
    expect(messageToWire(m).systemProperties).toMatchObject({ liteTopic: 'task-1', messageType: 'LITE' });
    const delayed = prepareMessage({ topic: 'replies', body: 'x', liteTopic: 'task-1', deliveryTimestampMs: 1_800_000_000_000 });
    expect(delayed.messageType).toBe('LITE');
    expect(delayed.deliveryTimestampMs).toBe(1_800_000_000_000);
    expect(prepareMessage({ topic: 'replies', body: 'x' }).liteTopic).toBeUndefined();
    expect(messageToWire(prepareMessage({ topic: 'replies', body: 'x' })).systemProperties).not.toHaveProperty('liteTopic');
  });

  it('lite - bad lite topic names are IllegalLiteTopicError (ILLEGAL_LITE_TOPIC); conflicts with FIFO/PRIORITY are refused', () => {
    expect(prepareMessage({ topic: 't', body: 'x', liteTopic: 'a'.repeat(64) }).liteTopic).toHaveLength(64);
    for (const bad of ['', 'a'.repeat(65), 'has space', 'slash/no', 'dollar$no', 'ü']) {
      let err: unknown;
      try {
        prepareMessage({ topic: 't', body: 'x', liteTopic: bad });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(IllegalLiteTopicError);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as MqError).code).toBe('ILLEGAL_LITE_TOPIC');
    }
    expect(() => prepareMessage({ topic: 't', body: 'x', liteTopic: 'l', messageGroup: 'g' })).toThrow(/cannot be combined/);
    expect(() => prepareMessage({ topic: 't', body: 'x', liteTopic: 'l', priority: 1 })).toThrow(expect.objectContaining({ code: 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE' }));
  });
});

describe('lite errors', () => {
  it('lite - liteError gives lite status codes their classes and leaves others alone', () => {
    const quota = liteError(new MqError('LITE_SUBSCRIPTION_QUOTA_EXCEEDED', 'too many', { group: 'g' }));
    expect(quota).toBeInstanceOf(LiteSubscriptionQuotaExceededError);
    expect(quota).toMatchObject({ code: 'LITE_SUBSCRIPTION_QUOTA_EXCEEDED', message: 'too many', context: { group: 'g' }, name: 'LiteSubscriptionQuotaExceededError' });
    expect(liteError(new MqError('LITE_TOPIC_QUOTA_EXCEEDED', 'x'))).toBeInstanceOf(LiteTopicQuotaExceededError);
    expect(liteError(new MqError('ILLEGAL_LITE_TOPIC', 'x'))).toBeInstanceOf(IllegalLiteTopicError);
    const other = new MqError('TOPIC_NOT_FOUND', 'x');
    expect(liteError(other)).toBe(other);
    const plain = new Error('x');
    expect(liteError(plain)).toBe(plain);
  });
});

describe('lite consumer options', () => {
  it('lite - defaults, validation and offsets', () => {
    const r = resolveLiteConsumerOptions({ group: 'g', topic: 'replies', logger: silentLogger });
    expect(r).toMatchObject({
      group: 'g',
      topic: 'replies',
      liteTopics: [],
      awaitDurationMs: DEFAULT_AWAIT_DURATION_MS,
      invisibleDurationMs: DEFAULT_INVISIBLE_DURATION_MS,
      batchSize: 32,
      syncIntervalMs: DEFAULT_LITE_SYNC_INTERVAL_MS,
    });
    expect(DEFAULT_LITE_SYNC_INTERVAL_MS).toBe(30_000);
    expect(resolveLiteConsumerOptions({ group: 'g', topic: 't', liteTopics: ['a', 'b', 'a'] }).liteTopics).toEqual(['a', 'b']);
    expect(() => resolveLiteConsumerOptions({ group: 'bad group', topic: 't' })).toThrow(expect.objectContaining({ code: 'ILLEGAL_CONSUMER_GROUP' }));
    expect(() => resolveLiteConsumerOptions({ group: 'g', topic: 'bad topic' })).toThrow(expect.objectContaining({ code: 'ILLEGAL_TOPIC' }));
    expect(() => resolveLiteConsumerOptions({ group: 'g', topic: 't', liteTopics: ['no good'] })).toThrow(IllegalLiteTopicError);
    expect(() => resolveLiteConsumerOptions({ group: 'g', topic: 't', batchSize: 65 })).toThrow(/batchSize/);
    expect(() => resolveLiteConsumerOptions({ group: 'g', topic: 't', syncIntervalMs: 0 })).toThrow(/syncIntervalMs/);

    expect(liteOffsetOption('MIN')).toEqual({ policy: 'MIN' });
    expect(liteOffsetOption('LAST')).toEqual({ policy: 'LAST' });
    expect(liteOffsetOption({ offset: 5 })).toEqual({ offset: 5 });
    expect(liteOffsetOption({ tailN: 2 })).toEqual({ tailN: 2 });
    expect(liteOffsetOption({ timestampMs: 1_700_000_000_000 })).toEqual({ timestampMs: 1_700_000_000_000 });
    expect(() => liteOffsetOption({ tailN: -1 })).toThrow(/tailN/);
    expect(() => liteOffsetOption('FIRST' as never)).toThrow(/offset/);
  });

  it('lite - a consumer refuses work before start() and after close()', async () => {
    const c = new LiteConsumer({ group: 'g', topic: 't', logger: silentLogger, nameserver: '127.0.0.1:1' });
    await expect(c.receive()).rejects.toMatchObject({ code: 'NOT_STARTED' });
    await expect(c.subscribe('a')).rejects.toMatchObject({ code: 'NOT_STARTED' });
    await expect(c.consume(() => undefined)).rejects.toMatchObject({ code: 'NOT_STARTED' });
    expect(c.subscriptions()).toEqual([]);
    await c.close();
    await c.close();
    await expect(c.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('lite wire conversions', () => {
  it('lite - topic TTL and group lite attributes go out as attributes and come back', () => {
    expect(topicSpecToWire({ name: 'p', messageType: 'LITE', liteTtlMs: -1 })).toEqual({ name: 'p', messageType: 'LITE', attributes: { 'lite.ttl.ms': '-1' } });
    expect(topicSpecToWire({ name: 'p', attributes: { a: 'b' }, liteTtlMs: 60_000 }).attributes).toEqual({ a: 'b', 'lite.ttl.ms': '60000' });
    expect(groupSpecToWire({ name: 'g', liteSubModel: 'Exclusive', liteClientQuota: 10, attributes: { x: 'y' } })).toEqual({
      name: 'g',
      attributes: { x: 'y', 'lite.sub.model': 'Exclusive', 'lite.sub.client.quota': '10' },
    });
    expect(groupSpecToWire({ name: 'g' })).toEqual({ name: 'g' });
    expect(groupFromWire({ name: 'g', maxDeliveryAttempts: 16, createdAtMs: 1, attributes: { 'lite.sub.model': 'Shared' } })).toEqual({
      name: 'g',
      maxDeliveryAttempts: 16,
      createdAtMs: 1,
      attributes: { 'lite.sub.model': 'Shared' },
    });
  });

  it('lite - settings report a lite client type and read the lite quota of the reply', () => {
    const wire = settingsToWire({ clientType: 'LITE_PUSH_CONSUMER', accessPoint: '127.0.0.1:9876', requestTimeoutMs: 3000, subscription: { group: 'g', subscriptions: { p: '*' } } });
    expect(wire.clientType).toBe('LITE_PUSH_CONSUMER');
    expect(wire.subscription?.subscriptions?.[0]?.topic?.name).toBe('p');
    const s = settingsFromWire({ subscription: { liteSubscriptionQuota: 100, maxLiteTopicSize: 64, subscriptions: [] } } as never);
    expect(s).toMatchObject({ liteSubscriptionQuota: 100, maxLiteTopicSize: 64 });
  });
});
