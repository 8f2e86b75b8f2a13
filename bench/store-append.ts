/**
 * Micro-benchmark of the broker's store alone: MessageStore.append (commit log + RocksDB batches,
 * the id-index queue, the tail cache), no gRPC, no SDK. `npm run bench:store -- --help`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MessageStore, type AppendEntry, type FlushPolicy } from '../broker/store/message-store.js';
import { silentLogger } from '../proto/common/logger.js';

const HELP = `Usage: npm run bench:store [-- OPTIONS]

Appends 1 KiB messages to a fresh MessageStore in a temp dir, --inflight appends of --batch
messages at a time (the shape W1's SendMessage calls give the broker), and prints messages/s and
the process's CPU per message (main thread and libuv/RocksDB threads together).

Options:
  --messages N   messages to append (default 400000)
  --batch N      messages per append (default 64)
  --inflight N   appends outstanding (default 16)
  --queues N     queues of the topic (default 4)
  --size N       body bytes (default 1024)
  --flush P      async | sync (default async)
  --runs N       repeat in fresh stores (default 3)
  -h, --help     this text`;

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '400000' },
    batch: { type: 'string', default: '64' },
    inflight: { type: 'string', default: '16' },
    queues: { type: 'string', default: '4' },
    size: { type: 'string', default: '1024' },
    flush: { type: 'string', default: 'async' },
    runs: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer (got ${String(values[name])})\n\n${HELP}`);
    process.exit(2);
  }
  return n;
};
const [total, batchSize, inflight, queues, size, runs] = [num('messages'), num('batch'), num('inflight'), num('queues'), num('size'), num('runs')];
const flush = values.flush as FlushPolicy;
if (flush !== 'async' && flush !== 'sync') {
  console.error(`--flush must be async or sync\n\n${HELP}`);
  process.exit(2);
}

const body = randomBytes(size);
for (let run = 1; run <= runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'store-append-'));
  const store = await MessageStore.open({ dataDir: dir, flush, cacheMessagesPerQueue: 1024, logger: silentLogger });
  await store.openQueues('bench', queues);
  let seq = 0;
  const batch = (): AppendEntry[] => {
    const out: AppendEntry[] = [];
    for (let i = 0; i < batchSize; i++) {
      const n = seq++;
      const now = Date.now();
      out.push({ topic: 'bench', queueId: n % queues, header: { id: `01A1B2C3D4E5F6${String(n).padStart(20, '0')}`, type: 'NORMAL', bornMs: now, bornHost: '127.0.0.1', storeMs: now }, body });
    }
    return out;
  };
  let started = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const lane = async (): Promise<void> => {
    while (started < total) {
      started += batchSize;
      await store.append(batch());
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  console.log(
    `run ${run}: ${Math.round(started / (ms / 1000)).toLocaleString('en-US')} msgs/s, ${((cpu.user + cpu.system) / started).toFixed(2)} µs CPU per message, ` +
      `${store.writes.stats.batches} message batches (${(store.writes.stats.ops / store.writes.stats.batches).toFixed(0)} ops each)`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
