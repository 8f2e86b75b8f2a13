/**
 * deploy/compose.yaml: valid against the Compose Specification's JSON schema, and wired as an
 * AgentMQ cluster (every broker registers with every NameServer, advertises its service name,
 * has its own named volume, a health check, and waits for healthy NameServers).
 *
 * fixtures/compose-spec.json is schema/compose-spec.json of github.com/compose-spec/compose-spec
 * (Apache-2.0), commit a08f8d51631b7127ddac3d2c65537db429d0f1d0 (2025-10-28), unmodified.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { at, isObj, parseCommandLine, root, strings, unknownFlags, yamlDocuments, type Obj } from './helpers.js';

const COMPOSE = 'deploy/compose.yaml';
const T = { timeout: 120_000 };

function loadCompose(): Obj {
  const docs = yamlDocuments(COMPOSE);
  expect(docs.length).toBe(1);
  const doc = docs[0];
  if (!isObj(doc)) throw new Error(`${COMPOSE} is not a mapping`);
  return doc;
}

const validateSpec = (() => {
  // The schema names its meta-schema without the trailing '#', which Ajv does not know; it is
  // draft-07, Ajv's default. strict: false because it uses union types and `deprecated`.
  const { $schema: _meta, ...schema } = JSON.parse(readFileSync(join(root, 'test/deploy/fixtures/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
})();

function specErrors(doc: unknown): string[] {
  if (validateSpec(doc)) return [];
  return (validateSpec.errors ?? []).map((e: ErrorObject) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

function services(doc: Obj): [string, Obj][] {
  return Object.entries((doc.services ?? {}) as Obj).map(([n, s]) => [n, s as Obj]);
}

function serverArgs(svc: Obj): string[] | undefined {
  const cmd = svc.command;
  return Array.isArray(cmd) && (cmd[0] === 'nameserver' || cmd[0] === 'broker' || cmd[0] === 'dev') ? strings(cmd) : undefined;
}

/** The port a service's healthcheck probes (HOST:PORT or PORT argument of deploy/healthcheck.mjs). */
function healthcheckPort(svc: Obj): number | undefined {
  const test = at(svc, 'healthcheck', 'test');
  if (!Array.isArray(test) || !test.includes('deploy/healthcheck.mjs')) return undefined;
  const arg = String(test[test.indexOf('deploy/healthcheck.mjs') + 1] ?? '');
  const m = /(?:^|:)(\d+)$/.exec(arg);
  return m ? Number(m[1]) : undefined;
}

/** What makes compose.yaml an AgentMQ cluster; [] when it is one. */
function clusterProblems(doc: Obj): string[] {
  const problems: string[] = [];
  const all = services(doc);
  const servers = all.map(([n, s]) => ({ n, s, args: serverArgs(s) })).filter((x): x is { n: string; s: Obj; args: string[] } => x.args !== undefined);
  const nameservers = servers.filter((x) => x.args[0] === 'nameserver');
  const brokers = servers.filter((x) => x.args[0] === 'broker');
  if (nameservers.length < 2) problems.push(`want at least 2 NameServers, have ${nameservers.length}`);
  if (brokers.length < 3) problems.push(`want at least 3 brokers, have ${brokers.length}`);
  const declaredVolumes = new Set(Object.keys((doc.volumes ?? {}) as Obj));

  const nsEndpoints = nameservers.map(({ n, args }) => `${n}:${parseCommandLine(args).flags.get('port')?.[0] ?? '9876'}`);
  const brokerNames = new Map<string, string>();
  for (const { n, s, args } of servers) {
    const { command, flags } = parseCommandLine(args);
    const one = (f: string) => flags.get(f)?.[0];
    const port = Number(one('port') ?? (command === 'broker' ? 8081 : 9876));
    if (one('host') !== '0.0.0.0') problems.push(`${n}: must listen on --host=0.0.0.0`);
    if (s.restart !== 'unless-stopped') problems.push(`${n}: restart should be unless-stopped`);
    if (healthcheckPort(s) !== port) problems.push(`${n}: no healthcheck running deploy/healthcheck.mjs against its port ${port}`);
    if (command !== 'broker') continue;
    if (one('advertise-host') !== n) problems.push(`${n}: --advertise-host is ${String(one('advertise-host'))}, not its service name`);
    const bn = one('broker-name');
    if (bn === undefined) problems.push(`${n}: no --broker-name`);
    else if (brokerNames.has(bn)) problems.push(`${n}: --broker-name ${bn} is also ${brokerNames.get(bn)!}'s`);
    else brokerNames.set(bn, n);
    const registered = (flags.get('nameserver') ?? []).flatMap((x) => x.split(/[;,]/)).map((x) => x.trim());
    for (const e of nsEndpoints) if (!registered.includes(e)) problems.push(`${n}: does not register with NameServer ${e}`);
    for (const r of registered) if (!nsEndpoints.includes(r)) problems.push(`${n}: --nameserver ${r} is not a NameServer service`);
    for (const { n: nsName } of nameservers) {
      if (at(s, 'depends_on', nsName, 'condition') !== 'service_healthy') problems.push(`${n}: should depend on ${nsName} with condition service_healthy`);
    }
    const dataDir = one('data-dir');
    const mounts = ((s.volumes ?? []) as string[]).map((v) => v.split(':')).filter(([src]) => declaredVolumes.has(src!));
    const dataMount = mounts.find(([, target]) => dataDir !== undefined && (dataDir === target || dataDir.startsWith(`${target!}/`)));
    if (!dataMount) problems.push(`${n}: its --data-dir ${String(dataDir)} is not on a named volume declared under volumes:`);
    else if (brokers.some((b) => b.n !== n && ((b.s.volumes ?? []) as string[]).some((v) => v.split(':')[0] === dataMount[0]))) problems.push(`${n}: volume ${dataMount[0]!} is shared with another broker`);
  }
  return problems;
}

describe('deploy/compose.yaml', () => {
  it('deploy - compose.yaml is valid against the Compose Specification schema', T, () => {
    expect(specErrors(loadCompose())).toEqual([]);
  });

  it('deploy - the Compose schema rejects a misspelt key and a wrong value', T, () => {
    const doc = loadCompose();
    const b0 = (doc.services as Obj)['broker-0'] as Obj;
    b0.helthcheck = b0.healthcheck!;
    delete b0.healthcheck;
    (at(b0, 'depends_on', 'ns-0') as Obj).condition = 'healthy';
    const errors = specErrors(doc).join('\n');
    expect(errors).toMatch(/\/services\/broker-0 must NOT have additional properties .*helthcheck/);
    expect(errors).toMatch(/\/services\/broker-0\/depends_on\/ns-0\/condition must be equal to one of the allowed values/);
  });

  it('deploy - 2 NameServers and 3 brokers; every broker registers with both, advertises its service name, has its own volume and health check', T, () => {
    const doc = loadCompose();
    expect(clusterProblems(doc)).toEqual([]);
    expect(services(doc).filter(([, s]) => serverArgs(s)?.[0] === 'nameserver').map(([n]) => n)).toEqual(['ns-0', 'ns-1']);
    expect(services(doc).filter(([, s]) => serverArgs(s)?.[0] === 'broker').map(([n]) => n)).toEqual(['broker-0', 'broker-1', 'broker-2']);
  });

  it('deploy - a broker missing a NameServer, a shared volume or a wrong advertised host is reported', T, () => {
    const mutated = (f: (services: Obj) => void) => {
      const doc = loadCompose();
      f(doc.services as Obj);
      return clusterProblems(doc).join('\n');
    };
    const b = (svcs: Obj, n: string) => svcs[n] as Obj;
    expect(mutated((s) => (b(s, 'broker-1').command = strings(b(s, 'broker-1').command).filter((a) => a !== '--nameserver=ns-1:9876')))).toMatch(/broker-1: does not register with NameServer ns-1:9876/);
    expect(mutated((s) => (b(s, 'broker-2').volumes = ['broker-0-data:/data']))).toMatch(/broker-2: volume broker-0-data is shared/);
    expect(mutated((s) => (b(s, 'broker-0').command = strings(b(s, 'broker-0').command).map((a) => (a.startsWith('--advertise-host') ? '--advertise-host=localhost' : a))))).toMatch(/broker-0: --advertise-host is localhost/);
    expect(mutated((s) => delete b(s, 'broker-0').healthcheck)).toMatch(/broker-0: no healthcheck/);
    expect(mutated((s) => delete b(s, 'broker-0').depends_on)).toMatch(/broker-0: should depend on ns-0 with condition service_healthy/);
  });

  it('deploy - compose services use only flags the agentmq CLI has', T, () => {
    const unknown = services(loadCompose()).flatMap(([, s]) => {
      const args = serverArgs(s);
      return args ? unknownFlags(args) : [];
    });
    expect(unknown).toEqual([]);
  });

  it('deploy - every build section points at the repository root and deploy/Dockerfile', T, () => {
    for (const [n, s] of services(loadCompose())) {
      if (s.build === undefined) continue;
      const context = join(root, dirname(COMPOSE), String(at(s, 'build', 'context')));
      expect(existsSync(join(context, 'package.json')), `${n}: build context ${context}`).toBe(true);
      expect(existsSync(join(context, String(at(s, 'build', 'dockerfile')))), `${n}: dockerfile`).toBe(true);
    }
  });
});
