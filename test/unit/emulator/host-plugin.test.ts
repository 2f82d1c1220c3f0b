import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getText, hgapHeaders, sampleScenario, statusEnvelope, withEmulator, xmsDate } from './helpers.js';

const STATUS = JSON.stringify({ version: '1.1', aggregateStatus: { guestAgentStatus: { status: 'Ready' } } });

test('versions, health and vmSettings (Fast Track unsupported)', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const v = await getText(`${emu.hostPluginUrl}/versions`, { 'x-ms-containerid': emu.goalState().containerId });
    assert.equal(v.status, 200);
    assert.deepEqual(JSON.parse(v.text), ['2015-09-01']);
    assert.equal((await getText(`${emu.hostPluginUrl}/health`)).status, 200);
    assert.equal((await getText(`${emu.hostPluginUrl}/vmSettings`, hgapHeaders(emu))).status, 404);
  });
});

test('PUT /status applies a BlockBlob envelope to the blob store', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const data = Buffer.from(STATUS);
    const body = statusEnvelope(emu.goalState().statusBlobUrl, [
      ['Content-Length', String(data.length)], ['x-ms-blob-type', 'BlockBlob'], ['x-ms-date', xmsDate()], ['x-ms-version', '2014-02-14'],
    ], data);
    const r = await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers: hgapHeaders(emu, { 'Content-Type': 'application/json' }), body });
    assert.equal(r.status, 200);
    const rec = emu.state.latestStatus();
    assert.equal(rec?.via, 'hostplugin');
    assert.equal(rec?.blobType, 'BlockBlob');
    assert.deepEqual(rec?.status, JSON.parse(STATUS));
    assert.equal(emu.state.requests({ server: 'hostplugin', path: '/status' })[0]?.upstreamStatus, 201);
  });
});

test('PUT /status applies PageBlob envelopes (create, then space-padded pages)', async () => {
  await withEmulator(sampleScenario({ statusBlobType: 'PageBlob' }), async (emu) => {
    const url = emu.goalState().statusBlobUrl;
    const padded = Buffer.alloc(512, 0x20);
    padded.write(STATUS);
    const headers = hgapHeaders(emu, { 'Content-Type': 'application/json' });
    const create = statusEnvelope(url, [
      ['Content-Length', '0'], ['x-ms-blob-content-length', '512'], ['x-ms-blob-type', 'PageBlob'], ['x-ms-date', xmsDate()], ['x-ms-version', '2014-02-14'],
    ]);
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers, body: create })).status, 200);
    const pages = statusEnvelope(`${url}&comp=page`, [
      ['Content-Length', '512'], ['x-ms-date', xmsDate()], ['x-ms-range', 'bytes=0-511'], ['x-ms-page-write', 'update'], ['x-ms-version', '2014-02-14'],
    ], padded);
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers, body: pages })).status, 200);
    const rec = emu.state.latestStatus();
    assert.equal(rec?.blobType, 'PageBlob');
    assert.equal(rec?.via, 'hostplugin');
    assert.equal(rec?.text, STATUS);
  });
});

test('PUT /status: stale container id is 410, missing identity 400, bad upstream request 502', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const data = Buffer.from(STATUS);
    const good = [['Content-Length', String(data.length)], ['x-ms-blob-type', 'BlockBlob'], ['x-ms-date', xmsDate()], ['x-ms-version', '2014-02-14']] as Array<[string, string]>;
    const body = statusEnvelope(emu.goalState().statusBlobUrl, good, data);
    const json = { 'Content-Type': 'application/json' };
    const stale = hgapHeaders(emu, { ...json, 'x-ms-containerid': 'old-container' });
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers: stale, body })).status, 410);
    const oldHeaders = hgapHeaders(emu, json);
    emu.publish({ containerId: 'new-container' });
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers: oldHeaders, body })).status, 410);
    const { 'x-ms-host-config-name': _n, ...noName } = hgapHeaders(emu, json);
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers: noName, body })).status, 400);
    const headers = hgapHeaders(emu, json);
    const wrongLength = statusEnvelope(emu.goalState().statusBlobUrl, [['Content-Length', '1'], ...good.slice(1)], data);
    const r = await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers, body: wrongLength });
    assert.equal(r.status, 502);
    assert.match(await r.text(), /storage returned 400/);
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers, body: '{"requestUri": 5}' })).status, 400);
    assert.equal(emu.state.statusBlobs().length, 0);
    assert.equal((await fetch(`${emu.hostPluginUrl}/status`, { method: 'PUT', headers, body })).status, 200);
    assert.equal(emu.state.statusBlobs().length, 1);
  });
});

test('GET /extensionArtifact proxies the repository bytes', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const pkgUrl = `${emu.wireUrl}/repo/pkg/Test.Sample/1.0.0/Test.Sample__1.0.0.zip`;
    const direct = Buffer.from(await (await fetch(pkgUrl)).arrayBuffer());
    const viaPlugin = await fetch(`${emu.hostPluginUrl}/extensionArtifact`, { headers: hgapHeaders(emu, { 'x-ms-artifact-location': pkgUrl }) });
    assert.equal(viaPlugin.status, 200);
    assert.deepEqual(Buffer.from(await viaPlugin.arrayBuffer()), direct);
    const manifest = await fetch(`${emu.hostPluginUrl}/extensionArtifact`, {
      headers: hgapHeaders(emu, { 'x-ms-artifact-location': `${emu.wireUrl}/repo/failover/Test.Sample/manifest.xml` }),
    });
    assert.match(await manifest.text(), /<PluginVersionManifest/);
    const unknown = await fetch(`${emu.hostPluginUrl}/extensionArtifact`, { headers: hgapHeaders(emu, { 'x-ms-artifact-location': `${emu.wireUrl}/repo/pkg/No.Such/1.0/No.Such__1.0.zip` }) });
    assert.equal(unknown.status, 404);
    assert.equal((await fetch(`${emu.hostPluginUrl}/extensionArtifact`, { headers: hgapHeaders(emu) })).status, 400);
    assert.equal((await fetch(`${emu.hostPluginUrl}/extensionArtifact`, { headers: hgapHeaders(emu, { 'x-ms-artifact-location': 'not a url' }) })).status, 400);
    const stale = await fetch(`${emu.hostPluginUrl}/extensionArtifact`, { headers: hgapHeaders(emu, { 'x-ms-artifact-location': pkgUrl, 'x-ms-containerid': 'stale' }) });
    assert.equal(stale.status, 410);
  });
});
