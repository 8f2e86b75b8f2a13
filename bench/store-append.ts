/** Micro-benchmark: MessageStore.append alone (no gRPC), 1 KiB messages, batches of 64, 16 in flight. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageStore, type AppendEntry } from '../broker/store/message-store.js';

const total = Number(process.argv[2] ?? 400_000);
const dir = mkdtempSync(join(tmpdir(), 'store-append-'));
const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger; } } as never;
const store = await MessageStore.open({ dataDir: dir, flush: 'async', cacheMessagesPerQueue: 1024, logger });
await store.openQueues('bench', 4);
const body = randomBytes(1024);
let seq = 0;
function batch(): AppendEntry[] {
  const out: AppendEntry[] = [];
  for (let i = 0; i < 64; i++) {
    const n = seq++;
    out.push({ topic: 'bench', queueId: n & 3, header: { id: `01A1B2C3D4E5F6${String(n).padStart(20, '0')}`, type: 'NORMAL', bornMs: Date.now(), bornHost: '127.0.0.1', storeMs: Date.now(), tag: 'a', props: {} }, body });
  }
  return out;
}
let done = 0;
const t0 = performance.now();
const c0 = process.cpuUsage();
async function lane(): Promise<void> {
  while (done < total) {
    done += 64;
    await store.append(batch());
  }
}
await Promise.all(Array.from({ length: 16 }, lane));
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
console.log(`${Math.round(done / (ms / 1000))} msgs/s, process CPU ${((cpu.user + cpu.system) / done).toFixed(2)} µs/msg, batches ${store.writes.stats.batches}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
