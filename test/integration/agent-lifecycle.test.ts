// The real agent process against the emulator over HTTP: install, enable, re-enable, restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, fixtureHandler, startAgent, tempRoot, runAgainstEmulator } from '../helpers/agent.js';
import { goalStateStatus, handler } from '../helpers/status.js';

const NAME = 'Test.Recorder';

function scenario(seqNo: number, publicSettings: Record<string, unknown> = {}) {
  return { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings, packageDir: fixtureHandler('recorder') }] };
}

const commandsLog = (extLogDir: string) => readFile(join(extLogDir, NAME, 'commands.log'), 'utf8').catch(() => '');

test('installs and enables an extension, reports success, and does nothing more for the same goal state', async (t) => {
  const { emu, root, agent } = await runAgainstEmulator(t, () => createEmulator({ scenario: scenario(0, { message: 'hi' }) }));
  const rec = await emu.waitFor((s) => handler(s, NAME)?.status === 'Ready' && handler(s, NAME)?.ext?.status === 'success', 30_000);
  const h = handler(rec.status, NAME)!;
  assert.equal(h.status, 'Ready');
  assert.equal(h.code, 0);
  assert.equal(h.message, 'Plugin enabled');
  assert.equal(h.handlerVersion, '1.0.0');
  assert.equal(h.ext!.sequenceNumber, 0);
  assert.equal(goalStateStatus(rec.status)?.status, 'Success');
  assert.equal(goalStateStatus(rec.status)?.inSvdSeqNo, '1');

  const base = join(root.libDir, `${NAME}-1.0.0`);
  const env = JSON.parse(await readFile(join(base, 'HandlerEnvironment.json'), 'utf8'));
  assert.equal(env[0].handlerEnvironment.statusFolder, join(base, 'status'));
  const settings = await readFile(join(base, 'config', '0.settings'), 'utf8');
  assert.equal(settings, '{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"message": "hi"}, "protectedSettings": null, "protectedSettingsCertThumbprint": null}}]}');
  assert.equal((await stat(join(base, 'config', '0.settings'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(base, 'config'))).mode & 0o777, 0o700);
  assert.equal(await readFile(join(base, 'config', 'HandlerState'), 'utf8'), 'Enabled');
  // The zip is deleted after unpacking.
  await assert.rejects(stat(join(root.libDir, `${NAME}__1.0.0.zip`)));

  // Several more polls of the same goal state: nothing runs again.
  const polls = emu.state.requests({ path: '/machine/?comp=goalstate' }).length;
  await emu.state.waitUntil(() => emu.state.requests({ path: '/machine/?comp=goalstate' }).length >= polls + 3, 15_000, 'three more polls');
  const lines = (await commandsLog(root.extLogDir)).trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['install', 'enable']);
  assert.match(lines[1]!, /seq=0 ext= version=1\.0\.0 uninstall_rc=NOT_RUN/);
  assert.match(lines[1]!, new RegExp(`pwd=${base}$`));

  const log = await agent.log();
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z INFO ExtHandler \[Test\.Recorder-1\.0\.0\] Expected handler state: enabled$/m);
  const cmdLog = await readFile(join(root.extLogDir, NAME, 'CommandExecution.log'), 'utf8');
  assert.match(cmdLog, /Command: .*bin\/handler\.sh enable/);
});

test('a new goal state runs enable again with the new sequence number; a restart does not reinstall', async (t) => {
  const emu = await createEmulator({ scenario: scenario(0) });
  const root = await tempRoot();
  let agent = startAgent(root, emu);
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000);
  emu.publish(scenario(1, { message: 'second' }));
  // The goal-state status moves to incarnation 2 when processing ends, just after the extension reported.
  const rec = await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 1 && handler(s, NAME)?.ext?.status === 'success' && goalStateStatus(s)?.inSvdSeqNo === '2', 30_000);
  assert.equal(handler(rec.status, NAME)!.ext!.message, 'enabled seq 1');
  assert.equal(goalStateStatus(rec.status)?.inSvdSeqNo, '2');
  assert.equal(await readFile(join(root.libDir, `${NAME}-1.0.0`, 'mrseq'), 'utf8'), '1');

  assert.equal(await agent.stop(), 0, 'SIGTERM stops the agent cleanly');
  const before = emu.state.statusBlobs().length;
  agent = startAgent(root, emu);
  await eventually(async () => (await commandsLog(root.extLogDir)).trim().split('\n').length >= 4, 30_000, 'enable after restart');
  const ops = (await commandsLog(root.extLogDir)).trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
  assert.deepEqual(ops, ['install seq=0', 'enable seq=0', 'enable seq=1', 'enable seq=1']);
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000, { after: before });
});

test('with Provisioning.Agent=disabled the agent reports Ready health to the fabric; with auto it leaves that to cloud-init', async (t) => {
  const emu = await createEmulator({ scenario: { extensions: [] } });
  const disabled = await tempRoot({ 'Provisioning.Agent': 'disabled' });
  const auto = await tempRoot();
  let agent = startAgent(disabled, emu);
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await disabled.cleanup();
    await auto.cleanup();
  });
  await emu.state.waitUntil(() => emu.state.healthReports().length > 0, 30_000, 'a health report');
  const [report] = emu.state.healthReports();
  assert.equal(report!.state, 'Ready');
  assert.equal(report!.incarnation, '1');
  assert.equal(report!.substatus, null);
  await agent.stop();
  agent = startAgent(auto, emu);
  await eventually(async () => /left to cloud-init/.test(await agent.log()), 30_000, 'the provisioning line');
  assert.equal(emu.state.healthReports().length, 1);
});
