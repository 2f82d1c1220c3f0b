import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentManifest } from '../../../src/agent/agent-manifest.js';
import { agentManifestUrl } from '../../../src/emulator/agent-packages.js';
import { Fabric } from '../../../src/emulator/fabric.js';
import { createEmulator } from '../../../src/emulator/server.js';
import { parseExtensionsConfig } from '../../../src/protocol/schemas/extensions-config.js';
import { goodPackage } from './tar-fixture.js';

async function files(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'emu-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = join(dir, 'waagent-ts-0.1.1.tar.gz');
  const b = join(dir, 'WALinuxAgent-9.9.9.zip');
  await writeFile(a, goodPackage('0.1.1'));
  await writeFile(b, 'PK\x03\x04 not really');
  return { a, b, sha: createHash('sha256').update(goodPackage('0.1.1')).digest('hex') };
}

test('GAFamilies: RSM fields written; a family without uris points at the emulator agent manifest once packages exist', async (t) => {
  const { a } = await files(t);
  const fabric = new Fabric({ gaFamilies: [{ name: 'Prod', version: '0.1.1', fromVersion: '0.1.2', isVersionFromRSM: true, isVMEnabledForRSMUpgrades: false }, { name: 'Test', uris: ['http://elsewhere/m.xml'] }] });
  fabric.setBase('http://emu');
  let gs = parseExtensionsConfig(fabric.document('extensionsConfig'), '1');
  assert.deepEqual(gs.gaFamilies[0], { name: 'Prod', version: '0.1.1', fromVersion: '0.1.2', isVersionFromRSM: true, isVMEnabledForRSMUpgrades: false, uris: [] });
  fabric.publish({ agentPackages: [{ version: '0.1.1', packageFile: a }] });
  gs = parseExtensionsConfig(fabric.document('extensionsConfig'), '2');
  assert.deepEqual(gs.gaFamilies.map((f) => f.uris), [[agentManifestUrl('http://emu', 'Prod')], ['http://elsewhere/m.xml']]);
  assert.equal(agentManifestUrl('http://emu', 'Prod'), 'http://emu/repo/agent/manifest/Prod.xml');
});

test('the agent manifest lists the newest packages with their sha256 (computed, given or left out); packages are served as-is', async (t) => {
  const { a, b, sha } = await files(t);
  const emu = await createEmulator({
    scenario: { gaFamilies: [{ name: 'Prod' }], agentPackages: [{ version: '0.1.1', packageFile: a }, { version: '9.9.9', packageFile: b, sha256: false }, { version: '0.1.2', packageFile: a, sha256: 'A'.repeat(64) }] },
  });
  t.after(() => emu.close());
  const res = await fetch(agentManifestUrl(emu.wireUrl, 'Prod'));
  assert.equal(res.status, 200);
  const pkgs = parseAgentManifest(await res.text(), 'agent manifest');
  assert.deepEqual(pkgs.map((p) => [p.version, p.sha256]), [['0.1.1', sha], ['0.1.2', 'a'.repeat(64)], ['9.9.9', null]]);
  assert.equal(pkgs[0]!.uris[0], `${emu.wireUrl}/repo/agent/pkg/0.1.1/waagent-ts-0.1.1.tar.gz`);
  const body = Buffer.from(await (await fetch(pkgs[0]!.uris[0]!)).arrayBuffer());
  assert.deepEqual(body, goodPackage('0.1.1'));
  assert.equal((await fetch(pkgs[2]!.uris[0]!)).status, 200);
  assert.equal((await fetch(`${emu.wireUrl}/repo/agent/manifest/Nope.xml`)).status, 404);
  assert.equal((await fetch(`${emu.wireUrl}/repo/agent/pkg/0.1.9/waagent-ts-0.1.9.tar.gz`)).status, 404);
  // An older package stays downloadable after a publish that drops it from the manifest.
  emu.publish({ agentPackages: [] });
  assert.equal(parseAgentManifest(await (await fetch(agentManifestUrl(emu.wireUrl, 'Prod'))).text(), 'm').length, 0);
  assert.equal((await fetch(pkgs[0]!.uris[0]!)).status, 200);
  emu.injectFault({ path: '/repo/agent/manifest/', status: 503, count: 1 });
  assert.equal((await fetch(agentManifestUrl(emu.wireUrl, 'Prod'))).status, 503);
});
