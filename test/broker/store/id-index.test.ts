/**
 * The message id index ('N' entries) is written by its own group-commit queue, beside the
 * message batches: an append resolves only once both committed, so every acknowledged message
 * can be looked up by id at once, and after a restart. The fixed-shape header helpers keep the
 * stored record format unchanged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMessage, decodePending, encodeMessageHead, encodePending, storedHeader, storedMessage, type StoredHeader } from '../../../broker/store/codec.js';
import { MessageStore } from '../../../broker/store/message-store.js';
import { silentLogger } from '../../../proto/common/logger.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const header = (id: string): StoredHeader => ({ id, type: 'NORMAL', bornMs: 1, bornHost: 'h', storeMs: 2 });

describe('store - message id index', () => {
  let store: MessageStore | undefined;
  let dir: ReturnType<typeof tmpDir> | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    dir?.cleanup();
  });
  const open = () => MessageStore.open({ dataDir: dir!.path, flush: 'async', cacheMessagesPerQueue: 4, logger: silentLogger });

  it('id index - every message of a resolved append is found by id at once, with concurrent appends', async () => {
    dir = tmpDir();
    store = await open();
    await store.openQueues('t', 3);
    const s = store;
    await Promise.all(
      Array.from({ length: 20 }, async (_, a) => {
        const entries = Array.from({ length: 32 }, (_, j) => ({ topic: 't', queueId: (a + j) % 3, header: header(`a${a}-m${j}`), body: Buffer.from(`body ${a}/${j}`) }));
        const results = await s.append(entries);
        // No await in between: the append's resolution is the promise.
        const found = await Promise.all(entries.map((e) => s.locate(e.header.id)));
        found.forEach((loc, j) => expect(loc).toEqual({ topic: 't', queueId: results[j]!.queueId, offset: results[j]!.offset }));
        const m = await s.readOne('t', results[5]!.queueId, results[5]!.offset);
        expect(m?.id).toBe(`a${a}-m5`);
        expect(m?.body.toString()).toBe(`body ${a}/5`);
      }),
    );
  });

  it('id index - the message batches carry only the messages (the index has its own queue); lookups survive a restart', async () => {
    dir = tmpDir();
    store = await open();
    await store.openQueues('t', 1);
    const before = store.writes.stats.ops;
    await store.append(Array.from({ length: 10 }, (_, i) => ({ topic: 't', queueId: 0, header: header(`r${i}`), body: Buffer.from(`b${i}`) })));
    // 10 message pointers + 1 commit log live count; no 'N' entries.
    expect(store.writes.stats.ops - before).toBe(11);
    await store.close();
    store = await open();
    await store.openQueues('t', 1);
    for (let i = 0; i < 10; i++) {
      const loc = await store.locate(`r${i}`);
      expect(loc).toEqual({ topic: 't', queueId: 0, offset: i });
      expect((await store.readOne('t', 0, i))?.body.toString()).toBe(`b${i}`);
    }
    expect(await store.locate('never-sent')).toBeUndefined();
  });

  it('id index - tail cache of 4: every offset reads back right from the cache and from disk, after deletions too', async () => {
    dir = tmpDir();
    store = await open();
    await store.openQueues('t', 1);
    for (let i = 0; i < 30; i += 3) {
      await store.append(Array.from({ length: 3 }, (_, j) => ({ topic: 't', queueId: 0, header: header(`c${i + j}`), body: Buffer.from(`c${i + j}`) })));
    }
    expect((await store.read('t', 0, 0, 30)).map((m) => m.id)).toEqual(Array.from({ length: 30 }, (_, i) => `c${i}`));
    await store.deleteMessages([27, 28, 5].map((offset) => ({ topic: 't', queueId: 0, offset })));
    const ids = (await store.read('t', 0, 0, 30)).map((m) => m.id);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => `c${i}`).filter((id) => !['c27', 'c28', 'c5'].includes(id)));
    await store.append([{ topic: 't', queueId: 0, header: header('c30'), body: Buffer.from('c30') }]);
    expect((await store.read('t', 0, 29, 31)).map((m) => m.id)).toEqual(['c29', 'c30']);
  });
});

describe('store - record codec', () => {
  it('codec - fixed-shape headers store the same JSON as before: absent fields are left out', () => {
    const h = storedHeader({ id: 'x', type: 'FIFO', group: 'g', bornMs: 5, bornHost: 'host', tag: undefined, keys: ['k'] }, 7, undefined);
    const head = encodeMessageHead(h);
    expect(head[0]).toBe(1);
    expect(JSON.parse(head.toString('utf8', 5))).toEqual({ id: 'x', keys: ['k'], type: 'FIFO', group: 'g', bornMs: 5, bornHost: 'host', storeMs: 7 });
    expect(head.toString('utf8', 5)).not.toContain('tag');
    const m = decodeMessage('t', 1, 9, Buffer.concat([head, Buffer.from('body')]));
    expect(m).toEqual(storedMessage(h, 't', 1, 9, Buffer.from('body')));
    expect(m.body.toString()).toBe('body');
    expect(Object.keys(m)).toEqual(Object.keys(storedMessage(header('y'), 'u', 0, 0, Buffer.alloc(0))));
  });

  it('codec - a pending (delayed) record keeps its topic and TTL', () => {
    const p = { topic: 'late', header: header('d1'), ttlMs: 500, body: Buffer.from('later') };
    const back = decodePending(encodePending(p));
    expect(back.topic).toBe('late');
    expect(back.ttlMs).toBe(500);
    expect(back.header).toEqual(p.header);
    expect(back.body.toString()).toBe('later');
    expect(decodePending(encodePending({ topic: 'x', header: header('d2'), body: Buffer.alloc(0) })).ttlMs).toBeUndefined();
  });
});
