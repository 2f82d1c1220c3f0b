// GoalStateFetcher with vmSettings against the in-process emulator: which extensions goal state each poll yields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../src/deps.js';
import { createEmulator, type Emulator } from '../../../src/emulator/server.js';
import { sampleHandlerDir } from '../../../src/emulator/cli.js';
import type { Scenario, ScenarioExtension } from '../../../src/emulator/scenario.js';
import { createHttpClient } from '../../../src/protocol/http.js';
import { HostPluginClient } from '../../../src/protocol/host-plugin.js';
import { WireClient } from '../../../src/protocol/wire-client.js';
import { systemClock } from '../../../src/platform/clock.js';
import type { Paths } from '../../../src/state/paths.js';
import { GoalStateFetcher } from '../../../src/agent/goal-state-fetcher.js';
import { FAST_TRACK_FILE, VmSettingsFetcher } from '../../../src/agent/vm-settings-fetcher.js';

const ext = (seqNo: number): ScenarioExtension => ({ name: 'Test.Sample', version: '1.0.0', state: 'enabled', seqNo, publicSettings: { message: `m${seqNo}` }, packageDir: sampleHandlerDir() });

interface Rig {
  emu: Emulator;
  fetcher: GoalStateFetcher;
  vm: VmSettingsFetcher;
  libDir: string;
  lines: string[];
  vmRequests(): Array<{ status: number; inm: string | undefined }>;
  ecRequests(): number;
}

async function rig(t: { after(fn: () => Promise<void>): void }, scenario: Scenario, opts: { enabled?: boolean; fastTrackFile?: string } = {}): Promise<Rig> {
  const libDir = await mkdtemp(join(tmpdir(), 'gs-fasttrack-'));
  const emu = await createEmulator({ scenario });
  t.after(async () => {
    await emu.close();
    await rm(libDir, { recursive: true, force: true });
  });
  if (opts.fastTrackFile !== undefined) await writeFile(join(libDir, FAST_TRACK_FILE), opts.fastTrackFile);
  const lines: string[] = [];
  const log = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  const logger = { verbose: log('VERBOSE'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') } as unknown as Logger;
  const http = createHttpClient();
  const clock = systemClock;
  const retry = { maxAttempts: 1, retryDelayMs: 1, throttleDelayMs: 1, throttledMinAttempts: 1 };
  const wire = new WireClient({ http, clock, logger, baseUrl: emu.wireUrl, retry });
  const hostPlugin = new HostPluginClient({ http, clock, logger, baseUrl: emu.hostPluginUrl, retry });
  const paths: Paths = { libDir, extLogDir: libDir, agentLogFile: join(libDir, 'log'), confPath: join(libDir, 'conf'), pidFile: join(libDir, 'pid') };
  const refreshIdentity = async () => {
    const { value } = await wire.getGoalState();
    hostPlugin.setIdentity(value.containerId, value.roleConfigName);
  };
  const vm = new VmSettingsFetcher({ hostPlugin, clock, logger, paths, enabled: opts.enabled ?? true, refreshIdentity });
  const fetcher = new GoalStateFetcher({ wire, hostPlugin, logger, paths, vmSettings: vm });
  return {
    emu, fetcher, vm, libDir, lines,
    vmRequests: () => emu.state.requests({ server: 'hostplugin', path: '/vmSettings' }).map((r) => ({ status: r.status, inm: r.headers['if-none-match'] })),
    ecRequests: () => emu.state.requests({ server: 'wire', path: /type=extensionsConfig/ }).length,
  };
}

test('Fast Track goal state chosen; unchanged ETag is not a change; a vmSettings-only change is, without WireServer documents', async (t) => {
  const r = await rig(t, { incarnation: 7, fastTrack: true, extensions: [ext(0)] });
  const first = await r.fetcher.update();
  assert.equal(first.changed, true);
  const info1 = r.emu.goalState().vmSettings!;
  assert.equal(first.goalState.extensions.id, `etag_${info1.etag}`);
  assert.equal(first.goalState.extensions.source, 'FastTrack');
  assert.equal(first.goalState.extensions.channel, 'HostGAPlugin');
  assert.equal(first.goalState.extensions.inSvdSeqNo, String(info1.inSvdSeqNo));
  assert.equal(first.goalState.extensions.createdOnTicks, info1.createdOnTicks);
  assert.deepEqual(first.goalState.extensions.handlers[0]!.settings[0]!.publicSettings, { message: 'm0' });
  assert.equal(first.goalState.wire.incarnation, '7');
  assert.equal(r.vm.advertised, true);
  assert.match(await readFile(join(r.libDir, FAST_TRACK_FILE), 'utf8'), /^\{"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"\}$/);

  const second = await r.fetcher.update();
  assert.equal(second.changed, false);
  assert.equal(second.goalState.extensions, first.goalState.extensions);
  assert.deepEqual(r.vmRequests(), [{ status: 200, inm: undefined }, { status: 304, inm: info1.etag }]);

  assert.equal(r.emu.publish({ fastTrackOnly: true, extensions: [ext(1)] }), 7, 'same incarnation');
  const ecBefore = r.ecRequests();
  const third = await r.fetcher.update();
  const info2 = r.emu.goalState().vmSettings!;
  assert.notEqual(info2.etag, info1.etag);
  assert.equal(third.changed, true);
  assert.equal(third.goalState.extensions.id, `etag_${info2.etag}`);
  assert.equal(third.goalState.extensions.handlers[0]!.settings[0]!.sequenceNumber, 1);
  assert.equal(third.goalState.hostingEnv, first.goalState.hostingEnv, 'HostingEnvironmentConfig kept');
  assert.equal(r.ecRequests(), ecBefore, 'no ExtensionsConfig fetched');

  // A new incarnation with Fast Track on: both documents change; the vmSettings are one tick newer.
  r.emu.publish({ extensions: [ext(2)] });
  const fourth = await r.fetcher.update();
  assert.equal(fourth.goalState.wire.incarnation, '8');
  assert.equal(fourth.goalState.extensions.id, `etag_${r.emu.goalState().vmSettings!.etag}`);
  assert.equal(r.ecRequests(), ecBefore + 1);
});

test('a plugin answering 404: ExtensionsConfig, and no more vmSettings requests', async (t) => {
  const r = await rig(t, { extensions: [ext(0)] });
  const first = await r.fetcher.update();
  assert.equal(first.goalState.extensions.id, 'incarnation_1');
  assert.equal(first.goalState.extensions.source, 'Fabric');
  r.emu.publish({ extensions: [ext(1)] });
  assert.equal((await r.fetcher.update()).goalState.extensions.id, 'incarnation_2');
  await r.fetcher.update();
  assert.deepEqual(r.vmRequests(), [{ status: 404, inm: undefined }]);
  assert.equal(r.vm.advertised, false);
});

test('support stopped: the WireServer goal state is restored, and marked outdated when older than the last Fast Track one', async (t) => {
  const r = await rig(t, { fastTrack: true, extensions: [ext(0)] });
  await r.fetcher.update();
  r.emu.publish({ fastTrackOnly: true, extensions: [ext(1)] });
  const ft = await r.fetcher.update();
  assert.equal(ft.goalState.extensions.source, 'FastTrack');
  // The VM moves to a host whose plugin has no vmSettings; the incarnation (and ExtensionsConfig) stay old.
  r.emu.publish({ fastTrackOnly: true, fastTrack: false });
  const restored = await r.fetcher.update();
  assert.equal(restored.changed, true);
  assert.equal(restored.goalState.extensions.id, 'incarnation_1');
  assert.equal(restored.goalState.extensionsOutdated, true);
  assert.match(r.lines.join('\n'), /Fetched a Fabric goal state older than the most recent FastTrack goal state; will skip it\./);
  assert.equal(await stat(join(r.libDir, FAST_TRACK_FILE)).then(() => true, () => false), false);
  // A newer Fabric goal state is executed again.
  r.emu.publish({ extensions: [ext(2)] });
  const next = await r.fetcher.update();
  assert.equal(next.goalState.extensions.id, 'incarnation_2');
  assert.equal(next.goalState.extensionsOutdated, false);
});

test('Fast Track disabled: the first goal state is outdated when older than fast_track.json', async (t) => {
  const r = await rig(t, { extensions: [ext(0)] }, { enabled: false, fastTrackFile: '{"timestamp": "9999-01-01T00:00:00.000000Z"}' });
  const first = await r.fetcher.update();
  assert.equal(first.goalState.extensions.id, 'incarnation_1');
  assert.equal(first.goalState.extensionsOutdated, true);
  assert.deepEqual(r.vmRequests(), []);
  r.emu.publish({});
  // Later goal states are not checked again (and fast_track.json is gone).
  assert.equal((await r.fetcher.update()).goalState.extensionsOutdated, false);
});

test('Fast Track disabled, older fast_track.json: nothing outdated', async (t) => {
  const r = await rig(t, { extensions: [ext(0)] }, { enabled: false, fastTrackFile: '{"timestamp": "2001-01-01T00:00:00.000000Z"}' });
  assert.equal((await r.fetcher.update()).goalState.extensionsOutdated, false);
});

test('the emulated plugin: identity checked (410 for a stale one), correlation id required, 304 on a matching ETag', async (t) => {
  const r = await rig(t, { fastTrack: true, extensions: [ext(0)] });
  const { containerId, configName } = r.emu.goalState();
  const get = (h: Record<string, string>) => fetch(`${r.emu.hostPluginUrl}/vmSettings`, { headers: h });
  const base = { 'x-ms-version': '2015-09-01', 'x-ms-containerid': containerId, 'x-ms-host-config-name': configName, 'x-ms-client-correlationid': crypto.randomUUID() };
  const res = await get(base);
  assert.equal(res.status, 200);
  const etag = res.headers.get('etag')!;
  assert.equal(etag, r.emu.goalState().vmSettings!.etag);
  const text = await res.text();
  // The tick count is a bare JSON number beyond 2^53, and publicSettings a JSON string.
  assert.match(text, new RegExp(`"extensionsLastModifiedTickCount": ${r.emu.goalState().vmSettings!.createdOnTicks},`));
  assert.match(text, /"publicSettings": "\{\\"message\\":\\"m0\\"\}"/);
  assert.equal((await get({ ...base, 'if-none-match': etag })).status, 304);
  assert.equal((await get({ ...base, 'if-none-match': 'other' })).status, 200);
  assert.equal((await get({ ...base, 'x-ms-containerid': 'stale' })).status, 410);
  const { 'x-ms-client-correlationid': _c, ...noCorrelation } = base;
  assert.equal((await get(noCorrelation)).status, 400);
  assert.throws(() => r.emu.publish({ fastTrackOnly: true, incarnation: 9 }), /cannot change the incarnation/);
  r.emu.publish({ fastTrack: false });
  assert.equal((await get(base)).status, 404);
});

test('the same scenario parses to the same handlers from vmSettings as from the ExtensionsConfig', async (t) => {
  const scenario: Scenario = {
    requiredFeatures: ['MultipleExtensionsPerHandler'],
    gaFamilies: [
      { name: 'Prod', version: '2.15.0.1', fromVersion: '2.15.0.0', isVersionFromRSM: true, isVMEnabledForRSMUpgrades: false, uris: ['http://127.0.0.1/ga.xml'] },
      { name: 'Test' },
    ],
    extensions: [
      { ...ext(3), dependencyLevel: 2 },
      { name: 'Test.NoSettings', version: '2.0', state: 'disabled', seqNo: 0, noSettings: true, packageDir: sampleHandlerDir() },
      { name: 'Test.Plain', version: '1.1', state: 'uninstall', seqNo: 5, packageDir: sampleHandlerDir() },
      {
        name: 'Test.Multi', version: '1.0', state: 'enabled', seqNo: 0, packageDir: sampleHandlerDir(),
        multiConfig: [{ name: 'a', seqNo: 1, publicSettings: { x: 1 } }, { name: 'b', seqNo: 2, state: 'disabled', dependencyLevel: 4 }],
      },
    ],
  };
  const fromEc = await (await rig(t, scenario)).fetcher.update();
  const fromVm = await (await rig(t, { ...scenario, fastTrack: true })).fetcher.update();
  assert.equal(fromEc.goalState.extensions.source, 'Fabric');
  assert.equal(fromVm.goalState.extensions.source, 'FastTrack');
  const strip = (g: typeof fromEc) => {
    const { handlers, requiredFeatures, gaFamilies } = g.goalState.extensions;
    // Manifest URLs differ by the emulator's port only.
    return JSON.parse(JSON.stringify({ handlers, requiredFeatures, gaFamilies }).replace(/127\.0\.0\.1:\d+/g, 'host'));
  };
  assert.deepEqual(strip(fromVm), strip(fromEc));
});
