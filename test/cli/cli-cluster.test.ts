/** `agentmq cluster` argument handling: clear usage errors (exit 2), nothing started or written. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentmq } from '../helpers/cluster-process.js';
import { tmpDir } from '../helpers/tmp-dir.js';

describe('cli - agentmq cluster', () => {
  it('cli cluster - --help, a missing subcommand, a missing --data-dir and bad counts are usage errors', async () => {
    const help = await agentmq(['cluster', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: agentmq cluster up|down|status');
    const none = await agentmq(['cluster']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('a subcommand is required (up, down or status)');
    const noDir = await agentmq(['cluster', 'up']);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('--data-dir is required');
    const dir = tmpDir('agentmq-cli-cluster-');
    try {
      for (const [args, msg] of [
        [['--brokers', '0'], '--brokers must be at least 1'],
        [['--nameservers', 'two'], '--nameservers must be a non-negative integer'],
        [['--flush', 'maybe'], '--flush must be sync or async'],
        [['--base-port', '65534'], 'leaves no room'],
      ] as const) {
        const r = await agentmq(['cluster', 'up', '--data-dir', dir.path, ...args]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(msg);
      }
      expect(existsSync(join(dir.path, 'cluster.json'))).toBe(false);
      const down = await agentmq(['cluster', 'down', '--data-dir', dir.path]);
      expect(down.code).toBe(2);
      expect(down.stderr).toContain('no cluster in');
    } finally {
      dir.cleanup();
    }
  });
});
