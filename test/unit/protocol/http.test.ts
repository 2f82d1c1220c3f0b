// requestWithRetry / HttpClient against a local node:http server, with a fake clock that records the retry delays.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../../src/deps.js';
import { GoneError, ProtocolError } from '../../../src/errors.js';
import {
  bodyText, createHttpClient, expectOk, requestWithRetry, type HttpResponse, type RetryPolicy,
} from '../../../src/protocol/http.js';

type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

let server: Server;
let base: string;
let handler: Handler = (_q, res) => void res.end();
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    hits++;
    req.resume();
    handler(req, res, hits);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  hits = 0;
});

/** A clock whose sleeps return at once and advance now() by the requested delay. */
function fakeClock(): Clock & { sleeps: number[] } {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      if (sleeps.length > 200) throw new Error('runaway retry loop');
      sleeps.push(ms);
      t += ms;
    },
  };
}

const POLICY: RetryPolicy = { maxAttempts: 6, retryDelayMs: 10, throttleDelayMs: 7, throttledMinAttempts: 25 };
const http = createHttpClient();
const statusOf = (code: number): Handler => (_q, res) => void res.writeHead(code).end(`status ${code}`);

async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/x`;
}

test('500s are retried with Fibonacci delays, 6 attempts in total, and the last response is returned', async () => {
  handler = statusOf(500);
  const clock = fakeClock();
  const res = await requestWithRetry(http, clock, { method: 'GET', url: `${base}/a` }, POLICY);
  assert.equal(res.status, 500);
  assert.equal(hits, 6);
  assert.deepEqual(clock.sleeps, [20, 30, 50, 80, 130]);
  assert.throws(() => expectOk(res, 'Test', `${base}/a`), (e: unknown) => e instanceof ProtocolError && !(e instanceof GoneError) && e.status === 500);
});

test('a retryable failure followed by success returns the success', async () => {
  handler = (_q, res, n) => void res.writeHead(n < 3 ? 502 : 200, { 'X-Thing': 'v' }).end('ok');
  const clock = fakeClock();
  const res = await requestWithRetry(http, clock, { method: 'GET', url: `${base}/b` }, POLICY);
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-thing'], 'v', 'header names are lower-cased');
  assert.equal(bodyText(res), 'ok');
  assert.deepEqual(clock.sleeps, [20, 30]);
});

for (const code of [429, 503, 403]) {
  test(`throttle code ${code} switches to the fixed delay and at least 25 attempts`, async () => {
    handler = statusOf(code);
    const clock = fakeClock();
    const res = await requestWithRetry(http, clock, { method: 'PUT', url: `${base}/t`, body: 'x' }, POLICY);
    assert.equal(res.status, code);
    assert.equal(hits, 25);
    assert.equal(clock.sleeps.length, 24);
    assert.ok(clock.sleeps.every((d) => d === 7), `all delays are the throttle delay: ${clock.sleeps.join(',')}`);
  });
}

test('after a throttle code, later 500s keep the fixed delay; earlier delays were Fibonacci', async () => {
  handler = (_q, res, n) => void res.writeHead(n === 2 ? 429 : n < 5 ? 500 : 200).end();
  const clock = fakeClock();
  const res = await requestWithRetry(http, clock, { method: 'GET', url: `${base}/m` }, POLICY);
  assert.equal(res.status, 200);
  assert.deepEqual(clock.sleeps, [20, 7, 7, 7]);
});

test('the throttle budget is not raised when the policy says so (telemetry)', async () => {
  handler = statusOf(429);
  const clock = fakeClock();
  await requestWithRetry(http, clock, { method: 'POST', url: `${base}/telemetrydata` }, { ...POLICY, maxAttempts: 3, throttledMinAttempts: 3 });
  assert.equal(hits, 3);
});

test('410 is returned at once and expectOk turns it into GoneError', async () => {
  handler = statusOf(410);
  const clock = fakeClock();
  const res = await requestWithRetry(http, clock, { method: 'GET', url: `${base}/gone?sig=SECRETSIG` }, POLICY);
  assert.equal(res.status, 410);
  assert.equal(hits, 1);
  assert.deepEqual(clock.sleeps, []);
  assert.throws(() => expectOk(res, 'Wireserver', `${base}/gone?sig=SECRETSIG`), (e: unknown) => {
    assert.ok(e instanceof GoneError);
    assert.equal(e.code, 'WAA_PROTOCOL_GONE');
    assert.doesNotMatch(e.message, /SECRETSIG/);
    return true;
  });
});

test('404 and 400 are not retried (400 is retryable only when the policy adds it)', async () => {
  for (const code of [404, 400]) {
    hits = 0;
    handler = statusOf(code);
    const res = await requestWithRetry(http, fakeClock(), { method: 'GET', url: `${base}/nf` }, POLICY);
    assert.equal(res.status, code);
    assert.equal(hits, 1);
    assert.throws(() => expectOk(res, 'Test', `${base}/nf`), (e: unknown) => e instanceof ProtocolError && e.status === code && !e.retryable);
  }
  hits = 0;
  handler = statusOf(400);
  const res = await requestWithRetry(http, fakeClock(), { method: 'GET', url: `${base}/art` }, { ...POLICY, maxAttempts: 2, extraRetryCodes: [400] });
  assert.equal(res.status, 400);
  assert.equal(hits, 2);
});

test('2xx codes 200, 201, 202 pass expectOk; 204 does not', async () => {
  const res = (status: number): HttpResponse => ({ status, headers: {}, body: Buffer.alloc(0) });
  for (const s of [200, 201, 202]) assert.equal(expectOk(res(s), 'Test', 'http://x/').status, s);
  assert.throws(() => expectOk(res(204), 'Test', 'http://x/'), ProtocolError);
});

test('network errors are retried, then fail with "-- N attempts made"', async () => {
  const url = await closedPortUrl();
  const clock = fakeClock();
  await assert.rejects(requestWithRetry(http, clock, { method: 'GET', url }, { ...POLICY, maxAttempts: 3 }), (e: unknown) => {
    assert.ok(e instanceof ProtocolError);
    assert.match(e.message, /^\[HTTP Failed\] GET http:\/\/127\.0\.0\.1:\d+\/x -- .*ECONNREFUSED.* -- 3 attempts made$/);
    assert.equal(e.retryable, true);
    return true;
  });
  assert.deepEqual(clock.sleeps, [20, 30]);
});

test('the overall deadline stops the retries early', async () => {
  handler = statusOf(500);
  const clock = fakeClock();
  const res = await requestWithRetry(http, clock, { method: 'GET', url: `${base}/d` }, { ...POLICY, deadlineMs: 50 });
  assert.equal(res.status, 500);
  assert.equal(hits, 3);
  assert.deepEqual(clock.sleeps, [20, 30]);
});

test('a non-retryable error from send() is thrown without retrying', async () => {
  let calls = 0;
  const failing = { send: async () => { calls++; throw new ProtocolError('bad', { retryable: false }); }, sendToFile: async () => { throw new Error('unused'); } };
  await assert.rejects(requestWithRetry(failing, fakeClock(), { method: 'GET', url: 'http://127.0.0.1:1/' }, POLICY), /^ProtocolError: bad$/);
  assert.equal(calls, 1);
});

test('an attempt that gets no answer times out as a retryable timeout error', async () => {
  const pending: ServerResponse[] = [];
  handler = (_q, res) => void pending.push(res); // never answers
  await assert.rejects(http.send({ method: 'GET', url: `${base}/slow`, timeoutMs: 200 }), (e: unknown) => {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.retryable, true);
    assert.equal(e.code, 'WAA_PROTOCOL_TIMEOUT');
    assert.match(e.message, /timed out after 200 ms/);
    return true;
  });
  hits = 0;
  const clock = fakeClock();
  await assert.rejects(requestWithRetry(http, clock, { method: 'GET', url: `${base}/slow`, timeoutMs: 200 }, { ...POLICY, maxAttempts: 2 }), (e: unknown) => {
    assert.ok(e instanceof ProtocolError);
    assert.equal(e.code, 'WAA_PROTOCOL_TIMEOUT');
    assert.match(e.message, /timed out after 200 ms -- 2 attempts made$/);
    return true;
  });
  assert.equal(hits, 2);
  // Only these sockets: closing all would also kill the client's kept-alive ones that later tests reuse.
  for (const res of pending) res.socket?.destroy();
});

test('bodyText strips a leading 3-byte BOM and nothing else', async () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  handler = (_q, res) => void res.writeHead(200).end(Buffer.concat([bom, Buffer.from('<Versions/>')]));
  const res = await http.send({ method: 'GET', url: `${base}/bom` });
  assert.equal(res.body.length, 14);
  assert.equal(bodyText(res), '<Versions/>');
  const mk = (b: Buffer): HttpResponse => ({ status: 200, headers: {}, body: b });
  assert.equal(bodyText(mk(Buffer.from('<a>é</a>'))), '<a>é</a>');
  assert.equal(bodyText(mk(Buffer.from([0xef, 0xbb]))), '\ufffd');
  assert.equal(bodyText(mk(Buffer.alloc(0))), '');
});

test('sendToFile streams a 2xx body to disk, caps it at maxBytes, and keeps error bodies in memory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'http-test-'));
  try {
    const payload = Buffer.alloc(300_000, 0x61);
    handler = (q, res) => {
      if (q.url === '/pkg') res.writeHead(200).end(payload);
      else res.writeHead(404).end('not here');
    };
    const file = join(dir, 'pkg.zip');
    const ok = await http.sendToFile({ method: 'GET', url: `${base}/pkg` }, file, 300_000);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.length, 0);
    assert.ok((await readFile(file)).equals(payload));
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    await assert.rejects(http.sendToFile({ method: 'GET', url: `${base}/pkg` }, join(dir, 'big.zip'), 299_999), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.equal(e.retryable, false);
      assert.match(e.message, /exceeds 299999 bytes/);
      return true;
    });

    const missing = await http.sendToFile({ method: 'GET', url: `${base}/nope` }, join(dir, 'nope.zip'), 1000);
    assert.equal(missing.status, 404);
    assert.equal(bodyText(missing), 'not here');
    await assert.rejects(stat(join(dir, 'nope.zip')), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('request headers and body reach the server', async () => {
  let seen: { method?: string; h?: string; body?: string } = {};
  handler = (q, res) => {
    const chunks: Buffer[] = [];
    q.on('data', (c: Buffer) => chunks.push(c));
    q.on('end', () => {
      seen = { method: q.method, h: q.headers['x-ms-version'] as string, body: Buffer.concat(chunks).toString() };
      res.writeHead(201).end();
    });
  };
  const res = await http.send({ method: 'PUT', url: `${base}/put`, headers: { 'x-ms-version': '2014-02-14' }, body: 'hello' });
  assert.equal(res.status, 201);
  assert.deepEqual(seen, { method: 'PUT', h: '2014-02-14', body: 'hello' });
});
