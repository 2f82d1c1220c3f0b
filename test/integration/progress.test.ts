// Progress of long work in the agent's log: a package served slowly by the emulator and an enable that takes a few
// seconds, with every progress interval at 200 ms (WAAGENT_TS_PROGRESS_MS). stderr is a pipe: no live line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEmulator } from '../../src/emulator/server.js';
import { fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';
import { handler } from '../helpers/status.js';

const NAME = 'Test.Recorder';

test('a slow download and a slow enable log progress lines to waagent.log (and the console), no live line in a pipe', async (t) => {
  const emu = await createEmulator({
    scenario: { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: fixtureHandler('recorder'), publicSettings: { slow: 'enable' } }] },
  });
  t.after(() => emu.close());
  // The package body takes 3 s to arrive (headers at once, so its size is known from the start).
  emu.injectFault({ path: '/repo/pkg/', method: 'GET', slowBodyMs: 3000, count: 1 });
  const root = await tempRoot();
  t.after(() => root.cleanup());
  const agent = startAgent(root, emu, ['-run-exthandlers'], { WAAGENT_TS_PROGRESS_MS: '200' });
  t.after(async () => void (await agent.stop()));

  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 60_000);
  const log = await agent.log();
  const prefix = `INFO ExtHandler [${NAME}-1.0.0]`;
  const download = log.split('\n').filter((l) => l.includes(`${prefix} Download progress: `));
  assert.ok(download.length >= 1, `download progress lines in waagent.log:\n${log}`);
  for (const line of download) {
    assert.match(line, new RegExp(`Download progress: ${NAME}-1\\.0\\.0 package: \\S+ \\S+ of \\S+ \\S+ \\(\\d+%\\) in \\d+s at \\S+ \\S+/s from 127\\.0\\.0\\.1:\\d+/repo/pkg/${NAME}/1\\.0\\.0/${NAME}__1\\.0\\.0\\.zip$`));
  }
  assert.match(log, new RegExp(`${prefix.replace(/[[\].]/g, '\\$&')} Downloaded ${NAME}-1\\.0\\.0 package: \\S+ \\S+ in \\d+s at `));
  assert.ok(log.indexOf('Download progress: ') < log.indexOf(`Unpacked ${NAME}-1.0.0`), 'progress comes before the unpack');
  const still = log.split('\n').filter((l) => l.includes(`${prefix} Still running: `));
  for (const line of still) assert.match(line, new RegExp(`Still running: (install|enable) of ${NAME}-1\\.0\\.0 for \\d+s \\(timeout 20m\\)$`));
  assert.ok(still.some((l) => l.includes('Still running: enable of')), `"Still running" lines for the slow enable in waagent.log:\n${log}`);
  // The console carries the same lines; with stderr a pipe there is no carriage-return line.
  const out = agent.output();
  assert.ok(out.includes('Still running: enable of'), 'progress on the console (the journal under systemd)');
  assert.ok(!out.includes('\r'), 'no live line when stderr is not a terminal');
  assert.ok(!out.includes('Running enable of'));
});
