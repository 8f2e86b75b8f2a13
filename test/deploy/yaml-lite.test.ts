/** test/deploy/yaml-lite.ts, the strict YAML subset parser the deployment tests read YAML with. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRepoFile, root } from './helpers.js';
import { parseYamlDocuments, YamlLiteError } from './yaml-lite.js';

const parse = (text: string) => parseYamlDocuments(text, 't.yaml');

const deployYamlFiles = ['deploy/compose.yaml', ...readdirSync(join(root, 'deploy/k8s')).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/k8s/${f}`)];

/** PyYAML, when this machine has it: a second, independent reading of the same files. */
function pyyaml(): boolean {
  try {
    execFileSync('python3', ['-c', 'import yaml'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

describe('yaml-lite', () => {
  it('deploy - parses block mappings, sequences, compact and flow forms, documents and comments', () => {
    const text = [
      '# leading comment',
      '---',
      'a: 1',
      'b:',
      '  c: "x: y" # comment',
      "  d: 'it''s'",
      '  e: [ "CMD", node, 3 ]',
      '  f: {}',
      'g:',
      '- one',
      '- k: v',
      '  k2: --flag=$(POD_NAME)',
      '-',
      '  nested: true',
      '- - inner',
      'h: ~',
      'i: 10Gi',
      'j: -1.5',
      'k: ns-0:9876',
      '---',
      'second: doc',
      '',
    ].join('\n');
    expect(parse(text)).toEqual([
      { a: 1, b: { c: 'x: y', d: "it's", e: ['CMD', 'node', 3], f: {} }, g: ['one', { k: 'v', k2: '--flag=$(POD_NAME)' }, { nested: true }, ['inner']], h: null, i: '10Gi', j: -1.5, k: 'ns-0:9876' },
      { second: 'doc' },
    ]);
    expect(parse('x: "a\\tb\\u00e9\\"c"')).toEqual([{ x: 'a\tb\u00e9"c' }]);
  });

  it('deploy - rejects what it does not support or what YAML 1.1 and 1.2 read differently', () => {
    const bad: [string, RegExp][] = [
      ['a: &x 1', /unsupported YAML construct/],
      ['a: *x', /unsupported YAML construct/],
      ['a: !!str 1', /unsupported YAML construct/],
      ['a: |\n  text', /unsupported YAML construct/],
      ['a: {b: 1}', /flow mappings/],
      ['a: yes', /ambiguous/],
      ['on: push', /ambiguous/],
      ['a: 010', /ambiguous/],
      ['a: 22:22', /ambiguous/],
      ['a: 1e3', /ambiguous/],
      ['a: 2024-01-01', /ambiguous/],
      ['a: 1\na: 2', /duplicate key/],
      ['a:\n\tb: 1', /tab/],
      ['a: b\n  c', /multi-line/],
      ['a:\n  b: 1\n   c: 2', /unexpected indentation/],
      ['a:\n    b: 1\n  c: 2', /bad indentation/],
      ['a: "open', /unterminated/],
      ['a: b: c', /contains ": "/],
      ['a: "x" y', /unexpected text/],
      ['%YAML 1.2\n---\na: 1', /directive/],
    ];
    for (const [text, re] of bad) {
      expect(() => parse(text), text).toThrow(YamlLiteError);
      expect(() => parse(text), text).toThrow(re);
    }
  });

  it.skipIf(!pyyaml())('deploy - reads every deploy/ YAML file exactly as PyYAML does', { timeout: 60_000 }, () => {
    for (const f of deployYamlFiles) {
      const theirs: unknown = JSON.parse(
        execFileSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))'], { input: readRepoFile(f), encoding: 'utf8', timeout: 20_000 }),
      );
      expect(parseYamlDocuments(readRepoFile(f), f), f).toEqual(theirs);
    }
  });
});
