/**
 * deploy/Dockerfile and deploy/Dockerfile.dockerignore, without Docker: multi-stage, non-root,
 * health-checked, and the runtime stage holds everything the CLI loads (every COPY source
 * exists and survives the ignore file; every module bin/agentmq.js reaches is copied; every
 * package it imports is a production dependency, since the image prunes dev dependencies).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, readRepoFile, root, unknownFlags } from './helpers.js';

interface Instruction {
  line: number;
  op: string;
  args: string;
}

/** Instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let cur: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (cur === undefined) {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      cur = { line: i + 1, text: '' };
    } else if (line.trimStart().startsWith('#')) return; // comment lines inside a continuation
    const cont = line.endsWith('\\');
    cur.text += ` ${cont ? line.slice(0, -1) : line}`;
    if (!cont) {
      const t = cur.text.trim();
      const sp = t.search(/\s/);
      out.push({ line: cur.line, op: (sp < 0 ? t : t.slice(0, sp)).toUpperCase(), args: sp < 0 ? '' : t.slice(sp + 1).trim() });
      cur = undefined;
    }
  });
  return out;
}

/** Exec-form (JSON array) arguments, or undefined for shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const v: unknown = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`bad exec form ${args}`);
  return v;
}

/** COPY/ADD: flags, sources, destination. */
function copyArgs(args: string): { flags: Map<string, string>; sources: string[]; dest: string } {
  const tokens = args.split(/\s+/);
  const flags = new Map<string, string>();
  while (tokens[0]?.startsWith('--')) {
    const [k, v = ''] = tokens.shift()!.slice(2).split('=');
    flags.set(k!, v);
  }
  const rest = execForm(tokens.join(' ')) ?? tokens;
  return { flags, sources: rest.slice(0, -1), dest: rest[rest.length - 1]! };
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function stages(all: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of all) {
    if (ins.op === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: bad FROM ${ins.args}`);
      out.push({ from: m[1]!, ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (out.length > 0) out[out.length - 1]!.instructions.push(ins);
    else if (ins.op !== 'ARG') throw new Error(`line ${ins.line}: ${ins.op} before the first FROM`);
  }
  return out;
}

/** .dockerignore semantics: patterns in order, `!` re-includes, the last pattern matching the path or a parent wins. */
function ignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = normalize(negate ? l.slice(1).trim() : l).replace(/^\/+/, '').replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < pat.length; i++) {
        const c = pat[i]!;
        if (c === '*' && pat[i + 1] === '*') {
          re += pat[i + 2] === '/' ? '(?:.*/)?' : '.*';
          i += pat[i + 2] === '/' ? 2 : 1;
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path: string) => {
    const parts = normalize(path).split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) excluded = !r.negate;
    return excluded;
  };
}

const dockerfile = readRepoFile('deploy/Dockerfile');
const all = instructions(dockerfile);
const allStages = stages(all);
const final = allStages[allStages.length - 1]!;
const ignored = ignoreMatcher(readRepoFile('deploy/Dockerfile.dockerignore'));
const of = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);

/** Files reachable from bin/agentmq.js by relative imports, and the packages they import. */
function runtimeClosure(): { files: Set<string>; packages: Map<string, string>; problems: string[] } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const problems: string[] = [];
  const queue = ['bin/agentmq.js'];
  const importRe = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(importRe)) {
      if (m[1]) continue; // import type / export type: erased
      const spec = (m[2] ?? m[3])!;
      if (spec.startsWith('.')) {
        const base = normalize(join(dirname(file), spec));
        const candidate = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(join(root, p)) && statSync(join(root, p)).isFile());
        if (candidate) queue.push(candidate);
        else problems.push(`${file}: cannot resolve ${spec}`);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec.split('/')[0]!)) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!packages.has(pkg)) packages.set(pkg, file);
      }
    }
  }
  return { files, packages, problems };
}

describe('deploy/Dockerfile', () => {
  it('deploy - multi-stage: a build stage and a runtime stage', () => {
    expect(allStages.length).toBeGreaterThanOrEqual(2);
    const build = allStages.find((s) => s.name === 'build');
    expect(build, 'a stage named build').toBeDefined();
    const run = of(build!, 'RUN').map((i) => i.args).join('\n');
    expect(run).toMatch(/npm ci\b/);
    expect(run).toMatch(/npm prune --omit=dev/);
    expect(run).toMatch(/python3/);
    expect(run).toMatch(/g\+\+/);
    expect(of(final, 'COPY').some((i) => copyArgs(i.args).flags.get('from') === 'build')).toBe(true);
  });

  it('deploy - the runtime stage runs as a non-root user, health-checked, with the CLI as entrypoint', () => {
    const user = of(final, 'USER').at(-1)?.args;
    expect(user, 'USER in the final stage').toBeDefined();
    const u = user!.split(':')[0]!;
    expect(['root', '0']).not.toContain(u);
    expect(u).toBe('10001');
    const hc = of(final, 'HEALTHCHECK');
    expect(hc.length).toBe(1);
    expect(hc[0]!.args).toMatch(/deploy\/healthcheck\.mjs/);
    // With no argument the check probes AGENTMQ_HEALTH_PORT: both ports of the default `dev`.
    const healthPorts = of(final, 'ENV').map((i) => /AGENTMQ_HEALTH_PORT=(\S+)/.exec(i.args)?.[1]).find((v) => v !== undefined);
    expect(healthPorts?.split(',').sort()).toEqual(['8081', '9876']);
    expect(of(final, 'WORKDIR').at(-1)?.args).toBe('/app');
    expect(of(final, 'VOLUME').map((i) => i.args).join(' ')).toMatch(/\/data/);
    expect(of(final, 'EXPOSE').flatMap((i) => i.args.split(/\s+/))).toEqual(expect.arrayContaining(['9876', '8081']));
    expect(execForm(of(final, 'ENTRYPOINT').at(-1)!.args)).toEqual(['node', 'bin/agentmq.js']);
    const cmd = execForm(of(final, 'CMD').at(-1)!.args)!;
    expect(cmd[0]).toBe('dev');
    expect(parseCommandLine(cmd).flags.get('host')).toEqual(['0.0.0.0']);
    expect(parseCommandLine(cmd).flags.get('data-dir')).toEqual(['/data']);
  });

  it('deploy - the default CMD uses only flags `agentmq dev` has', { timeout: 60_000 }, () => {
    expect(unknownFlags(execForm(of(final, 'CMD').at(-1)!.args)!)).toEqual([]);
  });

  it('deploy - every COPY source exists in the repository and is not excluded by Dockerfile.dockerignore', () => {
    const problems: string[] = [];
    for (const s of allStages) {
      for (const ins of of(s, 'COPY').concat(of(s, 'ADD'))) {
        const { flags, sources } = copyArgs(ins.args);
        if (flags.has('from')) continue;
        for (const src of sources) {
          const abs = join(root, src);
          if (!existsSync(abs)) {
            problems.push(`line ${ins.line}: ${src} does not exist`);
            continue;
          }
          if (ignored(src)) problems.push(`line ${ins.line}: ${src} is excluded by Dockerfile.dockerignore`);
          if (statSync(abs).isDirectory()) {
            for (const f of readdirSync(abs)) if (ignored(join(src, f)) && f !== 'node_modules') problems.push(`line ${ins.line}: ${src}/${f} is excluded by Dockerfile.dockerignore`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('deploy - Dockerfile.dockerignore keeps node_modules, .git, data dirs and tests out of the build context', () => {
    for (const p of ['node_modules/tsx/package.json', 'broker/node_modules/x', '.git/HEAD', '.agentmq/broker-a/CURRENT', 'cli/.agentmq/x', 'test/broker/pop.test.ts', 'test-results/vitest.json', 'bench/run.ts', 'x.log']) {
      expect(ignored(p), p).toBe(true);
    }
    for (const p of ['package.json', 'bin/agentmq.js', 'broker/index.ts', 'deploy/healthcheck.mjs']) expect(ignored(p), p).toBe(false);
  });

  it('deploy - the image holds every module bin/agentmq.js loads, and every package it imports survives npm prune --omit=dev', () => {
    const copied = of(final, 'COPY')
      .map((i) => copyArgs(i.args))
      .filter((c) => !c.flags.has('from'))
      .flatMap((c) => c.sources.map((s) => normalize(s).replace(/\/$/, '')));
    const { files, packages, problems } = runtimeClosure();
    expect(problems).toEqual([]);
    expect(files.size).toBeGreaterThan(10);
    const notCopied = [...files].filter((f) => !copied.some((c) => f === c || f.startsWith(`${c}/`)));
    expect(notCopied).toEqual([]);
    const pkg = JSON.parse(readRepoFile('package.json')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    // tsx runs the TypeScript sources at run time: it must be a dependency, not a dev one.
    expect(Object.keys(pkg.dependencies ?? {})).toContain('tsx');
    const devOnly = [...packages].filter(([p]) => !(p in (pkg.dependencies ?? {}))).map(([p, f]) => `${p} (imported by ${relative('.', f)})`);
    expect(devOnly).toEqual([]);
  });
});
