/**
 * Import rules (docs/STYLE-ANCHORS 7.2): proto/ is the shared kernel; nameserver/, broker/ and
 * client/ import only proto/ and themselves; rocksdb is imported only in broker/store/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(p);
    }
  };
  walk(join(root, dir));
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

function topDir(file: string): string {
  return relative(root, file).split('/')[0]!;
}

const ALLOWED: Record<string, string[]> = {
  proto: ['proto'],
  nameserver: ['proto', 'nameserver'],
  broker: ['proto', 'broker'],
  client: ['proto', 'client'],
};

describe('architecture', () => {
  it('architecture - components import only proto/ and themselves', () => {
    const violations: string[] = [];
    for (const comp of Object.keys(ALLOWED)) {
      for (const file of sources(comp)) {
        for (const spec of imports(file)) {
          if (!spec.startsWith('.')) continue;
          const target = topDir(join(file, '..', spec));
          if (!ALLOWED[comp]!.includes(target)) violations.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('architecture - rocksdb is imported only in broker/store/ and the NameServer embedding cache', () => {
    const violations: string[] = [];
    const allowed = (f: string) => f.startsWith('broker/store/') || f === 'nameserver/semantic/embedding-cache.ts';
    for (const comp of Object.keys(ALLOWED)) {
      for (const file of sources(comp)) {
        if (imports(file).includes('rocksdb') && !allowed(relative(root, file))) violations.push(relative(root, file));
      }
    }
    expect(violations).toEqual([]);
  });

  it('architecture - tests read only files of this repository (CI has no ../shared)', () => {
    const violations = sources('test').filter((f) => /['"`](?:\.\.\/)+shared\//.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(violations).toEqual([]);
  });
});
