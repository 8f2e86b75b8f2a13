/**
 * Summaries of V8 CPU profiles (`node --cpu-prof`): self time per function and per area of the
 * code (grpc-js, protobufjs, RocksDB binding, broker/, client/, Node internals, GC, idle).
 * Sampling covers the JavaScript thread only; RocksDB's and libuv's threads show in the
 * per-thread CPU table instead.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of all sampled time (idle included), percent. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Sampled time not idle. */
  busyMs: number;
  areas: ProfileEntry[];
  functions: ProfileEntry[];
}

function area(url: string, fn: string, repoRoot: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'native / program';
  if (url === '') return 'native / program';
  if (url.includes('/node_modules/@grpc/grpc-js/')) return 'grpc-js';
  if (url.includes('/node_modules/protobufjs/') || url.includes('/node_modules/@protobufjs/')) return 'protobufjs';
  if (url.includes('/node_modules/@grpc/proto-loader/')) return 'proto-loader';
  if (url.includes('/node_modules/rocksdb/') || url.includes('/node_modules/abstract-leveldown/') || url.includes('/node_modules/levelup/')) return 'rocksdb binding';
  if (url.includes('/node_modules/tsx/')) return 'tsx loader';
  if (url.includes('/node_modules/')) return 'other node_modules';
  if (url.startsWith('node:')) return 'node internals';
  const rel = url.startsWith('file://') ? relative(repoRoot, new URL(url).pathname) : url;
  const top = rel.split('/')[0] ?? rel;
  if (['broker', 'client', 'proto', 'nameserver', 'cli', 'bench'].includes(top)) return `${top}/`;
  return 'other';
}

function shortUrl(url: string, repoRoot: string): string {
  if (url.startsWith('file://')) {
    const rel = relative(repoRoot, new URL(url).pathname);
    return rel.replace(/^node_modules\//, '');
  }
  return url;
}

export function summarizeProfile(file: string, repoRoot: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attribute it to the sample that follows it.
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  let total = 0;
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url, repoRoot)}:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = area(url, functionName, repoRoot);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const idle = areas.get('idle') ?? 0;
  const entries = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, pct: total > 0 ? Math.round((us / total) * 1000) / 10 : 0 }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    busyMs: Math.round((total - idle) / 1000),
    areas: entries(areas, 50),
    functions: entries(
      new Map([...fns.entries()].filter(([k]) => !k.startsWith('(idle)'))),
      top,
    ),
  };
}

export function formatProfile(s: ProfileSummary, label: string): string {
  const lines = [`${label}: ${s.busyMs} ms busy of ${s.totalMs} ms sampled (${relative(process.cwd(), s.file)})`, '  by area (self time, % of sampled time):'];
  for (const a of s.areas) lines.push(`    ${a.pct.toFixed(1).padStart(5)}%  ${String(a.selfMs).padStart(9)} ms  ${a.name}`);
  lines.push('  top functions (self time):');
  for (const f of s.functions) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(9)} ms  ${f.name}`);
  return lines.join('\n');
}
