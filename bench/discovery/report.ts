/** Tables and the Markdown block of `npm run bench:discovery`. */
import type { DiscoveryBenchOptions } from './options.js';
import type { EmbedResult, IndexResult, ScenarioResult, StudyResult } from './protocol.js';
import type { MachineInfo } from './stats.js';

export interface SkippedRun {
  vectors: string;
  size: number;
  reason: string;
}

export interface DiscoveryReport {
  machine: MachineInfo;
  options: DiscoveryBenchOptions;
  index: IndexResult[];
  embed?: EmbedResult;
  study?: StudyResult;
  skipped: SkippedRun[];
  failed: Array<{ run: string; error: string }>;
  wallMs: number;
}

const MiB = 2 ** 20;
const f0 = (n: number): string => Math.round(n).toLocaleString('en-US');
const f1 = (n: number): string => (Math.round(n * 10) / 10).toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : f0(n));
const sizeLabel = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));

/** A Markdown table with padded columns (numbers right-aligned). */
export function table(head: string[], rows: string[][], rightAlign: boolean[] = head.map((_, i) => i > 0)): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (rightAlign[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

function vectorsLabel(r: IndexResult): string {
  return `${r.spec.vectors === 'bow' ? `bow ${r.dims}d` : `lexical ${r.dims}d`}${r.spec.mode === 'parts' ? ' (parts)' : ''}`;
}

function scenarioRow(r: IndexResult, s: ScenarioResult, where: string): string[] {
  return [
    vectorsLabel(r),
    sizeLabel(r.spec.size),
    `${where}${s.label}`,
    ms(s.latency.p50Ms),
    ms(s.latency.p90Ms),
    ms(s.latency.p99Ms),
    ms(s.latency.maxMs),
    f0(s.latency.perSecond),
    `${s.latency.count}${s.skipped ? '*' : ''}`,
    s.gc.count ? `${s.gc.count} / ${f1(s.gc.maxMs)}` : '0',
    s.cpu.otherCpuPct === undefined ? '?' : String(s.cpu.otherCpuPct),
  ];
}

export function latencyTable(report: DiscoveryReport): string {
  const rows: string[][] = [];
  for (const r of report.index) {
    for (const s of r.catalog?.scenarios ?? []) rows.push(scenarioRow(r, s, ''));
    for (const s of r.scenarios) rows.push(scenarioRow(r, s, ''));
  }
  return table(['vectors', 'topics', 'scenario', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'queries/s', 'queries', 'GC n / max ms', 'other CPU %'], rows, [
    false,
    true,
    false,
    true,
    true,
    true,
    true,
    true,
    true,
    true,
    true,
  ]);
}

export function buildTable(report: DiscoveryReport): string {
  const rows = report.index.map((r) => {
    const d = r.memory.delta;
    return [
      vectorsLabel(r),
      sizeLabel(r.spec.size),
      r.build.bm25Ms !== undefined && r.build.hnswMs !== undefined
        ? `${f1(r.build.indexMs / 1000)} (BM25 ${f1(r.build.bm25Ms / 1000)} + HNSW ${f1(r.build.hnswMs / 1000)})`
        : f1(r.build.indexMs / 1000),
      f0(r.build.indexUsPerTopic),
      f1(r.build.embedMs / 1000),
      f0(d.rssBytes / MiB),
      f0(d.heapUsedBytes / MiB),
      f0((d.rssBytes - d.heapTotalBytes) / MiB),
      f0(r.memory.hnswEstimateBytes / MiB),
      f0(d.rssBytes / r.spec.size),
      f0(r.memory.after.rssBytes / MiB),
      r.catalog ? f1(r.catalog.buildMs / 1000) : '–',
      r.catalog ? f0(r.catalog.memory.delta.rssBytes / MiB) : '–',
    ];
  });
  return table(
    [
      'vectors',
      'topics',
      'index build s',
      'µs/topic',
      'doc vectors s',
      'RSS + MiB',
      'heap used + MiB',
      'RSS − heap (native) MiB',
      'HNSW layout MiB',
      'RSS bytes/topic',
      'process RSS MiB',
      'TopicCatalog build s',
      'TopicCatalog RSS + MiB',
    ],
    rows,
  );
}

export function recallTable(report: DiscoveryReport): string {
  const withGraph = report.index.flatMap((r) => (r.recall ? [{ ...r, recall: r.recall }] : []));
  const efs = [...new Set(withGraph.flatMap((r) => r.recall.sweep.map((p) => p.ef)))].sort((a, b) => a - b);
  const def = withGraph[0]?.recall.defaultEfSearch ?? 300;
  const rows = withGraph.map((r) => {
    const at = (ef: number) => r.recall.sweep.find((p) => p.ef === ef);
    const d = at(r.recall.defaultEfSearch);
    return [
      vectorsLabel(r),
      sizeLabel(r.spec.size),
      ...efs.map((ef) => {
        const p = at(ef);
        return p ? `${p.recallAt10.toFixed(3)} (${ms(p.latency.p50Ms)} ms)` : '–';
      }),
      d?.recallAt100 !== undefined ? d.recallAt100.toFixed(3) : '–',
      r.recall.documentQueries ? r.recall.documentQueries.recallAt10.toFixed(3) : '–',
      r.recall.filtered ? r.recall.filtered.recallAt10.toFixed(3) : '–',
      r.recall.efFor095 !== undefined ? String(r.recall.efFor095) : `> ${efs[efs.length - 1]}`,
      `${r.recall.similarity.exactAt1.toFixed(3)} / ${r.recall.similarity.exactAt10.toFixed(3)} / ${r.recall.similarity.exactAt100.toFixed(3)}`,
      r.recall.similarity.hnswAt10.toFixed(3),
      String(r.recall.queries),
    ];
  });
  return table(
    [
      'vectors',
      'topics',
      ...efs.map((ef) => `ef ${ef}${ef === def ? ' (default)' : ''}: recall@10 (p50)`),
      `recall@100 at ef ${def}`,
      'held-out docs as queries: recall@10',
      'live-filtered recall@10',
      'min ef ≥ 0.95',
      'exact cos @1 / @10 / @100',
      `HNSW cos @10 (ef ${def})`,
      'queries',
    ],
    rows,
  );
}

export function studyTable(report: DiscoveryReport): string {
  const st = report.study;
  if (!st) return '(HNSW parameter study not run)';
  const efs = st.spec.efs;
  return table(
    ['M', 'efConstruction', 'build s', 'µs/insert', 'RSS + MiB', ...efs.map((ef) => `ef ${ef}`)],
    st.configs.map((c) => [
      String(c.m),
      String(c.efConstruction),
      f1(c.buildMs / 1000),
      f0(c.usPerTopic),
      f0(c.rssDeltaBytes / MiB),
      ...efs.map((ef) => {
        const p = c.sweep.find((x) => x.ef === ef);
        return p ? `${p.recallAt10.toFixed(3)} (${ms(p.latency.p50Ms)})` : '–';
      }),
    ]),
  );
}

export function embedTable(report: DiscoveryReport): string {
  const e = report.embed;
  if (!e) return '(embedding throughput not run)';
  return table(
    ['embedder', 'dims', 'documents/s (batched)', 'query p50 ms', 'query p99 ms', 'queries/s (one per call)', 'load ms'],
    e.embedders.map((x) => [
      x.embedder,
      String(x.dims),
      f0(x.documents.perSecond),
      ms(x.queries.latency.p50Ms),
      ms(x.queries.latency.p99Ms),
      f0(x.queries.latency.perSecond),
      x.loadMs !== undefined ? f0(x.loadMs) : '–',
    ]),
  );
}

export function targetTable(report: DiscoveryReport): string {
  const rows: string[][] = [];
  for (const r of report.index.filter((x) => x.spec.size === 100_000)) {
    const s = r.catalog?.scenarios.find((x) => x.id === 'catalog-live') ?? r.scenarios.find((x) => x.id === 'live');
    if (!s) continue;
    rows.push([`Discovery p99 < 10 ms at 100k topics, excl. query embedding (${vectorsLabel(r)}, ${s.id === 'catalog-live' ? 'TopicCatalog.search' : 'HybridSearch.search'})`, `${ms(s.latency.p99Ms)} ms`, s.latency.p99Ms < 10 ? 'yes' : 'NO']);
  }
  for (const r of report.index) {
    const d = r.recall?.sweep.find((p) => p.ef === r.recall?.defaultEfSearch);
    if (!d) continue;
    rows.push([`HNSW recall@10 ≥ 0.95, default parameters (${vectorsLabel(r)}, ${sizeLabel(r.spec.size)})`, d.recallAt10.toFixed(3), d.recallAt10 >= 0.95 ? 'yes' : 'NO']);
  }
  return table(['target (issue 5)', 'measured', 'met'], rows, [false, true, false]);
}

export function machineLines(m: MachineInfo): string[] {
  return [
    `- date: ${m.date}`,
    `- machine: ${m.cpuModel}, ${m.nproc} CPUs (nproc), ${m.memTotalGiB} GiB RAM, Linux ${m.kernel} ${m.arch}`,
    `- Node ${m.node}; AgentMQ ${m.agentmq}; ${Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
}

export function markdown(report: DiscoveryReport): string {
  const o = report.options;
  /** The recall of the first run that built an HNSW graph (lexical runs build none). */
  const graphRecall = report.index.find((r) => r.recall)?.recall;
  const parts: string[] = [];
  parts.push(`### Run of ${report.machine.date.slice(0, 10)}`, '', ...machineLines(report.machine));
  parts.push(
    `- command: \`npm run bench:discovery -- --sizes ${o.sizes.join(',')} --vectors ${o.vectors.join(',')} --queries ${o.queries}\`` +
      ` (lexical up to ${sizeLabel(o.lexicalMaxSize)}, TopicCatalog up to ${sizeLabel(o.catalogMaxSize)}, live share ${o.liveShare}, bow weights ${o.bowWeights.join('/')}, seed ${o.seed}); wall time ${f0(report.wallMs / 60000)} min`,
  );
  for (const s of report.skipped) parts.push(`- not run: ${s.vectors} at ${sizeLabel(s.size)}: ${s.reason}`);
  for (const f of report.failed) parts.push(`- FAILED: ${f.run}: ${f.error.split('\n')[0]}`);
  parts.push('', '#### Targets', '', targetTable(report));
  parts.push(
    '',
    '#### Search latency',
    '',
    'One query at a time in one process (no gRPC), top 10; query vectors computed beforehand unless the scenario says "incl. query embedding". "GC n / max ms": garbage collections during the measured queries and the longest pause. "other CPU %": CPU used by other processes meanwhile (100 = one core). `*`: stopped by the time budget.',
    '',
    latencyTable(report),
  );
  parts.push(
    '',
    '#### Build and memory',
    '',
    'Index build = `HybridSearch.upsertMany` in batches of 1000 (BM25 + HNSW; vectors computed beforehand, their time is "doc vectors s"). Memory = after − before the build, each after a full GC; "HNSW layout" is what hnswlib allocates by its data layout for the index capacity (vectors + level-0 links + label map + locks), for reference. TopicCatalog: the same topics registered one by one with `TopicCatalog.upsert` (validation, broker liveness) in the same process.',
    '',
    buildTable(report),
  );
  // Lexical-family runs build no graph (nothing to measure); say so instead of an empty table.
  if (!report.index.some((r) => r.recall)) parts.push('', '#### HNSW recall@10 against brute force', '', '(no HNSW graph in these runs: the lexical family builds none)');
  else parts.push(
    '',
    '#### HNSW recall@10 against brute force',
    '',
    `Exact top-10 by cosine from hnswlib's \`BruteforceSearch\` over the same vectors (checked against a plain JavaScript scan); HNSW = the \`VectorIndex\` HybridSearch built (M ${graphRecall?.m ?? 16}, efConstruction ${graphRecall?.efConstruction ?? 200}); each efSearch passed to \`VectorIndex.search\` (\`{ efSearch }\`; the default is ${graphRecall?.defaultEfSearch ?? 300}, and HybridSearch's 100 candidates make 100 the floor); latency p50 per VectorIndex.search call. "live-filtered": the live-only filter inside the graph walk vs exact search over live topics.`,
    '',
    recallTable(report),
  );
  if (report.study) {
    parts.push(
      '',
      '#### HNSW parameters (suggestion input)',
      '',
      `\`VectorIndex\` built with each M / efConstruction over the first ${sizeLabel(report.study.spec.size)} bow ${report.study.spec.dims}d vectors (efSearch floor 10, so \`search(q, ef)\` runs hnswlib at exactly that ef); cells: recall@10 against brute force over ${report.study.spec.queries} queries (p50 ms of the call). HybridSearch always asks for 100 candidates, so its effective ef is max(efSearch, 100).`,
      '',
      studyTable(report),
    );
  }
  const budgets = report.index.filter((r) => r.charBudget);
  if (budgets.length > 0) {
    parts.push(
      '',
      '#### Character n-gram postings budget',
      '',
      'A query whose n-grams hold more than `exactPostings` postings is approximated: the n-gram ranker scans its rarest n-grams up to `maxPostings` and scores the best `rescore` topics found on the rest (`CharNgramIndex`; before session 13 a plain budget, nothing rescored). Compared with exact n-gram BM25 on the same queries (top-100 lists).',
      '',
      '| vectors | topics | approximation | top-10 overlap | top-100 overlap | p50 / p99 ms with budget | p50 / p99 ms exact |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...budgets.map((r) => {
        const c = r.charBudget!;
        return `| ${r.spec.vectors} | ${sizeLabel(r.spec.size)} | ${budgetLabel(c)} | ${c.overlapAt10} | ${c.overlapAt100} | ${c.budgetP50Ms} / ${c.budgetP99Ms} | ${c.exactP50Ms} / ${c.exactP99Ms} |`;
      }),
    );
  }
  parts.push('', '#### Embedding throughput', '', embedTable(report));
  if (report.embed) for (const x of report.embed.embedders) parts.push('', `- ${x.embedder} (\`${x.id}\`): ${x.note}; documents average ${x.documents.meanChars} characters, queries ${x.queries.meanChars}.`);
  return parts.join('\n');
}

/** How the n-gram ranker approximated large queries in a run (`IndexResult.charBudget`). */
export function budgetLabel(c: { exactPostings?: number; maxPostings: number; rescore?: number }): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return c.exactPostings === undefined
    ? `budget ${n(c.maxPostings)} postings`
    : `exact up to ${n(c.exactPostings)} postings, else ${n(c.maxPostings)} scanned + best ${n(c.rescore ?? 0)} rescored`;
}
