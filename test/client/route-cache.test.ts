/**
 * RouteCache: shared lookups, periodic refresh keeping stale routes on failure, change
 * notifications, and the writable / readable broker selection.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readableQueues, RouteCache, writableEndpoints } from '../../client/route/route-cache.js';
import type { RouteQueue, TopicRoute } from '../../client/route/route-cache.js';
import { silentLogger } from '../../proto/common/logger.js';

function q(brokerName: string, endpoint: string, queueId: number, permission: RouteQueue['permission'] = 'READ_WRITE'): RouteQueue {
  return { topic: 'orders', queueId, permission, brokerName, brokerId: 0, endpoint, acceptMessageTypes: ['NORMAL'] };
}

describe('route selection', () => {
  const route: TopicRoute = {
    topic: 'orders',
    fetchedAtMs: 0,
    queues: [q('b', 'h2:1', 1), q('b', 'h2:1', 0), q('a', 'h1:1', 3, 'READ'), q('a', 'h1:1', 2, 'READ'), q('c', 'h3:1', 0, 'WRITE')],
  };

  it('writable endpoints are distinct and ordered by broker name', () => {
    expect(writableEndpoints(route)).toEqual(['h2:1', 'h3:1']);
  });

  it('readable queues: one per broker, queue 0 preferred', () => {
    expect(readableQueues(route).map((x) => [x.brokerName, x.queueId])).toEqual([
      ['a', 3],
      ['b', 0],
    ]);
  });
});

describe('RouteCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shares one lookup between concurrent callers and then serves from the cache', async () => {
    let calls = 0;
    const cache = new RouteCache(
      {
        queryRoute: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 5));
          return [q('a', 'h1:1', 0)];
        },
      },
      { refreshIntervalMs: 30_000, logger: silentLogger },
    );
    const [r1, r2] = await Promise.all([cache.get('orders'), cache.get('orders')]);
    expect(calls).toBe(1);
    expect(r1).toBe(r2);
    expect(cache.peek('orders')).toBe(r1);
    await cache.get('orders');
    expect(calls).toBe(1);
    expect([...cache.endpoints()]).toEqual(['h1:1']);
    cache.close();
  });

  it('does not cache failures', async () => {
    let calls = 0;
    const cache = new RouteCache(
      {
        queryRoute: async () => {
          calls++;
          if (calls === 1) throw new Error('down');
          return [q('a', 'h1:1', 0)];
        },
      },
      { refreshIntervalMs: 30_000, logger: silentLogger },
    );
    await expect(cache.get('orders')).rejects.toThrow('down');
    await expect(cache.get('orders')).resolves.toMatchObject({ topic: 'orders' });
    cache.close();
  });

  it('refreshes every interval, keeps the stale route on failure and reports changes', async () => {
    vi.useFakeTimers();
    let answer: RouteQueue[] | Error = [q('a', 'h1:1', 0)];
    const changes: string[][] = [];
    const cache = new RouteCache(
      {
        queryRoute: async () => {
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
      { refreshIntervalMs: 1000, logger: silentLogger, onChange: (_t, r) => changes.push(r.queues.map((x) => x.endpoint)) },
    );
    await cache.get('orders');
    cache.start();
    answer = [q('a', 'h1:1', 0), q('b', 'h2:1', 0)];
    await vi.advanceTimersByTimeAsync(1000);
    expect(writableEndpoints(cache.peek('orders')!)).toEqual(['h1:1', 'h2:1']);
    answer = new Error('nameserver down');
    await vi.advanceTimersByTimeAsync(1000);
    expect(writableEndpoints(cache.peek('orders')!)).toEqual(['h1:1', 'h2:1']);
    expect(changes).toEqual([['h1:1'], ['h1:1', 'h2:1']]);
    cache.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
