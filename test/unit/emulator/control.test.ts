import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListen, runEmulatorCli } from '../../../src/emulator/cli.js';
import type { Emulator } from '../../../src/emulator/server.js';
import { BASIC, getText, sampleScenario, uploadDirect, withEmulator } from './helpers.js';

test('control API: status, requests, goalstate, publish, faults', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const c = `${emu.wireUrl}/__emulator`;
    assert.equal((await getText(`${c}/status`)).status, 404);
    await uploadDirect(emu.goalState().statusBlobUrl, '{"ok": true}', 'BlockBlob');
    assert.deepEqual(JSON.parse((await getText(`${c}/status`)).text), { ok: true });
    const reqs = JSON.parse((await getText(`${c}/requests?limit=10`)).text) as Array<{ method: string; path: string }>;
    assert.ok(reqs.some((r) => r.method === 'PUT' && r.path.includes('sig=REDACTED')));
    assert.ok(!reqs.some((r) => r.path.startsWith('/__emulator')), 'control calls are not recorded');
    const gs = JSON.parse((await getText(`${c}/goalstate`)).text) as { incarnation: number; statusBlobUrl?: string };
    assert.equal(gs.incarnation, 1);
    assert.equal(gs.statusBlobUrl, undefined, 'no SAS in the control API');
    const pub = await fetch(`${c}/publish`, { method: 'POST', body: JSON.stringify({ extensions: [] }) });
    assert.deepEqual(await pub.json(), { incarnation: 2 });
    assert.equal((await fetch(`${c}/publish`, { method: 'POST', body: '{"extensions": [{"name": "bad"}]}' })).status, 400);
    const f = await fetch(`${c}/fault`, { method: 'POST', body: JSON.stringify({ path: '/machine/?comp=goalstate', status: 503, count: 1 }) });
    assert.equal(f.status, 200);
    assert.equal((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).status, 503);
    assert.equal((await fetch(`${c}/fault`, { method: 'POST', body: '{"count": 1, "status": 500}' })).status, 400);
    assert.equal((await fetch(`${c}/nope`)).status, 404);
  });
});

test('parseListen splits ADDR and ADDR:PORT', () => {
  assert.deepEqual(parseListen('127.0.0.1'), { host: '127.0.0.1' });
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListen('::1'), { host: '::1' });
  assert.throws(() => parseListen('1.2.3.4:99999'), /invalid port/);
});

test('runEmulatorCli serves the default scenario, logs requests and stops on abort', async () => {
  const lines: string[] = [];
  const stop = new AbortController();
  let ready: Emulator | undefined;
  const done = runEmulatorCli(
    { listen: '127.0.0.1:0', hostPluginPort: 0 },
    { out: (l) => lines.push(l), signal: stop.signal, onReady: (e) => (ready = e) },
  );
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (ready) {
        clearInterval(t);
        resolve();
      }
    }, 5);
    done.catch((err: unknown) => {
      clearInterval(t);
      reject(err);
    });
  });
  const emu = ready as Emulator;
  assert.equal((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).status, 200);
  assert.equal(emu.goalState().extensions[0]?.name, 'Emulator.SampleExtension');
  stop.abort();
  assert.equal(await done, 0);
  assert.ok(lines.some((l) => l.startsWith('WireServer:')));
  assert.ok(lines.some((l) => /wire GET \/machine\/\?comp=goalstate -> 200/.test(l)));
});
