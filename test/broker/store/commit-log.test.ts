/**
 * The commit log under the message store: records in segment files, 13-byte pointers in RocksDB,
 * reads through them after a restart, segments reclaimed when every record in them is deleted,
 * unreferenced segments dropped at open, and records stored inline by older versions still read.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, type StoredHeader } from '../../../broker/store/codec.js';
import { messageKey } from '../../../broker/store/keys.js';
import { MessageStore, type FlushPolicy } from '../../../broker/store/message-store.js';
import { silentLogger } from '../../../proto/common/logger.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const header = (id: string): StoredHeader => ({ id, type: 'NORMAL', bornMs: 1, bornHost: 'h', storeMs: 2 });
const body = (i: number) => Buffer.alloc(1000, i % 251);
const segmentsIn = (dir: string) => readdirSync(join(dir, 'commitlog')).filter((n) => n.endsWith('.seg')).sort();

describe('store - commit log', () => {
  let store: MessageStore | undefined;
  let dir: ReturnType<typeof tmpDir> | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    dir?.cleanup();
  });

  const open = (flush: FlushPolicy = 'async', segmentBytes = 16 * 1024) =>
    MessageStore.open({ dataDir: dir!.path, flush, cacheMessagesPerQueue: 8, logger: silentLogger, segmentBytes });

  it.each(['async', 'sync'] as const)('commit log - %s: records land in rolling segments, RocksDB holds pointers, everything reads back after a restart', async (flush) => {
    dir = tmpDir();
    store = await open(flush);
    await store.openQueues('t', 2);
    for (let i = 0; i < 100; i += 10) {
      await store.append(Array.from({ length: 10 }, (_, j) => ({ topic: 't', queueId: (i + j) % 2, header: header(`m${i + j}`), body: body(i + j) })));
    }
    // 100 KB in 16 KiB segments.
    expect(segmentsIn(dir.path).length).toBeGreaterThanOrEqual(6);
    const pointer = await store.db.get(messageKey('t', 0, 0));
    expect(pointer?.length).toBe(13);
    await store.close();

    store = await open(flush);
    await store.openQueues('t', 2);
    // The cache is empty after a restart: every record comes from the segment files.
    const q0 = await store.read('t', 0, 0, 50);
    const q1 = await store.read('t', 1, 0, 50);
    expect(q0.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `m${2 * i}`));
    expect(q1.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => `m${2 * i + 1}`));
    for (const m of [...q0, ...q1]) expect(m.body.equals(body(Number(m.id.slice(1))))).toBe(true);
    expect((await store.readOne('t', 1, 49))?.id).toBe('m99');
    // New appends go to the segment this open started, after every old one.
    await store.append([{ topic: 't', queueId: 0, header: header('after'), body: body(7) }]);
    const seg = async (q: number, off: number) => (await store!.db.get(messageKey('t', q, off)))!.readUInt32BE(1);
    expect(await seg(0, 50)).toBeGreaterThan(await seg(1, 49));
    expect((await store.readOne('t', 0, 50))?.id).toBe('after');
  });

  it('commit log - deleting every record of a segment deletes the file; live counts survive a restart', async () => {
    dir = tmpDir();
    store = await open('async', 8 * 1024);
    await store.openQueues('t', 1);
    for (let i = 0; i < 40; i++) await store.append([{ topic: 't', queueId: 0, header: header(`m${i}`), body: body(i) }]);
    const full = segmentsIn(dir.path);
    expect(full.length).toBeGreaterThanOrEqual(5);
    // Delete the first 20: the segments holding only those go; the rest stay.
    expect(await store.deleteMessages(Array.from({ length: 20 }, (_, i) => ({ topic: 't', queueId: 0, offset: i })))).toBe(20);
    const after = segmentsIn(dir.path);
    expect(after.length).toBeLessThan(full.length);
    expect(after[0]! > full[0]!).toBe(true);
    // Deleting the same messages again releases nothing more.
    expect(await store.deleteMessages([{ topic: 't', queueId: 0, offset: 3 }])).toBe(0);
    expect(segmentsIn(dir.path)).toEqual(after);
    await store.close();

    store = await open('async', 8 * 1024);
    await store.openQueues('t', 1);
    expect((await store.read('t', 0, 0, 40)).map((m) => m.id)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 20}`));
    await store.deleteMessages(Array.from({ length: 20 }, (_, i) => ({ topic: 't', queueId: 0, offset: 20 + i })));
    // Only the active segment (empty, started by this open) is left.
    expect(segmentsIn(dir.path).length).toBe(1);
    expect(store.logSegments).toBe(0);
  });

  it('commit log - deleting a topic reclaims its segments', async () => {
    dir = tmpDir();
    store = await open('async', 8 * 1024);
    await store.openQueues('a', 1);
    await store.openQueues('b', 1);
    for (let i = 0; i < 30; i++) await store.append([{ topic: 'a', queueId: 0, header: header(`a${i}`), body: body(i) }]);
    await store.close();
    store = await open('async', 8 * 1024);
    await store.openQueues('a', 1);
    await store.openQueues('b', 1);
    await store.append([{ topic: 'b', queueId: 0, header: header('b0'), body: body(1) }]);
    const before = segmentsIn(dir.path).length;
    await store.deleteTopic('a');
    // All of a's segments go; b's (the active one) stays and still reads.
    expect(segmentsIn(dir.path).length).toBe(1);
    expect(before).toBeGreaterThan(1);
    expect((await store.readOne('b', 0, 0))?.id).toBe('b0');
  });

  it('commit log - at open, a segment file nothing points into (written, never committed) is deleted', async () => {
    dir = tmpDir();
    store = await open();
    await store.openQueues('t', 1);
    await store.append([{ topic: 't', queueId: 0, header: header('kept'), body: body(1) }]);
    await store.close();
    store = undefined;
    const orphan = join(dir.path, 'commitlog', `${'9'.repeat(20)}.seg`);
    writeFileSync(orphan, Buffer.alloc(4096, 1));
    store = await open();
    await store.openQueues('t', 1);
    await new Promise((r) => setTimeout(r, 50)); // the unlink runs in the background
    expect(existsSync(orphan)).toBe(false);
    expect((await store.readOne('t', 0, 0))?.id).toBe('kept');
  });

  it('commit log - records stored inline in RocksDB (before the commit log) are still read', async () => {
    dir = tmpDir();
    store = await open();
    await store.openQueues('old', 1);
    await store.db.batch([{ type: 'put', key: messageKey('old', 0, 0), value: encodeMessage(header('inline'), Buffer.from('legacy body')) }], false);
    await store.close();
    store = await open();
    await store.openQueues('old', 1);
    const m = await store.readOne('old', 0, 0);
    expect(m?.id).toBe('inline');
    expect(m?.body.toString()).toBe('legacy body');
    await store.append([{ topic: 'old', queueId: 0, header: header('new'), body: body(2) }]);
    expect((await store.read('old', 0, 0, 10)).map((x) => x.id)).toEqual(['inline', 'new']);
    // Deleting the inline record releases no segment.
    expect(await store.deleteMessages([{ topic: 'old', queueId: 0, offset: 0 }])).toBe(1);
    expect((await store.readOne('old', 0, 1))?.id).toBe('new');
  });
});
