// HttpProxy.Host/Port from waagent.conf: storage requests (manifest, package) go through the proxy, WireServer and
// HostGAPlugin requests never do (wire-protocol.md §2.2). The emulator writes storage URLs on a host that does not
// resolve, so the download can only succeed through the proxy, which forwards to the emulator on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator } from '../../src/emulator/server.js';
import { fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';
import { handler } from '../helpers/status.js';

const NAME = 'Test.Recorder';
const STORAGE = 'http://storage.test.invalid:8080';

test('storage downloads go through HttpProxy.Host/Port; fabric requests go direct', async (t) => {
  const emu = await createEmulator({
    storageBaseUrl: STORAGE,
    scenario: { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, publicSettings: { n: 1 }, packageDir: fixtureHandler('recorder') }] },
  });
  const target = new URL(emu.wireUrl);
  const seen: string[] = [];
  // A forward proxy for absolute-form http requests: anything for the storage host goes to the emulator.
  const proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/');
    if (url.origin !== STORAGE) {
      res.writeHead(502).end('proxy: unexpected target');
      return;
    }
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: url.pathname + url.search, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const root = await tempRoot({ 'HttpProxy.Host': '127.0.0.1', 'HttpProxy.Port': String((proxy.address() as AddressInfo).port) });
  // http_proxy in the environment must lose to the configuration.
  const agent = startAgent(root, emu, ['-run-exthandlers'], { http_proxy: 'http://127.0.0.1:9', no_proxy: '' });
  t.after(async () => {
    await agent.stop();
    proxy.closeAllConnections();
    proxy.close();
    await emu.close();
    await root.cleanup();
  });

  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 60_000);
  const viaProxy = seen.filter((l) => l.startsWith(`GET ${STORAGE}/repo/`));
  assert.ok(viaProxy.some((l) => l.includes('/manifest.xml')), `manifest through the proxy: ${JSON.stringify(seen)}`);
  assert.ok(viaProxy.some((l) => l.endsWith('.zip')), `package through the proxy: ${JSON.stringify(seen)}`);
  assert.ok(seen.every((l) => l.includes(STORAGE)), `only storage requests reach the proxy: ${JSON.stringify(seen)}`);
  assert.equal(emu.state.requests({ path: '/extensionArtifact' }).length, 0, 'no fallback to the HostGAPlugin artifact proxy');
  assert.ok(emu.state.requests({ server: 'wire', path: '/machine' }).length > 0, 'goal state fetched directly');
  assert.match(await agent.log(), /Using HTTP proxy http:\/\/127\.0\.0\.1:\d+ for storage requests/);
});
