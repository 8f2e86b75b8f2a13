/**
 * Python gRPC stubs generated from proto/ at test time, with Debian's grpc_tools
 * (`python3 -m grpc_tools.protoc`): the apache.rocketmq.v2 protos of the pinned
 * rocketmq-client-nodejs dependency and our agentmq.v1 protos, with the include roots that make
 * their imports resolve (`apache/rocketmq/v2/...`, `agentmq/v1/...`; google/protobuf comes with
 * grpc_tools).
 *
 * Debian 12's python3-grpc-tools (1.14.1) bundles protoc 3.5.1, which predates proto3
 * `optional` (protoc 3.12 behind a flag, 3.15 by default), and the RocketMQ protos use it. With
 * such a protoc the protos are copied and the `optional` labels dropped: the wire format is the
 * same (same field numbers and types); only "was it set" for scalar fields is lost, which a
 * client that never sends a default value and reads only set fields does not notice.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENTMQ_PROTO_DIR, ROCKETMQ_PROTO_DIR } from '../../proto/index.js';

/** Debian's interpreter: `python3` on PATH may be another one without grpc. */
export const PYTHON = '/usr/bin/python3';
export const APT_PACKAGES = ['python3-grpcio', 'python3-grpc-tools'];

/** The .proto files the Python client needs, relative to their include root. */
const ROCKETMQ_FILES = ['apache/rocketmq/v2/definition.proto', 'apache/rocketmq/v2/service.proto'];
const AGENTMQ_FILES = ['agentmq/v1/semantic.proto', 'agentmq/v1/registry.proto', 'agentmq/v1/admin.proto', 'agentmq/v1/discovery.proto'];

/** Why `python` cannot run the client (undefined when it can). */
export function pythonProblem(python = PYTHON): string | undefined {
  const r = spawnSync(python, ['-c', 'import grpc, grpc_tools.protoc, google.protobuf'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `${python} could not be run (${r.error.message})`;
  if (r.status !== 0) return `${python} cannot import grpc / grpc_tools: ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
  return undefined;
}

export interface GeneratedStubs {
  /** Put this on sys.path (agentmq_client.py --stubs). */
  dir: string;
  /** `libprotoc X.Y.Z` of grpc_tools. */
  protoc: string;
  /** The protos were copied without their proto3 `optional` labels (old protoc). */
  strippedOptional: boolean;
}

function protocVersion(python: string): { text: string; major: number; minor: number } {
  const r = spawnSync(python, ['-m', 'grpc_tools.protoc', '--version'], { encoding: 'utf8', timeout: 30_000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const m = /(\d+)\.(\d+)/.exec(text);
  if (r.status !== 0 || !m) throw new Error(`${python} -m grpc_tools.protoc --version failed: ${text}`);
  return { text, major: Number(m[1]), minor: Number(m[2]) };
}

/** Generates the `*_pb2.py` / `*_pb2_grpc.py` modules into `outDir`/py. */
export function generatePythonStubs(outDir: string, python = PYTHON): GeneratedStubs {
  const version = protocVersion(python);
  const supportsOptional = version.major > 3 || (version.major === 3 && version.minor >= 15);
  const experimentalOptional = version.major === 3 && version.minor >= 12 && version.minor < 15;
  let includes = [ROCKETMQ_PROTO_DIR, AGENTMQ_PROTO_DIR];
  const strip = !supportsOptional && !experimentalOptional;
  if (strip) {
    const root = join(outDir, 'proto');
    for (const [from, files] of [[ROCKETMQ_PROTO_DIR, ROCKETMQ_FILES], [AGENTMQ_PROTO_DIR, AGENTMQ_FILES]] as const) {
      for (const f of files) {
        mkdirSync(join(root, f, '..'), { recursive: true });
        writeFileSync(join(root, f), readFileSync(join(from, f), 'utf8').replace(/^(\s*)optional\s+/gm, '$1'));
      }
    }
    includes = [root];
  }
  const py = join(outDir, 'py');
  mkdirSync(py, { recursive: true });
  const args = [
    '-m',
    'grpc_tools.protoc',
    ...includes.map((i) => `-I${i}`),
    `--python_out=${py}`,
    `--grpc_python_out=${py}`,
    ...(experimentalOptional ? ['--experimental_allow_proto3_optional'] : []),
    ...ROCKETMQ_FILES,
    ...AGENTMQ_FILES,
  ];
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  return { dir: py, protoc: version.text, strippedOptional: strip };
}

/** Every generated module, relative to the stubs directory (for a sanity check). */
export function generatedModules(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), rel ? `${rel}/${e.name}` : e.name);
      else if (e.name.endsWith('.py')) out.push(rel ? `${rel}/${e.name}` : e.name);
    }
  };
  walk(dir, '');
  return out.sort();
}

