// The fabric one agent run talks to, inside the benchmark's network namespace: the project's emulator on
// 127.0.0.1 (ephemeral ports) behind counting TCP proxies on the real addresses 168.63.129.16:80 (WireServer,
// blob store, repository) and :32526 (HostGAPlugin), and optionally a stub IMDS on 169.254.169.254:80.
// The proxies count connections and raw bytes both ways (HTTP headers included); the emulator's log
// callback counts requests per server without the recorder's 5000-entry cap.
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const FABRIC_IP = '168.63.129.16';
export const IMDS_IP = '169.254.169.254';
const MAX_WAIT_CHUNK_MS = 9 * 60_000; // the emulator clamps one wait to 10 min

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server, sockets) {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TCP proxy host:port -> 127.0.0.1:target counting bytes; counters.up = agent->fabric, counters.down = fabric->agent. */
async function startProxy(host, port, targetPort) {
  const counters = { connections: 0, up: 0, down: 0 };
  const sockets = new Set();
  const server = createServer((client) => {
    counters.connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (b) => (counters.up += b.length));
    upstream.on('data', (b) => (counters.down += b.length));
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  await listen(server, port, host);
  return { counters, close: () => closeServer(server, sockets) };
}

const IMDS_COMPUTE = {
  location: 'benchregion', name: 'bench-vm', offer: 'debian-12', osType: 'Linux', placementGroupId: '',
  platformFaultDomain: '0', platformUpdateDomain: '0', publisher: 'Debian', resourceGroupName: 'bench', sku: '12',
  subscriptionId: '00000000-0000-0000-0000-000000000000', tags: '', version: '0.0.1', vmId: '00000000-0000-0000-0000-000000000001',
  vmSize: 'Standard_D2s_v3', vmScaleSetName: '', zone: '',
};
const IMDS_INSTANCE = {
  compute: IMDS_COMPUTE,
  network: { interface: [{ macAddress: '000D3A000001', ipv4: { ipAddress: [{ privateIpAddress: '10.0.0.4', publicIpAddress: '' }], subnet: [] }, ipv6: { ipAddress: [] } }] },
};

/** A minimal IMDS (what WALinuxAgent reads: instance/compute for telemetry, instance for its heartbeat). */
async function startImds() {
  const counters = { requests: 0 };
  const sockets = new Set();
  const server = createHttpServer((req, res) => {
    counters.requests++;
    const path = (req.url ?? '').split('?')[0];
    const body = path === '/metadata/instance/compute' ? IMDS_COMPUTE : path === '/metadata/instance' ? IMDS_INSTANCE : null;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(body ? JSON.stringify(body) : '{"error":"not found"}');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server, 80, IMDS_IP);
  return { counters, close: () => closeServer(server, sockets) };
}

/**
 * Starts one fabric. distDir: the compiled project (dist/ or another outDir); logFile: one line per request.
 * Returns the emulator plus counters and a bounded status wait.
 */
export async function startFabric({ distDir, scenario, logFile, imdsStub = true }) {
  const { createEmulator } = await import(pathToFileURL(join(distDir, 'src/emulator/index.js')).href);
  const log = createWriteStream(logFile, { flags: 'a' });
  const requests = { wire: 0, hostplugin: 0 };
  const byPath = new Map();
  const emu = await createEmulator({
    host: '127.0.0.1', wirePort: 0, hostPluginPort: 0, publicBaseUrl: `http://${FABRIC_IP}`, scenario,
    log: (line) => {
      log.write(`${new Date().toISOString()} ${line}\n`);
      const m = /^(wire|hostplugin) (\w+) (\S+) -> /.exec(line);
      if (!m) return;
      requests[m[1]]++;
      const key = `${m[1]} ${m[2]} ${categorize(m[3])}`;
      byPath.set(key, (byPath.get(key) ?? 0) + 1);
    },
  });
  const closers = [() => emu.close(), () => new Promise((r) => log.end(r))];
  try {
    const wire = await startProxy(FABRIC_IP, 80, new URL(emu.wireUrl).port);
    closers.unshift(wire.close);
    const plugin = await startProxy(FABRIC_IP, 32526, new URL(emu.hostPluginUrl).port);
    closers.unshift(plugin.close);
    const imds = imdsStub ? await startImds() : null;
    if (imds) closers.unshift(imds.close);
    return {
      emu,
      /** A snapshot of every counter (copy). */
      counters: () => ({
        requests: { ...requests, total: requests.wire + requests.hostplugin },
        bytes: { wireUp: wire.counters.up, wireDown: wire.counters.down, pluginUp: plugin.counters.up, pluginDown: plugin.counters.down, total: wire.counters.up + wire.counters.down + plugin.counters.up + plugin.counters.down },
        connections: wire.counters.connections + plugin.counters.connections,
        imdsRequests: imds ? imds.counters.requests : 0,
        byPath: Object.fromEntries(byPath),
      }),
      /** The first status upload after record `after` matching pred, within timeoutMs; rejects early if `abort` settles. */
      async waitStatus(pred, timeoutMs, after, abort) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const chunk = Math.min(deadline - Date.now(), MAX_WAIT_CHUNK_MS);
          if (chunk <= 0) throw new Error(`no matching status upload within ${Math.round(timeoutMs / 1000)} s`);
          try {
            const wait = emu.waitFor((s) => pred(s), chunk, after === undefined ? {} : { after });
            return await (abort ? Promise.race([wait, abort]) : wait);
          } catch (err) {
            if (!/timed out/.test(String(err?.message)) || Date.now() >= deadline) throw err;
          }
        }
      },
      lastStatusSeq: () => emu.state.latestStatus()?.seq ?? 0,
      async close() {
        for (const c of closers) await c().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => undefined);
    throw err;
  }
}

/** Groups request paths for the per-kind breakdown (ids and SAS stripped). */
export function categorize(path) {
  const [p, q = ''] = path.split('?');
  const params = new URLSearchParams(q);
  if (p === '/' && params.get('comp')) return `/?comp=${params.get('comp')}`;
  if (p.startsWith('/machine')) {
    const comp = params.get('comp');
    const type = params.get('type');
    return `/machine?comp=${comp ?? ''}${type ? `&type=${type}` : ''}`;
  }
  if (p.startsWith('/blob/')) return `/blob${params.get('comp') ? `?comp=${params.get('comp')}` : ''}`;
  if (p.startsWith('/repo/pkg/')) return '/repo/pkg (zip)';
  if (p.startsWith('/repo/')) return '/repo manifest';
  return p;
}
