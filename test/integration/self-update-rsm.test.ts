// RSM (versioning governance) for real: the goal state requests a version and the agent honours it, downgrade
// included; a package that is not a waagent-ts package (an upstream zip) is refused and never run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { AGENT_VERSION } from '../../src/version.js';
import { eventually, tempRoot } from '../helpers/agent.js';
import { buildZip } from '../helpers/zip.js';
import { UPDATE_CONF, agentPackage, agentVersionOf, nextVersions, startDaemon } from './daemon-harness.js';

const [X1, X2, X3] = nextVersions(AGENT_VERSION, 3) as [string, string, string];
const starts = (log: string, v: string) => log.split('\n').filter((l) => l.includes(`Daemon Daemon Starting agent waagent-ts-${v} `)).length;
/** guestAgentStatus.updateStatus of a status blob (present only in RSM mode). */
const updateStatusOf = (s: unknown) => (s as { aggregateStatus?: { guestAgentStatus?: { updateStatus?: { expectedVersion: string; status: string; code: number; formattedMessage: { lang: string; message: string } } } } })
  ?.aggregateStatus?.guestAgentStatus?.updateStatus;
const rsm = (version: string, fromVersion?: string) => ({
  gaFamilies: [{ name: 'Prod', isVMEnabledForRSMUpgrades: true, isVersionFromRSM: true, version, ...(fromVersion ? { fromVersion } : {}) }],
});

test('RSM: the requested version runs, downgrade included; an upstream zip is refused; a request re-admits a blacklisted version', async (t) => {
  const packages = Promise.all([agentPackage(X1), agentPackage(X2)]);
  packages.catch(() => undefined); // awaited below
  const emu = await createEmulator({ scenario: { gaFamilies: [{ name: 'Prod' }], extensions: [] } });
  const root = await tempRoot(UPDATE_CONF);
  const d = startDaemon(root, emu);
  t.after(async () => {
    d.kill();
    await emu.close();
    await root.cleanup();
  });
  await emu.waitFor((s) => agentVersionOf(s) === AGENT_VERSION, 30_000);
  const [p1, p2] = await packages;
  const upstreamZip = join(root.dir, `WALinuxAgent-${X3}.zip`);
  await writeFile(upstreamZip, await buildZip([
    { name: 'HandlerManifest.json', data: JSON.stringify([{ name: 'WALinuxAgent', version: 1.0, handlerManifest: { enableCommand: `python -u bin/WALinuxAgent-${X3}-py3.12.egg -run-exthandlers` } }]) },
    { name: `bin/WALinuxAgent-${X3}-py3.12.egg`, data: 'not python either' },
  ]));
  const all = [{ version: X1, packageFile: p1 }, { version: X2, packageFile: p2 }, { version: X3, packageFile: upstreamZip }];

  // The first update is always a self-update to the newest waagent-ts package... (X3 is first refused as a zip).
  emu.publish({ agentPackages: all.slice(0, 2) });
  const selfUpdated = await emu.waitFor((s) => agentVersionOf(s) === X2, 30_000);
  assert.equal(updateStatusOf(selfUpdated.status), undefined, 'no updateStatus in self-update mode');
  const features = (selfUpdated.status as { supportedFeatures: Array<{ Key: string }> }).supportedFeatures.map((f) => f.Key);
  assert.ok(features.includes('VersioningGovernance'), `VersioningGovernance advertised: ${features.join(',')}`);

  // ...then RSM asks for X1 from X2: a downgrade; X2 is blacklisted so the daemon runs X1.
  emu.publish({ ...rsm(X1, X2), agentPackages: all });
  const downgraded = await emu.waitFor((s) => agentVersionOf(s) === X1, 30_000);
  // Running the requested version: Success/0, expectedVersion = the running version.
  assert.deepEqual(updateStatusOf(downgraded.status), { expectedVersion: X1, status: 'Success', code: 0, formattedMessage: { lang: 'en-US', message: '' } });
  await access(join(root.libDir, 'waagent_rsm_update'));
  const x2 = JSON.parse(await readFile(join(root.libDir, `waagent-ts-${X2}`, 'error.json'), 'utf8'));
  assert.equal(x2.was_fatal, true);
  assert.match(x2.reason, new RegExp(`replaced by a downgrade to ${X1.replace(/\./g, '\\.')} requested by RSM in goal state incarnation_3`));
  assert.match(await d.log(), new RegExp(`New agent version:${X1} requested by RSM in Goal state incarnation_3`));

  // RSM asks for X3, an upstream zip: refused, never unpacked nor run; X1 keeps reporting.
  const mark = emu.state.statusBlobs().at(-1)!.seq;
  emu.publish(rsm(X3));
  await emu.waitFor((s) => agentVersionOf(s) === X1, 30_000, { after: mark });
  // The refusal reaches the fabric: Error/1 with the reason, X1 still the running (expected) version.
  const failed = await emu.waitFor((s) => updateStatusOf(s)?.status === 'Error', 30_000, { after: mark });
  const us = updateStatusOf(failed.status)!;
  assert.equal(agentVersionOf(failed.status), X1);
  assert.equal(us.expectedVersion, X1);
  assert.equal(us.code, 1);
  assert.match(us.formattedMessage.message, new RegExp(`^\\[RSM\\] Cannot install agent package waagent-ts-${X3.replace(/\./g, '\\.')} as it is a zip`));
  const refused = await eventually(async () => /WARNING ExtHandler ExtHandler \[RSM\] Cannot install agent package (\S+) as it is a zip \(an upstream WALinuxAgent package\?\), not a waagent-ts package/.exec(await d.log()), 15_000, 'the refusal');
  assert.equal(refused[1], `waagent-ts-${X3}`);
  await assert.rejects(access(join(root.libDir, `waagent-ts-${X3}`)));
  await assert.rejects(access(join(root.libDir, `waagent-ts-${X3}.tar.gz`)));
  assert.equal(starts(await d.log(), X3), 0);

  // An explicit request for the blacklisted X2 gives it another chance.
  const mark2 = emu.state.statusBlobs().at(-1)!.seq;
  emu.publish(rsm(X2));
  const readmitted = await emu.waitFor((s) => agentVersionOf(s) === X2, 30_000, { after: mark2 });
  assert.deepEqual(updateStatusOf(readmitted.status), { expectedVersion: X2, status: 'Success', code: 0, formattedMessage: { lang: 'en-US', message: '' } });
  await assert.rejects(access(join(root.libDir, `waagent-ts-${X2}`, 'error.json')));
  assert.deepEqual(JSON.parse(await readFile(join(root.libDir, `waagent-ts-${X2}`, 'update_attempt.json'), 'utf8')), { count: 2 });
  assert.equal((await d.stop()).code, 0);
});
