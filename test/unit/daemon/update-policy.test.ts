import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GAFamily } from '../../../src/protocol/goal-state.js';
import { isHotfix, nextUpdateMode, rsmDecision, selfUpdateDelayMs } from '../../../src/agent/update-policy.js';
import { findAgentPackage, highestAgentPackage, parseAgentManifest } from '../../../src/agent/agent-manifest.js';

const fam = (f: Partial<GAFamily> = {}): GAFamily => ({
  name: 'Prod', version: null, fromVersion: null, isVersionFromRSM: null, isVMEnabledForRSMUpgrades: null, uris: ['http://x/m.xml'], ...f,
});

test('update mode: RSM when governance is on and the VM is enabled; unknown keeps the mode', () => {
  assert.equal(nextUpdateMode('SelfUpdate', fam({ isVMEnabledForRSMUpgrades: true }), true), 'RSM');
  assert.equal(nextUpdateMode('SelfUpdate', fam({ isVMEnabledForRSMUpgrades: true }), false), 'SelfUpdate');
  assert.equal(nextUpdateMode('RSM', fam({ isVMEnabledForRSMUpgrades: false }), true), 'SelfUpdate');
  assert.equal(nextUpdateMode('RSM', fam(), true), 'RSM');
  assert.equal(nextUpdateMode('SelfUpdate', fam(), true), 'SelfUpdate');
});

test('RSM target: upgrade, downgrade only from FromVersion, never below the daemon, nothing when already running', () => {
  const rsm = (f: Partial<GAFamily>, current = '0.1.2', daemon = '0.1.0') => rsmDecision(fam({ isVersionFromRSM: true, ...f }), current, daemon);
  assert.deepEqual(rsm({ version: '0.1.3' }), { kind: 'update', target: '0.1.3', downgrade: false });
  assert.deepEqual(rsm({ version: '0.1.1', fromVersion: '0.1.2' }), { kind: 'update', target: '0.1.1', downgrade: true });
  assert.match((rsm({ version: '0.1.1', fromVersion: '0.1.5' }) as { message: string }).message, /FromVersion 0\.1\.5 is not the current version 0\.1\.2/);
  assert.match((rsm({ version: '0.1.1' }) as { message: string }).message, /FromVersion \(none\)/);
  assert.match((rsm({ version: '0.0.9', fromVersion: '0.1.2' }) as { message: string }).message, /below the daemon version 0\.1\.0/);
  assert.equal(rsm({ version: '0.1.2' }).kind, 'none');
  assert.equal(rsmDecision(fam({ version: '0.1.3', isVersionFromRSM: false }), '0.1.2', '0.1.0').kind, 'none');
  assert.match((rsm({}) as { message: string }).message, /Missing requested version/);
  assert.match((rsm({ version: 'x.y' }) as { message: string }).message, /Invalid requested version x\.y/);
});

test('self-update delay: hotfix period when major.minor.patch are equal, else the regular one', () => {
  assert.equal(isHotfix('1.2.3.4', '1.2.3.1'), true);
  assert.equal(isHotfix('1.2.4', '1.2.3'), false);
  const periods = { hotfixSec: 100, regularSec: 1000 };
  assert.equal(selfUpdateDelayMs('1.2.3.4', '1.2.3', 0.5, periods), 50_000);
  assert.equal(selfUpdateDelayMs('1.3.0', '1.2.3', 0.5, periods), 500_000);
  assert.equal(selfUpdateDelayMs('1.3.0', '1.2.3', 0, periods), 0);
});

const MANIFEST = `<?xml version="1.0" encoding="utf-8"?>
<PluginVersionManifest>
  <Plugins>
    <Plugin><Version>0.1.10</Version><Uris><Uri>http://r/0.1.10</Uri></Uris><Sha256>${'AB'.repeat(32)}</Sha256></Plugin>
    <Plugin><Version>0.1.2</Version><Uris><Uri>http://r/0.1.2a</Uri><Uri>http://r/0.1.2b</Uri></Uris></Plugin>
    <Plugin><Version>0.2.0</Version><Uris></Uris></Plugin>
  </Plugins>
  <InternalPlugins />
</PluginVersionManifest>`;

test('agent manifest: versions sorted, optional Sha256 per package, exact-version lookup, highest with a URI', () => {
  const pkgs = parseAgentManifest(MANIFEST, 'agent manifest');
  assert.deepEqual(pkgs.map((p) => [p.version, p.sha256]), [['0.1.2', null], ['0.1.10', 'ab'.repeat(32)], ['0.2.0', null]]);
  assert.equal(highestAgentPackage(pkgs)?.version, '0.1.10');
  assert.deepEqual(findAgentPackage(pkgs, '0.1.2')?.uris, ['http://r/0.1.2a', 'http://r/0.1.2b']);
  assert.equal(findAgentPackage(pkgs, '0.1'), null, 'no prefix matching for agents');
  assert.equal(findAgentPackage(pkgs, '0.2.0'), null, 'no URI');
  assert.throws(() => parseAgentManifest(MANIFEST.replace('AB'.repeat(32), 'zz'), 'agent manifest'), /Cannot parse agent manifest as Plugins\/Plugin\[0\]\/Sha256/);
  assert.throws(() => parseAgentManifest('<PluginVersionManifest><Plugins><Plugin><Version>x</Version></Plugin></Plugins></PluginVersionManifest>', 'agent manifest'), /Cannot parse agent manifest/);
});
