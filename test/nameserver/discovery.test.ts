/**
 * Semantic topics end to end over gRPC: a broker registers capabilities (plain fields and an A2A
 * AgentCard), every NameServer indexes them from the broker's registration, Discover ranks them,
 * liveness follows online consumers, WatchTopics streams the catalog and its changes, and a
 * NameServer started later rebuilds from registrations.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createNameServer, type NameServer } from '../../nameserver/index.js';
import { createBroker, type Broker } from '../../broker/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import { discoveryService, type DiscoveryClient } from '../../proto/index.js';
import type { TopicEvent__Output } from '../../proto/gen/agentmq/v1/TopicEvent.js';
import { adminClient, call, wireMetadata, messagingClient } from '../helpers/wire.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const CARD = JSON.parse(readFileSync(new URL('../fixtures/agent-card-v1.json', import.meta.url), 'utf8')) as Record<string, unknown>;

async function eventually<T>(fn: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('discovery - semantic topics over gRPC', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function nameserver(port = 0): Promise<{ ns: NameServer; addr: string; disco: DiscoveryClient }> {
    const ns = createNameServer({ port, logger: silentLogger, discovery: { embedder: { kind: 'lexical' } } });
    await ns.start();
    const addr = `127.0.0.1:${ns.address.port}`;
    const Ctor = discoveryService();
    const disco = new Ctor(addr, grpc.credentials.createInsecure());
    cleanups.push(() => disco.close(), () => ns.close());
    return { ns, addr, disco };
  }

  async function broker(nameservers: string[], name = 'broker-a'): Promise<Broker> {
    const dir = tmpDir();
    const b = createBroker({ brokerName: name, port: 0, nameservers, registerIntervalMs: 300, clientExpiryMs: 1000, logger: silentLogger, store: { dataDir: dir.path } });
    await b.start();
    cleanups.push(() => dir.cleanup(), () => b.close());
    return b;
  }

  it('discovery - register by fields and by AgentCard; Discover ranks; invalid metadata is BAD_REQUEST naming the field', async () => {
    const { addr, disco } = await nameserver();
    const b = await broker([addr]);
    const admin = adminClient(`127.0.0.1:${b.address.port}`);
    cleanups.push(() => admin.close());
    const reg = await call(admin, admin.RegisterTopic, {
      name: 'invoice-reconciler',
      metadata: {
        description: 'Reconciles supplier invoices against purchase orders and flags mismatched amounts.',
        tags: ['finance', 'invoices'],
        skills: [{ id: 'reconcile', name: 'Reconcile invoices', description: 'Match invoices to POs', tags: ['accounts-payable'], examples: ['reconcile the March supplier invoices'] }],
        inputSchemaJson: JSON.stringify({ type: 'object', properties: { invoiceIds: { type: 'array' } } }),
        attributes: { domain: 'finance' },
      },
    });
    expect(reg.status?.code).toBe('OK');
    expect(reg.topic?.semantic?.description).toMatch(/Reconciles/);
    const card = await call(admin, admin.RegisterTopic, { name: '', agentCardJson: JSON.stringify(CARD) });
    expect(card.status?.code).toBe('OK');
    const cardTopic = card.topic!.name;
    await call(admin, admin.RegisterTopic, { name: 'weather-forecaster', metadata: { description: 'Forecasts the weather for a city for the next days.', tags: ['weather'] } });

    const bad = await call(admin, admin.RegisterTopic, { name: 'bad', metadata: { description: '', inputSchemaJson: '[1,2]' } });
    expect(bad.status?.code).toBe('BAD_REQUEST');
    expect(bad.status?.message).toMatch(/description/);
    expect(bad.status?.message).toMatch(/inputSchema/);

    // Nobody consumes yet: live-only discovery finds nothing, include_offline finds them.
    const offline = await eventually(async () => {
      const r = await call(disco, disco.Discover, { query: 'who can reconcile supplier invoices?', includeOffline: true });
      return r.hits.length > 0 && r;
    });
    expect(offline.hits[0]!.topic?.name).toBe('invoice-reconciler');
    expect(offline.hits[0]!.topic?.live).toBe(false);
    expect(offline.hits[0]!.topic?.routes[0]?.brokerName).toBe('broker-a');
    expect(offline.embedder).toMatch(/lexical/);
    const liveOnly = await call(disco, disco.Discover, { query: 'who can reconcile supplier invoices?' });
    expect(liveOnly.hits).toEqual([]);
    // ... and says that a capable topic exists but nobody serves it, which "no match" alone hides.
    expect(liveOnly.noMatch).toBe(true);
    expect(liveOnly.offlineFits).toBe(1);
    expect(liveOnly.noMatchReason).toMatch(/^no live topic fits .*but 1 topic that nobody serves right now does/);
    const unrelated = await call(disco, disco.Discover, { query: 'bake a sourdough loaf at home' });
    expect(unrelated).toMatchObject({ noMatch: true, offlineFits: 0 });
    expect(unrelated.noMatchReason).toMatch(/^best score .* is below the threshold/);

    expect((await call(disco, disco.GetTopic, { name: cardTopic })).topic?.metadata?.skills.length).toBeGreaterThan(0);
    expect((await call(disco, disco.GetTopic, { name: 'nope' })).status?.code).toBe('TOPIC_NOT_FOUND');
    const page1 = await call(disco, disco.ListTopics, { pageSize: 2, includeOffline: true });
    expect(page1.topics).toHaveLength(2);
    const page2 = await call(disco, disco.ListTopics, { pageSize: 2, pageToken: page1.nextPageToken, includeOffline: true });
    expect([...page1.topics, ...page2.topics].map((t) => t.name).sort()).toEqual([cardTopic, 'invoice-reconciler', 'weather-forecaster'].sort());
    expect(page2.nextPageToken).toBe('');
    // Filters, bad input.
    const filtered = await call(disco, disco.Discover, { query: 'forecast', includeOffline: true, tags: ['finance'] });
    expect(filtered.hits.every((h) => h.topic?.name === 'invoice-reconciler')).toBe(true);
    expect((await call(disco, disco.Discover, { query: '  ' })).status?.code).toBe('BAD_REQUEST');
    expect((await call(disco, disco.Discover, { query: 'x', topK: 1000 })).status?.code).toBe('BAD_REQUEST');
  });

  it('discovery - liveness follows online consumers; WatchTopics streams snapshot and changes; a late NameServer rebuilds', async () => {
    const first = await nameserver();
    const b = await broker([first.addr]);
    const brokerAddr = `127.0.0.1:${b.address.port}`;
    const admin = adminClient(brokerAddr);
    cleanups.push(() => admin.close());
    await call(admin, admin.RegisterTopic, { name: 'summarizer', metadata: { description: 'Summarizes long documents into short briefs.' } });

    const events: TopicEvent__Output[] = [];
    const stream = first.disco.WatchTopics({ includeOffline: true });
    stream.on('data', (e: TopicEvent__Output) => events.push(e));
    stream.on('error', () => undefined);
    cleanups.push(() => stream.cancel());
    await eventually(async () => events.some((e) => e.type === 'SNAPSHOT_END') && events.some((e) => e.topic?.name === 'summarizer'));

    // A consumer comes online (Heartbeat with its group, then a receive on the topic).
    const mq = messagingClient(brokerAddr);
    cleanups.push(() => mq.close());
    const md = () => wireMetadata('agent-1');
    await call(mq, mq.Heartbeat, { group: { name: 'summarizers' }, clientType: 'SIMPLE_CONSUMER' }, md());
    await new Promise<void>((resolve) => {
      const s = mq.ReceiveMessage({ group: { name: 'summarizers' }, messageQueue: { topic: { name: 'summarizer' } }, batchSize: 1, longPollingTimeout: { seconds: 0, nanos: 1e8 } }, md());
      s.on('data', () => undefined);
      s.on('end', resolve);
      s.on('error', resolve);
    });
    await eventually(async () => events.some((e) => e.type === 'LIVENESS' && e.topic?.live === true));
    const live = await call(first.disco, first.disco.Discover, { query: 'summarize this long report' });
    expect(live.hits[0]?.topic?.name).toBe('summarizer');
    expect(live.hits[0]?.topic?.live).toBe(true);

    // A NameServer added later learns everything from the broker's next registration.
    const second = await nameserver();
    // A second broker registers with both NameServers: the new one indexes its capabilities.
    const b2 = await broker([first.addr, second.addr], 'broker-b');
    const admin2 = adminClient(`127.0.0.1:${b2.address.port}`);
    cleanups.push(() => admin2.close());
    await call(admin2, admin2.RegisterTopic, { name: 'translator', metadata: { description: 'Translates text between languages.' } });
    const found = await eventually(async () => {
      const r = await call(second.disco, second.disco.Discover, { query: 'translate this text to French', includeOffline: true });
      return r.hits.length > 0 && r;
    });
    expect(found.hits[0]!.topic?.name).toBe('translator');

    // The consumer goes away (NotifyClientTermination): liveness flips back.
    await call(mq, mq.NotifyClientTermination, { group: { name: 'summarizers' } }, md());
    await eventually(async () => events.some((e) => e.type === 'LIVENESS' && e.topic?.name === 'summarizer' && e.topic.live === false));

    // The NameServer restarts on the same port: it rebuilds from the brokers' next registrations.
    const port = first.ns.address.port;
    await first.ns.close();
    const restarted = await nameserver(port);
    // (Both brokers re-register on their own schedule: wait for the one holding the summarizer.)
    const rebuilt = await eventually(async () => {
      const r = await call(restarted.disco, restarted.disco.Discover, { query: 'summarize documents into briefs', includeOffline: true });
      return r.hits.some((h) => h.topic?.name === 'summarizer') && r;
    });
    expect(rebuilt.hits[0]!.topic?.name).toBe('summarizer');
    const events2: TopicEvent__Output[] = [];
    const stream2 = restarted.disco.WatchTopics({ includeOffline: true });
    stream2.on('data', (e: TopicEvent__Output) => events2.push(e));
    stream2.on('error', () => undefined);
    cleanups.push(() => stream2.cancel());
    await eventually(async () => events2.some((e) => e.type === 'SNAPSHOT_END'));

    // Deleting the topic removes it from the catalog.
    await call(admin, admin.DeleteTopic, { name: 'summarizer' });
    await eventually(async () => events2.some((e) => e.type === 'REMOVED' && e.topic?.name === 'summarizer'));
    expect((await call(restarted.disco, restarted.disco.GetTopic, { name: 'summarizer' })).status?.code).toBe('TOPIC_NOT_FOUND');
  });
});
