// The progress hook of sendToFile (a streamed package): bytes so far and the Content-Length, per attempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpClient } from '../../../src/protocol/http.js';
import { overridesFromEnv } from '../../../src/compose.js';

test('sendToFile tells the hook every chunk and the expected size (null without Content-Length)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'http-progress-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const piece = Buffer.alloc(64 * 1024, 0x62);
  const server = createServer((req, res: ServerResponse) => {
    if (req.url === '/sized') res.writeHead(200, { 'Content-Length': String(piece.length * 3) });
    else res.writeHead(200); // chunked: no length
    res.write(piece);
    res.write(piece);
    res.end(piece);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = createHttpClient();

  const sized: Array<[number, number | null]> = [];
  await http.sendToFile({ method: 'GET', url: `${base}/sized` }, join(dir, 'a'), 1 << 20, (got, expected) => sized.push([got, expected]));
  assert.deepEqual(sized[0], [0, piece.length * 3], 'told at the start, before any byte');
  assert.deepEqual(sized.at(-1), [piece.length * 3, piece.length * 3]);
  assert.ok(sized.every(([, e]) => e === piece.length * 3));
  assert.ok(sized.every(([got], i) => i === 0 || got > sized[i - 1]![0]), 'increasing');

  const chunked: Array<[number, number | null]> = [];
  await http.sendToFile({ method: 'GET', url: `${base}/chunked` }, join(dir, 'b'), 1 << 20, (got, expected) => chunked.push([got, expected]));
  assert.deepEqual(chunked.at(-1), [piece.length * 3, null]);
});

test('WAAGENT_TS_PROGRESS_MS: one interval for both, or download and command intervals; anything else is ignored', () => {
  assert.deepEqual(overridesFromEnv({ WAAGENT_TS_PROGRESS_MS: '200' }).progressMs, { downloadMs: 200, commandMs: 200 });
  assert.deepEqual(overridesFromEnv({ WAAGENT_TS_PROGRESS_MS: '1000,30000' }).progressMs, { downloadMs: 1000, commandMs: 30000 });
  for (const bad of ['', '0', 'abc', '1,2,3', '5,', ',5', '-1']) {
    assert.equal(overridesFromEnv({ WAAGENT_TS_PROGRESS_MS: bad }).progressMs, undefined, bad);
  }
  assert.equal(overridesFromEnv({}).progressMs, undefined);
});
