/** `host:port` strings <-> apache.rocketmq.v2.Endpoints. */
export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(s: string, defaultPort?: number): HostPort {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(s.trim());
  const host = m?.[1];
  const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
  if (!host || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid address ${JSON.stringify(s)}: expected HOST:PORT`);
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export interface WireEndpoints {
  scheme: 'IPv4' | 'IPv6' | 'DOMAIN_NAME';
  addresses: { host: string; port: number }[];
}

export function toWireEndpoints(hp: HostPort): WireEndpoints {
  const scheme = /^\d+\.\d+\.\d+\.\d+$/.test(hp.host) ? 'IPv4' : hp.host.includes(':') ? 'IPv6' : 'DOMAIN_NAME';
  return { scheme, addresses: [{ host: hp.host, port: hp.port }] };
}

export function fromWireEndpoints(e: { addresses?: { host?: string; port?: number }[] | null } | null | undefined): HostPort | undefined {
  const a = e?.addresses?.[0];
  if (!a?.host || !a.port) return undefined;
  return { host: a.host, port: a.port };
}
