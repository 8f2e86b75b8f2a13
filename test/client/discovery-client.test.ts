/** The SDK's DiscoveryClient and AdminClient.registerTopic against a real NameServer + broker. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, DiscoveryClient, SimpleConsumer, silentLogger, type CatalogEvent } from '../../client/index.js';
import { createNameServer, type NameServer } from '../../nameserver/index.js';
import { createBroker, type Broker } from '../../broker/index.js';
import { tmpDir } from '../helpers/tmp-dir.js';

describe('sdk - discovery', () => {
  let ns: NameServer;
  let broker: Broker;
  let dir: ReturnType<typeof tmpDir>;
  let nameserver: string;
  beforeAll(async () => {
    dir = tmpDir();
    ns = createNameServer({ port: 0, logger: silentLogger, discovery: { embedder: { kind: 'lexical' } } });
    await ns.start();
    nameserver = `127.0.0.1:${ns.address.port}`;
    broker = createBroker({ port: 0, nameservers: [nameserver], logger: silentLogger, store: { dataDir: dir.path } });
    await broker.start();
  });
  afterAll(async () => {
    await broker?.close();
    await ns?.close();
    dir?.cleanup();
  });

  it('sdk - registerTopic, discover (live after a consumer starts), watch as an async iterator', async () => {
    const admin = new AdminClient({ nameserver, logger: silentLogger });
    const disco = new DiscoveryClient({ nameserver, logger: silentLogger });
    const events: CatalogEvent[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const e of disco.watch({ includeOffline: true, signal: abort.signal })) events.push(e);
    })();
    await admin.registerTopic({
      name: 'sdk-translator',
      description: 'Translates text between English, French and German.',
      tags: ['language'],
      skills: [{ id: 'translate', name: 'Translate', description: 'Translate a passage', tags: [], examples: ['translate this paragraph to German'] }],
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
    });
    const wait = async (pred: () => boolean) => {
      for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(pred()).toBe(true);
    };
    await wait(() => events.some((e) => e.type === 'added' && e.topic.name === 'sdk-translator'));
    const offline = await disco.discover('translate a paragraph into German', { includeOffline: true });
    expect(offline.hits[0]?.topic.name).toBe('sdk-translator');
    expect(offline.hits[0]?.topic.metadata.inputSchema).toEqual({ type: 'object', properties: { text: { type: 'string' } } });
    expect((await disco.discover('translate a paragraph into German')).hits).toEqual([]);

    const agent = new SimpleConsumer({ nameserver, logger: silentLogger, group: 'translators', subscriptions: { 'sdk-translator': '*' } });
    await agent.start();
    await wait(() => events.some((e) => e.type === 'liveness' && e.topic.name === 'sdk-translator' && e.topic.live));
    const live = await disco.discover('translate a paragraph into German');
    expect(live.hits[0]?.topic.live).toBe(true);
    expect((await disco.getTopic('sdk-translator'))?.routes[0]?.broker).toBe('broker-a');
    expect((await disco.listTopics()).map((t) => t.name)).toEqual(['sdk-translator']);
    await agent.close();
    await wait(() => events.some((e) => e.type === 'liveness' && e.topic.name === 'sdk-translator' && !e.topic.live));

    abort.abort();
    await watching;
    await disco.close();
    await admin.close();
  });
});
