/**
 * Where a V8 heap snapshot's bytes are: self size and count per kind of object. Plain objects
 * are told apart by their property names (every object literal is an "Object" to V8, so a lite
 * topic, a TTL entry and a queue state would otherwise fall into one bucket); arrays, strings,
 * hash tables and numbers by V8's own names. Used on snapshots of the broker (--heap-snapshot).
 */
import { readFileSync, statSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapKind {
  kind: string;
  count: number;
  selfBytes: number;
}

export interface HeapSummary {
  file: string;
  totalBytes: number;
  nodes: number;
  kinds: HeapKind[];
}

/** Largest snapshot we parse (JSON.parse of a string; V8 strings top out near 512 MiB). */
export const MAX_SNAPSHOT_BYTES = 480 * 2 ** 20;

export function summarizeHeapSnapshot(file: string, top = 30): HeapSummary | { file: string; skipped: string } {
  const size = statSync(file).size;
  if (size > MAX_SNAPSHOT_BYTES) return { file, skipped: `snapshot is ${Math.round(size / 2 ** 20)} MiB; summaries are made up to ${MAX_SNAPSHOT_BYTES / 2 ** 20} MiB (use a smaller --topics)` };
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const iType = nf.indexOf('type');
  const iName = nf.indexOf('name');
  const iSelf = nf.indexOf('self_size');
  const iEdges = nf.indexOf('edge_count');
  const eType = ef.indexOf('type');
  const eName = ef.indexOf('name_or_index');
  const propertyType = edgeTypes.indexOf('property');
  const byKind = new Map<string, HeapKind>();
  let edge = 0;
  let total = 0;
  const nodes = s.nodes;
  for (let n = 0; n < nodes.length; n += N) {
    const type = nodeTypes[nodes[n + iType]!] ?? '?';
    const name = s.strings[nodes[n + iName]!] ?? '?';
    const self = nodes[n + iSelf]!;
    const edges = nodes[n + iEdges]!;
    let kind: string;
    if (type === 'object' && name === 'Object') {
      const props: string[] = [];
      for (let e = edge; e < edge + edges * E; e += E) {
        if (s.edges[e + eType] === propertyType) props.push(s.strings[s.edges[e + eName]!] ?? '?');
        if (props.length >= 8) break;
      }
      kind = `Object {${props.join(', ')}}`;
    } else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') kind = '(strings)';
    else if (type === 'object') kind = name;
    else kind = `(${type}) ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`;
    edge += edges * E;
    total += self;
    const k = byKind.get(kind) ?? { kind, count: 0, selfBytes: 0 };
    k.count++;
    k.selfBytes += self;
    byKind.set(kind, k);
  }
  const kinds = [...byKind.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top);
  return { file, totalBytes: total, nodes: nodes.length / N, kinds };
}
