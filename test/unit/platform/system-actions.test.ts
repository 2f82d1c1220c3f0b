// The real SystemActions against a scratch root with fake /etc files and a recording command runner: what each
// deprovision step writes (atomically, keeping mode and owner) and which commands it runs. Never the real machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandResult, CommandRunner } from '../../../src/platform/firewall-command.js';
import { createSystemActions, type SystemActionsOptions } from '../../../src/platform/system-actions.js';

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'waagent-ts-sysact-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function put(root: string, rel: string, text: string, mode = 0o644): Promise<string> {
  const p = join(root, rel);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, text);
  await chmod(p, mode);
  return p;
}

/** Records argv; tools "exist" when a file is at their resolved path (scratch roots resolve inside the root). */
function recorder(result: (argv: readonly string[]) => CommandResult = () => ({ exitCode: 0, stdout: '', stderr: '', notFound: false })) {
  const calls: string[][] = [];
  const run: CommandRunner = async (argv) => {
    calls.push([...argv]);
    return result(argv);
  };
  return { calls, run };
}

function actions(root: string, run: CommandRunner, extra: Partial<SystemActionsOptions> = {}) {
  const warnings: string[] = [];
  const a = createSystemActions({
    root, libDir: join(root, 'var/lib/waagent'), passwordPath: '/etc/shadow', sudoersDir: '/etc/sudoers.d',
    allowResetSysUser: false, warn: (m) => warnings.push(m), run, ...extra,
  });
  return { a, warnings };
}

test('deleteRootPassword: root entry becomes upstream\'s locked line, other entries, mode and owner kept', async (t) => {
  const root = await scratch(t);
  const shadow = await put(root, 'etc/shadow', 'daemon:*:19000:0:99999:7:::\nroot:$6$salt$hash:19000:0:99999:7:::\nalice:$6$x$y:19001:0:99999:7:::\n', 0o640);
  const before = await stat(shadow);
  const { a } = actions(root, recorder().run);
  await a.deleteRootPassword();
  assert.equal(await readFile(shadow, 'utf8'), 'root:*LOCK*:14600::::::\ndaemon:*:19000:0:99999:7:::\nalice:$6$x$y:19001:0:99999:7:::\n');
  const after = await stat(shadow);
  assert.equal(after.mode & 0o7777, 0o640);
  assert.equal(after.uid, before.uid);
  assert.equal(after.gid, before.gid);
  assert.deepEqual((await readdir(join(root, 'etc'))).filter((n) => n.endsWith('.tmp')), [], 'no temp file left');
});

test('deleteRootPassword: a missing password file is an error (upstream raises)', async (t) => {
  const root = await scratch(t);
  const { a } = actions(root, recorder().run);
  await assert.rejects(a.deleteRootPassword(), /Failed to delete root password/);
});

test('setHostname writes /etc/hostname and runs the root\'s own hostname tool; setDhcpHostname edits dhclient.conf', async (t) => {
  const root = await scratch(t);
  const hostname = await put(root, 'etc/hostname', 'myvm\n', 0o644);
  await put(root, 'usr/bin/hostname', '#!/bin/sh\n', 0o755);
  const dhcp = await put(root, 'etc/dhcp/dhclient.conf', 'timeout 300;\nsend host-name "myvm";\n\nrequest subnet-mask;\n');
  await put(root, 'etc/dhclient.conf', 'send host-name = gethostname();\n');
  const rec = recorder();
  const { a, warnings } = actions(root, rec.run);
  await a.setHostname('localhost.localdomain');
  await a.setDhcpHostname('localhost.localdomain');
  assert.equal(await readFile(hostname, 'utf8'), 'localhost.localdomain');
  assert.deepEqual(rec.calls, [[join(root, 'usr/bin/hostname'), 'localhost.localdomain']]);
  assert.equal(await readFile(dhcp, 'utf8'), 'timeout 300;\nrequest subnet-mask;\nsend host-name "localhost.localdomain";\n');
  assert.equal(await readFile(join(root, 'etc/dhclient.conf'), 'utf8'), 'send host-name = gethostname();\n', 'autosend config untouched');
  assert.deepEqual(warnings, []);
});

test('dhclient.conf that already sends gethostname() stops the edit (upstream returns at the first such file)', async (t) => {
  const root = await scratch(t);
  const first = await put(root, 'etc/dhcp/dhclient.conf', 'send host-name = gethostname();\n');
  const second = await put(root, 'etc/dhclient.conf', 'send host-name "old";\n');
  const { a } = actions(root, recorder().run);
  await a.setDhcpHostname('localhost.localdomain');
  assert.equal(await readFile(first, 'utf8'), 'send host-name = gethostname();\n');
  assert.equal(await readFile(second, 'utf8'), 'send host-name "old";\n');
});

test('under a scratch root a tool missing from the root is skipped with a warning, never taken from the host PATH', async (t) => {
  const root = await scratch(t);
  await put(root, 'etc/hostname', 'myvm');
  const rec = recorder();
  const { a, warnings } = actions(root, rec.run);
  await a.setHostname('localhost.localdomain');
  await a.stopAgentService();
  assert.deepEqual(rec.calls, []);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /hostname is not installed; skipped: hostname localhost\.localdomain/);
  assert.match(warnings[1]!, /systemctl is not installed; skipped: systemctl stop waagent/);
});

test('stopAgentService stops the units that exist (ours and upstream\'s Ubuntu name); a failure is only a warning', async (t) => {
  const root = await scratch(t);
  await put(root, 'bin/systemctl', '#!/bin/sh\n', 0o755);
  await put(root, 'lib/systemd/system/walinuxagent.service', '[Unit]\n');
  await put(root, 'etc/systemd/system/waagent.service', '[Unit]\n');
  const rec = recorder((argv) => ({ exitCode: argv[2] === 'walinuxagent' ? 5 : 0, stdout: '', stderr: 'Unit not loaded.', notFound: false }));
  const { a, warnings } = actions(root, rec.run);
  await a.stopAgentService();
  assert.deepEqual(rec.calls, [[join(root, 'bin/systemctl'), 'stop', 'waagent'], [join(root, 'bin/systemctl'), 'stop', 'walinuxagent']]);
  assert.deepEqual(warnings, ['systemctl stop walinuxagent failed (exit code 5): Unit not loaded.']);
});

test('deleteUser: userdel -f -r, utmp created, the user\'s sudoers lines removed (mode kept)', async (t) => {
  const root = await scratch(t);
  await put(root, 'usr/sbin/userdel', '#!/bin/sh\n', 0o755);
  await put(root, 'etc/passwd', 'root:x:0:0::/root:/bin/bash\nazureuser:x:1000:1000::/home/azureuser:/bin/bash\n');
  await put(root, 'etc/login.defs', 'UID_MIN\t\t\t 1000\n');
  const sudoers = await put(root, 'etc/sudoers.d/waagent', 'azureuser ALL=(ALL) NOPASSWD: ALL\nbob ALL=(ALL) ALL\n', 0o440);
  await mkdir(join(root, 'var/run'), { recursive: true });
  const rec = recorder();
  const { a, warnings } = actions(root, rec.run);
  await a.deleteUser('azureuser');
  assert.deepEqual(rec.calls, [[join(root, 'usr/sbin/userdel'), '-f', '-r', 'azureuser']]);
  assert.equal(await readFile(sudoers, 'utf8'), 'bob ALL=(ALL) ALL\n');
  assert.equal((await stat(sudoers)).mode & 0o7777, 0o440);
  assert.ok((await stat(join(root, 'var/run/utmp'))).isFile());
  assert.deepEqual(warnings, []);
});

test('deleteUser refuses root, system users (uid < UID_MIN, 100 by default) and invalid names; AllowResetSysUser allows system users', async (t) => {
  const root = await scratch(t);
  await put(root, 'usr/sbin/userdel', '#!/bin/sh\n', 0o755);
  await put(root, 'etc/passwd', 'root:x:0:0::/root:/bin/bash\nsvc:x:42:42::/var/svc:/bin/false\n');
  const rec = recorder();
  const { a } = actions(root, rec.run);
  await assert.rejects(a.deleteUser('root'), /root is a system user\. Will not delete it\./);
  await assert.rejects(a.deleteUser('svc'), /svc is a system user/);
  await assert.rejects(a.deleteUser('x; rm -rf /'), /not a valid user name/);
  assert.deepEqual(rec.calls, []);
  const lenient = actions(root, rec.run, { allowResetSysUser: true });
  await lenient.a.deleteUser('svc');
  assert.deepEqual(rec.calls, [[join(root, 'usr/sbin/userdel'), '-f', '-r', 'svc']]);
  await assert.rejects(lenient.a.deleteUser('root'), /system user/, 'root never');
});

test('removeFirewallPersistence and removeCgroupConfig delete upstream\'s unit, script, drop-ins and slice only', async (t) => {
  const root = await scratch(t);
  const gone = [
    await put(root, 'var/lib/waagent/waagent-network-setup.py', 'x'),
    await put(root, 'lib/systemd/system/waagent-network-setup.service', 'x'),
    await put(root, 'usr/lib/systemd/system/walinuxagent-network-setup.service', 'x'),
    await put(root, 'lib/systemd/system/waagent.service.d/10-Slice.conf', 'x'),
    await put(root, 'lib/systemd/system/waagent.service.d/11-CPUAccounting.conf', 'x'),
    await put(root, 'lib/systemd/system/walinuxagent.service.d/12-CPUQuota.conf', 'x'),
    await put(root, 'lib/systemd/system/walinuxagent.service.d/13-MemoryAccounting.conf', 'x'),
    await put(root, 'lib/systemd/system/azure-walinuxagent-logcollector.slice', 'x'),
  ];
  const kept = [
    await put(root, 'lib/systemd/system/waagent.service', 'x'),
    await put(root, 'lib/systemd/system/waagent.service.d/50-local.conf', 'x'),
    await put(root, 'lib/systemd/system/azure.slice', 'x'),
  ];
  const { a } = actions(root, recorder().run);
  await a.removeFirewallPersistence();
  await a.removeCgroupConfig();
  for (const p of gone) await assert.rejects(stat(p), /ENOENT/, `${p} removed`);
  for (const p of kept) assert.ok((await stat(p)).isFile(), `${p} kept`);
});
