// Proxy selection (upstream's rules) and the routing client against a real local forward proxy on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpClient, type HttpClient } from '../../../src/protocol/http.js';
import { bypassProxy, createProxyRoutingClient, describeProxy, noProxyList, proxyFor, type ProxySettings } from '../../../src/protocol/proxy.js';

const none: ProxySettings = { host: null, port: null, env: {} };

test('no configuration and no environment: direct', () => {
  assert.equal(proxyFor('http://blob.example/x', none), null);
});

test('waagent.conf host and port win over the environment', () => {
  const s: ProxySettings = { host: 'proxy.corp', port: 3128, env: { http_proxy: 'http://other:8080' } };
  assert.equal(proxyFor('http://blob.example/x', s), 'http://proxy.corp:3128');
  assert.equal(proxyFor('https://blob.example/x', s), 'http://proxy.corp:3128');
});

test('a configured host without a port means no proxy (as upstream), even with http_proxy set', () => {
  assert.equal(proxyFor('http://blob.example/x', { host: 'proxy.corp', port: null, env: { http_proxy: 'http://other:8080' } }), null);
});

test('environment: http_proxy for http, https_proxy for https, lower case first, empty ignored', () => {
  const env = { http_proxy: 'http://p1:1', HTTP_PROXY: 'http://p2:2', HTTPS_PROXY: 'http://p3:3', https_proxy: '' };
  assert.equal(proxyFor('http://b.example/', { ...none, env }), 'http://p1:1');
  assert.equal(proxyFor('https://b.example/', { ...none, env }), 'http://p3:3');
  assert.equal(proxyFor('http://b.example/', { ...none, env: { HTTP_PROXY: 'p4:4' } }), 'http://p4:4');
  assert.equal(proxyFor('https://b.example/', { ...none, env: { http_proxy: 'http://p1:1' } }), null);
});

test('no_proxy: IPv4 exact and CIDR, domain suffixes case-insensitive, spaces and empty items ignored', () => {
  const list = noProxyList({ NO_PROXY: ' 10.0.0.0/8, 192.168.1.7 ,,.Blob.Core.Windows.Net,bad/99' });
  assert.deepEqual(list, ['10.0.0.0/8', '192.168.1.7', '.Blob.Core.Windows.Net', 'bad/99']);
  assert.equal(bypassProxy('10.20.30.40', list), true);
  assert.equal(bypassProxy('11.0.0.1', list), false);
  assert.equal(bypassProxy('192.168.1.7', list), true);
  assert.equal(bypassProxy('192.168.1.8', list), false);
  assert.equal(bypassProxy('acct.blob.core.windows.net', list), true);
  assert.equal(bypassProxy('acct.queue.core.windows.net', list), false);
  assert.equal(bypassProxy('1.2.3.4', ['1.2.3.0/33']), false, 'an invalid mask is not a CIDR and does not equal the host');
  const env = { http_proxy: 'http://p:1', no_proxy: '.blob.core.windows.net' };
  assert.equal(proxyFor('http://acct.blob.core.windows.net/c/b', { ...none, env }), null);
  assert.equal(proxyFor('http://other.example/c/b', { ...none, env }), 'http://p:1');
});

test('describeProxy never shows credentials', () => {
  assert.equal(describeProxy('http://user:s3cret@proxy.corp:3128'), 'http://proxy.corp:3128');
});

test('routing: fabric origins go direct, storage goes through the proxy in absolute form', async (t) => {
  const seen: string[] = [];
  const proxy = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`via proxy: ${req.url}`);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const proxyPort = (proxy.address() as AddressInfo).port;
  const directCalls: string[] = [];
  const direct: HttpClient = {
    send: async (req) => {
      directCalls.push(req.url);
      return { status: 200, headers: {}, body: Buffer.from('direct') };
    },
    sendToFile: async () => {
      throw new Error('unused');
    },
  };
  const used: string[] = [];
  const client = createProxyRoutingClient({
    direct,
    settings: { host: '127.0.0.1', port: proxyPort, env: {} },
    fabricOrigins: ['http://168.63.129.16', 'http://168.63.129.16:32526'],
    onProxy: (p) => used.push(p),
  });
  const wire = await client.send({ method: 'GET', url: 'http://168.63.129.16/machine/?comp=goalstate' });
  assert.equal(wire.body.toString(), 'direct');
  const plugin = await client.send({ method: 'GET', url: 'http://168.63.129.16:32526/vmSettings' });
  assert.equal(plugin.body.toString(), 'direct');
  // An unresolvable name: only reachable because the request goes to the proxy, never resolved here.
  const blob = await client.send({ method: 'GET', url: 'http://storage.test.invalid:8080/repo/manifest.xml?sig=abc', timeoutMs: 5000 });
  assert.equal(blob.status, 200);
  assert.equal(blob.body.toString(), 'via proxy: http://storage.test.invalid:8080/repo/manifest.xml?sig=abc');
  assert.deepEqual(seen, ['GET http://storage.test.invalid:8080/repo/manifest.xml?sig=abc']);
  assert.deepEqual(directCalls, ['http://168.63.129.16/machine/?comp=goalstate', 'http://168.63.129.16:32526/vmSettings']);
  assert.deepEqual(used, [`http://127.0.0.1:${proxyPort}`]);
});

test('routing: no proxy configured sends everything direct', async () => {
  const calls: string[] = [];
  const direct = createHttpClient();
  const client = createProxyRoutingClient({
    direct: { send: async (r) => (calls.push(r.url), { status: 204, headers: {}, body: Buffer.alloc(0) }), sendToFile: direct.sendToFile },
    settings: none,
    fabricOrigins: ['http://168.63.129.16'],
    viaProxy: () => {
      throw new Error('must not build a proxy client');
    },
  });
  await client.send({ method: 'GET', url: 'http://blob.example/x' });
  assert.deepEqual(calls, ['http://blob.example/x']);
});

test('https through a proxy opens a CONNECT tunnel to host:port; a refusal is a clear, retryable error', async (t) => {
  const connects: Array<{ url: string | undefined; auth: string | undefined }> = [];
  const proxy = createServer();
  proxy.on('connect', (req: IncomingMessage, socket) => {
    connects.push({ url: req.url, auth: req.headers['proxy-authorization'] });
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const port = (proxy.address() as AddressInfo).port;
  const client = createHttpClient({ proxy: `http://agent:p%40ss@127.0.0.1:${port}` });
  await assert.rejects(
    client.send({ method: 'GET', url: 'https://acct.blob.test.invalid/c/b?sig=SECRETSIG', timeoutMs: 5000 }),
    (err: Error & { retryable?: boolean }) => {
      assert.match(err.message, /refused the tunnel: HTTP 403/);
      assert.doesNotMatch(err.message, /SECRETSIG|p@ss/);
      return true;
    },
  );
  assert.deepEqual(connects, [{ url: 'acct.blob.test.invalid:443', auth: `Basic ${Buffer.from('agent:p@ss').toString('base64')}` }]);
});

test('plain http through a proxy: absolute-form request line, Host of the target, proxy credentials sent', async (t) => {
  const seen: Array<{ url: string | undefined; host: string | undefined; auth: string | undefined }> = [];
  const proxy = createServer((req, res) => {
    seen.push({ url: req.url, host: req.headers.host, auth: req.headers['proxy-authorization'] });
    res.end('ok');
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const port = (proxy.address() as AddressInfo).port;
  const res = await createHttpClient({ proxy: `http://u:pw@127.0.0.1:${port}` }).send({ method: 'GET', url: 'http://storage.test.invalid:8080/a?b=1' });
  assert.equal(res.body.toString(), 'ok');
  assert.deepEqual(seen, [{ url: 'http://storage.test.invalid:8080/a?b=1', host: 'storage.test.invalid:8080', auth: `Basic ${Buffer.from('u:pw').toString('base64')}` }]);
});
