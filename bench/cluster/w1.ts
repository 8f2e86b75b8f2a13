/**
 * W1 (durable produce throughput) against a cluster: the very load of `npm run bench`
 * (bench/worker.ts with bench/drivers/agentmq.ts, forked as its own process) pointed at the
 * cluster's NameServers. The worker says when its measured window starts and ends; every
 * cluster process, the worker and this process are sampled at those moments.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { OrchestratorMessage, W1Spec, W1WorkerResult, WorkerMessage } from '../protocol.js';
import { terminate, track } from '../servers.js';
import { cpuBetween, REPO_ROOT, sampleCpu } from './cluster.js';
import type { CpuSample, CpuWindowReport, Proc } from './cluster.js';

/** The topic bench/drivers/agentmq.ts sends to (it creates it with ifNotExists). */
export const W1_TOPIC = 'bench';

export interface W1Options {
  nameserver: string;
  queues: number;
  window: number;
  warmupMs: number;
  durationMs: number;
  sizeBytes: number;
}

export interface W1Outcome {
  result: W1WorkerResult;
  msgsPerSec: number;
  cpu: CpuWindowReport;
}

export function runW1(opts: W1Options, cluster: Proc[]): Promise<W1Outcome> {
  const spec: W1Spec = {
    workload: 'W1',
    target: { kind: 'agentmq', nameserver: opts.nameserver, sdkRoot: REPO_ROOT, linger: 0, maxBatch: 64, maxInFlightBatches: 16, queues: opts.queues },
    sizeBytes: opts.sizeBytes,
    window: opts.window,
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
  };
  const child = fork(join(REPO_ROOT, 'bench', 'worker.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  track(child);
  let errTail = '';
  const keep = (chunk: Buffer): void => {
    errTail = (errTail + chunk.toString('utf8')).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const procs: Proc[] = [...cluster, { name: 'load worker', role: 'client', pid: child.pid }, { name: 'bench (this process)', role: 'client', pid: undefined }];
  const budgetMs = opts.warmupMs + opts.durationMs + 90_000;
  return new Promise((resolve, reject) => {
    let start: CpuSample | undefined;
    let end: CpuSample | undefined;
    let done = false;
    const finish = (err: Error | undefined, result?: W1WorkerResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        void terminate(child, 2_000);
        reject(err);
        return;
      }
      if (!result || !start || !end) {
        reject(new Error('worker finished without a measured window'));
        return;
      }
      const cpu = cpuBetween(procs, start, end);
      resolve({ result, msgsPerSec: result.measuredMs > 0 ? (result.acked / result.measuredMs) * 1000 : 0, cpu });
    };
    const timer = setTimeout(() => finish(new Error(`W1 worker did not finish within ${budgetMs} ms`)), budgetMs);
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'phase') {
        if (msg.phase === 'measure-start') start = sampleCpu(procs);
        else end = sampleCpu(procs);
      } else if (msg.type === 'result') {
        if (msg.result.workload !== 'W1') return finish(new Error('unexpected worker result'));
        const result = msg.result;
        const t = setTimeout(() => void terminate(child, 2_000), 15_000);
        child.once('exit', () => {
          clearTimeout(t);
          finish(undefined, result);
        });
      } else {
        finish(new Error(`W1 worker failed: ${msg.message}`));
      }
    });
    child.once('error', (err) => finish(new Error(`W1 worker could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (!done && code !== 0) finish(new Error(`W1 worker exited (code ${String(code)}, signal ${String(signal)})${errTail ? `\n--- worker output ---\n${errTail.trimEnd()}` : ''}`));
    });
    const msg: OrchestratorMessage = { type: 'run', spec };
    child.send(msg);
  });
}
