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

  it('store - ops are copied when submitted: detached and awaited writes commit in submission order, batches stay bounded', async () => {
    dir = tmpDir();
    db = new RocksDb(dir.path);
    await db.open();
    const q = new WriteQueue(db, 'async', 8);
    const key = Buffer.from('k');
    const value = Buffer.from('v0');
    const first = q.write([{ type: 'put', key, value }]);
    // The caller reuses its buffers at once: what was submitted is what gets written.
    value.write('v9');
    q.writeDetached([{ type: 'put', key: Buffer.from('d1'), value: Buffer.from('1') }]);
    for (let i = 0; i < 20; i++) q.writeDetached([{ type: 'put', key: Buffer.from(`n${String(i).padStart(2, '0')}`), value: Buffer.from(String(i)) }]);
    q.writeDetached([{ type: 'del', key: Buffer.from('d1') }]);
    // A write bigger than the bound goes whole, in a batch of its own.
    const big = q.write(Array.from({ length: 12 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`b${String(i).padStart(2, '0')}`), value: Buffer.from('x') })));
    await Promise.all([first, big]);
    await q.drain();
    expect((await db.get(key))?.toString()).toBe('v0');
    expect(await db.get(Buffer.from('d1'))).toBeUndefined();
    expect((await db.get(Buffer.from('n19')))?.toString()).toBe('19');
    expect((await db.get(Buffer.from('b11')))?.toString()).toBe('x');
    expect(q.stats.ops).toBe(1 + 1 + 20 + 1 + 12);
    // All submitted in one turn: 23 small ops fill batches of 8, 8 and 7, then the 12-op write
    // goes whole into a fourth.
    expect(q.stats.batches).toBe(4);
  });

  it('store - a failed batch reports its detached writes; writing to a closed store throws at once', async () => {
    dir = tmpDir();
    db = new RocksDb(dir.path);
    await db.open();
    const failures: number[] = [];
    const q = new WriteQueue(db, 'async', undefined, () => Promise.reject(new Error('commit log unwritable')), (_err, writes) => failures.push(writes));
    q.writeDetached([{ type: 'put', key: Buffer.from('a'), value: Buffer.from('1') }]);
    q.writeDetached([{ type: 'put', key: Buffer.from('b'), value: Buffer.from('2') }]);
    await expect(q.write([{ type: 'put', key: Buffer.from('c'), value: Buffer.from('3') }])).rejects.toThrow(/commit log unwritable/);
    expect(failures).toEqual([2]);
    expect(await db.get(Buffer.from('a'))).toBeUndefined();
    await db.close();
    expect(() => q.writeDetached([{ type: 'put', key: Buffer.from('d'), value: Buffer.from('4') }])).toThrow(/not open/);
    await expect(q.write([{ type: 'put', key: Buffer.from('d'), value: Buffer.from('4') }])).rejects.toThrow(/not open/);
  });
});
