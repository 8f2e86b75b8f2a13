// Preloaded into the AgentMQ broker by `npm run bench:lite` (node --expose-gc --import). On
// SIGUSR2 it reads a command from $AGENTMQ_LITE_PROBE_OUT.cmd and answers in
// $AGENTMQ_LITE_PROBE_OUT (written atomically):
//   mem                 memory figures as they are, then after a forced full garbage collection
//                       (tells live data from garbage not yet collected)
//   prof-start          starts the V8 CPU profiler (in-process inspector session) and the
//                       sampling heap profiler (every allocation site, collected or not)
//   prof-stop FILE      stops both; writes the .cpuprofile to FILE and the allocations to
//                       FILE with .heapprofile in place of .cpuprofile
//   heap-snapshot FILE  writes a V8 heap snapshot to FILE (large: ~2x the JS heap)
//   window-start        starts recording event-loop delay and GC pauses
//   window-stop         returns them (p50/p99/max delay, GC count/total/max by kind)
// Plain JavaScript so it needs no loader; it touches nothing else in the broker.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';

const out = process.env.AGENTMQ_LITE_PROBE_OUT;
if (out) {
  let seq = 0;
  let session;
  const mem = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  const answer = (doc) => {
    const tmp = `${out}.tmp`;
    writeFileSync(tmp, JSON.stringify({ seq: ++seq, ...doc }));
    renameSync(tmp, out);
  };
  const memory = () => {
    const before = mem();
    const t0 = performance.now();
    let gcMs;
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
      gcMs = performance.now() - t0;
    }
    const after = mem();
    const h = getHeapStatistics();
    const spaces = {};
    for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size };
    answer({
      before,
      after,
      gcMs,
      heap: { totalHeapSize: h.total_heap_size, usedHeapSize: h.used_heap_size, heapSizeLimit: h.heap_size_limit, mallocedMemory: h.malloced_memory, externalMemory: h.external_memory },
      spaces,
    });
  };
  const loop = monitorEventLoopDelay({ resolution: 2 });
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let gc;
  let windowStart = 0;
  const obs = new PerformanceObserver((list) => {
    if (!gc) return;
    for (const e of list.getEntries()) gc.push([kinds[e.detail?.kind] ?? 'other', e.duration]);
  });
  obs.observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    let cmd = 'mem';
    try {
      cmd = readFileSync(`${out}.cmd`, 'utf8').trim() || 'mem';
    } catch {
      // no command file: memory
    }
    if (cmd === 'mem') return memory();
    if (cmd === 'window-start') {
      gc = [];
      loop.reset();
      loop.enable();
      windowStart = performance.now();
      return answer({ ok: true });
    }
    if (cmd === 'window-stop') {
      loop.disable();
      const byKind = {};
      for (const [k, d] of gc ?? []) {
        const s = (byKind[k] ??= { count: 0, totalMs: 0, maxMs: 0 });
        s.count++;
        s.totalMs += d;
        s.maxMs = Math.max(s.maxMs, d);
      }
      const all = gc ?? [];
      gc = undefined;
      // The histogram holds whole timer intervals; the delay is what exceeds the 2 ms resolution.
      const ms = (ns) => Math.max(0, Math.round(ns / 1e3 - 2_000) / 1e3);
      return answer({
        ok: true,
        wallMs: performance.now() - windowStart,
        eventLoopDelay: { p50Ms: ms(loop.percentile(50)), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max), meanMs: ms(loop.mean) },
        gc: byKind,
        gcTotalMs: all.reduce((a, [, d]) => a + d, 0),
        gcMaxMs: all.reduce((a, [, d]) => Math.max(a, d), 0),
      });
    }
    if (cmd === 'prof-start') {
      session ??= new Session();
      try {
        session.connect();
      } catch {
        // already connected
      }
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 1000 }, () =>
          session.post('HeapProfiler.enable', () =>
            session.post(
              'HeapProfiler.startSampling',
              { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true },
              () => session.post('Profiler.start', (err) => answer({ ok: !err, error: err ? String(err) : undefined })),
            ),
          ),
        ),
      );
      return;
    }
    if (cmd.startsWith('heap-snapshot ')) {
      const file = cmd.slice('heap-snapshot '.length);
      try {
        writeHeapSnapshot(file);
        return answer({ ok: true, file });
      } catch (err) {
        return answer({ ok: false, error: String(err) });
      }
    }
    if (cmd.startsWith('prof-stop ')) {
      const file = cmd.slice('prof-stop '.length);
      if (!session) return answer({ ok: false, error: 'profiler not started' });
      session.post('Profiler.stop', (err, res) => {
        if (!err) writeFileSync(file, JSON.stringify(res.profile));
        session.post('HeapProfiler.stopSampling', (herr, hres) => {
          if (!herr && hres?.profile) writeFileSync(file.replace(/\.cpuprofile$/, '') + '.heapprofile', JSON.stringify(hres.profile));
          answer({ ok: !err, error: err ? String(err) : undefined, file });
        });
      });
      return;
    }
    answer({ ok: false, error: `unknown command ${cmd}` });
  });
}
