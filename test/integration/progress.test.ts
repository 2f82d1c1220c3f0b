// Progress of long work in the agent's log and in `waagent emulate`'s timeline: a package served slowly by the emulator
// and an enable that takes a few seconds, with every progress interval at 200 ms (WAAGENT_TS_PROGRESS_MS and the
// emulate seam). stderr and the timeline are pipes here: plain lines, no live line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions } from '../../src/emulate/options.js';
import { runEmulate } from '../../src/emulate/run.js';
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

test('waagent emulate: plain progress lines for the slow download and the running enable; nothing extra in the report', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-progress-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'settings.json'), JSON.stringify({ publicSettings: { slow: 'enable' } }));
  const o = await resolveOptions({ package: fixtureHandler('recorder'), settings: join(dir, 'settings.json'), timeout: '60' });
  let text = '';
  const out = { write: (s: string) => void (text += s), isTTY: false, color: false };
  const report = await runEmulate(o, out, undefined, { progressMs: 200, faults: [{ path: '/repo/pkg/', method: 'GET', slowBodyMs: 3000, count: 1 }] });
  t.after(() => rm(report.scratchRoot, { recursive: true, force: true }));
  assert.equal(report.error, null, text);
  assert.deepEqual(report.phases.map((p) => [p.id, p.outcome]), [['install', 'ok'], ['new-settings', 'ok'], ['disable', 'ok'], ['uninstall', 'ok']], text);
  // Periodic lines while the package arrives, with the agent's byte counts; the download line ends with the transfer.
  assert.match(text, /\] +… downloading 1\.0\.0: \S+ \S+ of \S+ \S+ \(\d+%\) at \S+ \S+\/s \(\d+ s\)\n/, text);
  assert.match(text, /download 1\.0\.0: \d+ files, \d+ bytes in \d+\.\d\d s \(transfer: \S+ \S+ in \d+s at \S+ \S+\/s\)\n/, text);
  assert.doesNotMatch(text, /127\.0\.0\.1:\d+\/repo/, 'the source is not repeated on the timeline');
  // The running enable: elapsed against the command's timeout (the phase timeout).
  assert.match(text, /… enable +1\.0\.0 running \[bin\/handler\.sh enable\] \(\d+ s of 1m timeout\)\n/, text);
  assert.ok(!text.includes('\r'), 'no carriage return when the output is not a terminal');
  // --json prints the report: no progress in it.
  const json = JSON.stringify(report);
  assert.doesNotMatch(json, /downloading|Download progress|Still running|of 1m timeout/);
});
