/** The agent wire protocol (client/agent/protocol.ts), input schemas and registerAgent option resolution, without a server. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { derivedName, resolveAgentOptions, type RegisterAgentOptions } from '../../client/agent/agent-options.js';
import { compileInputValidator } from '../../client/agent/input-validator.js';
import {
  AGENT_PROPERTIES,
  decodeCancel,
  decodeStreamResponse,
  decodeTask,
  resultParts,
  resultValue,
  taskInput,
  taskMessage,
  taskProperties,
} from '../../client/agent/protocol.js';
import { TopicDocumentError } from '../../proto/common/topic-document.js';

const options = (o: Partial<RegisterAgentOptions<never, unknown>>): RegisterAgentOptions<never, unknown> => ({ handler: () => undefined, ...o }) as RegisterAgentOptions<never, unknown>;

describe('agent protocol', () => {
  it('protocol - a task is an A2A v1.0 Message with the arguments as a data part, channels in properties', () => {
    const m = taskMessage('t-1', 'c-1', { amount: 3 }, { origin: 'test' });
    expect(m).toEqual({ messageId: expect.any(String), taskId: 't-1', contextId: 'c-1', role: 'ROLE_USER', parts: [{ data: { amount: 3 } }], metadata: { origin: 'test' } });
    const channels = { replyTopic: 'agentmq-replies', replyLite: 'task.t-1', cancelTopic: 'agentmq-control', cancelLite: 'cancel.t-1' };
    const props = taskProperties({ taskId: 't-1', contextId: 'c-1', message: m, channels, deadlineMs: 1234 });
    expect(props).toEqual({
      'agentmq.kind': 'task',
      'agentmq.task.id': 't-1',
      'agentmq.a2a.version': '1.0',
      'agentmq.reply.topic': 'agentmq-replies',
      'agentmq.reply.lite': 'task.t-1',
      'agentmq.cancel.topic': 'agentmq-control',
      'agentmq.cancel.lite': 'cancel.t-1',
      'agentmq.task.deadline': '1234',
    });
    const env = decodeTask(JSON.stringify(m), props, 'MSGID');
    expect(env).toEqual({ taskId: 't-1', contextId: 'c-1', message: m, channels, deadlineMs: 1234 });
    expect(taskInput(m)).toEqual({ amount: 3 });
  });

  it('protocol - a plain JSON body is taken as the arguments of a task without reply channel', () => {
    const env = decodeTask('{"x":1}', {}, 'MSGID');
    expect(env).toMatchObject({ taskId: 'MSGID', contextId: 'MSGID', message: { role: 'ROLE_USER', parts: [{ data: { x: 1 } }] } });
    expect('channels' in env).toBe(false);
    expect(decodeTask('not json', {}, 'M')).toMatchObject({ problem: expect.stringContaining('not JSON') });
    expect(taskInput({ messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'a' }, { text: 'b' }] })).toBe('a\nb');
  });

  it('protocol - replies are StreamResponse JSON: member-name oneofs, full enum names, no kind', () => {
    const status = { statusUpdate: { taskId: 't', contextId: 'c', status: { state: 'TASK_STATE_WORKING', timestamp: '2026-01-01T00:00:00.000Z' } } };
    expect(decodeStreamResponse(JSON.stringify(status))).toEqual(status);
    const artifact = { artifactUpdate: { taskId: 't', contextId: 'c', artifact: { artifactId: 'a', parts: [{ text: 'x' }, { data: [1] }, { url: 'https://x', mediaType: 'image/png' }] }, append: true, lastChunk: false } };
    expect(decodeStreamResponse(JSON.stringify(artifact))).toEqual(artifact);
    expect(decodeStreamResponse('{"statusUpdate":{"taskId":"t","status":{"state":"working"}}}')).toMatchObject({ problem: expect.stringContaining('TaskState') });
    expect(decodeStreamResponse('{"artifactUpdate":{"taskId":"t","artifact":{"artifactId":"a","parts":[{"kind":"text","text":"v0.3"}]}}}')).toMatchObject({
      problem: expect.stringContaining('kind'),
    });
    expect(decodeStreamResponse('{"task":{}}')).toMatchObject({ problem: expect.any(String) });
    expect(decodeCancel('{"id":"t","metadata":{"reason":"r"}}')).toEqual({ id: 't', metadata: { reason: 'r' } });
    expect(decodeCancel('{}')).toMatchObject({ problem: expect.any(String) });
  });

  it('protocol - a result round-trips through its artifact parts', () => {
    for (const v of [{ a: 1 }, [1, 2], 'text', 42, null, true]) {
      expect(resultValue({ artifactId: 'result', parts: resultParts(v) })).toEqual(v);
    }
    expect(resultParts('hi')).toEqual([{ text: 'hi' }]);
    expect(resultValue(undefined)).toBeUndefined();
  });

  it('input schema - draft-07 by default, 2020-12 when declared, every problem listed', () => {
    const v7 = compileInputValidator({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n', 'm'], additionalProperties: false, examples: [{ n: 1 }] });
    expect(v7.check({ n: 2, m: 1 })).toBe('input must not have property "m"');
    expect(v7.check({ n: 0 })).toBe("input must have required property 'm'; input/n must be >= 1");
    const v2020 = compileInputValidator({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'string' }], items: false });
    expect(v2020.check(['a'])).toBeUndefined();
    expect(v2020.check(['a', 'b'])).toContain('must NOT have more than 1 items');
    const v4 = compileInputValidator({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'string', format: 'email' });
    expect(v4.check('not checked as an email')).toBeUndefined();
    expect(() => compileInputValidator({ type: 'object', properties: { a: { type: 'nonsense' } } })).toThrow(/inputSchema does not compile/);
  });

  it('options - topic and group names derive from the agent name; an AgentCard registers with extra schema', () => {
    const plain = resolveAgentOptions(options({ name: 'Invoice Reconciler', description: 'd', skills: [{ name: 'Match POs' }] }));
    expect(plain).toMatchObject({ topic: 'invoice-reconciler', group: 'agent-invoice-reconciler', controlGroup: 'agent-invoice-reconciler-control', concurrency: 4, name: 'Invoice Reconciler' });
    expect(plain.document.skills).toEqual([{ id: 'match-pos', name: 'Match POs', description: '', tags: [], examples: [] }]);
    expect(plain.document.attributes).toEqual({ 'agentmq.agent.name': 'Invoice Reconciler', 'agentmq.agent.protocol': 'a2a/1.0' });
    expect(resolveAgentOptions(options({ name: 'already_legal-Name', description: 'd' })).topic).toBe('already_legal-Name');

    const card = JSON.parse(readFileSync(new URL('../fixtures/a2a-agent-card-geo.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const fromCard = resolveAgentOptions(options({ card, inputSchema: { type: 'object', properties: { from: { type: 'string' } } }, tags: ['maps'] }));
    expect(fromCard.topic).toBe('geospatial-route-planner-agent');
    expect(fromCard.document).toMatchObject({ owner: 'Example Geo Services Inc.', version: '1.2.0', inputSchema: { properties: { from: { type: 'string' } } } });
    expect(fromCard.document.tags).toContain('maps');
    expect(fromCard.document.attributes).toMatchObject({ 'a2a.version': '1.0', 'agentmq.agent.name': 'GeoSpatial Route Planner Agent' });
    expect(fromCard.validator?.check({ from: 3 })).toBe('input/from must be string');

    const long = 'x'.repeat(127);
    expect(derivedName('agent-', long).length).toBe(127);
    expect(derivedName('agent-', long)).not.toBe(derivedName('agent-', `${'x'.repeat(126)}y`));
    expect(() => resolveAgentOptions(options({ name: 'n' }))).toThrow(TopicDocumentError);
    expect(() => resolveAgentOptions(options({ name: 'n', description: 'd', concurrency: 0 }))).toThrow(/concurrency/);
    expect(AGENT_PROPERTIES.replyLite).toBe('agentmq.reply.lite');
  });
});
