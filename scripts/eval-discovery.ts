/**
 * npm run eval:discovery -- [dataset dir] [--embedder lexical|transformers|all]
 *                           [--model ID] [--model-dir DIR] [--allow-remote] [--fit] [--verbose]
 *
 * Registers the data set's topics in a topic catalog, runs every query, and prints top-1
 * accuracy, recall@5, MRR@10 (answerable queries), the share of unanswerable queries declared
 * "no match" and the false no-match rate, overall and per kind, for each embedder.
 *
 * - Default data set: ../shared/datasets/discovery-dev (any directory in that format works).
 * - `lexical` is the offline embedder; `transformers` needs the model files under --model-dir
 *   (default: transformers.js's models directory) and is skipped with a note when they are absent.
 * - `--fit` refits the score calibration and the "no match" threshold on this data set and
 *   prints them (that is how DEFAULT_CALIBRATIONS / DEFAULT_MIN_SCORES were obtained).
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
  evaluate,
  fitCalibration,
  formatReport,
  loadDataset,
  scoreRows,
} from '../nameserver/semantic/discovery-eval.js';
import type { EvaluationReport } from '../nameserver/semantic/discovery-eval.js';
import { LexicalEmbedder, TransformersEmbedder } from '../nameserver/semantic/embedder.js';
import type { Embedder } from '../nameserver/semantic/embedder.js';
import { TopicCatalog } from '../nameserver/semantic/topic-catalog.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const valued = new Set(['--embedder', '--model', '--model-dir']);
const positional = args.filter((a, i) => !a.startsWith('--') && !valued.has(args[i - 1] ?? ''));
const dir = resolve(positional[0] ?? new URL('../../shared/datasets/discovery-dev', import.meta.url).pathname);
const which = option('embedder') ?? 'all';
const logger = consoleLogger('eval', 'info');

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

async function main(): Promise<void> {
  const dataset = loadDataset(dir);
  console.log(`# Discovery evaluation: ${dir}`);
  console.log(`${dataset.documents.length} topics, ${dataset.queries.length} queries, ${new Date().toISOString().slice(0, 10)}\n`);
  for (const { label, embedder } of await embedders()) {
    const catalog = new TopicCatalog({ embedder });
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
      const cal = fitCalibration(report.rows);
      console.log(`fitted calibration: ${JSON.stringify(Object.fromEntries(Object.entries(cal).map(([k, v]) => [k, +v.toFixed(2)])))}`);
      const refit = new TopicCatalog({ embedder, search: { calibration: cal } });
      await Promise.all(dataset.documents.map((d) => refit.upsert(d, { broker: 'eval', live: true })));
      const r2 = await evaluate(dataset, catalogDiscoverFn(refit));
      const b2 = bestThreshold(r2.rows);
      console.log(`with it: best τ ${b2.threshold.toFixed(3)} recognises ${b2.noMatchAccuracy.toFixed(3)}, false no-match ${b2.falseNoMatchRate.toFixed(3)}`);
      console.log(formatReport('refit, at that τ', scoreRows(r2.rows, b2.threshold)));
      const cv = crossValidateNoMatch(report.rows);
      console.log(
        `5-fold held-out check (calibration and τ fitted without the fold's topics): recognises ${cv.noMatchAccuracy.toFixed(3)}, ` +
          `false no-match ${cv.falseNoMatchRate.toFixed(3)}`,
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
