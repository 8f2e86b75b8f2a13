/**
 * Inclusive ("total") time per function of a V8 CPU profile, for the broker's own code: how much
 * of the sampled busy time was spent inside each broker/ function, callees included (each sample
 * counted once per function on its stack). Complements ../profile.ts, which gives self time.
 *
 * Note: native calls of addons (the RocksDB binding's iterator next/end and batch) have no URL and
 * arbitrary names in V8 profiles ("(anonymous)", or "HierarchicalNSW" from hnswlib-node).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface InclusiveEntry {
  name: string;
  totalMs: number;
  /** Percent of the busy (non-idle) sampled time. */
  pctBusy: number;
}

export function inclusiveTimes(file: string, repoRoot: string, filter: (url: string) => boolean, top = 15): { busyMs: number; entries: InclusiveEntry[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples?: number[]; timeDeltas?: number[] };
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, deltas[i + 1] ?? 0));
  const label = (n: Node): string => {
    const f = n.callFrame;
    const url = f.url.startsWith('file://') ? relative(repoRoot, new URL(f.url).pathname) : f.url;
    return `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
  };
  let busy = 0;
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    busy += us;
    const seen = new Set<string>();
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
      const node = byId.get(c)!;
      if (!filter(node.callFrame.url)) continue;
      const l = label(node);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const entries = [...total.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, totalMs: Math.round(us / 100) / 10, pctBusy: busy > 0 ? Math.round((us / busy) * 1000) / 10 : 0 }));
  return { busyMs: Math.round(busy / 1000), entries };
}
