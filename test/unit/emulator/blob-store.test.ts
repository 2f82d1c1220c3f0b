import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleScenario, uploadDirect, withEmulator, xmsDate } from './helpers.js';

const STATUS = { version: '1.1', timestampUTC: '2025-01-15T10:20:36Z', aggregateStatus: { guestAgentStatus: { status: 'Ready' } } };

test('block blob PUT round trip records the status as direct', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const statuses = await uploadDirect(emu.goalState().statusBlobUrl, JSON.stringify(STATUS), 'BlockBlob');
    assert.deepEqual(statuses, [201]);
    const rec = emu.state.latestStatus();
    assert.equal(rec?.via, 'direct');
    assert.equal(rec?.blobType, 'BlockBlob');
    assert.equal(rec?.incarnation, 1);
    assert.deepEqual(rec?.status, STATUS);
    assert.equal(rec?.parseError, null);
    // The recorded request path never contains the signature.
    const put = emu.state.requests({ method: 'PUT' })[0];
    assert.match(put?.path ?? '', /sig=REDACTED/);
  });
});

test('page blob create + page write round trip trims the NUL padding', async () => {
  await withEmulator(sampleScenario({ statusBlobType: 'PageBlob' }), async (emu) => {
    const json = JSON.stringify(STATUS);
    const statuses = await uploadDirect(emu.goalState().statusBlobUrl, json, 'PageBlob');
    assert.deepEqual(statuses, [201, 201]);
    const rec = emu.state.latestStatus();
    assert.equal(rec?.blobType, 'PageBlob');
    assert.equal(rec?.text, json);
    assert.deepEqual(rec?.status, STATUS);
  });
});

test('a page write that does not reach the end of the blob records nothing yet', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const url = emu.goalState().statusBlobUrl;
    const common = { 'x-ms-date': xmsDate(), 'x-ms-version': '2014-02-14' };
    const create = await fetch(url, { method: 'PUT', headers: { ...common, 'x-ms-blob-type': 'PageBlob', 'x-ms-blob-content-length': '1024' } });
    assert.equal(create.status, 201);
    const first = Buffer.alloc(512, 0x20);
    first.write('{"a": 1');
    const p1 = await fetch(`${url}&comp=page`, { method: 'PUT', body: first, headers: { ...common, 'x-ms-range': 'bytes=0-511', 'x-ms-page-write': 'update' } });
    assert.equal(p1.status, 201);
    assert.equal(emu.state.statusBlobs().length, 0);
    const second = Buffer.alloc(512, 0x20);
    second.write('}');
    const p2 = await fetch(`${url}&comp=page`, { method: 'PUT', body: second, headers: { ...common, 'x-ms-range': 'bytes=512-1023', 'x-ms-page-write': 'update' } });
    assert.equal(p2.status, 201);
    assert.deepEqual(emu.state.latestStatus()?.status, { a: 1 });
  });
});

test('bad storage requests are rejected so client bugs show', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const url = emu.goalState().statusBlobUrl;
    const ok = { 'x-ms-date': xmsDate(), 'x-ms-version': '2014-02-14', 'x-ms-blob-type': 'BlockBlob' };
    const put = (u: string, headers: Record<string, string>, body: NonNullable<RequestInit['body']> = '{}') => fetch(u, { method: 'PUT', headers, body }).then((r) => r.status);
    const { 'x-ms-version': _v, ...noVersion } = ok;
    const { 'x-ms-date': _d, ...noDate } = ok;
    const { 'x-ms-blob-type': _t, ...noType } = ok;
    assert.equal(await put(url, noVersion), 400);
    assert.equal(await put(url, noDate), 400);
    assert.equal(await put(url, noType), 400);
    assert.equal(await put(url, { ...ok, 'x-ms-date': 'yesterday' }), 400);
    assert.equal(await put(url.replace(/sig=[^&]*/, 'sig=wrong'), ok), 403);
    assert.equal(await put(url.split('?')[0] as string, ok), 403);
    // Page blob rules: size multiple of 512, empty create body, aligned ranges within the blob.
    const page = { ...ok, 'x-ms-blob-type': 'PageBlob' };
    assert.equal(await put(url, { ...page, 'x-ms-blob-content-length': '100' }, ''), 400);
    assert.equal(await put(url, { ...page, 'x-ms-blob-content-length': '512' }, 'x'), 400);
    assert.equal(await put(url, { ...page, 'x-ms-blob-content-length': '512' }, ''), 201);
    const w = { 'x-ms-date': xmsDate(), 'x-ms-version': '2014-02-14', 'x-ms-page-write': 'update' };
    assert.equal(await put(`${url}&comp=page`, { ...w, 'x-ms-range': 'bytes=0-99' }, Buffer.alloc(100)), 416);
    assert.equal(await put(`${url}&comp=page`, { ...w, 'x-ms-range': 'bytes=512-1023' }, Buffer.alloc(512)), 416);
    assert.equal(await put(`${url}&comp=page`, { ...w, 'x-ms-range': 'bytes=0-511' }, Buffer.alloc(100)), 400);
    assert.equal(await put(`${url}&comp=page`, { ...w }, Buffer.alloc(512)), 400);
    assert.equal(emu.state.statusBlobs().length, 0);
    assert.equal((await fetch(url)).status, 405);
  });
});

test('unparsable status JSON is recorded with its parse error', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    assert.deepEqual(await uploadDirect(emu.goalState().statusBlobUrl, '{"broken', 'BlockBlob'), [201]);
    const rec = emu.state.latestStatus();
    assert.equal(rec?.status, null);
    assert.ok(rec?.parseError);
  });
});
