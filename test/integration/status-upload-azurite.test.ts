// Direct status upload (BlockBlob and PageBlob to a SAS URL) against Azurite, a real blob service, reading the blob back.
//
// Azurite accepts upstream's headers as the agent sends them (x-ms-version 2014-02-14 is in its list of valid API
// versions; with SAS auth x-ms-date is not checked), so it runs WITHOUT --skipApiVersionCheck and WITHOUT --loose:
// a wrong version or an unsupported header would fail here. If an @azure/storage-blob upgrade ever sends a service
// version newer than this Azurite knows, pass flags: ['--skipApiVersionCheck'] to startAzurite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, Logger } from '../../src/deps.js';
import { createHttpClient } from '../../src/protocol/http.js';
import { HostPluginClient } from '../../src/protocol/host-plugin.js';
import { uploadStatus, type StatusUploadDeps } from '../../src/protocol/status-upload.js';
import { createEmulator } from '../../src/emulator/server.js';
import { startAgent, tempRoot } from '../helpers/agent.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';

const clock: Clock = { now: () => Date.now(), sleep: async () => undefined };
const logger: Logger = { verbose() {}, info() {}, warn() {}, error() {}, child: () => logger };

let azurite: Azurite;
let plugin: Server;
let pluginUrl: string;
const pluginPaths: string[] = [];

before(async () => {
  azurite = await startAzurite();
  // A "HostGAPlugin" that does not offer the API: ensureAvailable() is false, so uploads take the direct channel.
  plugin = createServer((req, res) => {
    pluginPaths.push(req.url ?? '');
    req.resume();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => plugin.listen(0, '127.0.0.1', resolve));
  pluginUrl = `http://127.0.0.1:${(plugin.address() as AddressInfo).port}`;
});

after(async () => {
  await azurite?.close();
  plugin?.closeAllConnections();
  await new Promise<void>((resolve) => (plugin ? plugin.close(() => resolve()) : resolve()));
});

function deps(): StatusUploadDeps {
  const http = createHttpClient();
  const hostPlugin = new HostPluginClient({ http, clock, logger, baseUrl: pluginUrl });
  hostPlugin.setIdentity('c0ffee00-0000-4000-8000-000000000001', 'cfg.0.1');
  return { http, clock, logger, hostPlugin, retry: { maxAttempts: 2, retryDelayMs: 1, throttleDelayMs: 1, throttledMinAttempts: 2 } };
}

function statusJson(padLength: number, marker: string): string {
  return JSON.stringify({ version: '1.1', timestampUTC: '2026-11-25T20:00:00Z', marker, aggregateStatus: { pad: 'x'.repeat(padLength) } });
}

async function upload(json: string, url: string, type: 'BlockBlob' | 'PageBlob'): Promise<void> {
  let gone = 0;
  const outcome = await uploadStatus(deps(), json, { url, type }, async () => void gone++);
  assert.equal(outcome, 'direct');
  assert.equal(gone, 0);
}

function expectPaged(content: Buffer, json: string): void {
  const data = Buffer.from(json, 'utf8');
  assert.equal(content.length, Math.ceil(data.length / 512) * 512);
  assert.ok(content.subarray(0, data.length).equals(data), 'blob starts with the JSON');
  const tail = content.subarray(data.length);
  assert.ok(tail.every((b) => b === 0), `padding is ${tail.length} zero bytes`);
}

test('BlockBlob: the direct upload is read back byte for byte, and a second upload overwrites it', async () => {
  const url = await azurite.blobSasUrl('vhds', 'block.status');
  const first = statusJson(3000, 'first é');
  await upload(first, url, 'BlockBlob');
  let blob = await azurite.readBlob('vhds', 'block.status');
  assert.equal(blob.blobType, 'BlockBlob');
  assert.equal(blob.content.toString('utf8'), first);
  assert.equal(blob.contentLength, Buffer.byteLength(first));

  const second = statusJson(10, 'second');
  await upload(second, url, 'BlockBlob');
  blob = await azurite.readBlob('vhds', 'block.status');
  assert.equal(blob.content.toString('utf8'), second);
  assert.equal(blob.contentLength, Buffer.byteLength(second));
  assert.ok(pluginPaths.includes('/versions'), 'the plugin was asked first');
  assert.ok(!pluginPaths.includes('/status'), 'no status was sent to an unavailable plugin');
});

test('PageBlob: the blob is the JSON zero-padded to 512 bytes, re-created smaller by a shorter upload', async () => {
  const url = await azurite.blobSasUrl('vhds', 'page.status');
  const first = statusJson(9 * 1024, 'first');
  assert.notEqual(Buffer.byteLength(first) % 512, 0, 'the fixture needs padding');
  await upload(first, url, 'PageBlob');
  let blob = await azurite.readBlob('vhds', 'page.status');
  assert.equal(blob.blobType, 'PageBlob');
  assert.equal(blob.contentLength, Math.ceil(Buffer.byteLength(first) / 512) * 512);
  expectPaged(blob.content, first);

  const second = statusJson(100, 'second');
  await upload(second, url, 'PageBlob');
  blob = await azurite.readBlob('vhds', 'page.status');
  assert.equal(blob.blobType, 'PageBlob');
  assert.equal(blob.contentLength, 512 * Math.ceil(Buffer.byteLength(second) / 512));
  expectPaged(blob.content, second);
});

test('PageBlob over 4 MiB is written in several page chunks and read back whole', async () => {
  const url = await azurite.blobSasUrl('vhds', 'big.status');
  const json = statusJson(4 * 1024 * 1024 + 700, 'big');
  assert.ok(Buffer.byteLength(json) > 4 * 1024 * 1024);
  await upload(json, url, 'PageBlob');
  const blob = await azurite.readBlob('vhds', 'big.status');
  assert.equal(blob.blobType, 'PageBlob');
  expectPaged(blob.content, json);
});

test('a rejected SAS (no such container) makes the upload fail on both channels', async () => {
  const good = await azurite.blobSasUrl('vhds', 'x.status');
  const bad = good.replace('/vhds/', '/missing-container/');
  const sig = new URL(bad).searchParams.get('sig') ?? 'no sig';
  await assert.rejects(uploadStatus(deps(), '{}', { url: bad, type: 'BlockBlob' }, async () => undefined), (err: Error) => {
    assert.match(err.message, /either channel/);
    assert.match(err.message, /storage answered 4\d\d/);
    assert.ok(!err.message.includes(sig) && !err.message.includes(encodeURIComponent(sig)), 'the SAS signature is not in the error');
    return true;
  });
});

const WIRE_HEADERS = { 'x-ms-agent-name': 'WALinuxAgent', 'x-ms-version': '2012-11-30' };

test('the real agent process uploads its status to Azurite when the HostGAPlugin is unavailable', async () => {
  const url = await azurite.blobSasUrl('vhds', 'agent.status');
  const emu = await createEmulator({ scenario: { extensions: [], statusBlobType: 'PageBlob' } });
  const root = await tempRoot();
  let agent: ReturnType<typeof startAgent> | undefined;
  try {
    // Point the goal state's StatusUploadBlob at Azurite instead of the emulator's own blob store.
    const gs = await (await fetch(`${emu.wireUrl}/machine/?comp=goalstate`, { headers: WIRE_HEADERS })).text();
    const extUrl = /<ExtensionsConfig>([^<]+)<\/ExtensionsConfig>/.exec(gs)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(extUrl, 'goal state names an ExtensionsConfig');
    const ext = await (await fetch(extUrl, { headers: WIRE_HEADERS })).text();
    const xmlUrl = url.replaceAll('&', '&amp;');
    const patched = ext.replace(/(<StatusUploadBlob[^>]*>)[^<]*(<\/StatusUploadBlob>)/, `$1${xmlUrl}$2`);
    assert.notEqual(patched, ext, 'StatusUploadBlob was replaced');
    emu.setDocumentOverride('extensionsConfig', patched);

    agent = startAgent(root, { wireUrl: emu.wireUrl, hostPluginUrl: pluginUrl });
    let parsed: { aggregateStatus?: unknown } | undefined;
    for (let i = 0; i < 300 && !parsed; i++) {
      // Between the page blob's creation and its page writes the blob is all zeros: keep polling.
      const blob = await azurite.readBlob('vhds', 'agent.status').catch(() => undefined);
      try {
        if (blob?.blobType === 'PageBlob') parsed = JSON.parse(blob.content.toString('utf8').replace(/\0+$/, '')) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (!parsed) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(parsed?.aggregateStatus, `agent status reached Azurite; agent output: ${agent.output().slice(-2000)}`);
    assert.equal(emu.state.statusBlobs().length, 0, 'nothing went to the emulator blob store');
    const sig = new URL(url).searchParams.get('sig') ?? 'no sig';
    const log = await agent.log();
    assert.ok(!log.includes(sig) && !log.includes(encodeURIComponent(sig)), 'the SAS signature is not logged');
  } finally {
    await agent?.stop();
    await emu.close();
    await root.cleanup();
  }
});
