import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import yauzl from 'yauzl';
import { sampleHandlerDir } from '../../../src/emulator/cli.js';
import { BASIC, getText, goalStateUrls, parseXml, sampleScenario, withEmulator, withTempDir } from './helpers.js';

interface ZipEntryInfo {
  name: string;
  mode: number;
  text: string;
}

async function readZip(buf: Buffer): Promise<ZipEntryInfo[]> {
  const zip = await yauzl.fromBufferPromise(buf, { lazyEntries: true });
  const out: ZipEntryInfo[] = [];
  for await (const entry of zip.eachEntry()) {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    out.push({ name: entry.fileName, mode: (entry.externalFileAttributes >>> 16) & 0o777, text: Buffer.concat(chunks).toString('utf8') });
  }
  return out;
}

async function manifestOf(emu: { wireUrl: string }, url: string): Promise<Array<{ version: string; uri: string }>> {
  const r = await getText(url);
  assert.equal(r.status, 200);
  const plugins = parseXml(r.text).PluginVersionManifest.Plugins.Plugin;
  return (Array.isArray(plugins) ? plugins : [plugins]).map((p: any) => ({ version: p.Version, uri: p.Uris.Uri }));
}

test('manifest lists the version; the zip is valid and holds HandlerManifest.json and an executable script', async () => {
  await withEmulator(sampleScenario(), async (emu) => {
    const ext = parseXml((await getText((await goalStateUrls(emu)).ExtensionsConfig as string, BASIC)).text).Extensions;
    const plugins = await manifestOf(emu, ext.Plugins.Plugin['@location']);
    assert.deepEqual(plugins.map((p) => p.version), ['1.0.0']);
    const res = await fetch(plugins[0]?.uri as string);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const zipBytes = Buffer.from(await res.arrayBuffer());
    const entries = await readZip(zipBytes);
    const manifest = entries.find((e) => e.name === 'HandlerManifest.json');
    assert.ok(manifest, 'HandlerManifest.json in zip');
    const hm = JSON.parse(manifest.text) as Array<{ handlerManifest: { enableCommand: string } }>;
    assert.equal(hm[0]?.handlerManifest.enableCommand, 'bin/sample.sh enable');
    const script = entries.find((e) => e.name === 'bin/sample.sh');
    assert.ok(script && (script.mode & 0o100) !== 0, 'script keeps its executable bit');
    // Cached: the same bytes come back.
    assert.deepEqual(Buffer.from(await (await fetch(plugins[0]?.uri as string)).arrayBuffer()), zipBytes);
  });
});

test('availableVersions are all listed; failPrimaryManifest makes only the failover location work', async () => {
  await withTempDir(async (dir) => {
    const zipPath = join(dir, 'hostile.zip');
    await writeFile(zipPath, 'this is not a zip');
    const scenario = sampleScenario({
      extensions: [
        {
          name: 'Test.Multi', version: '1.1.0', state: 'enabled', seqNo: 0, packageDir: sampleHandlerDir(), failPrimaryManifest: true,
          availableVersions: [{ version: '1.0.0', packageZip: zipPath }],
        },
      ],
    });
    await withEmulator(scenario, async (emu) => {
      assert.equal((await getText(`${emu.wireUrl}/repo/primary/Test.Multi/manifest.xml`)).status, 404);
      const plugins = await manifestOf(emu, `${emu.wireUrl}/repo/failover/Test.Multi/manifest.xml`);
      assert.deepEqual(plugins.map((p) => p.version).sort(), ['1.0.0', '1.1.0']);
      const old = plugins.find((p) => p.version === '1.0.0');
      assert.equal(await (await fetch(old?.uri as string)).text(), 'this is not a zip');
      assert.equal((await getText(`${emu.wireUrl}/repo/pkg/Test.Multi/9.9/Test.Multi__9.9.zip`)).status, 404);
    });
  });
});

test('zips are built from any handler folder, nested files included', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'h', 'lib', 'deep'), { recursive: true });
    await writeFile(join(dir, 'h', 'HandlerManifest.json'), '[]');
    await writeFile(join(dir, 'h', 'lib', 'deep', 'x.sh'), 'echo x');
    await chmod(join(dir, 'h', 'lib', 'deep', 'x.sh'), 0o755);
    const scenario = { extensions: [{ name: 'A.B', version: '2.0', state: 'enabled' as const, seqNo: 0, packageDir: join(dir, 'h') }] };
    await withEmulator(scenario, async (emu) => {
      const r = await fetch(`${emu.wireUrl}/repo/pkg/A.B/2.0/A.B__2.0.zip`);
      const entries = await readZip(Buffer.from(await r.arrayBuffer()));
      assert.deepEqual(entries.map((e) => e.name).sort(), ['HandlerManifest.json', 'lib/deep/x.sh']);
      assert.equal(entries.find((e) => e.name === 'lib/deep/x.sh')?.mode, 0o755);
    });
  });
});

test('a scenario extension without any package is refused', async () => {
  await assert.rejects(
    withEmulator({ extensions: [{ name: 'A.B', version: '1', state: 'enabled', seqNo: 0 }] }, async () => undefined),
    /needs packageDir or packageZip/,
  );
});
