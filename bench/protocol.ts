/**
 * What the benchmark orchestrator (bench/run.ts) and its load-generating worker process
 * (bench/worker.ts) say to each other over the fork() IPC channel, and the result shapes both
 * sides share.
 */
import type { HistogramSummary } from './histogram.js';

export type WorkloadId = 'W1' | 'W2';

/** How the worker reaches the system under test. */
export type Target =
  | {
      kind: 'agentmq';
      nameserver: string;
      /** Checkout whose SDK (client/index.ts) the worker loads. */
      sdkRoot: string;
      linger: number;
      maxBatch: number;
      maxInFlightBatches: number;
      queues: number;
    }
  | { kind: 'nats'; url: string }
  | { kind: 'redis'; host: string; port: number };

export interface W1Spec {
  workload: 'W1';
  target: Target;
  /** Message body size in bytes. */
  sizeBytes: number;
  /** Sends outstanding at once (sent, not yet acknowledged). */
  window: number;
  warmupMs: number;
  /** Measured duration (ignored when `count` is set, except as a cap). */
  durationMs: number;
  /** Measure until this many acknowledgements instead of for `durationMs`. */
  count?: number;
}

export interface W2Spec {
  workload: 'W2';
  target: Target;
  sizeBytes: number;
  /** Messages per second. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait for stragglers after the last send. */
  drainMs: number;
}

export type WorkerSpec = W1Spec | W2Spec;

/** CPU time of one process over the measured window. */
export interface CpuWindow {
  userUs: number;
  systemUs: number;
  wallMs: number;
}

export interface W1WorkerResult {
  workload: 'W1';
  /** Acknowledged messages inside the measured window. */
  acked: number;
  /** Sends that failed (any time). */
  errors: number;
  firstError?: string;
  measuredMs: number;
  /** Send → acknowledgement, messages acknowledged inside the window. */
  ackLatency: HistogramSummary;
  clientCpu: CpuWindow;
}

export interface W2WorkerResult {
  workload: 'W2';
  /** Messages sent inside the measured window. */
  sent: number;
  /** Of those, how many the consumer received before the drain ended. */
  received: number;
  /** Received more than once (redeliveries, duplicates). */
  duplicates: number;
  errors: number;
  firstError?: string;
  measuredMs: number;
  /** Send (stamped in the body) → handed to the consumer, same process clock. */
  endToEnd: HistogramSummary;
  /** Send → producer acknowledgement. */
  ackLatency: HistogramSummary;
  /** Achieved send rate. */
  sendRate: number;
  clientCpu: CpuWindow;
}

export type WorkerResult = W1WorkerResult | W2WorkerResult;

/** Worker → orchestrator. */
export type WorkerMessage =
  | { type: 'phase'; phase: 'measure-start' | 'measure-end' }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; message: string };

/** Orchestrator → worker. */
export type OrchestratorMessage = { type: 'run'; spec: WorkerSpec };
