import { afterEach, describe, expect, it } from 'vitest';
import { RocksDb } from '../../../broker/store/rocks.js';
import { WriteQueue } from '../../../broker/store/write-queue.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

describe('store - write queue (group commit)', () => {
  let db: RocksDb | undefined;
  let dir: ReturnType<typeof tmpDir> | undefined;
  afterEach(async () => {
    await db?.close();
    dir?.cleanup();
  });

  it.each(['sync', 'async'] as const)('store - %s: concurrent writers share batches, all durable, in order', async (flush) => {
    dir = tmpDir();
    db = new RocksDb(dir.path);
    await db.open();
    const q = new WriteQueue(db, flush);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        q.write([{ type: 'put', key: Buffer.from(`k${String(i).padStart(4, '0')}`), value: Buffer.from(String(i)) }]).then(() => order.push(i)),
      ),
    );
    // The first write goes alone; everything submitted while it is on disk goes in the next batch.
    expect(q.stats.batches).toBeLessThanOrEqual(3);
    expect(q.stats.ops).toBe(500);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    let n = 0;
    for await (const [k, v] of db.range({})) {
      expect(k.toString()).toBe(`k${String(n).padStart(4, '0')}`);
      expect(v.toString()).toBe(String(n));
      n++;
    }
    expect(n).toBe(500);
  });

  it('store - a failed batch rejects its writers and later writes still work', async () => {
    dir = tmpDir();
    db = new RocksDb(dir.path);
    await db.open();
    const q = new WriteQueue(db, 'async');
    await db.close();
    await expect(q.write([{ type: 'put', key: Buffer.from('a'), value: Buffer.from('1') }])).rejects.toThrow();
    db = new RocksDb(dir.path);
    await db.open();
    const q2 = new WriteQueue(db, 'async');
    await q2.write([{ type: 'put', key: Buffer.from('a'), value: Buffer.from('1') }]);
    expect((await db.get(Buffer.from('a')))?.toString()).toBe('1');
  });
});
