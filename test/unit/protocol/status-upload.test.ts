// Status blob upload: the storage requests built for each channel, and uploadStatus against the fabric emulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, Logger } from '../../../src/deps.js';
import { createEmulator, type Emulator } from '../../../src/emulator/server.js';
import { createHttpClient, type RetryPolicy } from '../../../src/protocol/http.js';
import { HostPluginClient, type StorageEnvelope } from '../../../src/protocol/host-plugin.js';
import { directRequests, hostPluginEnvelopes, storageDate, uploadStatus } from '../../../src/protocol/status-upload.js';

const DATE = '2026-11-25T20:00:00Z';
const SAS = 'https://acct.blob.core.windows.net/vhds/vm.status?sv=2018-03-28&sr=b&sp=rw&sig=abc';
const MiB = 1024 * 1024;

/** A JSON document of exactly n bytes. */
function jsonOf(n: number): string {
  const s = `{"a":"${'x'.repeat(n - 8)}"}`;
  assert.equal(Buffer.byteLength(s), n);
  return s;
}

const names = (e: StorageEnvelope) => e.headers.map(([k]) => k);
const header = (e: StorageEnvelope, name: string) => e.headers.find(([k]) => k === name)?.[1];

test('storageDate uses upstream %Y-%m-%dT%H:%M:%SZ (no milliseconds, not RFC 1123)', () => {
  assert.equal(storageDate(Date.UTC(2026, 10, 25, 20, 0, 0, 999)), '2026-11-25T20:00:00Z');
  assert.equal(storageDate(Date.UTC(2026, 0, 2, 3, 4, 5) + 0.75), '2026-01-02T03:04:05Z');
});

test('BlockBlob: one PUT with the JSON bytes and upstream headers, the same on both channels', () => {
  const json = '{"msg":"héllo"}';
  for (const build of [hostPluginEnvelopes, directRequests]) {
    const envs = build(json, SAS, 'BlockBlob', DATE);
    assert.equal(envs.length, 1);
    const [e] = envs as [StorageEnvelope];
    assert.equal(e.requestUri, SAS);
    assert.ok(e.content?.equals(Buffer.from(json, 'utf8')));
    assert.deepEqual(e.headers, [
      ['Content-Length', String(Buffer.byteLength(json))], // bytes, not characters
      ['x-ms-blob-type', 'BlockBlob'],
      ['x-ms-date', DATE],
      ['x-ms-version', '2014-02-14'],
    ]);
  }
});

test('PageBlob via the plugin: create without content, then pages padded with spaces', () => {
  const json = jsonOf(1000);
  const [create, page, ...rest] = hostPluginEnvelopes(json, SAS, 'PageBlob', DATE);
  assert.equal(rest.length, 0);
  assert.ok(create && page);
  assert.equal(create.requestUri, SAS);
  assert.equal(create.content, undefined);
  assert.deepEqual(create.headers, [
    ['Content-Length', '0'], ['x-ms-blob-content-length', '1024'], ['x-ms-blob-type', 'PageBlob'], ['x-ms-date', DATE], ['x-ms-version', '2014-02-14'],
  ]);
  assert.equal(page.requestUri, `${SAS}&comp=page`);
  assert.deepEqual(page.headers, [
    ['Content-Length', '1024'], ['x-ms-date', DATE], ['x-ms-range', 'bytes=0-1023'], ['x-ms-page-write', 'update'], ['x-ms-version', '2014-02-14'],
  ]);
  assert.equal(page.content?.subarray(0, 1000).toString(), json);
  assert.ok(page.content?.subarray(1000).every((b) => b === 0x20), 'space padding');
});

test('PageBlob direct: pages zero-padded, headers in the direct order', () => {
  const json = jsonOf(1000);
  const [create, page, ...rest] = directRequests(json, SAS, 'PageBlob', DATE);
  assert.equal(rest.length, 0);
  assert.ok(create && page);
  assert.equal(create.content, undefined);
  assert.deepEqual(create.headers, [
    ['Content-Length', '0'], ['x-ms-blob-content-length', '1024'], ['x-ms-blob-type', 'PageBlob'], ['x-ms-date', DATE], ['x-ms-version', '2014-02-14'],
  ]);
  assert.deepEqual(page.headers, [
    ['Content-Length', '1024'], ['x-ms-range', 'bytes=0-1023'], ['x-ms-page-write', 'update'], ['x-ms-date', DATE], ['x-ms-version', '2014-02-14'],
  ]);
  assert.equal(page.content?.length, 1024);
  assert.ok(page.content?.subarray(1000).every((b) => b === 0), 'zero padding');
});

test('pages are written in chunks of at most 4 MiB with matching x-ms-range', () => {
  const cases: Array<[number, string[]]> = [
    [512, ['bytes=0-511']],
    [4 * MiB, ['bytes=0-4194303']],
    [4 * MiB + 1000, ['bytes=0-4194303', 'bytes=4194304-4195327']],
    [8 * MiB + 1, ['bytes=0-4194303', 'bytes=4194304-8388607', 'bytes=8388608-8389119']],
  ];
  for (const [size, ranges] of cases) {
    const json = jsonOf(size);
    const total = Math.ceil(size / 512) * 512;
    for (const build of [hostPluginEnvelopes, directRequests]) {
      const [create, ...pages] = build(json, SAS, 'PageBlob', DATE);
      assert.equal(header(create!, 'x-ms-blob-content-length'), String(total), `size ${size}`);
      assert.deepEqual(pages.map((p) => header(p, 'x-ms-range')), ranges, `size ${size}`);
      assert.deepEqual(pages.map((p) => header(p, 'Content-Length')), pages.map((p) => String(p.content?.length)));
      assert.ok(pages.every((p) => (p.content?.length ?? 0) <= 4 * MiB && (p.content?.length ?? 0) % 512 === 0));
      assert.equal(Buffer.concat(pages.map((p) => p.content!)).subarray(0, size).toString(), json);
    }
  }
});

test('comp=page is appended with & to a SAS URL and with ? to a bare URL', () => {
  const bare = 'http://127.0.0.1:1/blob/vm.status';
  for (const build of [hostPluginEnvelopes, directRequests]) {
    assert.equal(build('{}', SAS, 'PageBlob', DATE)[1]?.requestUri, `${SAS}&comp=page`);
    assert.equal(build('{}', bare, 'PageBlob', DATE)[1]?.requestUri, `${bare}?comp=page`);
    assert.deepEqual(names(build('{}', bare, 'PageBlob', DATE)[0]!), ['Content-Length', 'x-ms-blob-content-length', 'x-ms-blob-type', 'x-ms-date', 'x-ms-version']);
  }
});

// ---- uploadStatus against the emulator ----

const clock: Clock = { now: () => Date.now(), sleep: async () => undefined };
const logger: Logger = { verbose() {}, info() {}, warn() {}, error() {}, child: () => logger };
const RETRY: RetryPolicy = { maxAttempts: 3, retryDelayMs: 1, throttleDelayMs: 1, throttledMinAttempts: 3 };

async function withEmu(type: 'BlockBlob' | 'PageBlob', fn: (emu: Emulator, d: ReturnType<typeof depsFor>) => Promise<void>): Promise<void> {
  const emu = await createEmulator({ scenario: { extensions: [], statusBlobType: type } });
  try {
    await fn(emu, depsFor(emu.hostPluginUrl, emu));
  } finally {
    await emu.close();
  }
}

function depsFor(pluginUrl: string, emu: Emulator) {
  const http = createHttpClient();
  const hostPlugin = new HostPluginClient({ http, clock, logger, baseUrl: pluginUrl, retry: RETRY });
  const gs = emu.goalState();
  hostPlugin.setIdentity(gs.containerId, gs.configName);
  const blob = { url: gs.statusBlobUrl, type: gs.statusBlobType };
  return { deps: { http, clock, logger, hostPlugin, retry: RETRY }, blob };
}

const directWrites = (emu: Emulator) => emu.state.requests({ server: 'wire', path: '/blob/' });

for (const type of ['BlockBlob', 'PageBlob'] as const) {
  test(`${type}: the plugin channel is used when available`, async () => {
    await withEmu(type, async (emu, { deps, blob }) => {
      const json = JSON.stringify({ version: '1.1', type });
      assert.equal(await uploadStatus(deps, json, blob, async () => assert.fail('not gone')), 'hostplugin');
      const rec = emu.state.latestStatus();
      assert.equal(rec?.via, 'hostplugin');
      assert.equal(rec?.blobType, type);
      assert.deepEqual(rec?.status, { version: '1.1', type });
      assert.equal(directWrites(emu).length, 0);
    });
  });
}

test('410 from the plugin (stale container id): skipped-gone, onGone called, no direct upload', async () => {
  await withEmu('BlockBlob', async (emu, { deps, blob }) => {
    deps.hostPlugin.setIdentity('00000000-0000-0000-0000-000000000000', emu.goalState().configName);
    let gone = 0;
    assert.equal(await uploadStatus(deps, '{"a":1}', blob, async () => void gone++), 'skipped-gone');
    assert.equal(gone, 1);
    assert.equal(emu.state.statusBlobs().length, 0);
    assert.equal(directWrites(emu).length, 0);
    assert.equal(emu.state.requests({ server: 'hostplugin', path: '/status' }).length, 1, '410 is not retried');
    // A failing refresh is logged, not thrown.
    assert.equal(await uploadStatus(deps, '{"a":1}', blob, async () => { throw new Error('refresh failed'); }), 'skipped-gone');
  });
});

test('400 InvalidContainerConfiguration from the plugin is treated like 410', async () => {
  await withEmu('BlockBlob', async (emu, { deps, blob }) => {
    emu.injectFault({ server: 'hostplugin', path: '/status', status: 400, body: '<Error><Code>InvalidContainerConfiguration</Code></Error>', count: 1 });
    let gone = 0;
    assert.equal(await uploadStatus(deps, '{"a":1}', blob, async () => void gone++), 'skipped-gone');
    assert.equal(gone, 1);
    assert.equal(directWrites(emu).length, 0);
  });
});

test('plugin 500s fall back to the direct channel', async () => {
  await withEmu('PageBlob', async (emu, { deps, blob }) => {
    emu.injectFault({ server: 'hostplugin', path: '/status', status: 500, count: 100 });
    const json = jsonOf(1500);
    assert.equal(await uploadStatus(deps, json, blob, async () => assert.fail('not gone')), 'direct');
    assert.equal(emu.state.requests({ server: 'hostplugin', path: '/status' }).length, RETRY.maxAttempts);
    const rec = emu.state.latestStatus();
    assert.equal(rec?.via, 'direct');
    assert.equal(rec?.blobType, 'PageBlob');
    assert.equal(rec?.text, json);
    assert.deepEqual(directWrites(emu).map((r) => r.status), [201, 201]);
  });
});

test('an unreachable plugin falls back to direct; both channels failing rejects with both reasons', async () => {
  await withEmu('BlockBlob', async (emu, { blob }) => {
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const { deps } = depsFor(closed, emu);
    assert.equal(await uploadStatus(deps, '{"b":2}', blob, async () => undefined), 'direct');
    assert.equal(emu.state.latestStatus()?.via, 'direct');

    emu.injectFault({ server: 'wire', path: '/blob/', status: 404, count: 1 });
    await assert.rejects(uploadStatus(deps, '{"b":3}', blob, async () => undefined), (e: Error) => {
      assert.match(e.message, /^Failed to upload status blob via either channel: HostGAPlugin: .*not available; direct: .*storage answered 404/);
      assert.doesNotMatch(e.message, /sig=[^<&]/, 'SAS signature redacted');
      return true;
    });
  });
});
