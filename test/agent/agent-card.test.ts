/**
 * A2A AgentCard export: every v1.0 required field, the AgentMQ interface and extension, and the
 * round trip with the existing importer (import -> export -> import gives the same document);
 * the AgentMQ-aware import restoring a native document exactly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MqError } from '../../proto/common/errors.js';
import { topicDocumentFromAgentCard, validateTopicDocument, type TopicDocument } from '../../proto/common/topic-document.js';
import type { CatalogTopic } from '../../client/discovery/discovery-types.js';
import {
  A2A_PROTOCOL_VERSION,
  AGENTMQ_PROTOCOL_BINDING,
  AGENTMQ_TOPIC_EXTENSION_URI,
  agentCardFromTopicDocument,
  agentCardProblems,
  agentMqExtensionOf,
  agentMqTopicOf,
  agentMqUrl,
  parseAgentMqUrl,
  topicDocumentFromAgentMqCard,
  type AgentCard,
} from '../../client/agent/agent-card.js';

const sampleCard = JSON.parse(
  readFileSync(new URL('../fixtures/a2a-agent-card-geo.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
delete sampleCard.$comment;

const NS = 'ns1.example:9876';

/** Every field A2A v1.0 marks REQUIRED, checked one by one (not only through agentCardProblems). */
function expectRequiredFields(card: AgentCard): void {
  expect(typeof card.name).toBe('string');
  expect(card.name.length).toBeGreaterThan(0);
  expect(card.description.length).toBeGreaterThan(0);
  expect(card.version.length).toBeGreaterThan(0);
  expect(card.supportedInterfaces.length).toBeGreaterThanOrEqual(1);
  for (const i of card.supportedInterfaces) {
    expect(i.url.length).toBeGreaterThan(0);
    expect(i.protocolBinding.length).toBeGreaterThan(0);
    expect(i.protocolVersion.length).toBeGreaterThan(0);
  }
  expect(typeof card.capabilities).toBe('object');
  expect(card.defaultInputModes.length).toBeGreaterThanOrEqual(1);
  expect(card.defaultOutputModes.length).toBeGreaterThanOrEqual(1);
  expect(card.skills.length).toBeGreaterThanOrEqual(1);
  for (const s of card.skills) {
    expect(s.id.length).toBeGreaterThan(0);
    expect(s.name.length).toBeGreaterThan(0);
    expect(s.description.length).toBeGreaterThan(0);
    expect(s.tags.length).toBeGreaterThanOrEqual(1);
  }
  if (card.provider) {
    expect(card.provider.url.length).toBeGreaterThan(0);
    expect(card.provider.organization.length).toBeGreaterThan(0);
  }
  // ProtoJSON: no v0.3 fields, no `kind`
  for (const k of ['url', 'preferredTransport', 'additionalInterfaces', 'protocolVersion', 'kind']) expect(card).not.toHaveProperty(k);
  expect(agentCardProblems(card)).toEqual([]);
  // JSON-clean
  expect(JSON.parse(JSON.stringify(card))).toEqual(card);
}

function agentMqInterface(card: AgentCard) {
  return card.supportedInterfaces.find((i) => i.protocolBinding === AGENTMQ_PROTOCOL_BINDING);
}

const nativeDoc: TopicDocument = validateTopicDocument({
  name: 'invoice-extractor',
  description: 'Extracts structured data (vendor, totals, line items) from invoice PDFs.',
  tags: ['finance', 'invoices'],
  skills: [
    { id: 'extract', name: 'Extract invoice data', description: 'Pulls line items out of an invoice', tags: ['finance'], examples: ['Extract the line items'] },
    { id: 'totals', name: 'Check totals' }, // no description, no tags: the card fills them
  ],
  inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
  outputSchema: { type: 'object', properties: { total: { type: 'number' } } },
  owner: 'finance-team',
  attributes: { domain: 'finance', region: 'eu' },
});

describe('agent card export', () => {
  it('agent card - an imported v1.0 card round-trips: import -> export -> import gives the same document', () => {
    const doc1 = topicDocumentFromAgentCard(sampleCard);
    const card = agentCardFromTopicDocument(doc1, { nameserver: NS });
    expectRequiredFields(card);
    const doc2 = topicDocumentFromAgentCard(card);
    expect(doc2).toEqual(doc1);
    // and again: a fixpoint
    expect(topicDocumentFromAgentCard(agentCardFromTopicDocument(doc2, { nameserver: NS }))).toEqual(doc1);
    // the AgentMQ-aware import agrees
    expect(topicDocumentFromAgentMqCard(card)).toEqual(doc1);

    // the card keeps what the original declared, and adds the AgentMQ interface
    expect(card.supportedInterfaces[0]).toEqual({ url: 'https://georoute-agent.example.com/a2a/v1', protocolBinding: 'JSONRPC', protocolVersion: '1.0' });
    expect(card.supportedInterfaces[1]).toEqual({
      url: 'agentmq://ns1.example:9876/geospatial-route-planner-agent',
      protocolBinding: AGENTMQ_PROTOCOL_BINDING,
      protocolVersion: A2A_PROTOCOL_VERSION,
    });
    expect(card.provider).toEqual(sampleCard.provider);
    expect(card.version).toBe('1.2.0');
    expect(card.documentationUrl).toBe(sampleCard.documentationUrl);
    expect(card.defaultInputModes).toEqual(sampleCard.defaultInputModes);
    expect(card.defaultOutputModes).toEqual(sampleCard.defaultOutputModes);
    expect(card.capabilities).toMatchObject({ streaming: true, pushNotifications: true });
    expect(card.skills.map((s) => s.id)).toEqual(['route-optimizer-traffic', 'custom-map-generator']);
  });

  it('agent card - agentmq-first puts the AgentMQ interface first', () => {
    const doc1 = topicDocumentFromAgentCard(sampleCard);
    const card = agentCardFromTopicDocument(doc1, { nameserver: NS, interfaceOrder: 'agentmq-first', tenant: 'acme' });
    expectRequiredFields(card);
    expect(card.supportedInterfaces.map((i) => i.protocolBinding)).toEqual([AGENTMQ_PROTOCOL_BINDING, 'JSONRPC']);
    expect(card.supportedInterfaces[0]!.tenant).toBe('acme');
    // imported plainly it now points at AgentMQ; the rest is the same
    const doc2 = topicDocumentFromAgentCard(card);
    expect(doc2.attributes['a2a.protocolBinding']).toBe(AGENTMQ_PROTOCOL_BINDING);
    expect(doc2.attributes['a2a.url']).toBe('agentmq://ns1.example:9876/geospatial-route-planner-agent');
    const strip = (d: TopicDocument) => ({ ...d, attributes: { ...d.attributes, 'a2a.url': '', 'a2a.protocolBinding': '' } });
    expect(strip(doc2)).toEqual(strip(doc1));
    // the exact document is still in the extension
    expect(topicDocumentFromAgentMqCard(card)).toEqual(doc1);
  });

  it('agent card - a native registration exports with every required field, its schemas in the extension', () => {
    const card = agentCardFromTopicDocument(nativeDoc, { nameserver: '127.0.0.1:9876' });
    expectRequiredFields(card);
    expect(card.name).toBe('invoice-extractor');
    expect(card.supportedInterfaces).toEqual([
      { url: 'agentmq://127.0.0.1:9876/invoice-extractor', protocolBinding: AGENTMQ_PROTOCOL_BINDING, protocolVersion: '1.0' },
    ]);
    expect(card.version).toBe('0.0.0');
    expect(card.provider).toBeUndefined(); // an owner without a URL is no A2A provider
    expect(card.defaultInputModes).toEqual(['application/json']);
    expect(card.capabilities.streaming).toBe(true);
    expect(card.skills[1]).toEqual({ id: 'totals', name: 'Check totals', description: 'Check totals', tags: ['finance', 'invoices'] });
    const ext = card.capabilities.extensions?.find((e) => e.uri === AGENTMQ_TOPIC_EXTENSION_URI);
    expect(ext?.required).toBe(false);
    expect(agentMqExtensionOf(card)).toMatchObject({
      topic: 'invoice-extractor',
      tags: ['finance', 'invoices'],
      inputSchema: nativeDoc.inputSchema,
      outputSchema: nativeDoc.outputSchema,
      owner: 'finance-team',
      attributes: { domain: 'finance', region: 'eu' },
      skills: nativeDoc.skills,
    });

    // the AgentMQ-aware import gives the very document back
    expect(topicDocumentFromAgentMqCard(card)).toEqual(nativeDoc);
    // the plain import gives what the card says; from then on the round trip is exact
    const doc2 = topicDocumentFromAgentCard(card);
    expect(doc2.name).toBe(nativeDoc.name);
    expect(doc2.description).toBe(nativeDoc.description);
    expect(doc2.inputSchema).toBeUndefined(); // A2A has no field for it
    expect(doc2.attributes).toMatchObject({ 'a2a.protocolBinding': AGENTMQ_PROTOCOL_BINDING, 'a2a.url': 'agentmq://127.0.0.1:9876/invoice-extractor' });
    const card2 = agentCardFromTopicDocument(doc2, { nameserver: '127.0.0.1:9876' });
    expect(card2.supportedInterfaces).toHaveLength(1); // not listed twice
    expect(topicDocumentFromAgentCard(card2)).toEqual(doc2);
  });

  it('agent card - a topic without skills gets one skill standing for the whole topic', () => {
    const doc = validateTopicDocument({ name: 'echo', description: 'Echoes its input.' });
    const card = agentCardFromTopicDocument(doc, { nameserver: 'localhost' });
    expectRequiredFields(card);
    expect(card.skills).toEqual([{ id: 'echo', name: 'echo', description: 'Echoes its input.', tags: ['echo'] }]);
    expect(card.supportedInterfaces[0]!.url).toBe('agentmq://localhost:9876/echo');
    expect(topicDocumentFromAgentMqCard(card)).toEqual(doc);
  });

  it('agent card - topic names the plain importer would rename come back through the extension or the URL', () => {
    const doc = validateTopicDocument({ name: 'Billing_Agent', description: 'Bills.', version: '2.1' });
    const card = agentCardFromTopicDocument(doc, { nameserver: NS });
    expect(topicDocumentFromAgentCard(card).name).toBe('billing_agent'); // the importer derives names from titles
    expect(topicDocumentFromAgentCard(card, { topic: agentMqTopicOf(card) }).name).toBe('Billing_Agent');
    expect(topicDocumentFromAgentMqCard(card)).toEqual(doc);
    const bare = agentCardFromTopicDocument(doc, { nameserver: NS, extension: false });
    expect(bare.capabilities.extensions).toBeUndefined();
    expectRequiredFields(bare);
    expect(topicDocumentFromAgentMqCard(bare).name).toBe('Billing_Agent'); // from agentmq://…/Billing_Agent
  });

  it('agent card - a v0.3 card imports, exports as v1.0, and keeps its interface with its own version', () => {
    const v03 = {
      name: 'Weather Agent',
      description: 'Forecasts.',
      url: 'https://weather.example.com/a2a',
      preferredTransport: 'JSONRPC',
      protocolVersion: '0.3.0',
      version: '1.0.0',
      capabilities: { streaming: false },
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: [{ id: 'forecast', name: 'Forecast', description: 'Weather forecast', tags: ['weather'] }],
    };
    const doc1 = topicDocumentFromAgentCard(v03);
    const card = agentCardFromTopicDocument(doc1, { nameserver: NS });
    expectRequiredFields(card);
    expect(card.supportedInterfaces[0]).toEqual({ url: 'https://weather.example.com/a2a', protocolBinding: 'JSONRPC', protocolVersion: '0.3.0' });
    expect(card.capabilities.streaming).toBe(false);
    const doc2 = topicDocumentFromAgentCard(card);
    expect(doc2).toEqual({ ...doc1, attributes: { ...doc1.attributes, 'a2a.version': '1.0' } });
  });

  it('agent card - accepts a catalog topic', () => {
    const catalog: CatalogTopic = {
      name: 'invoice-extractor',
      metadata: { ...nativeDoc, attributes: nativeDoc.attributes },
      live: true,
      routes: [{ broker: 'broker-a', endpoint: '10.0.0.1:8081', queueCount: 4 }],
      updatedAtMs: 1,
    };
    const card = agentCardFromTopicDocument(catalog, { nameserver: NS, providerUrl: 'https://finance.example.com' });
    expectRequiredFields(card);
    expect(card.provider).toEqual({ organization: 'finance-team', url: 'https://finance.example.com' });
    expect(topicDocumentFromAgentMqCard(card)).toEqual(nativeDoc);
  });

  it('agent card - agentmq:// URLs', () => {
    expect(agentMqUrl('ns:9876', 'a-b')).toBe('agentmq://ns:9876/a-b');
    expect(agentMqUrl('ns', 'a')).toBe('agentmq://ns:9876/a');
    expect(agentMqUrl('[::1]:9000', '%SYS%x')).toBe('agentmq://[::1]:9000/%25SYS%25x');
    expect(parseAgentMqUrl('agentmq://[::1]:9000/%25SYS%25x')).toEqual({ nameserver: '[::1]:9000', topic: '%SYS%x' });
    expect(parseAgentMqUrl('agentmq://ns/t')).toEqual({ nameserver: 'ns:9876', topic: 't' });
    expect(parseAgentMqUrl('https://ns/t')).toBeUndefined();
    expect(parseAgentMqUrl('agentmq://ns/')).toBeUndefined();
    expect(() => agentMqUrl('ns:notaport', 't')).toThrow(MqError);
  });

  it('agent card - agentCardProblems names what is missing', () => {
    expect(agentCardProblems(sampleCard)).toEqual([]);
    expect(agentCardProblems({})).toEqual([
      'name is required',
      'description is required',
      'version is required',
      'supportedInterfaces needs at least one interface',
      'capabilities is required',
      'defaultInputModes needs at least one media type',
      'defaultOutputModes needs at least one media type',
      'skills needs at least one skill',
    ]);
    const broken = {
      ...sampleCard,
      supportedInterfaces: [{ url: 'x', protocolBinding: 'JSONRPC' }],
      provider: { organization: 'o' },
      skills: [{ id: 's', name: 'S', description: 'd', tags: [] }],
    };
    expect(agentCardProblems(broken)).toEqual([
      'supportedInterfaces[0].protocolVersion is required',
      'provider needs url and organization',
      'skills[0].tags needs at least one tag',
    ]);
    expect(() => agentCardFromTopicDocument({ name: 'bad name!', description: 'x' } as TopicDocument, { nameserver: NS })).toThrow(MqError);
  });
});
