import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../proto/index.js';
import { fromStatus, toStatus } from '../../proto/common/status.js';
import { MqError } from '../../proto/common/errors.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

describe('proto', () => {
  it('proto - loads the RocketMQ v2 and AgentMQ services', () => {
    const p = loadProtos();
    expect(Object.keys(p.apache.rocketmq.v2.MessagingService.service)).toContain('SyncLiteSubscription');
    expect(Object.keys(p.agentmq.v1.NameServerRegistry.service)).toEqual(['RegisterBroker', 'UnregisterBroker', 'ListBrokers']);
    expect(Object.keys(p.agentmq.v1.BrokerAdmin.service)).toContain('CreateTopic');
  });

  it('proto - generated types in proto/gen are up to date (npm run proto:gen)', () => {
    const dir = tmpDir();
    try {
      execFileSync(process.execPath, [join(root, 'scripts/proto-gen.mjs'), dir.path], { stdio: 'pipe' });
      const fresh = files(dir.path);
      const committed = files(join(root, 'proto/gen'));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [name, text] of fresh) expect(committed.get(name), name).toBe(text);
    } finally {
      dir.cleanup();
    }
  });

  it('proto - one mapping per edge: MqError <-> Status round-trips, other errors are INTERNAL_ERROR', () => {
    const status = toStatus(new MqError('TOPIC_NOT_FOUND', 'topic x not found'));
    expect(status).toEqual({ code: 'TOPIC_NOT_FOUND', message: 'topic x not found' });
    expect(() => fromStatus(status)).toThrowError(/topic x not found/);
    expect(toStatus(new Error('disk on fire')).code).toBe('INTERNAL_ERROR');
    expect(() => fromStatus({ code: 'OK', message: 'OK' })).not.toThrow();
    expect(() => fromStatus({ code: 'MESSAGE_NOT_FOUND', message: '' }, ['MESSAGE_NOT_FOUND'])).not.toThrow();
  });
});
