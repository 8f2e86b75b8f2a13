/**
 * Dead-lettering does not need a receiver, and recalling a delayed message frees its dedup key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attemptOf, idOf } from '../../helpers/broker-fixture.js';
import { FeatureBroker, eventually, propsOf } from '../../helpers/feature-harness.js';

describe('features - timer-driven dead letters, recall and dedup', () => {
  let fb: FeatureBroker;
  beforeEach(async () => {
    fb = await new FeatureBroker().start();
  });
  afterEach(async () => {
    await fb.dispose();
  });

  it('dead letters - the last allowed delivery expiring unacked is dead-lettered with no receiver polling', async () => {
    await fb.createTopic('lonely', 'NORMAL', 1);
    await fb.createGroup('solo', 1);
    await fb.sendOne('lonely', 'once-only');
    const { msgs } = await fb.receiveUntil({ topic: 'lonely', group: 'solo', invisibleMs: 150, pollMs: 1000 }, 1, 1500);
    expect(attemptOf(msgs[0]!)).toBe(1);
    // Nobody receives on 'solo' any more: the redelivery timer moves it when the 150 ms pass.
    expect(await eventually(async () => (await fb.messageCount('%DLQ%solo')) === 1, 3000)).toBe(true);
    const dl = await fb.receiveUntil({ topic: '%DLQ%solo', group: 'inspect', pollMs: 500 }, 1, 1500);
    expect(dl.msgs.map(idOf)).toEqual(['once-only']);
    expect(propsOf(dl.msgs[0]!)['agentmq.dlq.attempts']).toBe('1');
    await fb.expectNothing({ topic: 'lonely', group: 'solo', pollMs: 300 });
  });

  it('dead letters - an exhausted in-flight message recovered after a restart is dead-lettered by the timer', async () => {
    await fb.createTopic('lonely2', 'NORMAL', 1);
    await fb.createGroup('solo2', 1);
    await fb.sendOne('lonely2', 'before-restart');
    await fb.receiveUntil({ topic: 'lonely2', group: 'solo2', invisibleMs: 400, pollMs: 1000 }, 1, 1500);
    await fb.restart();
    expect(await eventually(async () => (await fb.messageCount('%DLQ%solo2')) === 1, 3000)).toBe(true);
  });

  it('recall - recalling a delayed message frees its dedup key, so the task can be sent again', async () => {
    await fb.createTopic('later', 'NORMAL', 1);
    const first = await fb.sendOne('later', 'task-v1', { dedupKey: 'task-9', deliverAt: Date.now() + 60_000 });
    expect(first.recallHandle).toBeTruthy();
    // While it waits, a duplicate is swallowed (original id).
    expect((await fb.sendOne('later', 'task-dup', { dedupKey: 'task-9' })).messageId).toBe('task-v1');
    expect((await fb.recall('later', first.recallHandle!)).code).toBe('OK');
    const again = await fb.sendOne('later', 'task-v2', { dedupKey: 'task-9' });
    expect(again.messageId).toBe('task-v2');
    const { msgs } = await fb.receiveUntil({ topic: 'later', group: 'g', pollMs: 500 }, 1, 1500);
    expect(msgs.map(idOf)).toEqual(['task-v2']);
  });
});
