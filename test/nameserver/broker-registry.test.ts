/**
 * BrokerRegistry and RouteTable in isolation: full-replace registration, expiry driven by one
 * timer armed for the earliest deadline (fake timers + a clock reading the faked Date), routes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokerRegistry } from '../../nameserver/registry/broker-registry.js';
import type { BrokerDescriptor } from '../../nameserver/registry/broker-registry.js';
import { RouteTable } from '../../nameserver/registry/route-table.js';
import { recordingLogger } from './helpers.js';

const clock = { now: () => Date.now() };

function broker(name: string, topics: BrokerDescriptor['topics'] = [{ name: 'orders', queueCount: 2, permission: 'READ_WRITE', messageTypes: ['NORMAL'], live: false }]): BrokerDescriptor {
  return { name, clusterName: 'DefaultCluster', endpoint: { host: '127.0.0.1', port: 10911 }, startedAtMs: 1, topics };
}

describe('broker registry - expiry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires each broker at its own deadline with a single pending timer', () => {
    const logger = recordingLogger();
    const reg = new BrokerRegistry({ expiryMs: 1_000, clock, logger });
    reg.register(broker('a'));
    vi.advanceTimersByTime(400);
    reg.register(broker('b'));
    expect(vi.getTimerCount()).toBe(1);

    vi.advanceTimersByTime(599);
    expect(reg.list().map((b) => b.name)).toEqual(['a', 'b']);
    vi.advanceTimersByTime(1);
    expect(reg.list().map((b) => b.name)).toEqual(['b']);
    expect(vi.getTimerCount()).toBe(1);

    vi.advanceTimersByTime(400);
    expect(reg.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(logger.lines.filter((l) => l.msg === 'broker expired').map((l) => l.fields?.broker)).toEqual(['a', 'b']);
  });

  it('a heartbeat postpones expiry', () => {
    const reg = new BrokerRegistry({ expiryMs: 1_000, clock, logger: recordingLogger() });
    reg.register(broker('a'));
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(900);
      reg.register(broker('a'));
    }
    expect(reg.size).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(reg.size).toBe(0);
  });

  it('unregister and close leave no timer behind', () => {
    const reg = new BrokerRegistry({ expiryMs: 1_000, clock, logger: recordingLogger() });
    reg.register(broker('a'));
    expect(reg.unregister('a')).toBe(true);
    expect(reg.unregister('a')).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    reg.register(broker('b'));
    reg.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('expire() sweeps on demand against an injected clock', () => {
    let now = 0;
    const reg = new BrokerRegistry({ expiryMs: 100, clock: { now: () => now }, logger: recordingLogger() });
    reg.register(broker('a'));
    now = 99;
    expect(reg.expire()).toEqual([]);
    now = 100;
    expect(reg.expire()).toEqual(['a']);
    reg.close();
  });
});

describe('route table', () => {
  it('lists queues 0..n-1 per broker that has the topic, broker id 0, topic permission and types', () => {
    const reg = new BrokerRegistry({ expiryMs: 60_000, clock, logger: recordingLogger() });
    reg.register(broker('b', [{ name: 'orders', queueCount: 1, permission: 'WRITE', messageTypes: ['FIFO'], live: false }]));
    reg.register(broker('a'));
    reg.register(broker('c', [{ name: 'other', queueCount: 1, permission: 'READ_WRITE', messageTypes: ['NORMAL'], live: false }]));
    const routes = new RouteTable(reg);
    expect(routes.route('orders').map((q) => [q.broker.name, q.broker.id, q.queueId, q.permission, q.messageTypes])).toEqual([
      ['a', 0, 0, 'READ_WRITE', ['NORMAL']],
      ['a', 0, 1, 'READ_WRITE', ['NORMAL']],
      ['b', 0, 0, 'WRITE', ['FIFO']],
    ]);
    expect(routes.route('missing')).toEqual([]);
    reg.close();
  });
});
