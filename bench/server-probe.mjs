// Preloaded into the AgentMQ server by `npm run bench -- --probe` (node --import): records the
// event loop's delay and garbage-collection pauses between two SIGUSR2 signals (sent by the
// orchestrator when the measured window starts and ends) and writes them as JSON to
// $AGENTMQ_BENCH_PROBE_OUT. Plain JavaScript so it needs no loader; it touches nothing else.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, constants } from 'node:perf_hooks';

const out = process.env.AGENTMQ_BENCH_PROBE_OUT;
if (out) {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let gc = [];
  let recording = false;
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const obs = new PerformanceObserver((list) => {
    if (!recording) return;
    for (const e of list.getEntries()) gc.push([kinds[e.detail?.kind] ?? 'other', e.duration]);
  });
  obs.observe({ entryTypes: ['gc'] });
  let startedAt = 0;
  process.on('SIGUSR2', () => {
    if (!recording) {
      recording = true;
      gc = [];
      loop.reset();
      loop.enable();
      startedAt = performance.now();
      return;
    }
    recording = false;
    loop.disable();
    const wallMs = performance.now() - startedAt;
    const byKind = {};
    for (const [k, d] of gc) {
      const s = (byKind[k] ??= { count: 0, totalMs: 0, maxMs: 0 });
      s.count++;
      s.totalMs += d;
      s.maxMs = Math.max(s.maxMs, d);
    }
    // The histogram holds whole timer intervals; the delay is what exceeds the resolution.
    const ms = (ns) => Math.max(0, Math.round(ns / 1e3 - 5_000) / 1e3);
    writeFileSync(
      out,
      JSON.stringify({
        wallMs,
        eventLoopDelay: { p50Ms: ms(loop.percentile(50)), p99Ms: ms(loop.percentile(99)), maxMs: ms(loop.max), meanMs: ms(loop.mean) },
        gc: byKind,
        gcTotalMs: gc.reduce((a, [, d]) => a + d, 0),
        gcMaxMs: gc.reduce((a, [, d]) => Math.max(a, d), 0),
      }),
    );
  });
}
