import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentUpdater, type AgentDownloader } from '../../../src/agent/agent-update.js';
import type { FullGoalState } from '../../../src/agent/goal-state-fetcher.js';
import { orphanCheck } from '../../../src/agent/orphan-check.js';
import { buildConfig } from '../../../src/config/schema.js';
import { readAgentFailure, recordAgentFailure } from '../../../src/daemon/agent-error.js';
import type { Logger } from '../../../src/deps.js';
import type { GAFamily } from '../../../src/protocol/goal-state.js';
import { goodPackage } from './tar-fixture.js';

interface Pkg {
  version: string;
  body: Buffer;
  sha256?: string | null;
}

function manifestXml(pkgs: Pkg[]): string {
  const plugins = pkgs.map((p) => {
    const digest = p.sha256 === null ? '' : `<Sha256>${p.sha256 ?? createHash('sha256').update(p.body).digest('hex')}</Sha256>`;
    return `<Plugin><Version>${p.version}</Version><Uris><Uri>http://repo/${p.version}</Uri></Uris>${digest}</Plugin>`;
  });
  return `<PluginVersionManifest><Plugins>${plugins.join('')}</Plugins><InternalPlugins /></PluginVersionManifest>`;
}

const family = (f: Partial<GAFamily> = {}): GAFamily => ({
  name: 'Prod', version: null, fromVersion: null, isVersionFromRSM: null, isVMEnabledForRSMUpgrades: null, uris: ['http://repo/manifest.xml'], ...f,
});

function goalState(id: string, families: GAFamily[]): FullGoalState {
  return { extensions: { id, gaFamilies: families } } as unknown as FullGoalState;
}

async function setup(t: { after(fn: () => Promise<void>): void }, opts: { current?: string; conf?: Record<string, unknown>; daemonVersion?: string | null; random?: number } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'agent-update-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const libDir = join(root, 'lib');
  await mkdir(libDir);
  let now = 1_700_000_000_000;
  let pkgs: Pkg[] = [];
  const fetched: string[] = [];
  const lines: string[] = [];
  const logger: Logger = {
    verbose: (m) => lines.push(`VERBOSE ${m}`), info: (m) => lines.push(`INFO ${m}`), warn: (m) => lines.push(`WARNING ${m}`), error: (m) => lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  const downloader: AgentDownloader = {
    async fetchText(uris) {
      fetched.push(uris[0]!);
      return { text: manifestXml(pkgs) };
    },
    async fetchToFile(uris, path) {
      fetched.push(uris[0]!);
      const p = pkgs.find((x) => uris[0] === `http://repo/${x.version}`);
      if (!p) throw new Error('404');
      await writeFile(path, p.body);
      return uris[0]!;
    },
  };
  const config = buildConfig({ 'Autoupdate.Frequency': 10, 'Debug.SelfUpdateRegularFrequency': 100, ...opts.conf } as Parameters<typeof buildConfig>[0]);
  const updater = new AgentUpdater({
    config, paths: { libDir, extLogDir: root, agentLogFile: join(root, 'log'), confPath: '', pidFile: '' },
    clock: { now: () => now, sleep: async () => undefined }, random: { random: () => opts.random ?? 0.5 }, logger, downloader,
    currentVersion: opts.current ?? '0.1.0', daemonVersion: opts.daemonVersion === undefined ? '0.1.0' : opts.daemonVersion,
  });
  const signal = new AbortController().signal;
  return {
    libDir, lines, fetched, updater, signal,
    publish: (p: Pkg[]) => (pkgs = p),
    advance: (ms: number) => (now += ms),
    check: (gs: FullGoalState | null) => updater.check(gs, signal),
  };
}

const exists = (p: string) => access(p).then(() => true, () => false);

test('the first attempt installs the newest version at once, keeps only current and target, and asks to exit', async (t) => {
  const w = await setup(t);
  w.publish([{ version: '0.1.1', body: goodPackage('0.1.1') }, { version: '0.1.2', body: goodPackage('0.1.2') }]);
  await mkdir(join(w.libDir, 'waagent-ts-0.0.5'));
  await writeFile(join(w.libDir, 'waagent-ts-0.0.6.tar.gz'), 'old');
  assert.equal(await w.check(goalState('incarnation_1', [family()])), true);
  const dir = join(w.libDir, 'waagent-ts-0.1.2');
  assert.ok(await exists(join(dir, 'waagent-ts-manifest.json')));
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'update_attempt.json'), 'utf8')), { count: 1 });
  assert.deepEqual((await readdir(w.libDir)).sort(), ['waagent-ts-0.1.2', 'waagent_initial_update']);
  assert.ok(w.lines.includes('INFO Self-update is ready to upgrade the new agent: 0.1.2 now before processing the goal state: incarnation_1'));
  assert.ok(w.lines.includes('INFO Current Agent 0.1.0 completed all update checks, exiting current process to upgrade to the new Agent version 0.1.2'));
});

test('later versions wait for their random delay and are checked at most once per Autoupdate.Frequency', async (t) => {
  const w = await setup(t, { current: '0.1.1' });
  await writeFile(join(w.libDir, 'waagent_initial_update'), '');
  w.publish([{ version: '0.1.1', body: goodPackage('0.1.1') }]);
  const gs = goalState('incarnation_1', [family()]);
  assert.equal(await w.check(gs), false);
  assert.equal(w.fetched.length, 1);
  w.publish([{ version: '0.1.2', body: goodPackage('0.1.2') }]);
  assert.equal(await w.check(gs), false, 'within the frequency: no fetch');
  assert.equal(w.fetched.length, 1);
  w.advance(10_000);
  assert.equal(await w.check(gs), false, 'discovered; the delay (0.5 x 100 s) starts');
  assert.ok(w.lines.some((l) => /Self-update discovered new agent version 0\.1\.2; it will be installed after /.test(l)));
  w.advance(30_000);
  assert.equal(await w.check(gs), false);
  w.advance(20_000);
  assert.equal(await w.check(gs), true);
  assert.ok(await exists(join(w.libDir, 'waagent-ts-0.1.2', 'bin/waagent.js')));
});

test('a blacklisted version is never tried again by self-update', async (t) => {
  const w = await setup(t, { current: '0.1.1', random: 0 });
  w.publish([{ version: '0.1.2', body: goodPackage('0.1.2') }]);
  await writeFile(join(w.libDir, 'waagent_initial_update'), '');
  await mkdir(join(w.libDir, 'waagent-ts-0.1.2'));
  recordAgentFailure(join(w.libDir, 'waagent-ts-0.1.2'), 'Agent waagent-ts-0.1.2 exited abnormally 3 times', true, 0);
  const gs = goalState('incarnation_1', [family()]);
  assert.equal(await w.check(gs), false);
  w.advance(10_000);
  assert.equal(await w.check(gs), false);
  assert.equal(w.fetched.filter((u) => u.endsWith('0.1.2')).length, 0, 'no package download');
  assert.equal(w.lines.filter((l) => l.includes('is blacklisted (Agent waagent-ts-0.1.2 exited abnormally 3 times)')).length, 1, 'logged once');
});

test('verification failures are warnings with the mode; nothing is installed and the process keeps running', async (t) => {
  const w = await setup(t, { random: 0 });
  w.publish([{ version: '0.1.2', body: goodPackage('0.1.2'), sha256: 'f'.repeat(64) }]);
  assert.equal(await w.check(goalState('incarnation_1', [family()])), false);
  assert.ok(w.lines.some((l) => /^WARNING \[SelfUpdate\] Cannot install agent package waagent-ts-0\.1\.2 as its sha256 .* does not match/.test(l)));
  w.publish([{ version: '0.1.3', body: goodPackage('0.1.4'), sha256: null }]);
  w.advance(10_000);
  assert.equal(await w.check(goalState('incarnation_1', [family()])), false);
  assert.ok(w.lines.some((l) => l.includes('its manifest says version 0.1.4')));
  assert.deepEqual((await readdir(w.libDir)).sort(), ['waagent_initial_update']);
});

test('RSM: switched in by a new goal state; the requested version (not the highest) is installed, downgrade blacklists the current one', async (t) => {
  const w = await setup(t, { current: '0.1.2' });
  await writeFile(join(w.libDir, 'waagent_initial_update'), '');
  await mkdir(join(w.libDir, 'waagent-ts-0.1.2'));
  w.publish([{ version: '0.1.1', body: goodPackage('0.1.1') }, { version: '0.1.3', body: goodPackage('0.1.3') }]);
  const rsm = family({ isVMEnabledForRSMUpgrades: true, isVersionFromRSM: true, version: '0.1.1', fromVersion: '0.1.2' });
  assert.equal(await w.check(goalState('incarnation_2', [rsm])), true);
  assert.ok(await exists(join(w.libDir, 'waagent_rsm_update')));
  assert.ok(w.lines.includes('INFO New agent version:0.1.1 requested by RSM in Goal state incarnation_2, will update the agent before processing the goal state.'));
  assert.ok(w.lines.some((l) => l.includes('exiting current process to downgrade to the new Agent version 0.1.1')));
  const f = readAgentFailure(join(w.libDir, 'waagent-ts-0.1.2'));
  assert.equal(f?.was_fatal, true);
  assert.match(f!.reason, /replaced by a downgrade to 0\.1\.1 requested by RSM in goal state incarnation_2/);
  // Same goal state again: RSM acts only on new goal states.
  assert.equal(await w.check(goalState('incarnation_2', [rsm])), false);
});

test('RSM: an invalid request is a warning; retries of one version stop after 3 attempts', async (t) => {
  const w = await setup(t, { current: '0.1.2' });
  await writeFile(join(w.libDir, 'waagent_initial_update'), '');
  await writeFile(join(w.libDir, 'waagent_rsm_update'), '');
  w.publish([{ version: '0.1.3', body: goodPackage('0.1.3') }]);
  assert.equal(await w.check(goalState('incarnation_1', [family({ isVersionFromRSM: true, version: '0.1.1', fromVersion: '0.1.0' })])), false);
  assert.ok(w.lines.some((l) => l.startsWith('WARNING [RSM] Cannot downgrade to 0.1.1')));
  assert.equal(await w.check(goalState('incarnation_2', [family({ isVersionFromRSM: true, version: '0.1.4' })])), false);
  assert.ok(w.lines.includes('WARNING [RSM] No matching package found in the agent manifest for version: 0.1.4'));
  const req = family({ isVersionFromRSM: true, version: '0.1.3' });
  for (let i = 3; i <= 5; i++) assert.equal(await w.check(goalState(`incarnation_${i}`, [req])), true);
  assert.equal(await w.check(goalState('incarnation_6', [req])), false);
  assert.ok(w.lines.some((l) => l.startsWith('WARNING [RSM] Attempted enough update retries for version: 0.1.3')));
});

test('nothing happens when auto-update is off, without a daemon, or without the family', async (t) => {
  const off = await setup(t, { conf: { 'AutoUpdate.Enabled': false } });
  assert.equal(await off.check(goalState('incarnation_1', [family()])), false);
  assert.ok(off.lines.includes('INFO Auto update is disabled, skipping agent update'));
  const alone = await setup(t, { daemonVersion: null });
  assert.equal(await alone.check(goalState('incarnation_1', [family()])), false);
  assert.ok(alone.lines.includes('INFO Not started by the daemon, skipping agent update'));
  const w = await setup(t);
  assert.equal(await w.check(goalState('incarnation_1', [family({ name: 'Test' }), family({ uris: [] })])), false);
  assert.equal(await w.check(goalState('incarnation_1', [])), false);
  assert.deepEqual(w.lines, ['INFO Agent family: Prod not found in the goal state: incarnation_1, skipping agent update']);
  assert.equal(w.fetched.length, 0);
});

test('orphan check: only for a process the daemon started, true once its parent changed', () => {
  let ppid = 42;
  assert.equal(orphanCheck({}, () => 1)(), false);
  const check = orphanCheck({ WAAGENT_TS_DAEMON_PID: '42' }, () => ppid);
  assert.equal(check(), false);
  ppid = 1;
  assert.equal(check(), true);
});

test('updateStatus: absent in self-update mode; in RSM mode the running version, Success/0, or Error/1 with the last failure of this goal state', async (t) => {
  const w = await setup(t, { current: '0.1.2' });
  await writeFile(join(w.libDir, 'waagent_initial_update'), '');
  w.publish([{ version: '0.1.3', body: goodPackage('0.1.3') }]);
  assert.equal(w.updater.updateStatus(), null, 'nothing checked yet');
  assert.equal(await w.check(goalState('incarnation_1', [family()])), false, 'self-update discovers 0.1.3 (random delay)');
  assert.equal(w.updater.updateStatus(), null, 'self-update mode: no updateStatus');

  const r = await setup(t, { current: '0.1.2' });
  await writeFile(join(r.libDir, 'waagent_initial_update'), '');
  r.publish([{ version: '0.1.3', body: goodPackage('0.1.3') }]);
  const running = family({ isVMEnabledForRSMUpgrades: true, isVersionFromRSM: true, version: '0.1.2' });
  assert.equal(await r.check(goalState('incarnation_1', [running])), false);
  assert.deepEqual(r.updater.updateStatus(), { expectedVersion: '0.1.2', status: 'Success', code: 0, message: '' });
  // A version that is not in the manifest: Error/1, reported for as long as this goal state stays.
  const missing = family({ isVMEnabledForRSMUpgrades: true, isVersionFromRSM: true, version: '0.1.4' });
  assert.equal(await r.check(goalState('incarnation_2', [missing])), false);
  const error = { expectedVersion: '0.1.2', status: 'Error', code: 1, message: '[RSM] No matching package found in the agent manifest for version: 0.1.4' };
  assert.deepEqual(r.updater.updateStatus(), error);
  assert.equal(await r.check(goalState('incarnation_2', [missing])), false);
  assert.deepEqual(r.updater.updateStatus(), error);
  // A new goal state clears it; a missing family is an error too (upstream AgentFamilyMissingError).
  assert.equal(await r.check(goalState('incarnation_3', [running])), false);
  assert.equal(r.updater.updateStatus()?.status, 'Success');
  assert.equal(await r.check(goalState('incarnation_4', [])), false);
  assert.deepEqual(r.updater.updateStatus(), { expectedVersion: '0.1.2', status: 'Error', code: 1, message: 'Agent family: Prod not found in the goal state: incarnation_4, skipping agent update' });
  // Switched out of RSM: absent again.
  assert.equal(await r.check(goalState('incarnation_5', [family({ isVMEnabledForRSMUpgrades: false })])), false);
  assert.equal(r.updater.updateStatus(), null);
});
