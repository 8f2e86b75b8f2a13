/**
 * A strict parser for the plain block-YAML subset that deploy/compose.yaml and deploy/k8s/*.yaml
 * are written in, so the deployment tests need no YAML package (the repository has none).
 *
 * Supported: `---` separated documents; block mappings and block sequences (including the
 * compact `- key: value` form and a sequence directly under its key); plain, 'single' and
 * "double" quoted scalars; flow sequences of scalars (`["CMD", "node"]`); `{}` and `[]`;
 * comments. Plain scalars resolve as YAML 1.2's core schema: null, true/false, integers,
 * decimals, everything else a string.
 *
 * Everything else is rejected with a line number instead of being guessed at: anchors and
 * aliases, tags, block scalars (| >), multi-line scalars, flow mappings, complex keys,
 * directives, tabs, duplicate keys, and plain scalars that YAML 1.1 readers (kubectl reads with
 * go-yaml, Compose too) would resolve differently from YAML 1.2 (yes/no/on/off, 010, 1:30,
 * 1e3, 2024-01-01...): quote those.
 */

export class YamlLiteError extends Error {}

interface Line {
  no: number;
  indent: number;
  content: string;
}

type Value = null | boolean | number | string | Value[] | { [k: string]: Value };

const AMBIGUOUS = [
  /^(y|yes|n|no|on|off)$/i, // YAML 1.1 booleans
  /^[-+]?\.?(inf|nan)$/i,
  /^[-+]?0[xXoObB]/,
  /^[-+]?0[0-9]/, // YAML 1.1 octal / leading zeros
  /^[-+]?(\.[0-9]|[0-9][0-9_]*\.?)[0-9_]*([eE][-+]?[0-9]+)?$/, // floats/ints with _ or exponents
  /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/, // YAML 1.1 sexagesimal
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|$)/, // timestamps
];

function resolvePlain(s: string, where: string): Value {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?(0|[1-9][0-9]*)$/.test(s)) return Number(s);
  if (/^[-+]?(0|[1-9][0-9]*)\.[0-9]+$/.test(s)) return Number(s);
  if (AMBIGUOUS.some((re) => re.test(s))) throw new YamlLiteError(`${where}: ambiguous plain scalar ${JSON.stringify(s)}: quote it`);
  if (/^[&*!|>%@`{}\],]/.test(s) || /^[?:-](\s|$)/.test(s)) {
    throw new YamlLiteError(`${where}: unsupported YAML construct at ${JSON.stringify(s)} (anchors, aliases, tags, block scalars, flow mappings are not supported)`);
  }
  if (/:(\s|$)/.test(s)) throw new YamlLiteError(`${where}: plain scalar ${JSON.stringify(s)} contains ": " (quote it)`);
  return s;
}

/** A quoted scalar starting at s[0]; returns the value and the rest of the text after it. */
function quoted(s: string, where: string): { value: string; rest: string } {
  const q = s[0]!;
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (q === "'") {
      if (c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return { value: out, rest: s.slice(i + 1) };
      }
      out += c;
      continue;
    }
    if (c === '"') return { value: out, rest: s.slice(i + 1) };
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    const simple: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', ' ': ' ' };
    if (e !== undefined && e in simple) out += simple[e];
    else if (e === 'x' || e === 'u') {
      const n = e === 'x' ? 2 : 4;
      const hex = s.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new YamlLiteError(`${where}: bad escape \\${e}${hex}`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += n;
    } else throw new YamlLiteError(`${where}: unsupported escape \\${e ?? ''}`);
  }
  throw new YamlLiteError(`${where}: unterminated ${q === '"' ? 'double' : 'single'}-quoted scalar (multi-line scalars are not supported)`);
}

/** Nothing but whitespace and an optional comment may follow a complete value. */
function expectEnd(rest: string, where: string): void {
  if (rest.trim() !== '' && !/^\s+#/.test(rest)) throw new YamlLiteError(`${where}: unexpected text after value: ${JSON.stringify(rest)}`);
}

function flowSequence(s: string, where: string): { value: Value[]; rest: string } {
  const items: Value[] = [];
  let i = 1;
  const skipWs = () => {
    while (s[i] === ' ') i++;
  };
  skipWs();
  if (s[i] === ']') return { value: items, rest: s.slice(i + 1) };
  for (;;) {
    skipWs();
    const c = s[i];
    if (c === undefined) throw new YamlLiteError(`${where}: unterminated flow sequence (multi-line flow is not supported)`);
    if (c === '"' || c === "'") {
      const q = quoted(s.slice(i), where);
      items.push(q.value);
      i = s.length - q.rest.length;
    } else if (c === '[' || c === '{') {
      throw new YamlLiteError(`${where}: nested flow collections are not supported`);
    } else {
      let j = i;
      while (j < s.length && s[j] !== ',' && s[j] !== ']') j++;
      const text = s.slice(i, j).trim();
      if (text === '' || text.includes(' #') || /[{}[]/.test(text)) throw new YamlLiteError(`${where}: bad flow sequence item ${JSON.stringify(text)}`);
      items.push(resolvePlain(text, where));
      i = j;
    }
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (s[i] === ']') return { value: items, rest: s.slice(i + 1) };
    throw new YamlLiteError(`${where}: expected , or ] in flow sequence`);
  }
}

/** The value written on the same line after `key:` or `- `. */
function inlineValue(text: string, where: string): Value {
  const s = text.trim();
  if (s.startsWith('"') || s.startsWith("'")) {
    const q = quoted(s, where);
    expectEnd(q.rest, where);
    return q.value;
  }
  if (s.startsWith('[')) {
    const f = flowSequence(s, where);
    expectEnd(f.rest, where);
    return f.value;
  }
  if (s.startsWith('{')) {
    if (/^\{\s*\}\s*(#.*)?$/.test(s)) return {};
    throw new YamlLiteError(`${where}: flow mappings are not supported (only {})`);
  }
  const hash = s.search(/(^|\s)#/);
  return resolvePlain((hash < 0 ? s : s.slice(0, hash)).trim(), where);
}

function isSeqItem(content: string): boolean {
  return content === '-' || content.startsWith('- ');
}

/** `key: rest` split, or undefined when the content is not a mapping entry. */
function splitKey(content: string, where: string): { key: string; rest: string } | undefined {
  if (content.startsWith('[') || content.startsWith('{') || isSeqItem(content)) return undefined;
  if (content.startsWith('?') && /^\?(\s|$)/.test(content)) throw new YamlLiteError(`${where}: complex keys are not supported`);
  if (content.startsWith('"') || content.startsWith("'")) {
    const q = quoted(content, where);
    const m = /^\s*:(\s|$)/.exec(q.rest);
    if (!m) return undefined;
    return { key: q.value, rest: q.rest.slice(m[0].length) };
  }
  const m = /:(\s|$)/.exec(content);
  if (!m) return undefined;
  const hash = content.search(/(^|\s)#/);
  if (hash >= 0 && hash < m.index) return undefined;
  const keyText = content.slice(0, m.index).trim();
  const key = resolvePlain(keyText, where);
  if (typeof key !== 'string') throw new YamlLiteError(`${where}: key ${JSON.stringify(keyText)} is not a string: quote it`);
  return { key, rest: content.slice(m.index + m[0].length) };
}

function isBlank(rest: string): boolean {
  const t = rest.trim();
  return t === '' || t.startsWith('#');
}

class Parser {
  private i = 0;
  constructor(
    private readonly lines: Line[],
    private readonly source: string,
  ) {}

  private where(l: Line | undefined): string {
    return `${this.source}:${l ? l.no : 'end'}`;
  }

  parseDocument(): Value {
    const first = this.lines[0]!;
    if (first.indent !== 0) throw new YamlLiteError(`${this.where(first)}: a document's first line must not be indented`);
    const v = this.node(0);
    if (this.i < this.lines.length) throw new YamlLiteError(`${this.where(this.lines[this.i])}: unexpected content (bad indentation?)`);
    return v;
  }

  /** The node whose first line is the current line (indent >= minIndent). */
  private node(minIndent: number): Value {
    const l = this.lines[this.i]!;
    if (l.indent < minIndent) throw new YamlLiteError(`${this.where(l)}: bad indentation`);
    if (isSeqItem(l.content)) return this.sequence(l.indent);
    if (splitKey(l.content, this.where(l))) return this.mapping(l.indent);
    this.i++;
    const v = inlineValue(l.content, this.where(l));
    this.noDeeper(l.indent, l);
    return v;
  }

  /** After a one-line value, a more indented line would be a multi-line scalar: not supported. */
  private noDeeper(indent: number, after: Line): void {
    const next = this.lines[this.i];
    if (next && next.indent > indent) throw new YamlLiteError(`${this.where(next)}: unexpected indentation after the value on line ${after.no} (multi-line scalars are not supported)`);
  }

  private mapping(indent: number): Value {
    const obj: { [k: string]: Value } = {};
    for (;;) {
      const l = this.lines[this.i];
      if (!l || l.indent < indent) break;
      const where = this.where(l);
      if (l.indent > indent) throw new YamlLiteError(`${where}: bad indentation`);
      const kv = splitKey(l.content, where);
      if (!kv) throw new YamlLiteError(`${where}: expected "key: value" in a mapping`);
      if (kv.key === '__proto__') throw new YamlLiteError(`${where}: key __proto__ is not allowed`);
      if (Object.prototype.hasOwnProperty.call(obj, kv.key)) throw new YamlLiteError(`${where}: duplicate key ${JSON.stringify(kv.key)}`);
      this.i++;
      if (isBlank(kv.rest)) {
        const next = this.lines[this.i];
        if (next && next.indent > indent) obj[kv.key] = this.node(indent + 1);
        else if (next && next.indent === indent && isSeqItem(next.content)) obj[kv.key] = this.sequence(indent);
        else obj[kv.key] = null;
      } else {
        obj[kv.key] = inlineValue(kv.rest, where);
        this.noDeeper(indent, l);
      }
    }
    return obj;
  }

  private sequence(indent: number): Value {
    const arr: Value[] = [];
    for (;;) {
      const l = this.lines[this.i];
      if (!l || l.indent < indent) break;
      const where = this.where(l);
      if (l.indent > indent) throw new YamlLiteError(`${where}: bad indentation`);
      if (!isSeqItem(l.content)) break; // a mapping key at the same indent ends a sequence written under its key
      const rest = l.content.slice(1).replace(/^ +/, '');
      const offset = indent + (l.content.length - rest.length);
      if (isBlank(rest)) {
        this.i++;
        const next = this.lines[this.i];
        arr.push(next && next.indent > indent ? this.node(indent + 1) : null);
      } else if (isSeqItem(rest) || splitKey(rest, where)) {
        // `- key: value` / `- - item`: the rest of the line opens a node at its own column.
        this.lines[this.i] = { no: l.no, indent: offset, content: rest };
        arr.push(this.node(offset));
      } else {
        this.i++;
        arr.push(inlineValue(rest, where));
        this.noDeeper(indent, l);
      }
    }
    return arr;
  }
}

/** Every non-empty document of `text`, as plain JSON-like values. */
export function parseYamlDocuments(text: string, source = '<yaml>'): unknown[] {
  const docs: Line[][] = [[]];
  text.split('\n').forEach((raw, idx) => {
    const no = idx + 1;
    const line = raw.replace(/\r$/, '');
    const indentText = /^[ \t]*/.exec(line)![0];
    const content = line.slice(indentText.length).trimEnd();
    if (content === '' || content.startsWith('#')) return;
    if (indentText.includes('\t')) throw new YamlLiteError(`${source}:${no}: tab in indentation`);
    if (indentText === '' && /^---(\s+#.*)?$/.test(content)) {
      docs.push([]);
      return;
    }
    if (indentText === '' && (content.startsWith('---') || content.startsWith('...') || content.startsWith('%'))) {
      throw new YamlLiteError(`${source}:${no}: unsupported document marker or directive ${JSON.stringify(content)}`);
    }
    docs[docs.length - 1]!.push({ no, indent: indentText.length, content });
  });
  return docs.filter((d) => d.length > 0).map((d) => new Parser(d, source).parseDocument());
}
