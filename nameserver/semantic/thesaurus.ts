/**
 * A general-English thesaurus as a graph of analysed terms: which words a writer may use for one
 * another ("nudge" ~ "remind", "furious" ~ "angry", "supermarket" ~ "store"). It is the
 * knowledge about language that a catalog of topic descriptions does not hold, and that lets the
 * offline ranker (thesaurus-ranker.ts) match a paraphrase without any model weights.
 *
 * Source: Moby Thesaurus II (Grady Ward, 1996, public domain), reduced by
 * scripts/build-thesaurus.ts to single-word roots and entries in their analysed form (the Porter
 * stems of text-analysis.ts). Links are made symmetric on load: Moby lists "remind" under
 * "nudge" but not always the other way round.
 *
 * Text form (what scripts/build-thesaurus.ts derives from Moby, and what `parse` reads):
 *
 *   line 1      THESAURUS_HEADER
 *   each line   root,related 1,related 2,...      (analysed terms, sorted)
 *
 * Bundled file (data/thesaurus.br, ~3 MB): the parsed graph itself, so that loading is a copy
 * (~40 ms) instead of a parse (~370 ms); brotli-compressed, little-endian:
 *
 *   THESAURUS_CSR_HEADER '\n'
 *   u32 terms | u32 links | u32 byte length of the term list | term list (UTF-8, '\n'-joined)
 *   zero padding to a multiple of 4 | u32 offsets[terms + 1] | u16 targets[links]
 *
 * Memory (compressed sparse rows, ~41k terms, ~3M directed links, ~16 MB):
 *
 *   ids        Map term -> id (0 .. size-1)
 *   offsets    Uint32Array(size + 1)    neighbours of id i = targets[offsets[i] .. offsets[i+1])
 *   targets    Int32Array               neighbour ids, no duplicates, no self links; in each row
 *                                       first the links both roots list, then the rest, each
 *                                       part by the neighbour's degree (least connected first)
 *
 * The bundled file is loaded once per process, on first use (~60 ms).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

/** First line of a thesaurus file: format version and the analyser its terms come from. */
export const THESAURUS_HEADER = '# agentmq-thesaurus v1 analyzer=porter-1980 source=moby-thesaurus-ii';

/** First line of the bundled (compressed sparse rows) form; see the file comment. */
export const THESAURUS_CSR_HEADER = '# agentmq-thesaurus-csr v1 analyzer=porter-1980 source=moby-thesaurus-ii';

/** Path of the thesaurus bundled with the NameServer. */
export const BUNDLED_THESAURUS_PATH = fileURLToPath(new URL('./data/thesaurus.br', import.meta.url));

export class Thesaurus {
  readonly #ids: Map<string, number>;
  readonly #terms: string[];
  readonly #offsets: Uint32Array;
  readonly #targets: Int32Array;

  private constructor(ids: Map<string, number>, terms: string[], offsets: Uint32Array, targets: Int32Array) {
    this.#ids = ids;
    this.#terms = terms;
    this.#offsets = offsets;
    this.#targets = targets;
  }

  /** Parses the text form (see the file comment); throws on a wrong header. */
  static parse(text: string): Thesaurus {
    const lines = text.split('\n');
    if (lines[0] !== THESAURUS_HEADER) {
      throw new Error(`not a thesaurus of this version: first line is ${JSON.stringify(lines[0]?.slice(0, 80))}, want ${JSON.stringify(THESAURUS_HEADER)}`);
    }
    const ids = new Map<string, number>();
    const terms: string[] = [];
    const idOf = (t: string): number => {
      let id = ids.get(t);
      if (id === undefined) {
        id = terms.length;
        ids.set(t, id);
        terms.push(t);
      }
      return id;
    };
    // Pass 1: links as (from, to) pairs, both directions.
    let from = new Int32Array(1 << 20);
    let to = new Int32Array(1 << 20);
    let n = 0;
    const add = (a: number, b: number): void => {
      if (n + 2 > from.length) {
        const f = new Int32Array(from.length * 2);
        f.set(from);
        from = f;
        const t = new Int32Array(to.length * 2);
        t.set(to);
        to = t;
      }
      from[n] = a;
      to[n++] = b;
      from[n] = b;
      to[n++] = a;
    };
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      const parts = line.split(',');
      const root = idOf(parts[0]!);
      for (let j = 1; j < parts.length; j++) {
        const other = idOf(parts[j]!);
        if (other !== root) add(root, other);
      }
    }
    // Pass 2: counting sort by `from`, then sort and deduplicate each row (by id); a link seen
    // twice was listed by both roots. Pass 3 orders each row (see below).
    const size = terms.length;
    const counts = new Uint32Array(size + 1);
    for (let i = 0; i < n; i++) counts[from[i]! + 1]!++;
    for (let i = 0; i < size; i++) counts[i + 1]! += counts[i]!;
    const raw = new Int32Array(n);
    const fill = counts.slice(0, size);
    for (let i = 0; i < n; i++) raw[fill[from[i]!]!++] = to[i]!;
    const offsets = new Uint32Array(size + 1);
    const targets = new Int32Array(n);
    /** 1 where the link was listed in both directions (each root listing the other). */
    const mutual = new Uint8Array(n);
    let w = 0;
    for (let id = 0; id < size; id++) {
      offsets[id] = w;
      const row = raw.subarray(counts[id]!, counts[id + 1]!).sort();
      for (let j = 0; j < row.length; j++) {
        if (j === 0 || row[j] !== row[j - 1]) targets[w++] = row[j]!;
        else mutual[w - 1] = 1;
      }
    }
    offsets[size] = w;
    if (size > 0x10000) throw new Error(`thesaurus too large: ${size} terms (at most 65,536)`);
    // Row order: links both roots list first (the closest synonyms), then the neighbour's degree
    // (least connected, i.e. most specific, first), then id.
    const keys = new Int32Array(w);
    for (let id = 0; id < size; id++) {
      for (let j = offsets[id]!; j < offsets[id + 1]!; j++) {
        const r = targets[j]!;
        keys[j] = (1 - mutual[j]!) * 0x40000000 + Math.min(offsets[r + 1]! - offsets[r]!, 0x3fff) * 0x10000 + r;
      }
      const row = keys.subarray(offsets[id]!, offsets[id + 1]!).sort();
      for (let j = 0; j < row.length; j++) targets[offsets[id]! + j] = row[j]! & 0xffff;
    }
    return new Thesaurus(ids, terms, offsets, targets.slice(0, w));
  }

  /** The bundled form of this thesaurus (see the file comment), uncompressed. */
  toBinary(): Buffer {
    const head = Buffer.from(`${THESAURUS_CSR_HEADER}\n`, 'utf8');
    const terms = Buffer.from(this.#terms.join('\n'), 'utf8');
    const pad = (4 - ((head.length + 12 + terms.length) % 4)) % 4;
    const out = Buffer.alloc(head.length + 12 + terms.length + pad + 4 * this.#offsets.length + 2 * this.#targets.length);
    let at = head.copy(out, 0);
    at = out.writeUInt32LE(this.#terms.length, at);
    at = out.writeUInt32LE(this.#targets.length, at);
    at = out.writeUInt32LE(terms.length, at);
    at += terms.copy(out, at) + pad;
    for (const o of this.#offsets) at = out.writeUInt32LE(o, at);
    for (const t of this.#targets) at = out.writeUInt16LE(t, at);
    return out;
  }

  /** Reads the bundled form (uncompressed); throws on a wrong header or a truncated buffer. */
  static fromBinary(buf: Buffer): Thesaurus {
    const nl = buf.indexOf(0x0a);
    const header = nl < 0 ? '' : buf.toString('utf8', 0, nl);
    if (header !== THESAURUS_CSR_HEADER) {
      throw new Error(`not a thesaurus of this version: first line is ${JSON.stringify(header.slice(0, 80))}, want ${JSON.stringify(THESAURUS_CSR_HEADER)}`);
    }
    let at = nl + 1;
    const size = buf.readUInt32LE(at);
    const links = buf.readUInt32LE(at + 4);
    const termBytes = buf.readUInt32LE(at + 8);
    at += 12;
    const terms = size === 0 ? [] : buf.toString('utf8', at, at + termBytes).split('\n');
    at += termBytes;
    at += (4 - (at % 4)) % 4;
    const need = at + 4 * (size + 1) + 2 * links;
    if (terms.length !== size || buf.length !== need) throw new Error(`truncated or inconsistent thesaurus: ${buf.length} bytes, want ${need}`);
    const offsets = new Uint32Array(size + 1);
    for (let i = 0; i <= size; i++, at += 4) offsets[i] = buf.readUInt32LE(at);
    const targets = new Int32Array(links);
    for (let i = 0; i < links; i++, at += 2) targets[i] = buf.readUInt16LE(at);
    const ids = new Map<string, number>();
    terms.forEach((t, i) => ids.set(t, i));
    return new Thesaurus(ids, terms, offsets, targets);
  }

  /** Reads a brotli-compressed thesaurus file, bundled (binary) or text form. */
  static load(path: string): Thesaurus {
    const buf = brotliDecompressSync(readFileSync(path));
    return buf.subarray(0, THESAURUS_CSR_HEADER.length).toString('utf8') === THESAURUS_CSR_HEADER ? Thesaurus.fromBinary(buf) : Thesaurus.parse(buf.toString('utf8'));
  }

  /** Terms in the thesaurus. */
  get size(): number {
    return this.#terms.length;
  }

  /** Directed links (each symmetric link counts twice). */
  get links(): number {
    return this.#targets.length;
  }

  /** The id of an analysed term, or undefined when the thesaurus does not know it. */
  id(term: string): number | undefined {
    return this.#ids.get(term);
  }

  term(id: number): string {
    return this.#terms[id]!;
  }

  /** Number of related terms of `id`. */
  degree(id: number): number {
    return this.#offsets[id + 1]! - this.#offsets[id]!;
  }

  /** Ids of the terms related to `id`, closest first (see the file comment; a view, do not modify). */
  neighbours(id: number): Int32Array {
    return this.#targets.subarray(this.#offsets[id]!, this.#offsets[id + 1]!);
  }

  /** The related terms of an analysed term (empty when unknown). */
  related(term: string): string[] {
    const id = this.#ids.get(term);
    return id === undefined ? [] : Array.from(this.neighbours(id), (r) => this.#terms[r]!);
  }
}

let bundled: Thesaurus | undefined;

/** The bundled thesaurus, loaded on the first call and shared by every index in the process. */
export function bundledThesaurus(): Thesaurus {
  if (!bundled) {
    try {
      bundled = Thesaurus.load(BUNDLED_THESAURUS_PATH);
    } catch (err) {
      throw new Error(
        `cannot load the bundled thesaurus ${BUNDLED_THESAURUS_PATH} (${(err as Error).message}); ` +
          'reinstall AgentMQ, rebuild it with scripts/build-thesaurus.ts, or turn the thesaurus ranker off (weights.thesaurus 0)',
        { cause: err },
      );
    }
  }
  return bundled;
}
