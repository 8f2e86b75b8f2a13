/**
 * NameServerLink (broker side) against real NameServers: registers with every NameServer,
 * survives one being down and reaches it after a heartbeat, re-registers promptly and
 * coalesced on notifyChanged, and unregisters on close.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { NameServerLink } from '../../broker/cluster/nameserver-link.js';
import type { BrokerRegistration } from '../../broker/cluster/nameserver-link.js';
import type { NameServer } from '../../nameserver/index.js';
import type { ListBrokersResponse__Output } from '../../proto/gen/agentmq/v1/ListBrokersResponse.js';
import { messagingClient } from '../helpers/wire.js';
import { queryRoute, recordingLogger, registryCalls, registryClient, startNameServer, waitFor } from './helpers.js';

const servers: NameServer[] = [];
const clients: grpc.Client[] = [];
const links: NameServerLink[] = [];

afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.close()));
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function nameServer(port = 0) {
  const started = await startNameServer({ port });
  servers.push(started.ns);
  return started;
}

function registration(topics: string[] = ['orders']): BrokerRegistration {
  return {
    brokerName: 'broker-a',
    clusterName: 'DefaultCluster',
    host: '127.0.0.1',
    port: 10911,
    startedAtMs: 1_700_000_000_000,
    topics: topics.map((name) => ({ name, queueCount: 2, permission: 'READ_WRITE', messageTypes: ['NORMAL'] })),
  };
}

async function brokersOn(address: string): Promise<ListBrokersResponse__Output['brokers']> {
  const c = registryClient(address);
  clients.push(c);
  return (await registryCalls(c).list()).brokers;
}

async function routeCode(address: string, topic: string): Promise<string | undefined> {
  const c = messagingClient(address);
  clients.push(c);
  return (await queryRoute(c, topic)).status?.code;
}

/** A port nothing listens on (bound then released). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

describe('nameserver link', () => {
  it('registers with every NameServer; a NameServer down at first is reached after a heartbeat', async () => {
    const up = await nameServer();
    const downPort = await freePort();
    const downAddress = `127.0.0.1:${downPort}`;
    const logger = recordingLogger();
    const link = new NameServerLink({
      nameservers: [up.address, downAddress],
      heartbeatIntervalMs: 200,
      registration: () => registration(),
      logger,
    });
    links.push(link);

    await link.start(); // must not throw although one NameServer is down
    expect((await brokersOn(up.address)).map((b) => b.brokerName)).toEqual(['broker-a']);
    expect(await routeCode(up.address, 'orders')).toBe('OK');
    expect(logger.lines.some((l) => l.level === 'warn' && l.fields?.nameserver === downAddress)).toBe(true);

    // Stay down for several heartbeats: grpc-js's default reconnect backoff (1 s, x1.6, up to
    // 120 s) would by then delay the reconnection well past the next heartbeat.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1); // later failures: debug only
    const late = await nameServer(downPort);
    await waitFor(async () => (await brokersOn(late.address)).length === 1, 3_000, 20);
    expect(await routeCode(late.address, 'orders')).toBe('OK');
    expect(logger.lines.some((l) => l.msg === 'registered with nameserver' && l.fields?.nameserver === downAddress)).toBe(true);
  });

  it('notifyChanged re-registers promptly, several calls in one tick making one round', async () => {
    const ns = await nameServer();
    let topics = ['orders'];
    let rounds = 0;
    const link = new NameServerLink({
      nameservers: [ns.address],
      heartbeatIntervalMs: 60_000, // only notifyChanged can cause the next round
      registration: () => {
        rounds++;
        return registration(topics);
      },
    });
    links.push(link);
    await link.start();
    expect(rounds).toBe(1);
    expect(await routeCode(ns.address, 'invoices')).toBe('TOPIC_NOT_FOUND');

    topics = ['orders', 'invoices'];
    link.notifyChanged();
    link.notifyChanged();
    link.notifyChanged();
    await waitFor(async () => (await routeCode(ns.address, 'invoices')) === 'OK', 3_000, 10);
    expect(rounds).toBe(2);
  });

  it('close unregisters from every NameServer and is idempotent', async () => {
    const a = await nameServer();
    const b = await nameServer();
    const link = new NameServerLink({
      nameservers: [a.address, b.address],
      heartbeatIntervalMs: 60_000,
      registration: () => registration(),
    });
    await link.start();
    expect(await routeCode(a.address, 'orders')).toBe('OK');
    expect(await routeCode(b.address, 'orders')).toBe('OK');

    const first = link.close();
    expect(link.close()).toBe(first);
    await first;
    expect(await routeCode(a.address, 'orders')).toBe('TOPIC_NOT_FOUND');
    expect(await routeCode(b.address, 'orders')).toBe('TOPIC_NOT_FOUND');
    await expect(link.start()).rejects.toThrow(/closed/);
  });

  it('close returns promptly when a NameServer is down', async () => {
    const link = new NameServerLink({
      nameservers: [`127.0.0.1:${await freePort()}`],
      heartbeatIntervalMs: 60_000,
      registration: () => registration(),
    });
    await link.start();
    const t0 = Date.now();
    await link.close();
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it('a rejected registration is logged with the NameServer reason, and retried', async () => {
    const ns = await nameServer();
    const logger = recordingLogger();
    const link = new NameServerLink({
      nameservers: [ns.address],
      heartbeatIntervalMs: 60_000,
      registration: () => registration(['bad topic']),
      logger,
    });
    links.push(link);
    await link.start();
    const warn = logger.lines.find((l) => l.level === 'warn');
    expect(String(warn?.fields?.err)).toMatch(/ILLEGAL_TOPIC: broker\.topics\[0\]\.name/);
  });

  it('rejects malformed options by name', () => {
    expect(() => new NameServerLink({ nameservers: ['nohost:'], registration: () => registration() })).toThrow(/HOST:PORT/);
    expect(() => new NameServerLink({ nameservers: [], heartbeatIntervalMs: 0, registration: () => registration() })).toThrow(/heartbeatIntervalMs/);
  });
});
