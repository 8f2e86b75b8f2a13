/**
 * Small bilingual dictionaries in the formats the NameServer reads, written by the tests
 * themselves: dictd (index + dictzip with several chunks, or a plain .dict), EDICT in EUC-JP and
 * CC-CEDICT. The entries are made up for the tests; no dictionary data is copied.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { crc32 } from '../../proto/common/crc32.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function b64(n: number): string {
  let s = '';
  do {
    s = B64[n % 64]! + s;
    n = Math.floor(n / 64);
  } while (n > 0);
  return s;
}

/**
 * gzip with a dictzip "RA" field: `data` cut into `chunkLength`-byte chunks, each deflated on its
 * own and ended with a full flush (the last one finished), their compressed sizes in the header.
 */
export function dictzip(data: Buffer, chunkLength: number): Buffer {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkLength) {
    const last = at + chunkLength >= data.length;
    chunks.push(deflateRawSync(data.subarray(at, at + chunkLength), { finishFlush: last ? constants.Z_FINISH : constants.Z_FULL_FLUSH }));
  }
  const ra = Buffer.alloc(10 + 2 * chunks.length);
  ra.write('RA', 0, 'latin1');
  ra.writeUInt16LE(6 + 2 * chunks.length, 2);
  ra.writeUInt16LE(1, 4); // version
  ra.writeUInt16LE(chunkLength, 6);
  ra.writeUInt16LE(chunks.length, 8);
  chunks.forEach((c, i) => ra.writeUInt16LE(c.length, 10 + 2 * i));
  const header = Buffer.from([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 2, 3, 0, 0]);
  header.writeUInt16LE(ra.length, 10);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([header, ra, ...chunks, trailer]);
}

export interface DictdEntry {
  headword: string;
  /** Translation lines after the headword line (FreeDict style). */
  lines: string[];
}

/**
 * Writes `<dir>/<name>.index` and `.dict.dz` (dictzip, 64-byte chunks so entries span chunks)
 * or, with `plain`, `.dict`; returns the index path. Entries are indexed in the order given.
 */
export function writeDictd(dir: string, name: string, entries: DictdEntry[], plain = false): string {
  const parts: Buffer[] = [];
  const index: string[] = ['00databaseshort\tA\tB'];
  let offset = 0;
  const preamble = Buffer.from('00-database-short\n test dictionary\n');
  parts.push(preamble);
  offset += preamble.length;
  for (const e of entries) {
    const body = Buffer.from(`${e.headword} /ipa/ <n>\n${e.lines.join('\n')}\n\n`);
    index.push(`${e.headword}\t${b64(offset)}\t${b64(body.length)}`);
    parts.push(body);
    offset += body.length;
  }
  const data = Buffer.concat(parts);
  const stem = join(dir, name);
  if (plain) writeFileSync(`${stem}.dict`, data);
  else writeFileSync(`${stem}.dict.dz`, dictzip(data, 64));
  writeFileSync(`${stem}.index`, index.join('\n') + '\n');
  return `${stem}.index`;
}

/** EUC-JP bytes of the few kana and kanji the EDICT fixture uses (JIS X 0208 row/cell + 0xA0). */
const EUC_JP: Record<string, [number, number]> = {
  日: [0xc6, 0xfc],
  本: [0xcb, 0xdc],
  語: [0xb8, 0xec],
  に: [0xa4, 0xcb],
  ほ: [0xa4, 0xdb],
  ん: [0xa4, 0xf3],
  ご: [0xa4, 0xb4],
  翻: [0xcb, 0xdd],
  訳: [0xcc, 0xf5],
  や: [0xa4, 0xe4],
  く: [0xa4, 0xaf],
};

function eucJp(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const code = EUC_JP[ch];
    if (code) out.push(code[0], code[1]);
    else if (ch.charCodeAt(0) < 0x80) out.push(ch.charCodeAt(0));
    else throw new Error(`no EUC-JP code for ${ch} in the fixture table`);
  }
  return Buffer.from(out);
}

/** An EDICT file in EUC-JP (as Debian ships it): 日本, 日本語, 翻訳 and a non-common 日本 entry. */
export function writeEdict(dir: string): string {
  const lines = [
    '日本 [にほん] /(n) sun origin/',
    '日本 [にほん] /(n) Japan/(P)/',
    '日本語 [にほんご] /(n) Japanese language/(P)/',
    '翻訳 [ほんやく] /(n,vs) translation/deciphering/(P)/',
  ];
  const path = join(dir, 'edict');
  writeFileSync(path, Buffer.concat(lines.map((l) => Buffer.concat([eucJp(l), Buffer.from('\n')]))));
  return path;
}

/** A CC-CEDICT file: traditional and simplified forms of two words. */
export function writeCedict(dir: string): string {
  const path = join(dir, 'cedict_ts.u8');
  writeFileSync(
    path,
    [
      '# CC-CEDICT-format test fixture',
      '發票 发票 [fa1 piao4] /invoice/receipt or bill/CL:張|张[zhang1]/',
      '翻譯 翻译 [fan1 yi4] /to translate/translation/',
      '',
    ].join('\n'),
  );
  return path;
}
