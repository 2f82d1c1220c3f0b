// A VM where WALinuxAgent left handler state behind: we take it over without reinstalling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';
import { recorded, opsOf } from '../helpers/recorder.js';
import { handler } from '../helpers/status.js';

const NAME = 'Test.Recorder';

test('handler state left by WALinuxAgent is taken over: enable runs again, nothing is reinstalled', async (t) => {
  const root = await tempRoot();
  const base = join(root.libDir, `${NAME}-1.0.0`);
  // The layout WALinuxAgent 2.15 leaves: package files, config/HandlerState, HandlerStatus, settings, status, mrseq.
  await cp(fixtureHandler('recorder'), base, { recursive: true });
  await mkdir(join(base, 'config'), { mode: 0o700 });
  await mkdir(join(base, 'status'), { mode: 0o700 });
  await writeFile(join(base, 'config', 'HandlerState'), 'Enabled');
  await writeFile(join(base, 'config', 'HandlerStatus'), '{"name": "Test.Recorder", "version": "1.0.0", "status": "Ready", "code": 0, "message": "Plugin enabled", "supports_multi_config": false, "extension_status": null}');
  await writeFile(join(base, 'config', '0.settings'), '{"runtimeSettings": [{"handlerSettings": {"publicSettings": {}, "protectedSettings": null, "protectedSettingsCertThumbprint": null}}]}');
  await writeFile(join(base, 'mrseq'), '0');
  // An older agent's HandlerEnvironment.json (different log folder): rewritten at start.
  await writeFile(join(base, 'HandlerEnvironment.json'), `[{"name": "${NAME}", "version": 1.0, "handlerEnvironment": {"logFolder": "/nonexistent/old", "configFolder": "${base}/config", "statusFolder": "${base}/status", "heartbeatFile": "${base}/heartbeat.log"}}]`);

  const emu = await createEmulator({ scenario: { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: fixtureHandler('recorder') }] } });
  const agent = startAgent(root, emu);
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000);
  assert.equal(handler(rec.status, NAME)!.status, 'Ready');
  assert.deepEqual(opsOf(await recorded(root.extLogDir, NAME)), ['enable@1.0.0'], 'only enable ran');
  assert.equal(emu.state.requests().filter((r) => r.path.includes('/repo/') && r.path.includes('.zip')).length, 0, 'the package was not downloaded again');
  const env = JSON.parse(await readFile(join(base, 'HandlerEnvironment.json'), 'utf8'));
  assert.equal(env[0].handlerEnvironment.logFolder, join(root.extLogDir, NAME));
  assert.equal(env[0].handlerEnvironment.eventsFolder, join(root.extLogDir, NAME, 'events'));
});
