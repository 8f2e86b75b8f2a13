import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  TOPIC_DOCUMENT_LIMITS,
  TopicDocumentError,
  embeddingText,
  lexicalSections,
  topicDocumentFromAgentCard,
  validateTopicDocument,
} from '../../../nameserver/semantic/topic-document.js';

const sampleCardV1 = JSON.parse(
  readFileSync(new URL('../../fixtures/agent-card-v1.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const valid = {
  name: 'finance_invoice-extraction',
  description: '  Extracts header fields and line items from supplier invoices.  ',
  tags: ['invoices', 'extraction', 'invoices'],
  skills: [
    {
      id: 'extract-invoice',
      name: 'Extract invoice data',
      description: 'Parse an invoice into header fields and a table of line items.',
      examples: ['Extract the line items from these 40 vendor invoices'],
    },
  ],
  inputSchema: { type: 'object', properties: { file_url: { type: 'string' } }, required: ['file_url'] },
  owner: 'finance-team',
  version: '1.2.0',
  attributes: { domain: 'finance', replicas: 3 },
};

function problemsOf(input: unknown): Array<{ field: string; problem: string }> {
  try {
    validateTopicDocument(input);
  } catch (err) {
    expect(err).toBeInstanceOf(TopicDocumentError);
    return [...(err as TopicDocumentError).problems];
  }
  throw new Error('expected validation to fail');
}

describe('topic document', () => {
  it('topic document - normalises a valid document (trim, dedupe, defaults, stringified attributes)', () => {
    const doc = validateTopicDocument(valid);
    expect(doc.description).toBe('Extracts header fields and line items from supplier invoices.');
    expect(doc.tags).toEqual(['invoices', 'extraction']);
    expect(doc.skills[0]).toEqual({ ...valid.skills[0], tags: [] });
    expect(doc.attributes).toEqual({ domain: 'finance', replicas: '3' });
    expect(doc.inputSchema).toEqual(valid.inputSchema);
    expect(doc.inputSchema).not.toBe(valid.inputSchema); // owned copy
  });

  it('topic document - errors name every offending field', () => {
    const problems = problemsOf({
      name: 'finance.invoice-extraction',
      description: '   ',
      tags: ['ok', 'a|b', 7],
      skills: [{ id: 'x', name: 'X' }, { id: 'x', name: 'Y' }, { name: 'no id' }],
      inputSchema: { required: ['file_url'] },
      outputSchema: ['not', 'an', 'object'],
      attributes: { '': 'empty key', ok: { nested: true } },
    });
    const fields = problems.map((p) => p.field);
    expect(fields).toEqual([
      'name',
      'description',
      'tags[1]',
      'tags[2]',
      'skills[1].id',
      'skills[2].id',
      'inputSchema',
      'outputSchema',
      'attributes[""]',
      'attributes["ok"]',
    ]);
    expect(problems[0]!.problem).toMatch(/must match/);
    expect(problems.find((p) => p.field === 'inputSchema')!.problem).toMatch(/type, properties/);
    expect(problems.find((p) => p.field === 'skills[1].id')!.problem).toMatch(/duplicates/);
  });

  it('topic document - the error message lists the problems and carries the field and topic', () => {
    try {
      validateTopicDocument({ name: 'ok-name', description: 'd', inputSchema: { type: 'thing' } });
      expect.unreachable();
    } catch (err) {
      const e = err as TopicDocumentError;
      expect(e.name).toBe('TopicDocumentError');
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.context).toMatchObject({ field: 'inputSchema.type', topic: 'ok-name' });
      expect(e.message).toBe('invalid topic document for "ok-name": inputSchema.type must be a JSON Schema type name or an array of them (got "thing")');
    }
  });

  it('topic document - size limits', () => {
    const long = 'x'.repeat(TOPIC_DOCUMENT_LIMITS.descriptionChars + 1);
    expect(problemsOf({ ...valid, description: long })[0]!.problem).toMatch(/at most 4096 characters/);
    const tags = Array.from({ length: TOPIC_DOCUMENT_LIMITS.tags + 1 }, (_, i) => `t${i}`);
    expect(problemsOf({ ...valid, tags })[0]).toMatchObject({ field: 'tags' });
    const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`p${i}`, { type: 'string' }])) };
    expect(problemsOf({ ...valid, inputSchema: big })[0]!.problem).toMatch(/at most 16384 bytes/);
    let deep: Record<string, unknown> = { type: 'object' };
    for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { a: deep } };
    expect(problemsOf({ ...valid, outputSchema: deep })[0]!.problem).toMatch(/nested at most/);
  });

  it('topic document - a schema may be given as JSON text', () => {
    const doc = validateTopicDocument({ ...valid, outputSchema: '{"type":"object","properties":{"total":{"type":"number"}}}' });
    expect(doc.outputSchema).toEqual({ type: 'object', properties: { total: { type: 'number' } } });
    expect(problemsOf({ ...valid, outputSchema: '{not json' })[0]!.problem).toMatch(/not JSON/);
  });

  it('topic document - embedding text holds name words, description, skills, tags and examples', () => {
    const text = embeddingText(validateTopicDocument(valid));
    expect(text.split('\n')).toEqual([
      'finance invoice extraction.',
      'Extracts header fields and line items from supplier invoices.',
      'Extract invoice data: Parse an invoice into header fields and a table of line items.',
      'Extract the line items from these 40 vendor invoices',
      'invoices, extraction',
    ]);
    const sections = lexicalSections(validateTopicDocument(valid));
    expect(sections.map((s) => s.text)).toContain('Extract the line items from these 40 vendor invoices');
  });
});

describe('agent card import', () => {
  it('agent card - v1.0 card becomes a topic document', () => {
    const doc = topicDocumentFromAgentCard(sampleCardV1);
    expect(doc.name).toBe('route-planner-agent');
    expect(doc.description).toMatch(/^Plans driving and cycling routes/);
    expect(doc.owner).toBe('Example Mobility');
    expect(doc.version).toBe('2.1.0');
    expect(doc.skills.map((s) => s.id)).toEqual(['route-planning']);
    expect(doc.skills[0]!.tags).toEqual(['maps', 'routing', 'travel']);
    expect(doc.skills[0]!.examples).toHaveLength(2);
    expect(doc.tags).toEqual(['maps', 'routing', 'travel']);
    expect(doc.attributes).toMatchObject({
      'a2a.version': '1.0',
      'a2a.url': 'https://example.com/a2a',
      'a2a.protocolBinding': 'JSONRPC',
      'a2a.inputModes': 'text/plain,application/json',
      'a2a.streaming': 'true',
    });
  });

  it('agent card - v0.3 card (top-level url, preferredTransport) with an explicit topic name', () => {
    const card = {
      name: 'Recipe Agent',
      description: 'Agent that helps users with recipes and cooking.',
      url: 'https://recipes.example.com/a2a',
      preferredTransport: 'GRPC',
      protocolVersion: '0.3.0',
      version: '0.9.1',
      capabilities: { streaming: false },
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: [{ id: 'find-recipe', name: 'Find recipe', description: 'Finds a recipe', tags: ['cooking'], examples: ['I need a recipe for bread'] }],
    };
    const doc = topicDocumentFromAgentCard(card, { topic: 'recipes', attributes: { region: 'eu' } });
    expect(doc.name).toBe('recipes');
    expect(doc.attributes).toMatchObject({
      'a2a.version': '0.3',
      'a2a.url': 'https://recipes.example.com/a2a',
      'a2a.protocolBinding': 'GRPC',
      'a2a.protocolVersion': '0.3.0',
      'a2a.streaming': 'false',
      region: 'eu',
    });
    expect(doc.skills[0]!.examples).toEqual(['I need a recipe for bread']);
  });

  it('agent card - a card that is not an object or lacks a description is rejected clearly', () => {
    expect(() => topicDocumentFromAgentCard('nope')).toThrow(/agentCard must be a JSON object/);
    expect(() => topicDocumentFromAgentCard({ name: 'X' })).toThrow(/description is required/);
  });
});
