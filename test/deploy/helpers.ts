/** Shared by the deployment tests (test/deploy/): the repository root, the CLI's flags, YAML files. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments } from './yaml-lite.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export function readRepoFile(rel: string): string {
  return readFileSync(join(root, rel), 'utf8');
}

export function yamlDocuments(rel: string): unknown[] {
  return parseYamlDocuments(readRepoFile(rel), rel);
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** obj.a.b.c, or undefined when a step is missing. */
export function at(v: unknown, ...path: (string | number)[]): Json | undefined {
  let cur: unknown = v;
  for (const p of path) {
    if (typeof p === 'number' ? !Array.isArray(cur) : !isObj(cur)) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur as Json | undefined;
}

const helpCache = new Map<string, Set<string>>();

/** The long flags `agentmq <command> --help` documents (the real CLI, run through bin/agentmq.js). */
export function cliFlags(command: string): Set<string> {
  let flags = helpCache.get(command);
  if (!flags) {
    const help = execFileSync(process.execPath, [join(root, 'bin/agentmq.js'), command, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    flags = new Set([...help.matchAll(/(?:^|\s)--([a-z0-9][a-z0-9-]*)/g)].map((m) => m[1]!));
    if (flags.size === 0) throw new Error(`agentmq ${command} --help lists no flags:\n${help}`);
    helpCache.set(command, flags);
  }
  return flags;
}

/**
 * A server command line (`broker --host=0.0.0.0 --nameserver a --nameserver b ...`, without the
 * leading `node bin/agentmq.js`) as its command and flag -> values. `--k=v` and `--k v` both work;
 * a flag followed by another flag (or nothing) is a boolean (value '').
 */
export function parseCommandLine(args: readonly string[]): { command: string; flags: Map<string, string[]> } {
  const [command, ...rest] = args;
  if (command === undefined || command.startsWith('-')) throw new Error(`no command in ${JSON.stringify(args)}`);
  const flags = new Map<string, string[]>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) throw new Error(`stray argument ${JSON.stringify(a)} in ${JSON.stringify(args)}`);
    const eq = a.indexOf('=');
    let name: string;
    let value: string;
    if (eq >= 0) {
      name = a.slice(2, eq);
      value = a.slice(eq + 1);
    } else {
      name = a.slice(2);
      const next = rest[i + 1];
      value = next !== undefined && !next.startsWith('--') ? (i++, next) : '';
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { command, flags };
}

/** Flags of `line` that `agentmq <command> --help` does not document. */
export function unknownFlags(args: readonly string[]): string[] {
  const { command, flags } = parseCommandLine(args);
  const known = cliFlags(command);
  return [...flags.keys()].filter((f) => !known.has(f)).map((f) => `${command} --${f}`);
}

export function strings(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`expected a list of strings, got ${JSON.stringify(v)}`);
  return v as string[];
}
