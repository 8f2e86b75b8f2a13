/**
 * deploy/k8s/: every manifest against the Kubernetes OpenAPI schemas (kubernetes-models), with
 * unknown fields rejected, plus the cross references no schema sees (see k8s.ts). No cluster is
 * involved: this is what CI can check.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { at, isObj, root, strings, unknownFlags, yamlDocuments, type Obj } from './helpers.js';
import { crossReferenceProblems, describeManifest, schemaErrors, serverCommand, unknownFieldErrors, type Manifest } from './k8s.js';

const K8S_DIR = 'deploy/k8s';
const T = { timeout: 120_000 };

function load(): { manifests: Manifest[]; kustomization: Obj } {
  const manifests: Manifest[] = [];
  let kustomization: Obj | undefined;
  for (const f of readdirSync(join(root, K8S_DIR)).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort()) {
    yamlDocuments(`${K8S_DIR}/${f}`).forEach((obj, index) => {
      if (!isObj(obj)) throw new Error(`${K8S_DIR}/${f}#${index}: not a mapping`);
      if (obj.kind === 'Kustomization') kustomization = obj;
      else manifests.push({ file: f, index, obj });
    });
  }
  if (!kustomization) throw new Error(`${K8S_DIR}/kustomization.yaml is missing`);
  return { manifests, kustomization };
}

/** A deep copy of the first manifest of `kind` named `name`. */
function copyOf(manifests: Manifest[], kind: string, name: string): Obj {
  const m = manifests.find((x) => x.obj.kind === kind && at(x.obj, 'metadata', 'name') === name);
  if (!m) throw new Error(`no ${kind}/${name}`);
  return structuredClone(m.obj);
}

function brokerContainer(sts: Obj): Obj {
  return (at(sts, 'spec', 'template', 'spec', 'containers') as Obj[]).find((c) => serverCommand(c) === 'broker')!;
}

describe('deploy/k8s manifests', () => {
  let manifests: Manifest[];
  let kustomization: Obj;
  let objs: Obj[];
  beforeAll(() => {
    ({ manifests, kustomization } = load());
    objs = manifests.map((m) => m.obj);
  });

  it('deploy - every manifest is valid against the Kubernetes OpenAPI schema of its kind', T, async () => {
    expect(manifests.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const m of manifests) for (const e of await schemaErrors(m.obj)) problems.push(`${describeManifest(m)}: ${e}`);
    expect(problems).toEqual([]);
  });

  it('deploy - a StatefulSet with a wrong field type is rejected by the schema', T, async () => {
    const sts = copyOf(manifests, 'StatefulSet', 'agentmq-broker');
    expect(await schemaErrors(sts)).toEqual([]);
    ((brokerContainer(sts).ports as Obj[])[0] as Obj).containerPort = '8081';
    (sts.spec as Obj).replicas = 'three';
    const errors = await schemaErrors(sts);
    expect(errors.join('\n')).toMatch(/containerPort must be integer/);
    expect(errors.join('\n')).toMatch(/replicas must be integer/);
    const noSelector = copyOf(manifests, 'StatefulSet', 'agentmq-broker');
    delete (noSelector.spec as Obj).selector;
    expect((await schemaErrors(noSelector)).join('\n')).toMatch(/selector/);
  });

  it('deploy - no manifest has a field the Kubernetes API does not define', T, () => {
    const byManifest = unknownFieldErrors(manifests);
    const problems = [...byManifest].flatMap(([m, errs]) => errs.map((e) => `${describeManifest(m)}: ${e}`));
    expect(problems).toEqual([]);
  });

  it('deploy - a misspelt field is rejected as unknown', T, () => {
    const sts = copyOf(manifests, 'StatefulSet', 'agentmq-broker');
    const c = brokerContainer(sts);
    c.readinessProbes = c.readinessProbe!;
    delete c.readinessProbe;
    ((at(sts, 'spec', 'volumeClaimTemplates', 0, 'spec') as Obj).resources as Obj).request = { storage: '10Gi' };
    const errs = [...unknownFieldErrors([{ file: 'copy', index: 0, obj: sts }]).values()].flat().join('\n');
    expect(errs).toMatch(/known properties, and '"readinessProbes"' does not exist in type 'IContainer'/);
    expect(errs).toMatch(/'"request"' does not exist/);
  });

  it('deploy - selectors, service names, ports, volumes, ConfigMaps and env references all resolve', T, () => {
    expect(crossReferenceProblems(objs)).toEqual([]);
  });

  it('deploy - every broker pod registers with every NameServer pod and advertises its own stable name', T, () => {
    const nsSts = copyOf(manifests, 'StatefulSet', 'agentmq-nameserver');
    const brokerSts = copyOf(manifests, 'StatefulSet', 'agentmq-broker');
    expect(at(nsSts, 'spec', 'replicas')).toBe(2);
    expect(at(brokerSts, 'spec', 'replicas')).toBe(3);
    const args = strings(brokerContainer(brokerSts).args);
    expect(args).toContain('--broker-name=$(POD_NAME)');
    expect(args.filter((a) => a.startsWith('--nameserver')).length).toBe(2);
    // Negative cases: each breaks one reference and must be reported.
    const others = objs.filter((o) => !(o.kind === 'StatefulSet'));
    const withBroker = (mutate: (sts: Obj) => void, nsMutate?: (sts: Obj) => void) => {
      const b = structuredClone(brokerSts);
      const n = structuredClone(nsSts);
      mutate(b);
      nsMutate?.(n);
      return crossReferenceProblems([...others, n, b]).join('\n');
    };
    expect(withBroker(() => undefined)).toBe('');
    expect(withBroker((b) => {
      const c = brokerContainer(b);
      c.args = strings(c.args).filter((a) => !a.includes('agentmq-nameserver-1.'));
    })).toMatch(/agentmq-broker-0: does not register with NameServer agentmq-nameserver-1\.agentmq-nameserver-hl\.agentmq\.svc\.cluster\.local:9876/);
    expect(withBroker(() => undefined, (n) => ((n.spec as Obj).replicas = 3))).toMatch(/does not register with NameServer agentmq-nameserver-2\./);
    expect(withBroker((b) => ((b.spec as Obj).serviceName = 'agentmq-brokers'))).toMatch(/serviceName agentmq-brokers names no Service/);
    expect(withBroker((b) => {
      const c = brokerContainer(b);
      c.args = strings(c.args).map((a) => (a.startsWith('--advertise-host') ? '--advertise-host=$(POD_IP)' : a));
    })).toMatch(/uses \$\(POD_IP\), which its env does not define/);
    expect(withBroker((b) => ((at(b, 'spec', 'template', 'metadata', 'labels') as Obj)['app.kubernetes.io/name'] = 'broker'))).toMatch(/Service\/agentmq-broker: selector .* matches no pods/);
    expect(withBroker((b) => ((at(b, 'spec', 'template', 'metadata', 'labels') as Obj)['app.kubernetes.io/name'] = 'broker'))).toMatch(/PodDisruptionBudget\/agentmq-broker: selector .* matches no pods/);
  });

  it('deploy - server containers use only flags the agentmq CLI has', T, () => {
    const unknown: string[] = [];
    for (const o of objs) {
      for (const c of (at(o, 'spec', 'template', 'spec', 'containers') ?? []) as Obj[]) {
        if (serverCommand(c) !== undefined) unknown.push(...unknownFlags(strings(c.args)));
      }
    }
    expect(unknown).toEqual([]);
  });

  it('deploy - pods run as uid 10001, with probes, resources and a grace period; volumes are persistent', T, () => {
    const problems: string[] = [];
    for (const o of objs.filter((x) => x.kind === 'StatefulSet')) {
      const id = `StatefulSet/${String(at(o, 'metadata', 'name'))}`;
      const pod = at(o, 'spec', 'template', 'spec') as Obj;
      if (at(pod, 'securityContext', 'runAsNonRoot') !== true) problems.push(`${id}: runAsNonRoot`);
      if (at(pod, 'securityContext', 'runAsUser') !== 10001) problems.push(`${id}: runAsUser 10001`);
      if (at(pod, 'securityContext', 'fsGroup') !== 10001) problems.push(`${id}: fsGroup 10001`);
      if (typeof pod.terminationGracePeriodSeconds !== 'number') problems.push(`${id}: terminationGracePeriodSeconds`);
      for (const c of pod.containers as Obj[]) {
        for (const k of ['readinessProbe', 'livenessProbe']) if (!isObj(c[k])) problems.push(`${id}: ${k}`);
        if (!isObj(at(c, 'resources', 'requests'))) problems.push(`${id}: resources.requests`);
        if (at(c, 'resources', 'limits', 'memory') === undefined) problems.push(`${id}: resources.limits.memory`);
      }
    }
    const broker = copyOf(manifests, 'StatefulSet', 'agentmq-broker');
    expect(at(broker, 'spec', 'volumeClaimTemplates', 0, 'spec', 'resources', 'requests', 'storage')).toBe('10Gi');
    expect(at(broker, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds')).toBeGreaterThanOrEqual(30);
    expect(at(copyOf(manifests, 'PodDisruptionBudget', 'agentmq-broker'), 'spec', 'maxUnavailable')).toBe(1);
    expect(at(copyOf(manifests, 'PodDisruptionBudget', 'agentmq-nameserver'), 'spec', 'minAvailable')).toBe(1);
    expect(problems).toEqual([]);
  });

  it('deploy - kustomization.yaml lists every manifest file and its namespace is the manifests\' namespace', T, () => {
    const files = readdirSync(join(root, K8S_DIR)).filter((n) => /\.ya?ml$/.test(n) && n !== 'kustomization.yaml').sort();
    expect(strings(kustomization.resources).slice().sort()).toEqual(files);
    for (const o of objs) if (o.kind !== 'Namespace') expect(at(o, 'metadata', 'namespace'), `${String(o.kind)}/${String(at(o, 'metadata', 'name'))}`).toBe(kustomization.namespace);
    expect(objs.some((o) => o.kind === 'Namespace' && at(o, 'metadata', 'name') === kustomization.namespace)).toBe(true);
  });
});
