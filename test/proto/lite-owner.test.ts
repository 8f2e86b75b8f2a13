/** Lite topic ownership (rendezvous hashing): deterministic, balanced, and adding a broker moves few lite topics. */
import { describe, expect, it } from 'vitest';
import { liteOwner, liteOwnerIndex } from '../../proto/common/lite-owner.js';

const topics = Array.from({ length: 30_000 }, (_, i) => `task.${i.toString(36)}-${(i * 7919) % 1000}`);
const count = (brokers: string[]) => {
  const n = new Map<string, number>();
  for (const t of topics) {
    const o = liteOwner(brokers, 'agentmq-replies', t)!;
    n.set(o, (n.get(o) ?? 0) + 1);
  }
  return n;
};

describe('lite owner - rendezvous hashing', () => {
  it('lite owner - the same answer whatever the order of the broker list; undefined with no broker', () => {
    const a = ['broker-a', 'broker-b', 'broker-c'];
    const b = ['broker-c', 'broker-a', 'broker-b'];
    for (const t of topics.slice(0, 2000)) expect(liteOwner(a, 'p', t)).toBe(liteOwner(b, 'p', t));
    expect(liteOwner([], 'p', 'x')).toBeUndefined();
    expect(liteOwnerIndex([], 'p', 'x')).toBe(-1);
    expect(liteOwner(['only'], 'p', 'x')).toBe('only');
  });

  it('lite owner - lite topics spread evenly over the brokers (within 5% of a fair share)', () => {
    for (const brokers of [['b0', 'b1'], ['b0', 'b1', 'b2'], ['broker-0', 'broker-1', 'broker-2', 'broker-3', 'broker-4']]) {
      const n = count(brokers);
      const fair = topics.length / brokers.length;
      for (const b of brokers) expect(Math.abs(n.get(b)! - fair) / fair).toBeLessThan(0.05);
    }
  });

  it('lite owner - adding a broker moves only the lite topics it wins (about 1/N), removing one moves only its own', () => {
    const three = ['broker-0', 'broker-1', 'broker-2'];
    const four = [...three, 'broker-3'];
    let moved = 0;
    for (const t of topics) {
      const before = liteOwner(three, 'agentmq-replies', t);
      const after = liteOwner(four, 'agentmq-replies', t);
      if (before !== after) {
        moved++;
        expect(after).toBe('broker-3'); // nothing moves between the old brokers
      }
    }
    expect(moved / topics.length).toBeGreaterThan(0.2);
    expect(moved / topics.length).toBeLessThan(0.3);
    const two = ['broker-0', 'broker-2'];
    for (const t of topics) {
      const before = liteOwner(three, 'agentmq-replies', t);
      if (before !== 'broker-1') expect(liteOwner(two, 'agentmq-replies', t)).toBe(before);
    }
  });

  it('lite owner - the parent topic is part of the key', () => {
    const brokers = ['b0', 'b1', 'b2'];
    const differ = topics.slice(0, 3000).filter((t) => liteOwner(brokers, 'p1', t) !== liteOwner(brokers, 'p2', t)).length;
    expect(differ / 3000).toBeGreaterThan(0.5);
  });
});
