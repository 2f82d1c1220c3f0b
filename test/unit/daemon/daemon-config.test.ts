import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDaemonConfig, readDaemonConfig } from '../../../src/daemon/daemon-config.js';

test('defaults when the file sets nothing the daemon reads', () => {
  const c = parseDaemonConfig('# comment\nOS.EnableFirewall=y\n', 'f');
  assert.deepEqual(c, {
    libDir: '/var/lib/waagent', pidFile: '/var/run/waagent.pid', verbose: false, runDownloadedAgents: true, crashLoopCount: 3, crashLoopWindowMs: 300_000,
  });
});

test('upstream line rules: later lines win, comments and quotes stripped, None unsets', () => {
  const c = parseDaemonConfig('Lib.Dir=/a\nLib.Dir = "/b" # why\nPid.File=/x.pid\nPid.File=None\nLogs.Verbose=Y\nDebug.AgentCrashLoopCount=5\nDebug.AgentCrashLoopWindow=7\n', 'f');
  assert.equal(c.libDir, '/b');
  assert.equal(c.pidFile, '/var/run/waagent.pid');
  assert.equal(c.verbose, true);
  assert.equal(c.crashLoopCount, 5);
  assert.equal(c.crashLoopWindowMs, 7000);
});

test('downloaded agents run when UpdateToLatestVersion is present (any value) or AutoUpdate.Enabled is on', () => {
  assert.equal(parseDaemonConfig('AutoUpdate.Enabled=n\n', 'f').runDownloadedAgents, false);
  assert.equal(parseDaemonConfig('AutoUpdate.Enabled=n\nAutoUpdate.UpdateToLatestVersion=n\n', 'f').runDownloadedAgents, true);
  assert.equal(parseDaemonConfig('AutoUpdate.Enabled=y\n', 'f').runDownloadedAgents, true);
});

test('a bad value of a key the daemon reads is an error naming the file and key', () => {
  assert.throws(() => parseDaemonConfig('Logs.Verbose=maybe\n', '/etc/w.conf'), /\/etc\/w\.conf has an invalid value for Logs\.Verbose: expected y or n, got 'maybe'/);
  assert.throws(() => parseDaemonConfig('Debug.AgentCrashLoopCount=0\n', 'f'), /Debug\.AgentCrashLoopCount: expected an integer >= 1/);
  assert.throws(() => parseDaemonConfig('Lib.Dir=\n', 'f'), /Lib\.Dir: expected a non-empty string/);
  assert.throws(() => parseDaemonConfig('', 'f'), /f is empty/);
});

test('a missing file is "Missing configuration in <path>"', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daemon-conf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.throws(() => readDaemonConfig(join(dir, 'nope.conf')), /^ConfigError: Missing configuration in .*nope\.conf$/);
  await writeFile(join(dir, 'w.conf'), 'Lib.Dir=/srv/lib\n');
  assert.equal(readDaemonConfig(join(dir, 'w.conf')).libDir, '/srv/lib');
});
