/**
 * npm run eval:discovery -- [dataset dir] [--embedder lexical|transformers|all]
 *                           [--model ID] [--model-dir DIR] [--allow-remote] [--fit] [--cv] [--verbose]
 *                           [--extra-topics DIR] [--nameserver HOST:PORT | --in-process]
 *                           [--dictionaries auto|none|FILE,...]
 *
 * By default, for each embedder it starts a NameServer and a broker (real gRPC, loopback,
 * temporary data dir), registers the data set's topics through the broker (RegisterTopic), waits
 * until the NameServer's catalog holds them all, and asks Discover for every query.
 * `--nameserver HOST:PORT` does the same against a NameServer (and its brokers) already running;
 * the embedder is then the server's own. `--in-process` skips gRPC (a TopicCatalog in this
 * process; `--fit` and `--cv` imply it). It prints top-1
 * accuracy, recall@5, MRR@10 (answerable queries), the share of unanswerable queries declared
 * "no match" and the false no-match rate, overall and per kind, for each embedder.
 *
 * - Default data set: ../shared/datasets/discovery-dev (any directory in that format works).
 * - `lexical` is the offline embedder; `transformers` needs the model files under --model-dir
 *   (default: transformers.js's models directory) and is skipped with a note when they are absent.
 * - `--fit` refits the score calibration and the "no match" threshold on this data set and
 *   prints them (that is how DEFAULT_CALIBRATIONS / DEFAULT_MIN_SCORES were obtained).
 * - `--cv` (in-process) prints the ranking metrics per domain and a leave-one-domain-out check of
 *   the "no match" calibration: fitted without a domain's queries, applied to them.
 * - `--dictionaries` (default auto, as the NameServer): bilingual dictionaries that translate
 *   queries in other languages (nameserver/semantic/query-translator.ts); `none` measures without.
 * - `--extra-topics DIR` also registers the topics of another data set as distractors (a bigger,
 *   more varied catalog; its queries are not run).
 *
 * The search runs in-process (`catalogDiscoverFn`); `DiscoverFn` is the one seam to replace with
 * a gRPC Discover call against a running NameServer.
 */
import { resolve } from 'node:path';
import { consoleLogger } from '../proto/common/logger.js';
import {
  bestThreshold,
  catalogDiscoverFn,
  crossValidateNoMatch,
  domainFolds,
  evaluate,
  FIT_SIGNALS,
  fitCalibration,
  formatReport,
  loadDataset,
  perDomain,
  scoreRows,
} from '../nameserver/semantic/discovery-eval.js';
import type { EvaluationReport } from '../nameserver/semantic/discovery-eval.js';
import { LexicalEmbedder, TransformersEmbedder } from '../nameserver/semantic/embedder.js';
import type { Embedder } from '../nameserver/semantic/embedder.js';
import { TopicCatalog } from '../nameserver/semantic/topic-catalog.js';
import { embedderFamily } from '../nameserver/semantic/hybrid-search.js';
import { resolveDictionaryFiles } from '../nameserver/semantic/bilingual-dictionary.js';
import { QueryTranslator } from '../nameserver/semantic/query-translator.js';
import type { DiscoverFn, Dataset } from '../nameserver/semantic/discovery-eval.js';
import { createNameServer } from '../nameserver/index.js';
import { createBroker } from '../broker/index.js';
import { AdminClient, DiscoveryClient } from '../client/index.js';
import { silentLogger } from '../proto/common/logger.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const valued = new Set(['--embedder', '--model', '--model-dir', '--nameserver', '--extra-topics', '--dictionaries']);
const positional = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1] ?? ''));
const dir = resolve(positional[0] ?? new URL('../../shared/datasets/discovery-dev', import.meta.url).pathname);
const which = option('embedder') ?? 'all';
const logger = consoleLogger('eval', 'info');
const dictionaryOption = option('dictionaries') ?? 'auto';
const dictionaries: 'auto' | 'none' | string[] = dictionaryOption === 'auto' || dictionaryOption === 'none' ? dictionaryOption : dictionaryOption.split(',');

/** The translator the NameServer would build for `dictionaries` (undefined: none). */
function translator(): QueryTranslator | undefined {
  const files = resolveDictionaryFiles(dictionaries);
  return files.length > 0 ? new QueryTranslator({ files }) : undefined;
}

async function embedders(): Promise<Array<{ label: string; embedder: Embedder; note?: string }>> {
  const out: Array<{ label: string; embedder: Embedder; note?: string }> = [];
  if (which === 'lexical' || which === 'all') out.push({ label: 'lexical (offline, no model)', embedder: new LexicalEmbedder() });
  if (which === 'transformers' || which === 'all') {
    const model = option('model');
    try {
      const embedder = await TransformersEmbedder.load({
        model,
        localModelPath: option('model-dir'),
        allowRemoteModels: flag('allow-remote'),
        logger,
      });
      out.push({ label: `transformers (${embedder.model})`, embedder });
    } catch (err) {
      logger.warn('transformers embedder skipped: model files not available locally (pass --model-dir, or --allow-remote where downloads are allowed)', {
        model: model ?? 'Xenova/all-MiniLM-L6-v2',
        error: (err as Error).message.split('\n')[0],
      });
    }
  }
  return out;
}

/**
 * Registers the data set through a broker of `nameserver` and returns Discover over gRPC, once
 * the NameServer's catalog holds every topic.
 */
async function viaNameServer(nameserver: string, dataset: Dataset): Promise<{ discover: DiscoverFn; embedder: string; close: () => Promise<void> }> {
  const admin = new AdminClient({ nameserver, logger: silentLogger });
  const disco = new DiscoveryClient({ nameserver, logger: silentLogger, requestTimeoutMs: 30_000 });
  for (const d of dataset.documents) {
    const { name, ...m } = d;
    await admin.registerTopic({ name, ...m, queueCount: 1 });
  }
  const want = new Set(dataset.documents.map((d) => d.name));
  for (let i = 0; ; i++) {
    const have = (await disco.listTopics({ includeOffline: true })).filter((t) => want.has(t.name)).length;
    if (have === want.size) break;
    if (i > 600) throw new Error(`the NameServer indexed only ${have} of ${want.size} topics after 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const probe = await disco.discover('probe', { includeOffline: true, topK: 1 });
  const discover: DiscoverFn = async (query) => {
    const r = await disco.discover(query, { includeOffline: true, topK: 10 });
    const first = r.hits[0];
    return {
      ranked: r.hits.map((h) => h.topic.name),
      bestScore: r.bestScore,
      noMatch: r.noMatch,
      top: first ? { cosine: first.vectorScore, coverage: first.lexicalScore } : undefined,
    };
  };
  return { discover, embedder: probe.embedder, close: async () => (await disco.close(), await admin.close()) };
}

/** A NameServer (with `embedder`) and a broker on loopback, in this process, for one evaluation. */
async function embeddedCluster(embedder: Embedder): Promise<{ nameserver: string; close: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentmq-eval-'));
  const ns = createNameServer({ port: 0, logger: silentLogger, discovery: { embedderInstance: embedder, dictionaries } });
  await ns.start();
  const nameserver = `127.0.0.1:${ns.address.port}`;
  const broker = createBroker({ port: 0, nameservers: [nameserver], registerIntervalMs: 1000, logger: silentLogger, store: { dataDir } });
  await broker.start();
  return {
    nameserver,
    close: async () => {
      await broker.close();
      await ns.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const dataset = loadDataset(dir);
  console.log(`# Discovery evaluation: ${dir}`);
  const extraDir = option('extra-topics');
  if (extraDir) {
    const extra = loadDataset(resolve(extraDir));
    let added = 0;
    for (const doc of extra.documents) {
      if (dataset.datasetNameOf.has(doc.name)) continue;
      dataset.documents.push(doc);
      dataset.datasetNameOf.set(doc.name, extra.datasetNameOf.get(doc.name)!);
      added++;
    }
    console.log(`+ ${added} distractor topics from ${resolve(extraDir)} (registered, never relevant)`);
  }
  const t = translator();
  console.log(`${dataset.documents.length} topics, ${dataset.queries.length} queries, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`bilingual dictionaries: ${t ? t.languages.join(', ') : 'none'} (--dictionaries ${dictionaryOption})\n`);
  const remote = option('nameserver');
  // --fit and --cv need each signal of the first hit, which only the in-process search exposes.
  if (remote && (flag('fit') || flag('cv'))) console.log('(--fit and --cv need the in-process search; ignored with --nameserver)\n');
  if (remote || !(flag('in-process') || flag('fit') || flag('cv'))) {
    const runs: Array<{ label: string; nameserver: string; close?: () => Promise<void> }> = [];
    if (remote) runs.push({ label: `NameServer ${remote}`, nameserver: remote });
    else {
      for (const { label, embedder } of await embedders()) {
        const c = await embeddedCluster(embedder);
        runs.push({ label: `${label} via gRPC (NameServer ${c.nameserver})`, nameserver: c.nameserver, close: c.close });
      }
    }
    for (const run of runs) {
      const t0 = performance.now();
      const g = await viaNameServer(run.nameserver, dataset);
      const indexMs = performance.now() - t0;
      const t1 = performance.now();
      const report = await evaluate(dataset, g.discover);
      const queryMs = (performance.now() - t1) / dataset.queries.length;
      console.log(formatReport(`${run.label}, embedder id \`${g.embedder}\``, report));
      console.log(`\nregistering + indexing ${indexMs.toFixed(0)} ms, ${queryMs.toFixed(2)} ms per Discover call (gRPC round trip included)\n`);
      await g.close();
      await run.close?.();
    }
    return;
  }
  for (const { label, embedder } of await embedders()) {
    const catalog = new TopicCatalog({ embedder, ...(t ? { translator: t } : {}) });
    const t0 = performance.now();
    await Promise.all(dataset.documents.map((d) => catalog.upsert(d, { broker: 'eval', live: true })));
    const indexMs = performance.now() - t0;
    const t1 = performance.now();
    const report: EvaluationReport = await evaluate(dataset, catalogDiscoverFn(catalog));
    const queryMs = (performance.now() - t1) / dataset.queries.length;
    console.log(formatReport(`${label}, embedder id \`${embedder.id}\``, report));
    console.log(`\nindexing ${indexMs.toFixed(0)} ms, ${queryMs.toFixed(2)} ms per query (including query embedding)\n`);
    const best = bestThreshold(report.rows);
    console.log(
      `threshold sweep: best τ with false no-match <= 10% is ${best.threshold.toFixed(3)} ` +
        `(recognises ${best.noMatchAccuracy.toFixed(3)}, false no-match ${best.falseNoMatchRate.toFixed(3)})`,
    );
    if (flag('fit')) {
      const signals = FIT_SIGNALS[embedderFamily(embedder)];
      const cal = fitCalibration(report.rows, 20000, 0.5, signals);
      console.log(`fitted calibration (signals: ${signals.join(', ')}): ${JSON.stringify(Object.fromEntries(Object.entries(cal).map(([k, v]) => [k, +v.toFixed(2)])))}`);
      const refit = new TopicCatalog({ embedder, search: { calibration: cal }, ...(t ? { translator: t } : {}) });
      await Promise.all(dataset.documents.map((d) => refit.upsert(d, { broker: 'eval', live: true })));
      const r2 = await evaluate(dataset, catalogDiscoverFn(refit));
      const b2 = bestThreshold(r2.rows);
      console.log(`with it: best τ ${b2.threshold.toFixed(3)} recognises ${b2.noMatchAccuracy.toFixed(3)}, false no-match ${b2.falseNoMatchRate.toFixed(3)}`);
      console.log(formatReport('refit, at that τ', scoreRows(r2.rows, b2.threshold)));
      const cv = crossValidateNoMatch(report.rows, 5, undefined, 0.1, signals);
      console.log(
        `5-fold held-out check (calibration and τ fitted without the fold's topics): recognises ${cv.noMatchAccuracy.toFixed(3)}, ` +
          `false no-match ${cv.falseNoMatchRate.toFixed(3)}`,
      );
    }
    if (flag('cv')) {
      const f = (x: number) => x.toFixed(3);
      console.log('\nper domain of the relevant topic (answerable queries):\n');
      console.log('| domain | queries | top-1 | recall@5 | MRR@10 |\n| --- | ---: | ---: | ---: | ---: |');
      for (const d of perDomain(dataset, report.rows)) console.log(`| ${d.domain} | ${d.queries} | ${f(d.top1)} | ${f(d.recall5)} | ${f(d.mrr10)} |`);
      const folds = domainFolds(dataset);
      const cv = crossValidateNoMatch(report.rows, folds.folds, folds.groupOf, 0.1, FIT_SIGNALS[embedderFamily(embedder)]);
      console.log(
        `\nleave-one-domain-out "no match" check (${folds.folds} folds; calibration and τ fitted without the domain, applied to it): ` +
          `recognises ${f(cv.noMatchAccuracy)}, false no-match ${f(cv.falseNoMatchRate)}`,
      );
    }
    if (flag('verbose')) {
      for (const { query, answer, top1Relevant } of report.rows) {
        const mark = query.relevant.length === 0 ? (answer.noMatch ? 'NM ' : 'FP ') : top1Relevant ? 'OK ' : 'XX ';
        console.log(`${mark}[${query.kind}] ${answer.bestScore.toFixed(3)} ${query.query}\n    want ${query.relevant.join(',') || '-'} got ${answer.ranked.slice(0, 3).join(',')}`);
      }
    }
    console.log();
    await embedder.close?.();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
