// Progress of long work in the agent's log and in `waagent emulate`'s timeline: a package served slowly by the emulator
// and an enable that takes a few seconds, with every progress interval at 200 ms (WAAGENT_TS_PROGRESS_MS and the
// emulate seam). stderr and the timeline are pipes here: plain lines, no live line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions } from '../../src/emulate/options.js';
import { runEmulate } from '../../src/emulate/run.js';
import { createEmulator } from '../../src/emulator/server.js';
import { AGENT_MAIN, eventually, fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';
import { handler } from '../helpers/status.js';

const NAME = 'Test.Recorder';

test('a slow download and a slow enable log progress lines to waagent.log (and the console), no live line in a pipe', async (t) => {
  const emu = await createEmulator({
    scenario: { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: fixtureHandler('recorder'), publicSettings: { slow: 'enable' } }] },
  });
  // The package body takes 3 s to arrive (headers at once, so its size is known from the start).
  emu.injectFault({ path: '/repo/pkg/', method: 'GET', slowBodyMs: 3000, count: 1 });
  const root = await tempRoot();
  const agent = startAgent(root, emu, ['-run-exthandlers'], { WAAGENT_TS_PROGRESS_MS: '200' });
  // One hook, in this order: the agent must be gone before its root is removed.
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });

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

/** The first `script` (util-linux) on PATH, which runs a command on a pseudo-terminal; null when there is none. */
function findScript(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'script'))) return join(dir, 'script');
  }
  return null;
}

const script = findScript();

test('by hand on a terminal: one live line on stderr, redrawn and cleared; waagent.log gets only the plain lines', {
  skip: script === null && process.env.CI !== 'true' ? 'no `script` command to get a pseudo-terminal' : false,
}, async (t) => {
  assert.ok(script, '`script` (util-linux, Debian bsdutils) is needed for this test');
  const emu = await createEmulator({
    scenario: { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: fixtureHandler('recorder'), publicSettings: { slow: 'enable' } }] },
  });
  emu.injectFault({ path: '/repo/pkg/', method: 'GET', slowBodyMs: 3000, count: 1 });
  const root = await tempRoot();
  const pidFile = join(root.dir, 'agent.pid');
  const code = `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`;
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // The shell records its pid and becomes the agent, so the agent itself can be stopped by pid.
  const inner = `echo $$ > ${quote(pidFile)}; exec ${[process.execPath, '--input-type=module', '-e', code, '--', '-run-exthandlers', `-configuration-path:${root.confPath}`].map(quote).join(' ')}`;
  const proc = spawn(script!, ['-qfec', inner, '/dev/null'], {
    env: {
      ...process.env, WAAGENT_TS_WIRESERVER: emu.wireUrl, WAAGENT_TS_HOSTPLUGIN: emu.hostPluginUrl, WAAGENT_TS_LOG_FILE: root.logFile,
      WAAGENT_TS_RETRY_DELAY_MS: '20', WAAGENT_TS_PROGRESS_MS: '200',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // One hook, in this order: the agent must be gone before its root is removed.
  t.after(async () => {
    const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      proc.kill('SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
    await emu.close();
    await root.cleanup();
  });

  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 60_000);
  await eventually(() => out.includes(`Enable completed in`), 10_000, 'the enable to end on the terminal');
  const ERASE = '\r\x1b[2K';
  assert.match(out, new RegExp(`\\r\\x1b\\[2KDownloading ${NAME}-1\\.0\\.0 package: \\S+ \\S+ of \\S+ \\S+ \\(\\d+%\\) · \\S+ \\S+/s · \\d+s`));
  assert.match(out, new RegExp(`\\r\\x1b\\[2KRunning enable of ${NAME}-1\\.0\\.0: \\d+s of 20m timeout`));
  // Each console line is written with the live line erased first, and the line is cleared once the enable ended.
  const last = out.lastIndexOf('Running enable of');
  const after = out.slice(last);
  assert.ok(after.indexOf(ERASE) >= 0 && after.indexOf(ERASE) < after.indexOf('\n'), 'erased before the next line');
  assert.ok(!/Running enable of[^\r\n]*\d{4}-\d\d-\d\dT/.test(out), 'a log line never lands on the live line');
  const log = await readFile(root.logFile, 'utf8');
  assert.ok(!log.includes('\x1b') && !log.includes('\r'), 'the live line never reaches waagent.log');
  assert.match(log, /Still running: enable of/);
});
