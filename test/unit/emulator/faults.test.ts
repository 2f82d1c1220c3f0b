import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASIC, getText, sampleScenario, uploadDirect, withEmulator } from './helpers.js';

test('a status fault answers the next N matching requests, then counts down to normal', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const fault = emu.injectFault({ path: '/machine/?comp=goalstate', status: 500, count: 3 });
    const gs = `${emu.wireUrl}/machine/?comp=goalstate`;
    assert.equal((await getText(`${emu.wireUrl}/?comp=versions`)).status, 200, 'other paths unaffected');
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push((await getText(gs, BASIC)).status);
    assert.deepEqual(seen, [500, 500, 500, 200]);
    assert.equal(fault.remaining(), 0);
    const recorded = emu.state.requests({ path: '/machine/?comp=goalstate' });
    assert.equal(recorded.filter((r) => r.fault !== undefined).length, 3);
  });
});

test('410 once, malformed body, method and server filters, regex paths, cancel', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const gs = `${emu.wireUrl}/machine/?comp=goalstate`;
    emu.injectFault({ path: /comp=goalstate/, status: 410, count: 1 });
    assert.equal((await getText(gs, BASIC)).status, 410);
    emu.injectFault({ path: '/machine/?comp=goalstate', body: '<GoalState><Incarn', count: 1 });
    const malformed = await getText(gs, BASIC);
    assert.deepEqual(malformed, { status: 200, text: '<GoalState><Incarn' });
    emu.injectFault({ path: '/machine/?comp=goalstate', method: 'POST', status: 503, count: 1 });
    assert.equal((await getText(gs, BASIC)).status, 200, 'GET not matched by a POST fault');
    emu.injectFault({ path: '/versions', server: 'hostplugin', status: 502, count: 1 });
    assert.equal((await getText(`${emu.wireUrl}/?comp=versions`)).status, 200);
    assert.equal((await getText(`${emu.hostPluginUrl}/versions`)).status, 502);
    const f = emu.injectFault({ path: '/', status: 500, count: 5 });
    f.cancel();
    assert.equal((await getText(gs, BASIC)).status, 200);
    assert.throws(() => emu.injectFault({ path: '/', count: 0, status: 500 }), /count/);
    assert.throws(() => emu.injectFault({ path: '/', count: 1 }), /needs/);
  });
});

test('reset destroys the connection; delay postpones the real answer', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    emu.injectFault({ path: '/?comp=versions', reset: true, count: 1 });
    await assert.rejects(fetch(`${emu.wireUrl}/?comp=versions`));
    emu.injectFault({ path: '/?comp=versions', delayMs: 20, count: 1 });
    assert.equal((await getText(`${emu.wireUrl}/?comp=versions`)).status, 200);
    const recs = emu.state.requests({ path: '/?comp=versions' });
    assert.equal(recs[0]?.status, 0);
    assert.match(recs[0]?.fault ?? '', /reset/);
    assert.match(recs[1]?.fault ?? '', /delay/);
  });
});

test('waitFor resolves on a matching status and times out (bounded) otherwise', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const url = emu.goalState().statusBlobUrl;
    const waiting = emu.waitFor((s) => (s as { n?: number } | null)?.n === 2, 5000);
    await uploadDirect(url, '{"n": 1}', 'BlockBlob');
    await uploadDirect(url, '{"n": 2}', 'BlockBlob');
    const rec = await waiting;
    assert.deepEqual(rec.status, { n: 2 });
    // Already-recorded statuses match immediately unless `after` excludes them.
    assert.equal((await emu.state.waitFor((s) => s !== null, 10)).seq, rec.seq);
    await assert.rejects(emu.state.waitFor(() => true, 10, { after: rec.seq }), /timed out/);
  });
});

test('close rejects pending waits', async () => {
  let pending: Promise<unknown> | undefined;
  await withEmulator(sampleScenario(), async (emu) => {
    pending = emu.state.waitUntil(() => false, 60_000, 'never');
  });
  await assert.rejects(pending as Promise<unknown>, /closed/);
});

test('slowBodyMs sends the real answer with its Content-Length, the body in pieces', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const url = `${emu.wireUrl}/?comp=versions`;
    const normal = await getText(url);
    emu.injectFault({ path: '/?comp=versions', slowBodyMs: 100, count: 1 });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(normal.text)));
    assert.equal(await res.text(), normal.text);
    assert.match(emu.state.requests({ path: '/?comp=versions' })[1]?.fault ?? '', /slow body 100ms/);
    assert.throws(() => emu.injectFault({ path: '/', count: 1, slowBodyMs: -1 }), /slowBodyMs/);
  });
});
