// Every handler transition against the emulator, with the recorder handler noting each command it received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import type { Scenario, ScenarioExtension } from '../../src/emulator/scenario.js';
import { eventually, fixtureHandler, startAgent, tempRoot, runAgainstEmulator } from '../helpers/agent.js';
import { recorded, recorderVariant, opsOf } from '../helpers/recorder.js';
import { handler, handlers } from '../helpers/status.js';

const NAME = 'Test.Recorder';
const exists = (p: string) => access(p).then(() => true, () => false);

const setup = (t: Parameters<typeof runAgainstEmulator>[0], scenario: Scenario, conf: Record<string, string> = {}) =>
  runAgainstEmulator(t, () => createEmulator({ scenario }), conf);

function ext(version: string, seqNo: number, more: Partial<ScenarioExtension> = {}): ScenarioExtension {
  return { name: NAME, version, state: 'enabled', seqNo, packageDir: fixtureHandler('recorder'), ...more };
}

const succeeded = (version: string, seq: number) => (s: unknown) => {
  const h = handler(s, NAME);
  return h?.status === 'Ready' && h.handlerVersion === version && h.ext?.sequenceNumber === seq && h.ext.status === 'success';
};

test('upgrade runs old disable, update, old uninstall, new install, new enable, in that order', async (t) => {
  const { emu, root } = await setup(t, { extensions: [ext('1.0.0', 0)] });
  await emu.waitFor(succeeded('1.0.0', 0), 30_000);
  const v2 = { version: '1.1.0', packageDir: fixtureHandler('recorder') };
  emu.publish({ extensions: [ext('1.1.0', 1, { availableVersions: [{ version: '1.0.0', packageDir: fixtureHandler('recorder') }, v2] })] });
  await emu.waitFor(succeeded('1.1.0', 1), 30_000);
  const cmds = await recorded(root.extLogDir, NAME);
  assert.deepEqual(opsOf(cmds), ['install@1.0.0', 'enable@1.0.0', 'disable@1.0.0', 'update@1.1.0', 'uninstall@1.0.0', 'install@1.1.0', 'enable@1.1.0']);
  const update = cmds[3]!;
  assert.equal(update.VERSION, '1.1.0');
  assert.equal(update.from, '1.0.0');
  assert.equal(update.disable_rc, '0');
  assert.match(update.pwd!, /Test\.Recorder-1\.1\.0$/);
  assert.equal(cmds[5]!.uninstall_rc, '0');
  assert.equal(cmds[6]!.uninstall_rc, '0');
  assert.equal(await exists(join(root.libDir, `${NAME}-1.0.0`)), false, 'old version removed');
  assert.equal(await readFile(join(root.libDir, `${NAME}-1.1.0`, 'mrseq'), 'utf8'), '1');
});

test('UpdateWithoutInstall skips install; a downgrade runs the old handler\'s update command', async (t) => {
  const dir = await recorderVariant({ updateMode: 'UpdateWithoutInstall' });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const both = [{ version: '2.0.0', packageDir: dir }, { version: '2.1.0', packageDir: dir }];
  const { emu, root } = await setup(t, { extensions: [ext('2.1.0', 0, { packageDir: dir, availableVersions: both })] });
  await emu.waitFor(succeeded('2.1.0', 0), 30_000);
  emu.publish({ extensions: [ext('2.0.0', 1, { packageDir: dir, availableVersions: both })] });
  await emu.waitFor(succeeded('2.0.0', 1), 30_000);
  const cmds = await recorded(root.extLogDir, NAME);
  assert.deepEqual(opsOf(cmds), ['install@2.1.0', 'enable@2.1.0', 'disable@2.1.0', 'update@2.1.0', 'uninstall@2.1.0', 'enable@2.0.0']);
  assert.equal(cmds[3]!.VERSION, '2.0.0');
  assert.equal(cmds[3]!.from, '2.0.0', 'a downgrade passes the new (lower) version as UPDATING_FROM');
  assert.match(cmds[3]!.pwd!, /Test\.Recorder-2\.1\.0$/, 'the old handler runs its update in its own folder');
});

test('continueOnUpdateFailure: false aborts the update with 1008; true carries on with the exit code', async (t) => {
  const strict = [{ version: '1.0.0', packageDir: fixtureHandler('recorder') }, { version: '1.1.0', packageDir: fixtureHandler('recorder') }];
  const { emu, root } = await setup(t, { extensions: [ext('1.0.0', 0, { publicSettings: { fail: 'disable' } })] });
  await emu.waitFor(succeeded('1.0.0', 0), 30_000);
  emu.publish({ extensions: [ext('1.1.0', 0, { publicSettings: { fail: 'disable' }, availableVersions: strict })] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.code === 1008, 30_000);
  assert.match(handler(rec.status, NAME)!.message!, /Disable: Non-zero exit code: 3[\s\S]*ContinueOnUpdate: False$/);
  assert.deepEqual(opsOf(await recorded(root.extLogDir, NAME)).slice(2), ['disable@1.0.0']);

  const tolerant = await recorderVariant({ continueOnUpdateFailure: true });
  t.after(() => rm(tolerant, { recursive: true, force: true }));
  emu.publish({ extensions: [ext('1.2.0', 0, { publicSettings: { fail: 'disable' }, availableVersions: [...strict, { version: '1.2.0', packageDir: tolerant }] })] });
  await emu.waitFor(succeeded('1.2.0', 0), 30_000);
  const cmds = await recorded(root.extLogDir, NAME);
  const update = cmds.find((c) => c.op === 'update')!;
  assert.equal(update.version, '1.2.0');
  assert.equal(update.disable_rc, '3');
});

test('disabled, then uninstall, then delete-and-set runs the extension again from scratch', async (t) => {
  const { emu, root } = await setup(t, { extensions: [ext('1.0.0', 0)] });
  await emu.waitFor(succeeded('1.0.0', 0), 30_000);
  emu.publish({ extensions: [ext('1.0.0', 0, { state: 'disabled' })] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.message === 'Plugin disabled', 30_000);
  assert.equal(handler(rec.status, NAME)!.status, 'NotReady');
  assert.equal(await readFile(join(root.libDir, `${NAME}-1.0.0`, 'config', 'HandlerState'), 'utf8'), 'Installed');

  emu.publish({ extensions: [ext('1.0.0', 0, { state: 'uninstall' })] });
  await eventually(async () => !(await exists(join(root.libDir, `${NAME}-1.0.0`))), 30_000, 'handler folder removed');
  await emu.waitFor((s) => handlers(s).length === 0, 30_000);

  emu.publish({ extensions: [ext('1.0.0', 0)] });
  await emu.waitFor(succeeded('1.0.0', 0), 30_000, { after: emu.state.statusBlobs().length });
  // Gone from the goal state: removed without running any command; set again: installed anew.
  emu.publish({ extensions: [] });
  await eventually(async () => !(await exists(join(root.libDir, `${NAME}-1.0.0`))), 30_000, 'folder removed when the extension disappears');
  emu.publish({ extensions: [ext('1.0.0', 0)] });
  await emu.waitFor(succeeded('1.0.0', 0), 30_000, { after: emu.state.statusBlobs().length });
  assert.deepEqual(opsOf(await recorded(root.extLogDir, NAME)), [
    'install@1.0.0', 'enable@1.0.0', 'disable@1.0.0', 'uninstall@1.0.0', 'install@1.0.0', 'enable@1.0.0', 'install@1.0.0', 'enable@1.0.0',
  ]);
});

test('dependencies: a failed level blocks its dependents with a clear status; a successful one lets them run', async (t) => {
  const a = (more: Partial<ScenarioExtension>) => ({ ...ext('1.0.0', 0, more), name: 'Test.First', dependencyLevel: 1 });
  const b = { ...ext('1.0.0', 0), name: 'Test.Second', dependencyLevel: 2 };
  const { emu, root } = await setup(t, { extensions: [b, a({ publicSettings: { fail: 'enable' } })] });
  const rec = await emu.waitFor((s) => handler(s, 'Test.Second')?.code === -1, 30_000);
  assert.equal(handler(rec.status, 'Test.First')!.code, 1009);
  assert.equal(handler(rec.status, 'Test.Second')!.code, -1);
  assert.equal(handler(rec.status, 'Test.Second')!.message, 'Skipping processing of extensions since execution of dependent extension Test.First failed');
  assert.deepEqual(await recorded(root.extLogDir, 'Test.Second'), [], 'the dependent never ran');

  emu.publish({ extensions: [b, a({})] });
  await emu.waitFor((s) => handler(s, 'Test.Second')?.ext?.status === 'success', 30_000);
  const first = (await recorded(root.extLogDir, 'Test.First')).length;
  assert.ok(first >= 2);
});

test('multi-config: one settings file, state file, status and enable per extension; a disabled one is cleaned up', async (t) => {
  const dir = await recorderVariant({ supportsMultipleExtensions: true });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const mc = (exts: NonNullable<ScenarioExtension['multiConfig']>) => ext('1.0.0', 0, { packageDir: dir, multiConfig: exts });
  const { emu, root } = await setup(t, { extensions: [mc([{ name: 'e1', seqNo: 0 }, { name: 'e2', seqNo: 3 }])] });
  const rec = await emu.waitFor((s) => handlers(s).filter((h) => h.ext?.status === 'success').length === 2, 30_000);
  const list = handlers(rec.status);
  assert.deepEqual(list.map((h) => h.ext!.message).sort(), ['enabled e1.seq 0', 'enabled e2.seq 3']);
  const raw = (rec.status as { aggregateStatus: { handlerAggregateStatus: Array<{ runtimeSettingsStatus: { extensionName: string } }> } }).aggregateStatus.handlerAggregateStatus;
  assert.deepEqual(raw.map((h) => h.runtimeSettingsStatus.extensionName).sort(), ['e1', 'e2']);
  const config = join(root.libDir, `${NAME}-1.0.0`, 'config');
  // The extension's state file is written when its enable command returns, just after its status file.
  assert.equal(await eventually(() => readFile(join(config, 'e2.HandlerState'), 'utf8').catch(() => ''), 10_000, 'e2.HandlerState'), 'enabled');
  assert.ok(await exists(join(config, 'e2.3.settings')));
  const cmds = await recorded(root.extLogDir, NAME);
  assert.deepEqual(opsOf(cmds), ['install@1.0.0', 'enable@1.0.0:e1', 'enable@1.0.0:e2']);

  emu.publish({ extensions: [mc([{ name: 'e1', seqNo: 0 }, { name: 'e2', seqNo: 4, state: 'disabled' }])] });
  await emu.waitFor((s) => handlers(s).length === 1 && handlers(s)[0]!.ext?.status === 'success', 30_000);
  assert.equal(await exists(join(config, 'e2.3.settings')), false);
  assert.equal(await exists(join(config, 'e2.HandlerState')), false);
  // Disable work is ordered before enable work (§10). e1's earlier status already reads success, so the status
  // above can arrive before e1's enable has returned: wait for the recorded command, then check the order.
  const after = await eventually(async () => {
    const ops = opsOf(await recorded(root.extLogDir, NAME)).slice(3);
    return ops.length >= 2 ? ops : null;
  }, 30_000, 'disable of e2 and enable of e1 to be recorded');
  assert.deepEqual(after, ['disable@1.0.0:e2', 'enable@1.0.0:e1']);
});

test('a hanging command is killed with its children at the timeout (1011) and shown transitioning meanwhile', async (t) => {
  const { emu, root } = await setup(t, { extensions: [ext('1.0.0', 0, { publicSettings: { hang: 'enable' } })] }, { 'Extensions.CommandTimeout': '4' });
  await emu.waitFor((s) => {
    const h = handler(s, NAME);
    return h?.ext?.status === 'transitioning' || h?.message === 'Enable in progress';
  }, 30_000);
  const rec = await emu.waitFor((s) => handler(s, NAME)?.code === 1011, 30_000);
  assert.match(handler(rec.status, NAME)!.message!, /Timeout\(4\): \S+bin\/handler\.sh enable/);
  const pid = Number(await readFile(join(root.extLogDir, NAME, 'hang-child.pid'), 'utf8'));
  await eventually(async () => !(await exists(`/proc/${pid}`)), 5000, 'the background child to be gone');
});

test('a malformed status file is reported as error 1012 without affecting another extension', async (t) => {
  const { emu } = await setup(t, { extensions: [ext('1.0.0', 0, { publicSettings: { status: 'garbage' } }), { ...ext('1.0.0', 0), name: 'Test.Other' }] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'error' && handler(s, 'Test.Other')?.ext?.status === 'success', 30_000);
  assert.equal(handler(rec.status, NAME)!.ext!.code, 1012);
  assert.match(handler(rec.status, NAME)!.ext!.message!, /incorrect format/);
});

test('an agent killed during install recovers: the install runs again and the extension succeeds', async (t) => {
  const emu = await createEmulator({ scenario: { extensions: [ext('1.0.0', 0, { publicSettings: { hang: 'install' } })] } });
  const root = await tempRoot();
  let agent = startAgent(root, emu);
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });
  await eventually(async () => (await recorded(root.extLogDir, NAME)).some((c) => c.op === 'install'), 30_000, 'install to start');
  agent.proc.kill('SIGKILL');
  await agent.stop();
  const pid = Number(await readFile(join(root.extLogDir, NAME, 'hang-child.pid'), 'utf8').catch(() => '0'));
  if (pid) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The hanging install's group may already be gone.
    }
  }
  emu.publish({ extensions: [ext('1.0.0', 1)] });
  agent = startAgent(root, emu);
  await emu.waitFor(succeeded('1.0.0', 1), 30_000);
  const ops = opsOf(await recorded(root.extLogDir, NAME));
  assert.deepEqual(ops, ['install@1.0.0', 'install@1.0.0', 'enable@1.0.0']);
});

test('reportHeartbeat handlers: heartbeat.log replaces the handler status; a stale one is Unresponsive', async (t) => {
  const dir = await recorderVariant({ reportHeartbeat: true });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { emu, root } = await setup(t, { extensions: [ext('1.0.0', 0, { packageDir: dir })] });
  // Enabled, but no heartbeat yet: upstream reports the handler as failing to give one.
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success' && handler(s, NAME)?.message === 'Failed to get heart beat file', 30_000);
  const hb = join(root.libDir, `${NAME}-1.0.0`, 'heartbeat.log');
  await writeFile(hb, '[{"version": 1.0, "heartbeat": {"status": "ready", "code": 0, "formattedMessage": {"lang": "en-US", "message": "all good"}}}]');
  await emu.waitFor((s) => handler(s, NAME)?.status === 'ready' && handler(s, NAME)?.message === 'all good', 30_000);
  const old = new Date(Date.now() - 11 * 60_000);
  await utimes(hb, old, old);
  const rec = await emu.waitFor((s) => handler(s, NAME)?.status === 'Unresponsive', 70_000);
  assert.equal(handler(rec.status, NAME)!.code, -1);
});

test('exit code 126 is explained in the status', async (t) => {
  const dir = await recorderVariant({ enableCommand: 'bin' });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { emu } = await setup(t, { extensions: [ext('1.0.0', 0, { packageDir: dir })] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.code === 1009, 30_000);
  assert.match(handler(rec.status, NAME)!.message!, /Non-zero exit code: 126[\s\S]*(noexec|could not be executed)/);
});
