#!/usr/bin/env node
// Container health check for AgentMQ servers: succeeds when a TCP connection opens to every
// port it is given. It uses node built-ins only (no tsx, no gRPC), so it starts fast and keeps
// working when the application's own modules are what is broken.
//
//   node deploy/healthcheck.mjs                 127.0.0.1:$AGENTMQ_HEALTH_PORT (default 9876)
//   node deploy/healthcheck.mjs 8081            127.0.0.1:8081
//   node deploy/healthcheck.mjs broker-0:8081   HOST:PORT ([::1]:8081 for IPv6)
//   node deploy/healthcheck.mjs 9876 8081       every target must accept a connection
//
// Environment (used when no argument is given): AGENTMQ_HEALTH_HOST (default 127.0.0.1),
// AGENTMQ_HEALTH_PORT (default 9876; a comma-separated list checks each port). Always:
// AGENTMQ_HEALTH_TIMEOUT_MS (default 2000). Exit 0: healthy; exit 1: not (reason on stderr).
import net from 'node:net';

/** One target: "PORT", "HOST:PORT" or "[V6]:PORT" (a bare PORT is on `defaultHost`). */
function target(arg, defaultHost) {
  let host = defaultHost;
  let portText = arg;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(arg) ?? /^([^:[\]]+):(\d+)$/.exec(arg);
  if (m) [host, portText] = [m[1], m[2]];
  else if (!/^\d+$/.test(arg)) throw new Error(`bad target ${JSON.stringify(arg)} (want PORT, HOST:PORT or [V6]:PORT)`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error(`bad port ${JSON.stringify(portText)}`);
  return { host, port };
}

/** The targets: the arguments, else AGENTMQ_HEALTH_HOST x AGENTMQ_HEALTH_PORT (comma-separated). */
function targets(args, env) {
  const host = env.AGENTMQ_HEALTH_HOST || '127.0.0.1';
  const list = args.length > 0 ? args : (env.AGENTMQ_HEALTH_PORT || '9876').split(',').map((p) => p.trim());
  return list.map((a) => target(a, host));
}

function check({ host, port }, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok, reason) => {
      socket.destroy();
      resolve({ ok, reason });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no connection within ${timeoutMs} ms`));
    socket.once('connect', () => done(true));
    socket.once('error', (err) => done(false, err.code ?? err.message));
  });
}

async function main() {
  let ts;
  try {
    ts = targets(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`healthcheck: ${err.message}\n`);
    return 1;
  }
  const t = Number(process.env.AGENTMQ_HEALTH_TIMEOUT_MS || 2000);
  const timeoutMs = Number.isFinite(t) && t > 0 ? t : 2000;
  const results = await Promise.all(ts.map((x) => check(x, timeoutMs)));
  let code = 0;
  results.forEach(({ ok, reason }, i) => {
    if (ok) return;
    process.stderr.write(`healthcheck: ${ts[i].host}:${ts[i].port} unhealthy: ${reason}\n`);
    code = 1;
  });
  return code;
}

process.exitCode = await main();
