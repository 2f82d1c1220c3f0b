// Seeded random faults: deterministic decisions per request kind, every class delivered as described, counts.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { FAULT_CLASSES, RandomFaults, faultApplies, type FaultClass } from '../../../src/emulator/faults.js';
import { classifyRequest } from '../../../src/emulator/fault-delivery.js';
import { BASIC, getText, sampleScenario, withEmulator } from './helpers.js';

const only = (cls: FaultClass): Partial<Record<FaultClass, number>> => Object.fromEntries(FAULT_CLASSES.map((c) => [c, c === cls ? 1 : 0]));

test('decisions are a function of the seed and of the kind\'s own request count, not of interleaving', () => {
  const a = new RandomFaults({ seed: 42, rates: { goalState: 0.3, manifest: 0.3 } });
  const b = new RandomFaults({ seed: 42, rates: { goalState: 0.3, manifest: 0.3 } });
  const gsA: Array<FaultClass | null> = [];
  const gsB: Array<FaultClass | null> = [];
  for (let i = 0; i < 200; i++) {
    gsA.push(a.decide('goalState'));
    if (i % 3 === 0) b.decide('manifest');
    gsB.push(b.decide('goalState'));
  }
  assert.deepEqual(gsA, gsB);
  const hits = gsA.filter((x) => x !== null).length;
  assert.ok(hits > 30 && hits < 90, `about 30 % of 200 (${hits})`);
  assert.ok(gsA.every((c) => c === null || faultApplies(c, 'goalState')));
  assert.ok(!gsA.includes('wrongContent'), 'wrong content is for manifests and packages only');
  const other = new RandomFaults({ seed: 43, rates: { goalState: 0.3 } });
  assert.notDeepEqual(Array.from({ length: 200 }, () => other.decide('goalState')), gsA);
  assert.equal(new RandomFaults({ seed: 1, rates: {} }).decide('goalState'), null);
  assert.throws(() => new RandomFaults({ seed: 1, rates: { goalState: 2 } }), /rate/);
  assert.throws(() => new RandomFaults({ seed: 1, rates: {}, weights: { nope: 1 } as never }), /unknown fault class/);
});

test('requests are classified by what they ask for', () => {
  const h = { headers: {} };
  assert.equal(classifyRequest('wire', 'GET', '/machine/?comp=goalstate', h), 'goalState');
  assert.equal(classifyRequest('wire', 'GET', '/machine/c/r?comp=config&type=extensionsConfig&incarnation=2', h), 'extensionsConfig');
  assert.equal(classifyRequest('wire', 'GET', '/machine/c/r?comp=config&type=sharedConfig&incarnation=2', h), 'config');
  assert.equal(classifyRequest('wire', 'GET', '/machine/c/r?comp=certificates&incarnation=2', h), 'certificates');
  assert.equal(classifyRequest('wire', 'GET', '/repo/primary/Test.A/manifest.xml', h), 'manifest');
  assert.equal(classifyRequest('wire', 'GET', '/repo/pkg/Test.A/1.0/Test.A__1.0.zip', h), 'package');
  assert.equal(classifyRequest('wire', 'PUT', '/blob/system/vm.status?sig=x', h), 'statusUpload');
  assert.equal(classifyRequest('wire', 'POST', '/machine?comp=health', h), 'health');
  assert.equal(classifyRequest('wire', 'POST', '/machine?comp=telemetrydata', h), 'telemetry');
  assert.equal(classifyRequest('hostplugin', 'PUT', '/status', h), 'statusUpload');
  assert.equal(classifyRequest('hostplugin', 'GET', '/vmSettings', h), 'vmSettings');
  const artifact = (loc: string) => ({ headers: { 'x-ms-artifact-location': loc } });
  assert.equal(classifyRequest('hostplugin', 'GET', '/extensionArtifact', artifact('http://x/repo/failover/Test.A/manifest.xml')), 'manifest');
  assert.equal(classifyRequest('hostplugin', 'GET', '/extensionArtifact', artifact('http://x/repo/pkg/Test.A/1.0/Test.A__1.0.zip')), 'package');
});

/** GET through node:http, reporting what arrived even when the connection breaks. */
function rawGet(url: string, headers: Record<string, string>, timeoutMs = 5000): Promise<{ status: number; body: Buffer; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    const req = request(url, { headers }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks), ms: Date.now() - started }));
      res.on('error', (e) => resolve({ status, body: Buffer.concat(chunks), error: e.message, ms: Date.now() - started }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status, body: Buffer.concat(chunks), error: e.message, ms: Date.now() - started }));
    req.end();
  });
}

test('every class is delivered as described and counted per kind', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const gs = `${emu.wireUrl}/machine/?comp=goalstate`;
    const real = (await getText(gs, BASIC)).text;
    const pkgUrl = /<Uri>([^<]+\.zip)<\/Uri>/.exec((await getText(`${emu.wireUrl}/repo/primary/Test.Sample/manifest.xml`)).text)![1]!;
    const set = (cls: FaultClass, extra: { timeoutMs?: number; slowBodyMs?: number } = {}): void =>
      emu.setRandomFaults({ seed: 7, rates: { goalState: 1, package: 1 }, weights: only(cls), ...extra });

    for (const [cls, status] of [['http500', 500], ['http503', 503], ['http429', 429], ['http410', 410]] as const) {
      set(cls);
      assert.equal((await getText(gs, BASIC)).status, status, cls);
      assert.equal(emu.randomFaultCounts().byClass[cls], 1);
    }
    set('reset');
    assert.match((await rawGet(gs, BASIC)).error ?? '', /socket hang up|ECONNRESET/);

    set('timeout', { timeoutMs: 60_000 });
    const held = await rawGet(gs, BASIC, 300);
    assert.equal(held.error, 'client timeout', 'held until the client gave up');
    set('timeout', { timeoutMs: 50 });
    assert.ok((await rawGet(gs, BASIC)).error, 'dropped once the cap passed');

    set('slowBody', { slowBodyMs: 400 });
    const slow = await rawGet(gs, BASIC);
    assert.equal(slow.body.toString(), real);
    assert.ok(slow.ms >= 300, `trickled (${slow.ms} ms)`);

    set('truncated');
    const cut = await rawGet(gs, BASIC);
    assert.ok(cut.error !== undefined || cut.body.length < Buffer.byteLength(real), 'the connection breaks before the announced length');
    assert.ok(cut.body.length < Buffer.byteLength(real));

    set('malformed');
    const bad = await getText(gs, BASIC);
    assert.equal(bad.status, 200);
    assert.notEqual(bad.text, real);
    assert.ok(real.startsWith(bad.text.slice(0, 20)));

    set('wrongContent');
    assert.equal((await getText(gs, BASIC)).text, real, 'wrong content never applies to a goal state');
    const wrong1 = await rawGet(pkgUrl, {});
    const wrong2 = await rawGet(pkgUrl, {});
    const kinds = [wrong1.body, wrong2.body].map((b) => (b.subarray(0, 2).toString() === 'PK' ? 'zip' : b.toString().includes('<html') ? 'html' : 'other')).sort();
    assert.deepEqual(kinds, ['html', 'zip'], 'a zip that is not a handler package, and an HTML page');

    const counts = emu.randomFaultCounts();
    assert.equal(counts.byKind.package?.wrongContent, 2);
    assert.equal(counts.byKind.goalState?.wrongContent, undefined);
    const recorded = emu.state.requests({ path: '/machine/?comp=goalstate' }).filter((r) => r.fault?.startsWith('random '));
    assert.ok(recorded.length >= 10);

    // Error answers are not made worse by a body fault, and not counted as one.
    emu.setRandomFaults({ seed: 7, rates: { manifest: 1 }, weights: only('malformed') });
    assert.equal((await getText(`${emu.wireUrl}/repo/primary/Nope.Missing/manifest.xml`)).status, 404);
    assert.equal(emu.randomFaultCounts().total, 0);
    emu.setRandomFaults(null);
    assert.equal((await getText(gs, BASIC)).text, real);
  });
});

test('control API: POST, GET and DELETE /__emulator/randomFaults', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const url = `${emu.wireUrl}/__emulator/randomFaults`;
    const post = (body: unknown) => fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    assert.equal((await post({ seed: 1, rates: { goalState: 3 } })).status, 400);
    assert.equal((await post({ seed: 1, rates: { bogus: 0.1 } })).status, 400);
    assert.equal((await post({ seed: 1, rates: { goalState: 1 }, weights: only('http503') })).status, 200);
    assert.equal((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).status, 503);
    const got = (await (await fetch(url)).json()) as { counts: { byClass: Record<string, number> } };
    assert.equal(got.counts.byClass.http503, 1);
    assert.equal((await fetch(url, { method: 'DELETE' })).status, 200);
    assert.equal((await getText(`${emu.wireUrl}/machine/?comp=goalstate`, BASIC)).status, 200);
  });
});
