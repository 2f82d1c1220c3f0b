// The shipped systemd unit (verified by systemd-analyze) and logrotate config (its postrotate makes both the daemon
// and the extension handler reopen the log, through the PID file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, repoRoot, tempRoot } from '../helpers/agent.js';
import { startDaemon } from './daemon-harness.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('systemd/waagent.service: upstream shape, and systemd-analyze verify accepts it', async (t) => {
  const unit = await readFile(join(repoRoot(), 'systemd', 'waagent.service'), 'utf8');
  const service = unit.slice(unit.indexOf('[Service]'));
  assert.match(service, /^Type=simple$/m);
  assert.match(service, /^Restart=always$/m);
  assert.match(service, /^RestartSec=5$/m);
  assert.match(service, /^ExecStart=\/usr\/sbin\/waagent -daemon$/m);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  assert.match(unit, /^Documentation=man:waagent\(8\)$/m);
  if (!has('systemd-analyze')) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  // verify checks that ExecStart exists: point it at this checkout's executable entry.
  const dir = await mkdtemp(join(tmpdir(), 'waagent-unit-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'waagent.service'), unit.replace('ExecStart=/usr/sbin/waagent', `ExecStart=${join(repoRoot(), 'bin', 'waagent.js')}`));
  // Documentation=man:waagent(8): verify runs man on it, so it must find our man page (man/waagent.8).
  await mkdir(join(dir, 'man', 'man8'), { recursive: true });
  await copyFile(join(repoRoot(), 'man', 'waagent.8'), join(dir, 'man', 'man8', 'waagent.8'));
  const manArgs = has('man') ? [] : ['--man=no'];
  const r = spawnSync('systemd-analyze', ['verify', ...manArgs, join(dir, 'waagent.service')],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MANPATH: join(dir, 'man'), MANPAGER: 'cat', PAGER: 'cat' } });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /waagent\.service:/, 'no warnings about our unit');
});

test('logrotate: after the rename, postrotate makes the daemon and the extension handler write to the new file', async (t) => {
  const emu = await createEmulator({ scenario: { extensions: [] } });
  const root = await tempRoot();
  const d = startDaemon(root, emu);
  t.after(async () => {
    d.kill();
    await emu.close();
    await root.cleanup();
  });
  await d.waitForChild(15_000);
  await emu.waitFor(() => true, 30_000);
  const pidFile = join(root.dir, 'waagent.pid');
  const shipped = await readFile(join(repoRoot(), 'config', 'waagent.logrotate'), 'utf8');
  const conf = shipped.replaceAll('/var/log/waagent.log', root.logFile).replaceAll('/var/run/waagent.pid', pidFile);
  assert.notEqual(conf, shipped);
  const commands = shipped.split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
  assert.doesNotMatch(commands, /pkill|killall/, 'only the daemon named in the PID file is signalled');
  if (has('logrotate')) {
    const confPath = join(root.dir, 'logrotate.conf');
    await writeFile(confPath, conf.replace(/^\s*compress$/m, '    nocompress'));
    execFileSync('logrotate', ['-f', '-s', join(root.dir, 'logrotate.state'), confPath], { timeout: 30_000 });
  } else {
    // As logrotate does without copytruncate: rename, then run the postrotate script.
    const script = /postrotate\n([\s\S]*?)\n\s*endscript/.exec(conf)?.[1];
    assert.ok(script, 'a postrotate script');
    await rename(root.logFile, `${root.logFile}.1`);
    execFileSync('sh', ['-c', script], { timeout: 10_000 });
  }
  emu.publish({}); // a new goal state: the extension handler logs INFO lines
  const fresh = await eventually(async () => {
    const text = await readFile(root.logFile, 'utf8').catch(() => '');
    return /INFO Daemon Daemon Received SIGHUP; log file reopened\n/.test(text) && /INFO ExtHandler ExtHandler Fetching goal state \[incarnation 2\]/.test(text) ? text : null;
  }, 20_000, 'both processes writing to the new log file');
  assert.doesNotMatch(fresh, /incarnation 1\]/, 'nothing from before the rotation');
  assert.equal(d.proc.exitCode, null, 'SIGHUP did not stop the daemon');
});
