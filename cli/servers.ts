/** `agentmq dev`, `agentmq nameserver`, `agentmq broker`: long-running server commands. */
import { join } from 'node:path';
// The NameServer (and with it hnswlib's native addon) is imported only by the commands that run
// one: `agentmq broker` processes do not load it.
import type { DiscoveryOptions, NameServer } from '../nameserver/index.js';
import { createBroker, type Broker, type BrokerOptions } from '../broker/index.js';
import { consoleLogger } from '../proto/common/logger.js';
import { resolveHnswParameters } from '../nameserver/semantic/hnsw-parameters.js';
import type { HnswParameters } from '../nameserver/semantic/hnsw-parameters.js';
import { DEFAULT_DATA_DIR, int, parse, UsageError } from './args.js';

const SERVER_FLAGS = {
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  'advertise-host': { type: 'string' },
  'register-interval-ms': { type: 'string' },
  'nameserver-port': { type: 'string' },
  'broker-port': { type: 'string' },
  'broker-name': { type: 'string' },
  flush: { type: 'string' },
  nameserver: { type: 'string', multiple: true },
  port: { type: 'string' },
  'broker-expiry-ms': { type: 'string' },
  'no-auto-create-groups': { type: 'boolean' },
  'no-messaging-session': { type: 'boolean' },
  embedder: { type: 'string' },
  model: { type: 'string' },
  'model-dir': { type: 'string' },
  dictionaries: { type: 'string' },
  'hnsw-m': { type: 'string' },
  'hnsw-ef-construction': { type: 'string' },
  'hnsw-ef-search': { type: 'string' },
  'max-long-polling-ms': { type: 'string' },
  'lite-max-topics': { type: 'string' },
  'lite-max-subscriptions': { type: 'string' },
  'lite-client-quota': { type: 'string' },
  'lite-lease-ms': { type: 'string' },
  'lite-ttl-ms': { type: 'string' },
} as const;

const BROKER_TUNING_HELP = `  --max-long-polling-ms N longest a receive waits for messages (default 60000)
  --lite-max-topics N     lite topics per broker (default 2000000)
  --lite-max-subscriptions N
                          lite subscriptions per broker (default 2000000)
  --lite-client-quota N   lite subscriptions per client (default 100000; group attribute
                          lite.sub.client.quota overrides)
  --lite-lease-ms N       drop a client's lite subscriptions after this long without a sync,
                          heartbeat or receive (default 120000)
  --lite-ttl-ms N         TTL of lite topics whose parent sets none (default 86400000)`;

type TuningValues = { 'max-long-polling-ms'?: string; 'lite-max-topics'?: string; 'lite-max-subscriptions'?: string; 'lite-client-quota'?: string; 'lite-lease-ms'?: string; 'lite-ttl-ms'?: string };

/** Broker options from the tuning flags (only those given; the rest keep their defaults). */
function brokerTuning(v: TuningValues): Pick<BrokerOptions, 'pop' | 'lite'> {
  const opt = (flag: keyof TuningValues) => (v[flag] === undefined ? undefined : int(flag, v[flag], 0));
  const lite: NonNullable<BrokerOptions['lite']> = {};
  const set = <K extends keyof typeof lite>(k: K, val: number | undefined) => {
    if (val !== undefined) lite[k] = val as (typeof lite)[K];
  };
  set('maxTopics', opt('lite-max-topics'));
  set('maxSubscriptions', opt('lite-max-subscriptions'));
  set('maxSubscriptionsPerClient', opt('lite-client-quota'));
  set('leaseMs', opt('lite-lease-ms'));
  set('defaultTtlMs', opt('lite-ttl-ms'));
  const poll = opt('max-long-polling-ms');
  return { lite, ...(poll !== undefined ? { pop: { maxLongPollingMs: poll } } : {}) };
}

const EMBEDDER_HELP = `  --embedder auto|lexical|transformers
                          discovery embedder (default auto: the transformers model if it loads
                          from --model-dir, else the offline lexical embedder)
  --model ID              transformers model id (default Xenova/all-MiniLM-L6-v2)
  --model-dir DIR         local directory holding transformers models (nothing is downloaded)
  --dictionaries auto|none|FILE[,FILE...]
                          bilingual dictionaries that translate discovery queries in other
                          languages (default auto: those installed in /usr/share/dictd and
                          /usr/share/edict, e.g. Debian's dict-freedict-deu-eng and edict)
  --hnsw-m N              HNSW graph degree of the discovery vector index, 2-100 (default 16)
  --hnsw-ef-construction N
                          HNSW candidates while building (default 200)
  --hnsw-ef-search N      HNSW candidates while searching (default 300). The defaults keep
                          recall@10 >= 0.95 up to 100k topics; for ~1M topics use
                          --hnsw-m 32 --hnsw-ef-construction 400 --hnsw-ef-search 800`;

type DiscoveryValues = {
  embedder?: string;
  model?: string;
  'model-dir'?: string;
  dictionaries?: string;
  'hnsw-m'?: string;
  'hnsw-ef-construction'?: string;
  'hnsw-ef-search'?: string;
};

const HNSW_FLAGS = { 'hnsw-m': 'm', 'hnsw-ef-construction': 'efConstruction', 'hnsw-ef-search': 'efSearch' } as const;

/** The HNSW parameters given as flags (the rest keep their defaults), each checked on its own. */
function hnswOptions(v: DiscoveryValues): DiscoveryOptions['hnsw'] {
  const hnsw: Partial<HnswParameters> = {};
  for (const [flag, key] of Object.entries(HNSW_FLAGS) as [keyof typeof HNSW_FLAGS, keyof HnswParameters][]) {
    if (v[flag] === undefined) continue;
    hnsw[key] = int(flag, v[flag], 0);
    try {
      resolveHnswParameters({ [key]: hnsw[key] });
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`);
    }
  }
  return Object.keys(hnsw).length > 0 ? hnsw : undefined;
}

function discoveryOptions(values: DiscoveryValues, cacheDir?: string): DiscoveryOptions {
  const kind = values.embedder ?? 'auto';
  if (kind !== 'auto' && kind !== 'lexical' && kind !== 'transformers') throw new UsageError(`--embedder must be auto, lexical or transformers (got ${kind})`);
  const d = values.dictionaries ?? 'auto';
  const dictionaries = d === 'auto' || d === 'none' ? d : d.split(',').map((p) => p.trim()).filter(Boolean);
  if (Array.isArray(dictionaries) && dictionaries.length === 0) throw new UsageError('--dictionaries must be auto, none or a comma-separated list of files');
  const hnsw = hnswOptions(values);
  return {
    dictionaries,
    ...(hnsw ? { hnsw } : {}),
    embedder: {
      kind,
      transformers: { ...(values.model ? { model: values.model } : {}), ...(values['model-dir'] ? { localModelPath: values['model-dir'] } : {}) },
    },
    ...(cacheDir ? { cacheDir } : {}),
  };
}

export const DEV_USAGE = `Usage: agentmq dev [options]

Runs a NameServer and a broker in one process (the embedded default), storing data under
--data-dir. Prints a line containing "ready" with both endpoints once both accept connections;
SIGINT/SIGTERM close it cleanly.

Options:
  --data-dir DIR          data directory (default ${DEFAULT_DATA_DIR})
  --host H                interface to listen on (default 127.0.0.1)
  --nameserver-port P     NameServer port (default 9876)
  --broker-port P         broker port (default 8081)
  --broker-name NAME      broker name (default broker-a)
  --flush sync|async      flush policy (default async; sync fsyncs every group commit)
  --no-auto-create-groups consumer groups must be created with 'agentmq group create'
  --no-messaging-session  serve only the RocketMQ services, not agentmq.v1.MessagingSession
                          (the AgentMQ SDK then makes one unary call per request)
${BROKER_TUNING_HELP}
${EMBEDDER_HELP}
  -h, --help              show this help`;

export const NAMESERVER_USAGE = `Usage: agentmq nameserver [options]

Runs a NameServer: brokers register with it, clients use it as their access point.

Options:
  --host H                 interface to listen on (default 127.0.0.1)
  --port P                 port (default 9876)
  --broker-expiry-ms N     forget brokers silent for this long (default 30000)
  --data-dir DIR           where the embedding cache lives (default: no cache)
${EMBEDDER_HELP}
  -h, --help               show this help`;

export const BROKER_USAGE = `Usage: agentmq broker [options]

Runs a broker that registers with every --nameserver.

Options:
  --data-dir DIR          data directory (default ${DEFAULT_DATA_DIR}/<broker-name>)
  --host H                interface to listen on (default 127.0.0.1)
  --advertise-host H      host clients and peers dial, as registered with the NameServers
                          (default --host; 127.0.0.1 when --host is 0.0.0.0)
  --port P                port (default 8081)
  --broker-name NAME      broker name, unique in the cluster (default broker-a)
  --nameserver HOST:PORT  a NameServer to register with (repeatable, or a ;/, list; every
                          NameServer of the cluster; default 127.0.0.1:9876)
  --register-interval-ms N
                          re-register (heartbeat) with every NameServer this often; keep it
                          well below their --broker-expiry-ms (default 10000)
  --flush sync|async      flush policy (default async)
  --no-auto-create-groups consumer groups must be created with 'agentmq group create'
  --no-messaging-session  serve only the RocketMQ services, not agentmq.v1.MessagingSession
                          (the AgentMQ SDK then makes one unary call per request)
${BROKER_TUNING_HELP}
  -h, --help              show this help`;

function flushOf(v: string | undefined): 'sync' | 'async' {
  if (v === undefined) return 'async';
  if (v !== 'sync' && v !== 'async') throw new UsageError(`--flush must be sync or async (got ${v})`);
  return v;
}

/** Resolves when SIGINT/SIGTERM arrives, after closing `closers` in order. */
function runUntilSignal(closers: (() => Promise<void>)[]): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`received ${sig}, shutting down\n`);
      (async () => {
        for (const c of closers) await c();
      })().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

export async function dev(argv: string[]): Promise<number> {
  const { values } = parse(argv, SERVER_FLAGS, DEV_USAGE);
  if (values.help) return (console.log(DEV_USAGE), 0);
  const host = values.host ?? '127.0.0.1';
  const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  const nsPort = int('nameserver-port', values['nameserver-port'], 9876);
  let ns: NameServer | undefined;
  let broker: Broker | undefined;
  try {
    const { createNameServer } = await import('../nameserver/index.js');
    ns = createNameServer({ host, port: nsPort, logger: consoleLogger('nameserver'), discovery: discoveryOptions(values, join(dataDir, 'nameserver', 'embeddings')) });
    await ns.start();
    const nsAddr = `${ns.address.host}:${ns.address.port}`;
    const brokerName = values['broker-name'] ?? 'broker-a';
    broker = createBroker({
      brokerName,
      host,
      port: int('broker-port', values['broker-port'], 8081),
      nameservers: [host === '0.0.0.0' ? `127.0.0.1:${ns.address.port}` : nsAddr],
      store: { dataDir: join(dataDir, brokerName), flush: flushOf(values.flush) },
      autoCreateGroups: !values['no-auto-create-groups'],
      messagingSession: !values['no-messaging-session'],
      logger: consoleLogger('broker'),
      ...brokerTuning(values),
    });
    await broker.start();
    console.log(`agentmq dev ready nameserver=${nsAddr} broker=${broker.address.host}:${broker.address.port} data-dir=${dataDir}`);
  } catch (err) {
    await broker?.close().catch(() => undefined);
    await ns?.close().catch(() => undefined);
    throw err;
  }
  return runUntilSignal([() => broker!.close(), () => ns!.close()]);
}

export async function nameserver(argv: string[]): Promise<number> {
  const { values } = parse(argv, SERVER_FLAGS, NAMESERVER_USAGE);
  if (values.help) return (console.log(NAMESERVER_USAGE), 0);
  const { createNameServer } = await import('../nameserver/index.js');
  const ns = createNameServer({
    host: values.host ?? '127.0.0.1',
    port: int('port', values.port, 9876),
    brokerExpiryMs: int('broker-expiry-ms', values['broker-expiry-ms'], 30_000),
    discovery: discoveryOptions(values, values['data-dir'] ? join(values['data-dir'], 'embeddings') : undefined),
  });
  await ns.start();
  console.log(`agentmq nameserver ready nameserver=${ns.address.host}:${ns.address.port}`);
  return runUntilSignal([() => ns.close()]);
}

export async function broker(argv: string[]): Promise<number> {
  const { values } = parse(argv, SERVER_FLAGS, BROKER_USAGE);
  if (values.help) return (console.log(BROKER_USAGE), 0);
  const brokerName = values['broker-name'] ?? 'broker-a';
  const b = createBroker({
    brokerName,
    host: values.host ?? '127.0.0.1',
    ...(values['advertise-host'] !== undefined ? { advertisedHost: values['advertise-host'] } : {}),
    ...(values['register-interval-ms'] !== undefined ? { registerIntervalMs: int('register-interval-ms', values['register-interval-ms'], 10_000) } : {}),
    port: int('port', values.port, 8081),
    nameservers: (values.nameserver ?? ['127.0.0.1:9876']).flatMap((n) => n.split(/[;,]/)).map((n) => n.trim()).filter((n) => n !== ''),
    store: { dataDir: values['data-dir'] ?? join(DEFAULT_DATA_DIR, brokerName), flush: flushOf(values.flush) },
    autoCreateGroups: !values['no-auto-create-groups'],
    messagingSession: !values['no-messaging-session'],
    ...brokerTuning(values),
  });
  await b.start();
  console.log(`agentmq broker ready broker=${b.address.host}:${b.address.port} name=${brokerName}`);
  return runUntilSignal([() => b.close()]);
}
