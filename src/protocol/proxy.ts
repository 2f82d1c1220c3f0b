// HTTP proxy for storage traffic (wire-protocol.md §2.2). WireServer and HostGAPlugin never go through a proxy;
// everything else (manifests, packages, artifacts profile, direct status-blob upload) does when one is configured:
// `HttpProxy.Host`/`HttpProxy.Port` from waagent.conf first, else `http_proxy`/`https_proxy` (either case), and
// `no_proxy` bypasses it with upstream's matching rules (IPv4 exact or CIDR /1–/32, else a case-insensitive suffix).
import { isIPv4 } from 'node:net';
import { createHttpClient, type HttpClient, type HttpRequest } from './http.js';

export interface ProxySettings {
  /** `HttpProxy.Host`; when set, only the configuration is used (upstream prefers it over the environment). */
  readonly host: string | null;
  readonly port: number | null;
  readonly env: Readonly<Record<string, string | undefined>>;
}

function envVar(env: ProxySettings['env'], name: string): string | undefined {
  // Upstream reads the lower-case name first, then the upper-case one; an empty value counts as unset.
  return env[name] || env[name.toUpperCase()] || undefined;
}

export function noProxyList(env: ProxySettings['env']): string[] {
  return (envVar(env, 'no_proxy') ?? '').replace(/\s+/g, '').split(',').filter((h) => h.length > 0);
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

function inCidr(ip: string, cidr: string): boolean | null {
  const m = /^([^/]+)\/(\d+)$/.exec(cidr);
  if (!m || !isIPv4(m[1]!)) return null;
  const bits = Number(m[2]);
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) return null;
  const mask = bits === 32 ? 0xffffffff : (~((1 << (32 - bits)) - 1)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(m[1]!) & mask) >>> 0);
}

/** True when `host` (a hostname or IPv4 literal) must not use the proxy. */
export function bypassProxy(host: string, noProxy: readonly string[]): boolean {
  if (isIPv4(host)) {
    return noProxy.some((entry) => inCidr(host, entry) ?? entry === host);
  }
  const h = host.toLowerCase();
  return noProxy.some((entry) => h.endsWith(entry.toLowerCase()));
}

/** The proxy URL for `target`, or null for a direct connection. */
export function proxyFor(target: string, s: ProxySettings): string | null {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (bypassProxy(host, noProxyList(s.env))) return null;
  if (s.host) {
    // Upstream needs both: a host without a port means no proxy at all.
    return s.port ? `http://${s.host.includes(':') && !s.host.startsWith('[') ? `[${s.host}]` : s.host}:${s.port}` : null;
  }
  const fromEnv = envVar(s.env, url.protocol === 'https:' ? 'https_proxy' : 'http_proxy');
  if (!fromEnv) return null;
  try {
    const p = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(fromEnv) ? fromEnv : `http://${fromEnv}`);
    return p.href.replace(/\/$/, '');
  } catch {
    return null;
  }
}

/** The proxy's address without credentials, for logs. */
export function describeProxy(proxyUrl: string): string {
  try {
    const u = new URL(proxyUrl);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(unparsable proxy address)';
  }
}

/**
 * An HttpClient that sends fabric requests (`fabricOrigins`: WireServer and HostGAPlugin) directly and everything
 * else through the proxy the settings give. Plain-http targets are sent to an http proxy in absolute form (as
 * upstream's httplib does); https targets are tunnelled with CONNECT.
 */
export function createProxyRoutingClient(opts: {
  direct: HttpClient;
  settings: ProxySettings;
  fabricOrigins: readonly string[];
  viaProxy?: (proxyUrl: string) => HttpClient;
  onProxy?: (proxyUrl: string, target: string) => void;
}): HttpClient {
  const fabric = new Set(opts.fabricOrigins.map((o) => new URL(o).origin));
  const clients = new Map<string, HttpClient>();
  const make = opts.viaProxy ?? ((uri: string) => createHttpClient({ proxy: uri }));
  const pick = (req: HttpRequest): HttpClient => {
    let origin: string;
    try {
      origin = new URL(req.url).origin;
    } catch {
      return opts.direct;
    }
    if (fabric.has(origin)) return opts.direct;
    const proxy = proxyFor(req.url, opts.settings);
    if (!proxy) return opts.direct;
    let client = clients.get(proxy);
    if (!client) {
      client = make(proxy);
      clients.set(proxy, client);
    }
    opts.onProxy?.(proxy, req.url);
    return client;
  };
  return {
    send: (req) => pick(req).send(req),
    sendToFile: (req, path, maxBytes, onProgress) => pick(req).sendToFile(req, path, maxBytes, onProgress),
  };
}
