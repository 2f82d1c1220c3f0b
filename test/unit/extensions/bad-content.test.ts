// Content that arrives with 200 but is not what was asked for (found by the fault-injection suite): a garbled
// manifest or an HTML page, a package that is not a zip or has no HandlerManifest.json. One bad answer is fetched
// again instead of failing the handler until the next goal state; content that stays bad fails after 3 attempts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { createEmulator, type Emulator } from '../../../src/emulator/server.js';
import { sampleHandlerDir } from '../../../src/emulator/cli.js';
import { manifestUrl } from '../../../src/emulator/urls.js';
import type { Scenario } from '../../../src/emulator/scenario.js';
import { ExtensionError } from '../../../src/errors.js';
import { ArtifactDownloader } from '../../../src/extensions/download.js';
import { CONTENT_ATTEMPTS, downloadPackage, fetchHandlerManifest } from '../../../src/extensions/package.js';
import type { HandlerSpec } from '../../../src/protocol/goal-state.js';
import { createHttpClient } from '../../../src/protocol/http.js';
import type { HostPluginClient } from '../../../src/protocol/host-plugin.js';
import { systemClock } from '../../../src/platform/clock.js';
import type { Logger } from '../../../src/deps.js';
import type { Paths } from '../../../src/state/paths.js';

const NAME = 'Test.Content';
const logger: Logger = { verbose: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => logger };

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, scenario: Scenario): Promise<{ emu: Emulator; downloader: ArtifactDownloader; spec: HandlerSpec; paths: Paths; dir: string }> {
  const emu = await createEmulator({ scenario });
  const dir = mkdtempSync(join(tmpdir(), 'waagent-content-'));
  t.after(async () => {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Direct channel only: the plugin is "unavailable", so every attempt shows in the WireServer's records.
  const hostPlugin = { ensureAvailable: async () => false } as unknown as HostPluginClient;
  const downloader = new ArtifactDownloader({
    http: createHttpClient(), clock: systemClock, random: { random: () => 0 }, logger, hostPlugin, refreshIdentity: async () => {},
    retry: { maxAttempts: 2, retryDelayMs: 1, throttleDelayMs: 1, throttledMinAttempts: 2 },
  });
  const spec: HandlerSpec = {
    name: NAME, version: '1.0.0', state: 'enabled', manifestUris: [manifestUrl(emu.wireUrl, NAME, 'primary')], encodedSignature: null,
    isMultiConfig: false, settings: [], invalidReason: null,
  };
  const paths: Paths = { libDir: dir, extLogDir: join(dir, 'log'), agentLogFile: join(dir, 'waagent.log'), confPath: join(dir, 'waagent.conf'), pidFile: join(dir, 'pid') };
  return { emu, downloader, spec, paths, dir };
}

const ext = (more: Record<string, unknown> = {}): Scenario => ({
  extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: sampleHandlerDir(), ...more }],
});

test('a manifest that does not parse (garbled, an HTML page) is downloaded again', async (t) => {
  const { emu, downloader, spec } = await setup(t, ext());
  emu.injectFault({ path: '/repo/primary/', body: '<PluginVersionManifest><Plugins><Plug', count: 1 });
  emu.injectFault({ path: '/repo/primary/', body: '<!DOCTYPE html><html><body>cached page</body></html>', count: 1 });
  const m = await fetchHandlerManifest(downloader, spec, false);
  assert.deepEqual(m.packages.map((p) => p.version), ['1.0.0']);
  assert.equal(emu.state.requests({ path: '/repo/primary/' }).length, 3);
});

test('a manifest that stays bad fails the handler after CONTENT_ATTEMPTS downloads, naming the parse error', async (t) => {
  const { emu, downloader, spec } = await setup(t, ext());
  emu.injectFault({ path: '/repo/primary/', body: '<html>', count: 100 });
  await assert.rejects(fetchHandlerManifest(downloader, spec, false), (err: unknown) =>
    err instanceof ExtensionError && /^Failed to get ext handler pkgs: .*manifest of Test\.Content/.test(err.message));
  assert.equal(emu.state.requests({ path: '/repo/primary/' }).length, CONTENT_ATTEMPTS);
});

test('a package that is not a zip is downloaded again and unpacked', async (t) => {
  const { emu, downloader, spec, paths, dir } = await setup(t, ext());
  const { packages, url } = await fetchHandlerManifest(downloader, spec, false);
  emu.injectFault({ path: '/repo/pkg/', body: '<html>not a zip</html>', count: 1 });
  const base = join(dir, `${NAME}-1.0.0`);
  await downloadPackage({ downloader, paths, logger }, NAME, packages[0]!, base, { manifestUrl: url, fastTrack: false });
  assert.ok(existsSync(join(base, 'HandlerManifest.json')));
  assert.equal(emu.state.requests({ path: '/repo/pkg/' }).length, 2);
});

test('a zip without HandlerManifest.json is refused like a bad download, and retried a bounded number of times', async (t) => {
  const zipFile = join(mkdtempSync(join(tmpdir(), 'waagent-nomanifest-')), 'p.zip');
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from('hello\n'), 'README.txt');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  writeFileSync(zipFile, Buffer.concat(chunks));
  t.after(() => rmSync(join(zipFile, '..'), { recursive: true, force: true }));
  const { emu, downloader, spec, paths, dir } = await setup(t, ext({ packageZip: zipFile }));
  const { packages, url } = await fetchHandlerManifest(downloader, spec, false);
  const base = join(dir, `${NAME}-1.0.0`);
  await assert.rejects(downloadPackage({ downloader, paths, logger }, NAME, packages[0]!, base, { manifestUrl: url, fastTrack: false }),
    (err: unknown) => err instanceof ExtensionError && /Failed to download artifacts: the package has no HandlerManifest\.json/.test(err.message));
  assert.equal(emu.state.requests({ path: '/repo/pkg/' }).length, CONTENT_ATTEMPTS);
  assert.ok(!existsSync(join(base, 'README.txt')), 'the refused content was removed');
});

test('a package whose download fails outright is not fetched again on top of the downloader retries', async (t) => {
  const { emu, downloader, spec, paths, dir } = await setup(t, ext());
  const { packages, url } = await fetchHandlerManifest(downloader, spec, false);
  emu.injectFault({ path: '/repo/pkg/', status: 404, count: 100 });
  await assert.rejects(downloadPackage({ downloader, paths, logger }, NAME, packages[0]!, join(dir, `${NAME}-1.0.0`), { manifestUrl: url, fastTrack: false }), /Failed to download artifacts/);
  assert.equal(emu.state.requests({ path: '/repo/pkg/' }).length, 1);
});
