/**
 * Client-side CLI commands: topic, group, send, consume, clients, brokers. They use the SDK in
 * client/ against the NameServer(s) given by --nameserver (default: the embedded default's):
 * several, as a `;`/`,` list in one value or the flag repeated, are replicas the SDK fails over
 * between.
 */
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import {
  AdminClient,
  DiscoveryClient,
  LiteConsumer,
  MqError,
  Producer,
  SimpleConsumer,
  silentLogger,
  type LiteOffset,
  type LiteSubModel,
  type MessageDetails,
  type MessageType,
  type OutgoingMessage,
  type Permission,
  type ReceivedMessage,
} from '../client/index.js';
import { DEFAULT_NAMESERVER, int, parse, UsageError } from './args.js';

/** --nameserver, repeatable; each value may itself be a `;`/`,` list (the SDK splits them). */
const NS_FLAG = { nameserver: { type: 'string', multiple: true } } as const;
const NS_HELP = `--nameserver HOST:PORT (default ${DEFAULT_NAMESERVER}; several NameServers to fail over
                between: HOST:PORT;HOST:PORT (or ,), or the flag repeated)`;
const NS_OPTION = `  --nameserver HOST:PORT  NameServer (default ${DEFAULT_NAMESERVER}); several to fail over
                          between: HOST:PORT;HOST:PORT (or ,), or repeat the flag`;

/** The --nameserver values (each may be a list), or the default. */
function nameservers(values: string[] | undefined): string[] {
  return values && values.length > 0 ? values : [DEFAULT_NAMESERVER];
}

const TOPIC_USAGE = `Usage:
  agentmq topic create NAME [--queues N] [--type NORMAL|FIFO|DELAY|PRIORITY|LITE] [--permission READ|WRITE|READ_WRITE]
                            [--lite-ttl-ms N|never] [--attr KEY=VALUE ...] [--if-not-exists] [--broker NAME]
  agentmq topic update NAME [--queues N] [--permission P] [--broker NAME]
  agentmq topic register NAME --description TEXT [--tag T ...] [--skill NAME:DESCRIPTION ...] [--example TEXT ...]
                            [--input-schema FILE] [--output-schema FILE] [--owner O] [--version V] [--attr K=V ...]
  agentmq topic register [NAME] --agent-card CARD.json      (A2A AgentCard v1.0 or v0.3)
  agentmq topic list [--json]
  agentmq topic delete NAME [--if-exists] [--broker NAME]

Without --broker, create/update/delete apply to every live broker.
Attributes: dedup.window.ms=N sets the topic's deduplication window (default 600000).
Lite topics: --type lite makes a LITE parent topic (one queue); its lite topics are created on
first send or subscribe (send --lite-topic, consume --lite-topic). --lite-ttl-ms N deletes a lite
topic after N ms without writes (never: kept; broker default 86400000), attribute lite.ttl.ms.
Common options: ${NS_HELP}, -h/--help`;

const GROUP_USAGE = `Usage:
  agentmq group create NAME [--max-attempts N] [--lite-mode shared|exclusive] [--lite-client-quota N|unlimited]
                            [--attr KEY=VALUE ...] [--if-not-exists] [--broker NAME]
  agentmq group list [--json]
  agentmq group delete NAME [--if-exists] [--broker NAME]

Lite consumption:
  --lite-mode shared      the group's clients subscribed to a lite topic share its messages (default)
  --lite-mode exclusive   the newest subscriber takes a lite topic over; the others are told and drop it
  --lite-client-quota N   lite subscriptions one client of the group may hold (or unlimited)

Common options: ${NS_HELP}, -h/--help`;

const SEND_USAGE = `Usage: agentmq send TOPIC [BODY] [options]

Sends BODY as one message, or, without BODY, one message per line of stdin. Prints one line per
message: its id, queue and offset.

Options:
  --tag T                 message tag
  --key K                 message key (repeatable)
  --property k=v          user property (repeatable)
  --group G               message group (FIFO topics)
  --priority N            priority 0..9 (PRIORITY topics; higher first)
  --delay-ms N            deliver N ms from now (prints a recall handle)
  --ttl-ms N              expire N ms after it becomes deliverable
  --dedup-key K           store at most once per topic within its dedup window
  --lite-topic L          send to lite topic L of TOPIC (a LITE parent topic); created on first send
${NS_OPTION}
  -h, --help`;

const CONSUME_USAGE = `Usage: agentmq consume TOPIC --group G [options]
       agentmq consume TOPIC --group G --lite-topic L [--lite-topic L2 ...] [options]

Receives messages, prints one line per message (id, attempt, tag, body) and acks it. With
--lite-topic, TOPIC is a LITE parent topic: subscribes to those lite topics (created if new) and
prints their messages, in order per lite topic, with lite=L.

Options:
  --group G               consumer group (required)
  --tag EXPR              tag filter: * (default) or a||b (not with --lite-topic)
  --lite-topic L          subscribe to lite topic L of TOPIC (repeatable)
  --lite-offset WHERE     where new lite subscriptions start: last (default: where the group
                          stands), min (oldest stored), max (only new), tail:N, time:EPOCH_MS
  --count N               stop after N messages (default: run until Ctrl-C)
  --wait-ms N             stop after N ms without a message (default: never)
  --invisible-ms N        invisible duration per receive (default 30000)
  --no-ack                do not ack (messages come back after their invisibility)
  --json                  print each message as JSON
${NS_OPTION}
  -h, --help`;

const DISCOVER_USAGE = `Usage: agentmq discover "QUERY" [options]

Asks the NameServer which registered capabilities fit QUERY (natural language).

Options:
  --top-k N               most results (default 5)
  --tag T                 require a tag (repeatable)
  --attr K=V              require an attribute (repeatable)
  --min-score X           drop results below X (0..1; default: the NameServer's threshold)
  --all                   include topics no online consumer serves
  --json                  print the raw result as JSON
${NS_OPTION}
  -h, --help`;

const MESSAGE_USAGE = `Usage:
  agentmq message get MESSAGE_ID [--body] [--json]   where a message is and where each group stands
  agentmq message find TOPIC KEY [--limit N] [--body] [--json]   messages with a business key

Common options: ${NS_HELP}, -h/--help`;

const DLQ_USAGE = `Usage:
  agentmq dlq redrive GROUP [--max N]   move dead letters of GROUP (topic %DLQ%GROUP) back to their topics

Read dead letters with: agentmq consume %DLQ%GROUP --group SOME-GROUP
Common options: ${NS_HELP}, -h/--help`;

const CLIENTS_USAGE = `Usage: agentmq clients [--group G] [--json] [--nameserver HOST:PORT]
       agentmq brokers [--json] [--nameserver HOST:PORT]

${NS_OPTION}`;

function keyValues(flag: string, items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of items) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--${flag} must be key=value (got ${JSON.stringify(p)})`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** A non-negative integer, or -1 for `never` / `unlimited` (also accepted as words: `--flag -1` is no option value for parseArgs). */
function intOrUnlimited(name: string, v: string, word: 'never' | 'unlimited'): number {
  if (v.toLowerCase() === word) return -1;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < -1) throw new UsageError(`--${name} must be a non-negative integer or ${word} (got ${JSON.stringify(v)})`);
  return n;
}

function liteMode(v: string): LiteSubModel {
  const m = v.toLowerCase();
  if (m === 'shared') return 'Shared';
  if (m === 'exclusive') return 'Exclusive';
  throw new UsageError(`--lite-mode must be shared or exclusive (got ${JSON.stringify(v)})`);
}

function liteOffset(v: string): LiteOffset {
  const lower = v.toLowerCase();
  if (lower === 'last' || lower === 'min' || lower === 'max') return lower.toUpperCase() as 'LAST' | 'MIN' | 'MAX';
  const [kind, n] = lower.split(':');
  const num = Number(n);
  if (n !== undefined && n !== '' && Number.isSafeInteger(num) && num >= 0) {
    if (kind === 'tail') return { tailN: num };
    if (kind === 'time') return { timestampMs: num };
  }
  throw new UsageError(`--lite-offset must be last, min, max, tail:N or time:EPOCH_MS (got ${JSON.stringify(v)})`);
}

function formatAttributes(attrs: Record<string, string>): string {
  const list = Object.entries(attrs);
  return list.length ? `, ${list.map(([k, v]) => `${k}=${v}`).join(', ')}` : '';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function withAdmin<T>(nameserver: string[] | undefined, fn: (a: AdminClient) => Promise<T>): Promise<T> {
  const admin = new AdminClient({ nameserver: nameservers(nameserver), logger: silentLogger });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

async function topic(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...NS_FLAG,
    queues: { type: 'string' },
    type: { type: 'string' },
    permission: { type: 'string' },
    attr: { type: 'string', multiple: true },
    broker: { type: 'string' },
    'if-not-exists': { type: 'boolean' },
    'if-exists': { type: 'boolean' },
    json: { type: 'boolean' },
    description: { type: 'string' },
    tag: { type: 'string', multiple: true },
    skill: { type: 'string', multiple: true },
    example: { type: 'string', multiple: true },
    'input-schema': { type: 'string' },
    'output-schema': { type: 'string' },
    owner: { type: 'string' },
    version: { type: 'string' },
    'agent-card': { type: 'string' },
    'lite-ttl-ms': { type: 'string' },
  }, TOPIC_USAGE);
  const [sub, name] = positionals;
  if (values.help || !sub) return (console.log(TOPIC_USAGE), values.help ? 0 : 2);
  const target = values.broker ? { broker: values.broker } : {};
  const needName = () => {
    if (!name) throw new UsageError(`topic ${sub} needs a NAME\n\n${TOPIC_USAGE}`);
    return name;
  };
  const spec = () => ({
    name: needName(),
    ...(values.queues !== undefined ? { queueCount: int('queues', values.queues, 0) } : {}),
    ...(values.type ? { messageType: values.type.toUpperCase() as MessageType } : {}),
    ...(values.permission ? { permission: values.permission.toUpperCase() as Permission } : {}),
    ...(values.attr ? { attributes: keyValues('attr', values.attr) } : {}),
    ...(values['lite-ttl-ms'] !== undefined ? { liteTtlMs: intOrUnlimited('lite-ttl-ms', values['lite-ttl-ms'], 'never') } : {}),
  });
  return withAdmin(values.nameserver, async (admin) => {
    switch (sub) {
      case 'create': {
        const res = await admin.createTopic(spec(), { ...target, ifNotExists: values['if-not-exists'] ?? false });
        for (const t of res) console.log(`topic ${t.name} on ${t.broker}: ${t.queueCount} queues, ${t.messageType}, ${t.permission}`);
        return 0;
      }
      case 'update': {
        const res = await admin.updateTopic(spec(), target);
        for (const t of res) console.log(`topic ${t.name} on ${t.broker}: ${t.queueCount} queues, ${t.messageType}, ${t.permission}`);
        return 0;
      }
      case 'delete':
        await admin.deleteTopic(needName(), { ...target, ifExists: values['if-exists'] ?? false });
        console.log(`topic ${name} deleted`);
        return 0;
      case 'register': {
        const readJson = (flag: string, file: string): Record<string, unknown> => {
          try {
            return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
          } catch (err) {
            throw new UsageError(`--${flag}: cannot read JSON from ${file}: ${(err as Error).message}`);
          }
        };
        let res;
        if (values['agent-card']) {
          res = await admin.registerTopic({ agentCard: readJson('agent-card', values['agent-card']), ...(name ? { name } : {}), ...(values.queues ? { queueCount: int('queues', values.queues, 0) } : {}) }, target);
        } else {
          if (!values.description) throw new UsageError(`topic register needs --description (or --agent-card)\n\n${TOPIC_USAGE}`);
          const skills = (values.skill ?? []).map((s, i) => {
            const colon = s.indexOf(':');
            const skillName = colon > 0 ? s.slice(0, colon).trim() : s.trim();
            return {
              id: skillName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `skill-${i + 1}`,
              name: skillName,
              description: colon > 0 ? s.slice(colon + 1).trim() : skillName,
              tags: [],
              examples: i === 0 ? (values.example ?? []) : [],
            };
          });
          res = await admin.registerTopic(
            {
              name: needName(),
              description: values.description,
              tags: values.tag ?? [],
              skills,
              attributes: values.attr ? keyValues('attr', values.attr) : {},
              ...(values['input-schema'] ? { inputSchema: readJson('input-schema', values['input-schema']) } : {}),
              ...(values['output-schema'] ? { outputSchema: readJson('output-schema', values['output-schema']) } : {}),
              ...(values.owner ? { owner: values.owner } : {}),
              ...(values.version ? { version: values.version } : {}),
              ...(values.queues ? { queueCount: int('queues', values.queues, 0) } : {}),
            },
            target,
          );
        }
        for (const t of res) console.log(`topic ${t.name} registered on ${t.broker}`);
        return 0;
      }
      case 'list': {
        const topics = await admin.listTopics(target);
        if (values.json) return (console.log(JSON.stringify(topics, null, 2)), 0);
        const rows = [['TOPIC', 'TYPE', 'QUEUES', 'MESSAGES', 'BROKERS']];
        for (const t of topics) rows.push([t.name, t.messageType, String(t.queueCount), String(t.messageCount), t.brokers.map((b) => b.broker).join(',')]);
        console.log(table(rows));
        return 0;
      }
      default:
        throw new UsageError(`unknown topic subcommand ${JSON.stringify(sub)}\n\n${TOPIC_USAGE}`);
    }
  });
}

async function group(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...NS_FLAG,
    'max-attempts': { type: 'string' },
    'lite-mode': { type: 'string' },
    'lite-client-quota': { type: 'string' },
    attr: { type: 'string', multiple: true },
    broker: { type: 'string' },
    'if-not-exists': { type: 'boolean' },
    'if-exists': { type: 'boolean' },
    json: { type: 'boolean' },
  }, GROUP_USAGE);
  const [sub, name] = positionals;
  if (values.help || !sub) return (console.log(GROUP_USAGE), values.help ? 0 : 2);
  const target = values.broker ? { broker: values.broker } : {};
  const needName = () => {
    if (!name) throw new UsageError(`group ${sub} needs a NAME\n\n${GROUP_USAGE}`);
    return name;
  };
  return withAdmin(values.nameserver, async (admin) => {
    switch (sub) {
      case 'create': {
        const attempts = values['max-attempts'] !== undefined ? { maxDeliveryAttempts: int('max-attempts', values['max-attempts'], 0) } : {};
        const res = await admin.createGroup(
          {
            name: needName(),
            ...attempts,
            ...(values['lite-mode'] !== undefined ? { liteSubModel: liteMode(values['lite-mode']) } : {}),
            ...(values['lite-client-quota'] !== undefined ? { liteClientQuota: intOrUnlimited('lite-client-quota', values['lite-client-quota'], 'unlimited') } : {}),
            ...(values.attr ? { attributes: keyValues('attr', values.attr) } : {}),
          },
          { ...target, ifNotExists: values['if-not-exists'] ?? false },
        );
        for (const g of res) console.log(`group ${g.name} on ${g.broker}: max delivery attempts ${g.maxDeliveryAttempts}${formatAttributes(g.attributes)}`);
        return 0;
      }
      case 'delete':
        await admin.deleteGroup(needName(), { ...target, ifExists: values['if-exists'] ?? false });
        console.log(`group ${name} deleted`);
        return 0;
      case 'list': {
        const groups = await admin.listGroups(target);
        if (values.json) return (console.log(JSON.stringify(groups, null, 2)), 0);
        const rows = [['GROUP', 'MAX_ATTEMPTS', 'ATTRIBUTES', 'BROKERS']];
        for (const g of groups) rows.push([g.name, String(g.maxDeliveryAttempts), Object.entries(g.attributes).map(([k, v]) => `${k}=${v}`).join(',') || '-', g.brokers.join(',')]);
        console.log(table(rows));
        return 0;
      }
      default:
        throw new UsageError(`unknown group subcommand ${JSON.stringify(sub)}\n\n${GROUP_USAGE}`);
    }
  });
}

async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...NS_FLAG,
    tag: { type: 'string' },
    key: { type: 'string', multiple: true },
    property: { type: 'string', multiple: true },
    group: { type: 'string' },
    priority: { type: 'string' },
    'delay-ms': { type: 'string' },
    'ttl-ms': { type: 'string' },
    'dedup-key': { type: 'string' },
    'lite-topic': { type: 'string' },
  }, SEND_USAGE);
  if (values.help) return (console.log(SEND_USAGE), 0);
  const [topicName, body] = positionals;
  if (!topicName) throw new UsageError(`send needs a TOPIC\n\n${SEND_USAGE}`);
  const properties = keyValues('property', values.property ?? []);
  const delayMs = values['delay-ms'] !== undefined ? int('delay-ms', values['delay-ms'], 0) : undefined;
  const message = (b: string): OutgoingMessage => ({
    topic: topicName,
    body: b,
    ...(values.tag ? { tag: values.tag } : {}),
    ...(values.key ? { keys: values.key } : {}),
    ...(Object.keys(properties).length ? { properties } : {}),
    ...(values.group ? { messageGroup: values.group } : {}),
    ...(values.priority !== undefined ? { priority: int('priority', values.priority, 0) } : {}),
    ...(delayMs !== undefined ? { deliveryTimestampMs: Date.now() + delayMs } : {}),
    ...(values['ttl-ms'] !== undefined ? { ttlMs: int('ttl-ms', values['ttl-ms'], 0) } : {}),
    ...(values['dedup-key'] !== undefined ? { dedupKey: values['dedup-key'] } : {}),
    ...(values['lite-topic'] !== undefined ? { liteTopic: values['lite-topic'] } : {}),
  });
  const producer = new Producer({ nameserver: nameservers(values.nameserver), logger: silentLogger });
  let failed = 0;
  try {
    await producer.start();
    const print = (p: Promise<{ messageId: string; offset: number; recallHandle?: string }>) =>
      p.then(
        (r) => console.log(r.recallHandle ? `scheduled ${r.messageId} recall-handle=${r.recallHandle}` : `sent ${r.messageId} offset=${r.offset}`),
        (err: unknown) => {
          failed++;
          console.error(`send failed: ${err instanceof MqError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}`);
        },
      );
    if (body !== undefined) {
      await print(producer.send(message(body)));
    } else {
      const pending: Promise<void>[] = [];
      for await (const line of createInterface({ input: process.stdin })) {
        if (line.length > 0) pending.push(print(producer.send(message(line))));
      }
      await Promise.all(pending);
    }
  } finally {
    await producer.close();
  }
  return failed > 0 ? 1 : 0;
}

async function consume(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...NS_FLAG,
    group: { type: 'string' },
    tag: { type: 'string' },
    'lite-topic': { type: 'string', multiple: true },
    'lite-offset': { type: 'string' },
    count: { type: 'string' },
    'wait-ms': { type: 'string' },
    'invisible-ms': { type: 'string' },
    'no-ack': { type: 'boolean' },
    json: { type: 'boolean' },
  }, CONSUME_USAGE);
  if (values.help) return (console.log(CONSUME_USAGE), 0);
  const [topicName] = positionals;
  if (!topicName) throw new UsageError(`consume needs a TOPIC\n\n${CONSUME_USAGE}`);
  if (!values.group) throw new UsageError(`consume needs --group\n\n${CONSUME_USAGE}`);
  const liteTopics = values['lite-topic'] ?? [];
  const lite = liteTopics.length > 0;
  if (lite && values.tag !== undefined) throw new UsageError(`--tag cannot be combined with --lite-topic\n\n${CONSUME_USAGE}`);
  if (!lite && values['lite-offset'] !== undefined) throw new UsageError(`--lite-offset needs --lite-topic\n\n${CONSUME_USAGE}`);
  const offset = values['lite-offset'] !== undefined ? liteOffset(values['lite-offset']) : undefined;
  const count = int('count', values.count, 0) || Infinity;
  const waitMs = int('wait-ms', values['wait-ms'], 0);
  const common = {
    nameserver: nameservers(values.nameserver),
    group: values.group,
    invisibleDurationMs: int('invisible-ms', values['invisible-ms'], 30_000),
    ...(waitMs > 0 ? { awaitDurationMs: Math.min(waitMs, 20_000) } : {}),
    logger: silentLogger,
  };
  let receive: (max: number, signal: AbortSignal) => Promise<ReceivedMessage[]>;
  let client: { start(): Promise<void>; close(): Promise<void> };
  let afterStart = async (): Promise<void> => {};
  if (lite) {
    const consumer = new LiteConsumer({ ...common, topic: topicName });
    consumer.on('unsubscribed', (l) => console.error(`lite topic ${l} was taken over by another client of group ${values.group}; unsubscribed`));
    client = consumer;
    // Subscribed after start() so an offset applies to each of them.
    afterStart = async () => {
      for (const l of liteTopics) await consumer.subscribe(l, offset !== undefined ? { offset } : {});
    };
    receive = (max, signal) => consumer.receive({ max, signal });
  } else {
    const consumer = new SimpleConsumer({ ...common, subscriptions: { [topicName]: values.tag ?? '*' } });
    client = consumer;
    receive = (max, signal) => consumer.receive({ maxMessages: max, signal });
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let seen = 0;
  try {
    await client.start();
    await afterStart();
    let idleSince = Date.now();
    while (seen < count && !stop.signal.aborted) {
      const batch = await receive(Math.min(32, count - seen), stop.signal).catch((err: unknown) => {
        if (stop.signal.aborted) return [];
        throw err;
      });
      if (batch.length === 0) {
        if (waitMs > 0 && Date.now() - idleSince >= waitMs) break;
        continue;
      }
      idleSince = Date.now();
      for (const m of batch) {
        seen++;
        if (values.json) {
          console.log(JSON.stringify({ messageId: m.messageId, topic: m.topic, ...(m.liteTopic !== undefined ? { liteTopic: m.liteTopic } : {}), tag: m.tag, keys: m.keys, properties: m.properties, deliveryAttempt: m.deliveryAttempt, queueId: m.queueId, offset: m.offset, body: m.text() }));
        } else {
          console.log(`${m.messageId} attempt=${m.deliveryAttempt}${m.liteTopic !== undefined ? ` lite=${m.liteTopic}` : ''}${m.tag ? ` tag=${m.tag}` : ''} ${m.text()}`);
        }
        if (!values['no-ack']) await m.ack();
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
  return 0;
}

function printMessage(m: MessageDetails, json: boolean): void {
  if (json) {
    console.log(JSON.stringify({ ...m, body: m.body?.toString('utf8') }));
    return;
  }
  const when = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : '-');
  console.log(`${m.messageId}  topic=${m.topic} queue=${m.queueId} offset=${m.offset} state=${m.state} broker=${m.broker}`);
  console.log(`  type=${m.messageType}${m.tag ? ` tag=${m.tag}` : ''}${m.keys.length ? ` keys=${m.keys.join(',')}` : ''}${m.messageGroup ? ` group=${m.messageGroup}` : ''}${m.priority ? ` priority=${m.priority}` : ''} size=${m.bodySize}`);
  console.log(`  born=${when(m.bornTimestampMs)} stored=${when(m.storeTimestampMs)}${m.deliveryTimestampMs ? ` deliver-at=${when(m.deliveryTimestampMs)}` : ''}${m.expireAtMs ? ` expires=${when(m.expireAtMs)}` : ''}`);
  for (const [k, v] of Object.entries(m.properties)) console.log(`  property ${k}=${v}`);
  for (const g of m.groups) console.log(`  group ${g.group}: ${g.state}${g.state === 'inflight' ? ` attempt=${g.deliveryAttempt} visible-at=${when(g.visibleAtMs)}` : ''}`);
  if (m.body) console.log(`  body ${m.body.toString('utf8')}`);
}

async function message(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...NS_FLAG, body: { type: 'boolean' }, json: { type: 'boolean' }, limit: { type: 'string' } }, MESSAGE_USAGE);
  const [sub, a, b] = positionals;
  if (values.help || !sub) return (console.log(MESSAGE_USAGE), values.help ? 0 : 2);
  return withAdmin(values.nameserver, async (admin) => {
    if (sub === 'get') {
      if (!a) throw new UsageError(`message get needs a MESSAGE_ID\n\n${MESSAGE_USAGE}`);
      const m = await admin.getMessage(a, { includeBody: values.body ?? false });
      if (!m) {
        console.error(`message ${a} not found (unknown, expired, recalled or deleted)`);
        return 1;
      }
      printMessage(m, values.json ?? false);
      return 0;
    }
    if (sub === 'find') {
      if (!a || !b) throw new UsageError(`message find needs TOPIC and KEY\n\n${MESSAGE_USAGE}`);
      const found = await admin.findMessages(a, b, { limit: int('limit', values.limit, 32), includeBody: values.body ?? false });
      for (const m of found) printMessage(m, values.json ?? false);
      if (!values.json) console.log(`${found.length} message(s)`);
      return 0;
    }
    throw new UsageError(`unknown message subcommand ${JSON.stringify(sub)}\n\n${MESSAGE_USAGE}`);
  });
}

async function dlq(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...NS_FLAG, max: { type: 'string' } }, DLQ_USAGE);
  const [sub, group] = positionals;
  if (values.help || !sub) return (console.log(DLQ_USAGE), values.help ? 0 : 2);
  if (sub !== 'redrive') throw new UsageError(`unknown dlq subcommand ${JSON.stringify(sub)}\n\n${DLQ_USAGE}`);
  if (!group) throw new UsageError(`dlq redrive needs a GROUP\n\n${DLQ_USAGE}`);
  return withAdmin(values.nameserver, async (admin) => {
    const res = await admin.redriveDeadLetters(group, { maxMessages: int('max', values.max, 0) });
    console.log(`re-drove ${res.redriven} message(s) of group ${group}${res.skipped ? `; ${res.skipped} left (origin topic gone)` : ''}`);
    return 0;
  });
}

async function discover(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...NS_FLAG,
    'top-k': { type: 'string' },
    tag: { type: 'string', multiple: true },
    attr: { type: 'string', multiple: true },
    'min-score': { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  }, DISCOVER_USAGE);
  if (values.help) return (console.log(DISCOVER_USAGE), 0);
  const query = positionals.join(' ').trim();
  if (!query) throw new UsageError(`discover needs a QUERY\n\n${DISCOVER_USAGE}`);
  const minScore = values['min-score'] !== undefined ? Number(values['min-score']) : undefined;
  if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw new UsageError(`--min-score must be between 0 and 1 (got ${values['min-score']})`);
  const client = new DiscoveryClient({ nameserver: nameservers(values.nameserver), logger: silentLogger });
  try {
    const res = await client.discover(query, {
      ...(values['top-k'] ? { topK: int('top-k', values['top-k'], 5) } : {}),
      ...(values.tag ? { tags: values.tag } : {}),
      ...(values.attr ? { attributes: keyValues('attr', values.attr) } : {}),
      ...(minScore !== undefined ? { minScore } : {}),
      includeOffline: values.all ?? false,
    });
    if (values.json) return (console.log(JSON.stringify(res, null, 2)), 0);
    if (res.translation) console.log(`query in ${res.translation.language}, searched with: ${res.translation.terms.join(', ')}`);
    if (res.noMatch && res.offlineFits > 0) {
      console.log(`no live match: ${res.offlineFits} capabilit${res.offlineFits === 1 ? 'y fits' : 'ies fit'}, but nobody serves ${res.offlineFits === 1 ? 'it' : 'them'} right now (--all lists ${res.offlineFits === 1 ? 'it' : 'them'})`);
    } else if (res.noMatch) console.log(`no match: ${res.noMatchReason}`);
    else if (res.hits.length > 0 && res.bestScore < res.threshold) {
      // Below the threshold but not declared "no match": the NameServer could not read the query.
      console.log(`not judged: best score ${res.bestScore.toFixed(3)} is below the threshold ${res.threshold.toFixed(3)}, but the query is mostly in words the NameServer does not know (another language without a dictionary?)`);
    }
    const rows = [['SCORE', 'TOPIC', 'LIVE', 'BROKERS', 'DESCRIPTION']];
    for (const h of res.hits) rows.push([h.score.toFixed(3), h.topic.name, h.topic.live ? 'yes' : 'no', h.topic.routes.map((r) => r.broker).join(','), h.topic.metadata.description.slice(0, 80)]);
    if (res.hits.length > 0) console.log(table(rows));
    else if (!res.noMatch) console.log('no registered capability (use --all to include topics nobody serves right now)');
    return 0;
  } finally {
    await client.close();
  }
}

async function clients(cmd: 'clients' | 'brokers', argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...NS_FLAG, group: { type: 'string' }, json: { type: 'boolean' } }, CLIENTS_USAGE);
  if (values.help) return (console.log(CLIENTS_USAGE), 0);
  return withAdmin(values.nameserver, async (admin) => {
    if (cmd === 'brokers') {
      const brokers = await admin.listBrokers();
      if (values.json) return (console.log(JSON.stringify(brokers, null, 2)), 0);
      const rows = [['BROKER', 'CLUSTER', 'ENDPOINT', 'TOPICS', 'LAST_HEARTBEAT']];
      for (const b of brokers) rows.push([b.name, b.cluster, b.endpoint, String(b.topics.length), new Date(b.lastHeartbeatMs).toISOString()]);
      console.log(table(rows));
      return 0;
    }
    const list = await admin.listClients(values.group);
    if (values.json) return (console.log(JSON.stringify(list, null, 2)), 0);
    const rows = [['CLIENT_ID', 'TYPE', 'GROUP', 'CHANNEL', 'LANGUAGE', 'BROKERS']];
    for (const c of list) rows.push([c.clientId, c.clientType, c.group || '-', c.channel, c.language || '-', c.brokers.join(',')]);
    console.log(table(rows));
    return 0;
  });
}

export async function run(cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'topic':
      return topic(argv);
    case 'group':
      return group(argv);
    case 'send':
      return send(argv);
    case 'consume':
      return consume(argv);
    case 'clients':
    case 'brokers':
      return clients(cmd, argv);
    case 'message':
      return message(argv);
    case 'discover':
      return discover(argv);
    case 'dlq':
      return dlq(argv);
    default:
      throw new UsageError(`unknown command ${cmd}`);
  }
}
