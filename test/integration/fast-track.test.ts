// The real agent process and Fast Track: vmSettings goal states, ETag caching, fallback to ExtensionsConfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator, type Emulator } from '../../src/emulator/server.js';
import type { Scenario } from '../../src/emulator/scenario.js';
import { eventually, fixtureHandler, runAgainstEmulator, type TempRoot } from '../helpers/agent.js';
import { goalStateStatus, handler } from '../helpers/status.js';

const NAME = 'Test.Recorder';
const ext = (seqNo: number) => ({ name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings: { message: `m${seqNo}` }, packageDir: fixtureHandler('recorder') });

const commands = async (root: TempRoot): Promise<string[]> =>
  (await readFile(join(root.extLogDir, NAME, 'commands.log'), 'utf8').catch(() => ''))
    .trim().split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 2).join(' '));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const features = (status: unknown): string[] => ((status as any)?.supportedFeatures ?? []).map((f: { Key: string }) => f.Key);

const succeeded = (seqNo: number, inSvdSeqNo: string) => (s: unknown) =>
  handler(s, NAME)?.ext?.status === 'success' && handler(s, NAME)?.ext?.sequenceNumber === seqNo && goalStateStatus(s)?.inSvdSeqNo === inSvdSeqNo;

const setup = (t: Parameters<typeof runAgainstEmulator>[0], scenario: Scenario, conf: Record<string, string> = {}) =>
  runAgainstEmulator(t, () => createEmulator({ scenario }), conf);

const vmSettingsRequests = (emu: Emulator) => emu.state.requests({ server: 'hostplugin', path: '/vmSettings' });
const artifactRequests = (emu: Emulator) => emu.state.requests({ server: 'hostplugin', path: '/extensionArtifact' });

test('a Fast Track goal state runs; a vmSettings-only change runs enable again; an unchanged ETag does nothing', async (t) => {
  const { emu, root, agent } = await setup(t, { incarnation: 7, fastTrack: true, extensions: [ext(0)] });
  const vm1 = emu.goalState().vmSettings!;
  const rec = await emu.waitFor(succeeded(0, String(vm1.inSvdSeqNo)), 30_000);
  assert.notEqual(String(vm1.inSvdSeqNo), '7', 'the vmSettings inSvdSeqNo, not the incarnation');
  assert.equal(goalStateStatus(rec.status)?.status, 'Success');
  assert.ok(features(rec.status).includes('FastTrack'), features(rec.status).join());
  assert.match(await readFile(join(root.libDir, 'fast_track.json'), 'utf8'), /^\{"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"\}$/);
  assert.deepEqual(await commands(root), ['install seq=0', 'enable seq=0']);

  assert.equal(emu.publish({ fastTrackOnly: true, extensions: [ext(1)] }), 7);
  const vm2 = emu.goalState().vmSettings!;
  await emu.waitFor(succeeded(1, String(vm2.inSvdSeqNo)), 30_000);
  assert.equal(emu.goalState().incarnation, 7);
  assert.deepEqual(await commands(root), ['install seq=0', 'enable seq=0', 'enable seq=1']);

  // Several more polls: each asks with If-None-Match, gets 304, and nothing runs again.
  const seen = vmSettingsRequests(emu).length;
  await emu.state.waitUntil(() => vmSettingsRequests(emu).length >= seen + 3, 15_000, 'three more vmSettings polls');
  const later = vmSettingsRequests(emu).slice(seen);
  for (const r of later) {
    assert.equal(r.headers['if-none-match'], vm2.etag);
    assert.equal(r.status, 304);
  }
  assert.deepEqual(await commands(root), ['install seq=0', 'enable seq=0', 'enable seq=1']);
  // The first request had no ETag to send; every request carried the plugin identity.
  const all = vmSettingsRequests(emu);
  assert.equal(all[0]!.headers['if-none-match'], undefined);
  assert.ok(all.every((r) => r.headers['x-ms-containerid'] === emu.goalState().containerId));
  const log = await agent.log();
  assert.match(log, new RegExp(`Fetched new vmSettings \\[HostGAPlugin correlation ID: [0-9a-f-]{36} eTag: ${vm2.etag} source: FastTrack\\]`));
  assert.match(log, /ProcessExtensionsGoalState started \[etag_\d+ channel: HostGAPlugin source: FastTrack/);
});

test('artifact requests through the plugin carry x-ms-verify-from-artifacts-blob for a Fast Track goal state', async (t) => {
  const { emu } = await setup(t, { fastTrack: true, extensions: [ext(0)] });
  // The direct channel (blob URLs on the WireServer port) fails, so manifests and packages come through the plugin.
  emu.injectFault({ path: '/repo/', server: 'wire', status: 404, count: 10_000 });
  await emu.waitFor(succeeded(0, String(emu.goalState().vmSettings!.inSvdSeqNo)), 30_000);
  const reqs = artifactRequests(emu);
  assert.ok(reqs.some((r) => r.headers['x-ms-artifact-location']?.endsWith('manifest.xml')), 'manifest via the plugin');
  assert.ok(reqs.some((r) => r.headers['x-ms-artifact-location']?.endsWith('.zip')), 'package via the plugin');
  for (const r of reqs) assert.equal(r.headers['x-ms-verify-from-artifacts-blob'], 'true', r.headers['x-ms-artifact-location']);
});

test('a plugin answering 404: ExtensionsConfig is used, vmSettings are not asked again, no FastTrack feature', async (t) => {
  const { emu, agent } = await setup(t, { incarnation: 3, extensions: [ext(0)] });
  emu.injectFault({ path: '/repo/', server: 'wire', status: 404, count: 10_000 });
  const rec = await emu.waitFor(succeeded(0, '3'), 30_000);
  assert.ok(!features(rec.status).includes('FastTrack'));
  const polls = emu.state.requests({ path: '/machine/?comp=goalstate' }).length;
  await emu.state.waitUntil(() => emu.state.requests({ path: '/machine/?comp=goalstate' }).length >= polls + 3, 15_000, 'three more polls');
  assert.deepEqual(vmSettingsRequests(emu).map((r) => r.status), [404]);
  // Artifacts of a WireServer goal state go through the plugin without the verify header.
  assert.ok(artifactRequests(emu).length > 0);
  for (const r of artifactRequests(emu)) assert.equal(r.headers['x-ms-verify-from-artifacts-blob'], undefined);
  assert.match(await agent.log(), /HostGAPlugin 0\.0\.0\.0 does not support the vmSettings API\. Will not use FastTrack\./);
});

test('Debug.EnableFastTrack=n: vmSettings are never asked for, even when offered', async (t) => {
  const { emu, root } = await setup(t, { incarnation: 4, fastTrack: true, extensions: [ext(0)] }, { 'Debug.EnableFastTrack': 'n' });
  const rec = await emu.waitFor(succeeded(0, '4'), 30_000);
  assert.ok(!features(rec.status).includes('FastTrack'));
  await eventually(() => emu.state.requests({ path: '/machine/?comp=goalstate' }).length >= 3, 15_000, 'a few polls');
  assert.equal(vmSettingsRequests(emu).length, 0);
  assert.deepEqual(await commands(root), ['install seq=0', 'enable seq=0']);
});
