/**
 * Checks for the Kubernetes manifests in deploy/k8s/ (used by manifests.test.ts):
 *
 * - schemaErrors: the object against the Kubernetes OpenAPI schema of its kind, as compiled into
 *   the `kubernetes-models` package (types, required fields, formats). Those schemas allow
 *   unknown fields, like the API server without --validate=strict, so a misspelt field would pass:
 * - unknownFieldErrors: every object type-checked by TypeScript against the same package's
 *   interfaces (IStatefulSet, IService...), whose excess-property check rejects any field the
 *   API does not define, at any depth (what `kubectl apply --validate=strict` rejects).
 * - crossReferenceProblems: what no schema sees: Service and PDB selectors that match no pods,
 *   a StatefulSet's serviceName, brokers that do not register with every NameServer pod, $(VAR)
 *   references to undefined env vars, named ports, volumes and ConfigMaps that do not exist.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { at, isObj, parseCommandLine, root, strings, type Json, type Obj } from './helpers.js';

export interface Manifest {
  file: string;
  index: number;
  obj: Obj;
}

export function describeManifest(m: Manifest): string {
  return `${m.file}#${m.index} ${String(m.obj.kind)}/${String(at(m.obj, 'metadata', 'name'))}`;
}

/** kubernetes-models module path of an apiVersion: v1 -> v1, apps/v1 -> apps/v1. */
function modelModule(apiVersion: string): string {
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) throw new Error(`bad apiVersion ${apiVersion}`);
  return `kubernetes-models/${apiVersion}`;
}

interface ValidationErrorLike {
  message: string;
  errors?: { instancePath?: string; message?: string }[];
}

/** Schema violations of `obj` (empty when valid). Throws when its kind has no model. */
export async function schemaErrors(obj: Obj): Promise<string[]> {
  const apiVersion = String(obj.apiVersion);
  const kind = String(obj.kind);
  const mod = (await import(modelModule(apiVersion))) as Record<string, unknown>;
  const Model = mod[kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (typeof Model !== 'function') throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    const e = err as ValidationErrorLike;
    if (!Array.isArray(e.errors)) throw err;
    return e.errors.map((x) => `${x.instancePath ?? ''} ${x.message ?? ''}`.trim());
  }
}

/** Fields unknown to the Kubernetes API, per manifest (TypeScript excess-property errors). */
export function unknownFieldErrors(manifests: Manifest[]): Map<Manifest, string[]> {
  const virtual = join(root, 'test/deploy/__k8s_manifests__.ts');
  const ranges: { m: Manifest; from: number; to: number }[] = [];
  let src = '';
  let line = 0;
  const add = (text: string) => {
    src += text;
    line += text.split('\n').length - 1;
  };
  manifests.forEach((m, i) => {
    const kind = String(m.obj.kind);
    add(`import type { I${kind} as T${i} } from '${modelModule(String(m.obj.apiVersion))}/${kind}';\n`);
  });
  manifests.forEach((m, i) => {
    const from = line;
    add(`export const m${i}: T${i} = ${JSON.stringify(m.obj, null, 2)};\n`);
    ranges.push({ m, from, to: line });
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (f === virtual ? ts.createSourceFile(f, src, lang) : getSourceFile(f, lang, ...rest));
  host.fileExists = (f) => f === virtual || fileExists(f);
  host.readFile = (f) => (f === virtual ? src : readFile(f));
  const program = ts.createProgram([virtual], options, host);
  const out = new Map<Manifest, string[]>(manifests.map((m) => [m, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file?.fileName !== virtual || d.start === undefined) throw new Error(`type-checking the manifests failed: ${text}`);
    const l = d.file.getLineAndCharacterOfPosition(d.start).line;
    const r = ranges.find((x) => l >= x.from && l < x.to);
    if (!r) throw new Error(`type-checking the manifests failed (line ${l + 1}): ${text}`);
    const path = src.split('\n')[l]!.trim();
    out.get(r.m)!.push(`${text} (at ${path})`);
  }
  return out;
}

// ---- cross references ------------------------------------------------------------------------

type Labels = Record<string, string>;

function labels(v: Json | undefined): Labels {
  return isObj(v) ? (Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) as Labels) : {};
}

function selects(selector: Labels, podLabels: Labels): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => podLabels[k] === v);
}

function ns(o: Obj): string {
  return String(at(o, 'metadata', 'namespace') ?? 'default');
}

function name(o: Obj): string {
  return String(at(o, 'metadata', 'name'));
}

export interface Workload {
  obj: Obj;
  podLabels: Labels;
  podSpec: Obj;
  replicas: number;
}

function workloads(objs: Obj[]): Workload[] {
  return objs
    .filter((o) => ['StatefulSet', 'Deployment', 'DaemonSet'].includes(String(o.kind)))
    .map((o) => ({
      obj: o,
      podLabels: labels(at(o, 'spec', 'template', 'metadata', 'labels')),
      podSpec: (at(o, 'spec', 'template', 'spec') ?? {}) as Obj,
      replicas: Number(at(o, 'spec', 'replicas') ?? 1),
    }));
}

function containers(w: Workload): Obj[] {
  return [...((at(w.podSpec, 'initContainers') ?? []) as Obj[]), ...((at(w.podSpec, 'containers') ?? []) as Obj[])];
}

/** The AgentMQ server command a container runs (`nameserver`, `broker`, `dev`), if any. */
export function serverCommand(c: Obj): string | undefined {
  const args = at(c, 'args');
  return Array.isArray(args) && typeof args[0] === 'string' ? args[0] : undefined;
}

/** Kubernetes' $(VAR) expansion with the pod's env: fieldRef metadata.name/namespace, plain values. */
function expand(arg: string, env: Map<string, string | undefined>): { value: string; undefinedVars: string[] } {
  const undefinedVars: string[] = [];
  const value = arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, v: string) => {
    const x = env.get(v);
    if (x === undefined) {
      undefinedVars.push(v);
      return whole;
    }
    return x;
  });
  return { value, undefinedVars };
}

/** A container's env for $(VAR) expansion, in pod `podName` of namespace `namespace`. */
function containerEnv(c: Obj, podName: string, namespace: string): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  for (const e of (at(c, 'env') ?? []) as Obj[]) {
    const field = at(e, 'valueFrom', 'fieldRef', 'fieldPath');
    const v = typeof e.value === 'string' ? e.value : field === 'metadata.name' ? podName : field === 'metadata.namespace' ? namespace : undefined;
    env.set(String(e.name), v === undefined ? `<${String(e.name)}>` : v);
  }
  return env;
}

export function crossReferenceProblems(objs: Obj[], clusterDomain = 'cluster.local'): string[] {
  const problems: string[] = [];
  const ws = workloads(objs);
  const services = objs.filter((o) => o.kind === 'Service');
  const configMaps = objs.filter((o) => o.kind === 'ConfigMap');

  for (const o of objs) {
    if (o.kind !== 'Namespace' && !objs.some((n) => n.kind === 'Namespace' && name(n) === ns(o))) problems.push(`${o.kind}/${name(o)}: namespace ${ns(o)} is not defined`);
  }

  for (const s of services) {
    const sel = labels(at(s, 'spec', 'selector'));
    const targets = ws.filter((w) => ns(w.obj) === ns(s) && selects(sel, w.podLabels));
    if (targets.length === 0) {
      problems.push(`Service/${name(s)}: selector ${JSON.stringify(sel)} matches no pods`);
      continue;
    }
    for (const p of (at(s, 'spec', 'ports') ?? []) as Obj[]) {
      const target = p.targetPort ?? p.port;
      for (const w of targets) {
        const ok = containers(w).some((c) => ((at(c, 'ports') ?? []) as Obj[]).some((cp) => (typeof target === 'string' ? cp.name === target : cp.containerPort === target)));
        if (!ok) problems.push(`Service/${name(s)}: targetPort ${String(target)} is not a port of ${w.obj.kind}/${name(w.obj)}`);
      }
    }
  }

  for (const pdb of objs.filter((o) => o.kind === 'PodDisruptionBudget')) {
    const sel = labels(at(pdb, 'spec', 'selector', 'matchLabels'));
    if (!ws.some((w) => ns(w.obj) === ns(pdb) && selects(sel, w.podLabels))) problems.push(`PodDisruptionBudget/${name(pdb)}: selector ${JSON.stringify(sel)} matches no pods`);
  }

  for (const w of ws) {
    const id = `${w.obj.kind}/${name(w.obj)}`;
    const sel = labels(at(w.obj, 'spec', 'selector', 'matchLabels'));
    if (!selects(sel, w.podLabels)) problems.push(`${id}: selector ${JSON.stringify(sel)} does not match its pod template labels`);
    if (w.obj.kind === 'StatefulSet') {
      const svcName = at(w.obj, 'spec', 'serviceName');
      const svc = services.find((s) => name(s) === svcName && ns(s) === ns(w.obj));
      if (!svc) problems.push(`${id}: serviceName ${String(svcName)} names no Service`);
      else {
        if (at(svc, 'spec', 'clusterIP') !== 'None') problems.push(`${id}: serviceName ${String(svcName)} is not a headless Service (clusterIP: None)`);
        if (!selects(labels(at(svc, 'spec', 'selector')), w.podLabels)) problems.push(`${id}: its Service ${String(svcName)} does not select its pods`);
      }
    }
    const volumeNames = new Set([
      ...((at(w.podSpec, 'volumes') ?? []) as Obj[]).map((v) => String(v.name)),
      ...((at(w.obj, 'spec', 'volumeClaimTemplates') ?? []) as Obj[]).map((v) => String(at(v, 'metadata', 'name'))),
    ]);
    for (const c of containers(w)) {
      const cid = `${id} container ${String(c.name)}`;
      for (const vm of (at(c, 'volumeMounts') ?? []) as Obj[]) if (!volumeNames.has(String(vm.name))) problems.push(`${cid}: volumeMount ${String(vm.name)} names no volume`);
      const portNames = new Set(((at(c, 'ports') ?? []) as Obj[]).map((p) => p.name));
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const port = at(c, probe, 'tcpSocket', 'port') ?? at(c, probe, 'grpc', 'port') ?? at(c, probe, 'httpGet', 'port');
        if (typeof port === 'string' && !portNames.has(port)) problems.push(`${cid}: ${probe} port ${port} is not a named container port`);
      }
      for (const ef of (at(c, 'envFrom') ?? []) as Obj[]) {
        const cm = at(ef, 'configMapRef', 'name');
        if (cm !== undefined && !configMaps.some((m) => name(m) === cm && ns(m) === ns(w.obj))) problems.push(`${cid}: envFrom ConfigMap ${String(cm)} is not defined`);
      }
      const env = containerEnv(c, `${name(w.obj)}-0`, ns(w.obj));
      for (const a of [...((at(c, 'command') ?? []) as string[]), ...((at(c, 'args') ?? []) as string[])]) {
        const { undefinedVars } = expand(a, env);
        // Kubernetes leaves an undefined $(VAR) in place, silently.
        for (const v of undefinedVars) problems.push(`${cid}: argument ${a} uses $(${v}), which its env does not define`);
      }
    }
  }

  problems.push(...agentmqTopologyProblems(ws, services, clusterDomain));
  return problems;
}

/** The per-pod DNS name of ordinal `i` of StatefulSet `w`. */
function podDns(w: Workload, i: number, clusterDomain: string): string {
  return `${name(w.obj)}-${i}.${String(at(w.obj, 'spec', 'serviceName'))}.${ns(w.obj)}.svc.${clusterDomain}`;
}

function containerPortOf(c: Obj, flagPort: string | undefined): number | undefined {
  const port = Number(flagPort);
  return ((at(c, 'ports') ?? []) as Obj[]).some((p) => p.containerPort === port) ? port : undefined;
}

/**
 * AgentMQ's own wiring: every broker pod registers with every NameServer pod by its stable DNS
 * name, advertises its own stable DNS name and is named after its pod; servers listen on 0.0.0.0
 * on their container port.
 */
function agentmqTopologyProblems(ws: Workload[], services: Obj[], clusterDomain: string): string[] {
  const problems: string[] = [];
  const serverWorkloads = ws
    .map((w) => ({ w, c: containers(w).find((c) => serverCommand(c) !== undefined) }))
    .filter((x): x is { w: Workload; c: Obj } => x.c !== undefined);
  const nameservers = serverWorkloads.filter((x) => serverCommand(x.c) === 'nameserver');
  const brokers = serverWorkloads.filter((x) => serverCommand(x.c) === 'broker');
  if (nameservers.length === 0) problems.push('no NameServer workload (a container whose args start with "nameserver")');
  if (brokers.length === 0) problems.push('no broker workload (a container whose args start with "broker")');

  // Every NameServer pod, as HOST:PORT a broker must register with.
  const nsEndpoints: string[] = [];
  for (const { w, c } of nameservers) {
    const id = `${w.obj.kind}/${name(w.obj)}`;
    const { flags } = parseCommandLine(strings(c.args));
    if (flags.get('host')?.[0] !== '0.0.0.0') problems.push(`${id}: the NameServer must listen on --host=0.0.0.0`);
    const port = containerPortOf(c, flags.get('port')?.[0] ?? '9876');
    if (port === undefined) problems.push(`${id}: its --port is not a container port`);
    if (w.obj.kind !== 'StatefulSet') {
      problems.push(`${id}: NameServers must be a StatefulSet: brokers register with each NameServer pod by a stable name`);
      continue;
    }
    for (let i = 0; i < w.replicas; i++) nsEndpoints.push(`${podDns(w, i, clusterDomain)}:${port ?? '?'}`);
  }
  if (!services.some((s) => at(s, 'spec', 'clusterIP') !== 'None' && nameservers.some(({ w }) => selects(labels(at(s, 'spec', 'selector')), w.podLabels)))) {
    problems.push('no ClusterIP Service in front of the NameServers (the clients\' access point)');
  }

  for (const { w, c } of brokers) {
    const id = `${w.obj.kind}/${name(w.obj)}`;
    if (w.obj.kind !== 'StatefulSet') {
      problems.push(`${id}: brokers must be a StatefulSet (stable broker names and volumes)`);
      continue;
    }
    const svc = services.find((s) => name(s) === at(w.obj, 'spec', 'serviceName'));
    if (svc && at(svc, 'spec', 'publishNotReadyAddresses') !== true) problems.push(`${id}: its headless Service must set publishNotReadyAddresses (brokers register their DNS names before they are Ready)`);
    for (let i = 0; i < w.replicas; i++) {
      const pod = `${name(w.obj)}-${i}`;
      const env = containerEnv(c, pod, ns(w.obj));
      const { flags } = parseCommandLine(strings(c.args).map((a) => expand(a, env).value));
      const one = (f: string) => flags.get(f)?.[0];
      if (one('host') !== '0.0.0.0') problems.push(`${id} pod ${pod}: the broker must listen on --host=0.0.0.0`);
      if (containerPortOf(c, one('port') ?? '8081') === undefined) problems.push(`${id} pod ${pod}: its --port is not a container port`);
      if (one('broker-name') !== pod) problems.push(`${id} pod ${pod}: --broker-name is ${String(one('broker-name'))}, not the pod name`);
      if (one('advertise-host') !== podDns(w, i, clusterDomain)) problems.push(`${id} pod ${pod}: --advertise-host is ${String(one('advertise-host'))}, not its stable DNS name ${podDns(w, i, clusterDomain)}`);
      const registered = (flags.get('nameserver') ?? []).flatMap((n) => n.split(/[;,]/)).map((n) => n.trim());
      for (const r of registered) if (!nsEndpoints.includes(r)) problems.push(`${id} pod ${pod}: --nameserver ${r} is not a NameServer pod`);
      for (const e of nsEndpoints) if (!registered.includes(e)) problems.push(`${id} pod ${pod}: does not register with NameServer ${e}`);
    }
  }
  return problems;
}
