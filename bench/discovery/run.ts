/**
 * `npm run bench:discovery`: discovery latency, HNSW recall, embedding throughput and memory on
 * synthetic catalogs of 1k to 1M topics (issue 5, item 8). See `--help` and docs/benchmarks.md
 * ("Discovery").
 *
 * Every (vector source, size) runs in a fresh forked process (bench/discovery/worker.ts, tsx
 * loader, --expose-gc, a large heap), one after the other, so memory is measured from a clean
 * process and runs do not share CPU.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForQuiet } from '../servers.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import type { DiscoveryBenchOptions } from './options.js';
import type { EmbedResult, IndexResult, OrchestratorMessage, StudyResult, WorkerMessage, WorkerResult, WorkerSpec } from './protocol.js';
import { buildTable, embedTable, latencyTable, machineLines, markdown, recallTable, studyTable, targetTable } from './report.js';
import type { DiscoveryReport } from './report.js';
import { describeMachine } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

let current: ChildProcess | undefined;

function runWorker(spec: WorkerSpec, opts: DiscoveryBenchOptions): Promise<WorkerResult> {
  const child = fork(join(here, 'worker.ts'), [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx', '--expose-gc', `--max-old-space-size=${opts.heapMb}`],
    stdio: ['ignore', opts.verbose ? 'inherit' : 'pipe', opts.verbose ? 'inherit' : 'pipe', 'ipc'],
    serialization: 'json',
  });
  current = child;
  let errTail = '';
  const keep = (chunk: Buffer): void => {
    errTail = (errTail + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return new Promise((resolvePromise, reject) => {
    let done = false;
    const finish = (err: Error | undefined, result?: WorkerResult): void => {
      if (done) return;
      done = true;
      current = undefined;
      if (err) {
        if (child.exitCode === null) child.kill('SIGKILL');
        reject(err);
      } else resolvePromise(result!);
    };
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') log(msg.line);
      else if (msg.type === 'result') finish(undefined, msg.result);
      else finish(new Error(msg.message));
    });
    child.once('error', (err) => finish(new Error(`worker could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (!done) finish(new Error(`worker exited (code ${String(code)}, signal ${String(signal)})${errTail ? `\n--- worker output ---\n${errTail.trimEnd()}` : ''}`));
    });
    const msg: OrchestratorMessage = { type: 'run', spec };
    child.send(msg);
  });
}

async function quiet(opts: DiscoveryBenchOptions): Promise<void> {
  if (opts.quietWaitS <= 0) return;
  await waitForQuiet(opts.quietWaitS * 1000, 15, (pct) =>
    log(`  (machine busy: other processes use ${Math.round(pct)}% of a core; waiting up to ${opts.quietWaitS} s for quiet)`),
  );
}

async function main(): Promise<void> {
  let opts: DiscoveryBenchOptions | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      log(`${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (!opts) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const t0 = Date.now();
  const machine = describeMachine(repoRoot);
  log(machineLines(machine).join('\n'));
  const report: DiscoveryReport = { machine, options: opts, index: [], skipped: [], failed: [], wallMs: 0 };

  const sizes = [...opts.sizes].sort((a, b) => a - b);
  for (const size of sizes) {
    for (const vectors of opts.vectors) {
      if (vectors === 'lexical' && size > opts.lexicalMaxSize) {
        report.skipped.push({
          vectors: 'lexical 1024d',
          size,
          reason: `above --lexical-max-size ${opts.lexicalMaxSize} (HNSW inserts of 1024-dim lexical vectors take ~2.5 ms each on this kind of machine: ~1 h for the build alone at 1M)`,
        });
        continue;
      }
      const spec: WorkerSpec = {
        kind: 'index',
        mode: size > opts.fullMaxSize ? 'parts' : 'full',
        vectors,
        size,
        dims: opts.dims,
        queries: opts.queries,
        warmup: opts.warmup,
        scenarioBudgetMs: opts.scenarioBudgetS * 1000,
        recallQueries: opts.recallQueries,
        filteredRecallQueries: opts.filteredRecallQueries,
        efs: opts.efs,
        catalog: size <= opts.catalogMaxSize && size <= opts.fullMaxSize,
        liveShare: opts.liveShare,
        bowWeights: opts.bowWeights,
        seed: opts.seed,
        words: opts.words,
      };
      const label = `${vectors} × ${size.toLocaleString('en-US')} topics${opts.words === 'english' ? ' (English words)' : ''}${spec.mode === 'parts' ? ' (BM25 and HNSW measured separately)' : ''}`;
      await quiet(opts);
      log(`\n== ${label}`);
      const started = Date.now();
      try {
        const r = (await runWorker(spec, opts)) as IndexResult;
        report.index.push(r);
        log(`== ${label}: done in ${Math.round((Date.now() - started) / 1000)} s`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        report.failed.push({ run: label, error: message });
        log(`== ${label}: FAILED\n${message}`);
      }
    }
  }
  if (opts.study.length > 0) {
    await quiet(opts);
    log(`\n== HNSW parameter study (${opts.studySize.toLocaleString('en-US')} bow vectors)`);
    try {
      report.study = (await runWorker(
        { kind: 'study', size: opts.studySize, dims: opts.dims, configs: opts.study, efs: opts.studyEfs, queries: Math.min(opts.recallQueries, 1000), bowWeights: opts.bowWeights, seed: opts.seed },
        opts,
      )) as StudyResult;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      report.failed.push({ run: 'HNSW parameter study', error: message });
      log(`== HNSW parameter study: FAILED\n${message}`);
    }
  }
  if (opts.embedTexts > 0) {
    await quiet(opts);
    log('\n== embedding throughput');
    try {
      report.embed = (await runWorker({ kind: 'embed', texts: opts.embedTexts, dims: opts.dims, seed: opts.seed, bowWeights: opts.bowWeights }, opts)) as EmbedResult;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      report.failed.push({ run: 'embedding throughput', error: message });
      log(`== embedding throughput: FAILED\n${message}`);
    }
  }
  report.wallMs = Date.now() - t0;

  const out: string[] = [];
  out.push('', 'Targets', targetTable(report), '', 'Search latency', latencyTable(report), '', 'Build and memory', buildTable(report));
  out.push('', 'HNSW recall@10 vs brute force', recallTable(report), '', 'HNSW parameter study', studyTable(report), '', 'Embedding throughput', embedTable(report));
  out.push('', '---- Markdown for docs/benchmarks.md ----', '', markdown(report), '');
  process.stdout.write(`${out.join('\n')}\n`);

  if (opts.save) {
    const dir = resolve(repoRoot, opts.outDir);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `discovery-${machine.date.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`results: ${relative(repoRoot, file)}`);
  }
  if (report.failed.length > 0) process.exitCode = 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (current && current.exitCode === null) current.kill('SIGKILL');
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  if (current && current.exitCode === null) current.kill('SIGKILL');
  process.exit(1);
});
