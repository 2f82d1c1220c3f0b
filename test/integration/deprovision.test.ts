// `waagent -deprovision[+user]` against a scratch root: "n" deletes nothing, -force empties the agent's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempRoot, type TempRoot } from '../helpers/agent.js';
import { runWaagent } from '../helpers/cli.js';

// Every system path is taken under the scratch root; the test never touches the machine.
const waagent = (args: string[], root: TempRoot, input: string | null) => runWaagent([...args, `-configuration-path:${root.confPath}`], {
  env: { WAAGENT_TS_DEPROVISION_ROOT: root.dir, WAAGENT_TS_LOG_FILE: root.logFile }, input,
});

const exists = (p: string) => access(p).then(() => true, () => false);


async function populate(root: TempRoot): Promise<string[]> {
  await mkdir(join(root.libDir, 'Foo.Bar-1.0.0', 'config'), { recursive: true });
  await writeFile(join(root.libDir, 'Foo.Bar-1.0.0', 'config', 'HandlerState'), 'Enabled');
  await writeFile(join(root.libDir, 'SharedConfig.xml'), '<x/>');
  await mkdir(join(root.extLogDir, 'Foo.Bar'), { recursive: true });
  await writeFile(join(root.extLogDir, 'Foo.Bar', 'CommandExecution.log'), 'log');
  await mkdir(join(root.logFile, '..'), { recursive: true });
  await writeFile(root.logFile, 'agent log');
  const ssh = join(root.dir, 'etc/ssh');
  await mkdir(ssh, { recursive: true });
  await writeFile(join(ssh, 'ssh_host_rsa_key'), 'k');
  await writeFile(join(ssh, 'ssh_host_rsa_key.pub'), 'k');
  await writeFile(join(ssh, 'sshd_config'), 'keep');
  await mkdir(join(root.dir, 'var/lib/dhcp'), { recursive: true });
  await writeFile(join(root.dir, 'var/lib/dhcp/dhclient.eth0.leases'), 'lease');
  await writeFile(join(root.dir, 'etc/resolv.conf'), 'nameserver 127.0.0.53');
  return [join(root.libDir, 'SharedConfig.xml'), join(root.extLogDir, 'Foo.Bar'), root.logFile, join(ssh, 'ssh_host_rsa_key'),
    join(root.dir, 'var/lib/dhcp/dhclient.eth0.leases'), join(root.dir, 'etc/resolv.conf')];
}

for (const answer of ['n\n', '', 'whatever\n']) {
  test(`answering ${JSON.stringify(answer)} deletes nothing and exits 0`, async (t) => {
    const root = await tempRoot({ 'Provisioning.RegenerateSshHostKeyPair': 'y' });
    t.after(() => root.cleanup());
    const files = await populate(root);
    const r = await waagent(['-deprovision'], root, answer);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /WARNING! All SSH host key pairs will be deleted\./);
    assert.match(r.stdout, /Do you want to proceed \(y\/n\)/);
    for (const f of files) assert.ok(await exists(f), `${f} kept`);
  });
}

/** The machine's side of the scratch root: /etc files, the provisioning data, and recording fake system tools. */
async function populateSystem(root: TempRoot): Promise<string> {
  const calls = join(root.dir, 'tool-calls.log');
  for (const tool of ['usr/bin/systemctl', 'usr/bin/hostname', 'usr/sbin/userdel']) {
    const p = join(root.dir, tool);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, `#!/bin/sh\necho "$(basename "$0") $*" >> '${calls}'\n`);
    await chmod(p, 0o755);
  }
  await mkdir(join(root.dir, 'lib/systemd/system/waagent.service.d'), { recursive: true });
  await mkdir(join(root.dir, 'etc/sudoers.d'), { recursive: true });
  await writeFile(join(root.dir, 'lib/systemd/system/waagent.service'), '[Unit]\n');
  await writeFile(join(root.dir, 'lib/systemd/system/waagent.service.d/10-Slice.conf'), '[Service]\n');
  await writeFile(join(root.dir, 'lib/systemd/system/waagent-network-setup.service'), '[Unit]\n');
  await writeFile(join(root.dir, 'etc/hostname'), 'myvm\n');
  await writeFile(join(root.dir, 'etc/shadow'), 'root:$6$s$h:19000:0:99999:7:::\nazureuser:$6$a$b:19000:0:99999:7:::\n', { mode: 0o640 });
  await writeFile(join(root.dir, 'etc/passwd'), 'root:x:0:0::/root:/bin/bash\nazureuser:x:1000:1000::/home/azureuser:/bin/bash\n');
  await writeFile(join(root.dir, 'etc/sudoers.d/waagent'), 'azureuser ALL=(ALL) NOPASSWD: ALL\n', { mode: 0o440 });
  await writeFile(join(root.libDir, 'ovf-env.xml'), '<?xml version="1.0" encoding="utf-8"?><Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure"><wa:ProvisioningSection><wa:Version>1.0</wa:Version><LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure"><ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType><HostName>myvm</HostName><UserName>azureuser</UserName></LinuxProvisioningConfigurationSet></wa:ProvisioningSection></Environment>');
  return calls;
}

test('-deprovision+user -force: every upstream step, in order, inside the scratch root', async (t) => {
  const root = await tempRoot({ 'Provisioning.RegenerateSshHostKeyPair': 'y', 'Provisioning.DeleteRootPassword': 'y' });
  t.after(() => root.cleanup());
  const files = await populate(root);
  const calls = await populateSystem(root);
  const r = await waagent(['-deprovision+user', '-force'], root, null);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    'WARNING! The waagent service will be stopped.',
    'WARNING! All SSH host key pairs will be deleted.',
    'WARNING! Cached DHCP leases will be deleted.',
    'WARNING! root password will be disabled. You will not be able to login as root.',
    'WARNING! /etc/resolv.conf will be deleted.',
    'WARNING! azureuser account and entire home directory will be deleted.',
  ].join('\n') + '\n');
  assert.equal(await readFile(calls, 'utf8'), 'systemctl stop waagent\nhostname localhost.localdomain\nuserdel -f -r azureuser\n');
  assert.equal(await readFile(join(root.dir, 'etc/hostname'), 'utf8'), 'localhost.localdomain');
  assert.equal(await readFile(join(root.dir, 'etc/shadow'), 'utf8'), 'root:*LOCK*:14600::::::\nazureuser:$6$a$b:19000:0:99999:7:::\n');
  assert.equal((await stat(join(root.dir, 'etc/shadow'))).mode & 0o777, 0o640);
  assert.equal(await readFile(join(root.dir, 'etc/sudoers.d/waagent'), 'utf8'), '');
  assert.equal(await exists(join(root.dir, 'lib/systemd/system/waagent.service.d/10-Slice.conf')), false);
  assert.equal(await exists(join(root.dir, 'lib/systemd/system/waagent-network-setup.service')), false);
  assert.ok(await exists(join(root.dir, 'lib/systemd/system/waagent.service')), 'the agent unit itself is kept');
  for (const f of files) assert.equal(await exists(f), false, `${f} deleted`);
  assert.deepEqual(await readdir(root.libDir), []);
  assert.deepEqual(await readdir(root.extLogDir), []);
  assert.ok(await exists(join(root.dir, 'etc/ssh/sshd_config')), 'other ssh files are kept');
  assert.ok(await exists(root.confPath), 'the configuration is kept');
});

test('"y" proceeds; without RegenerateSshHostKeyPair the host keys stay', async (t) => {
  const root = await tempRoot({ 'Provisioning.RegenerateSshHostKeyPair': 'n' });
  t.after(() => root.cleanup());
  await populate(root);
  const r = await waagent(['-deprovision'], root, 'y\n');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readdir(root.libDir), []);
  assert.ok(await exists(join(root.dir, 'etc/ssh/ssh_host_rsa_key')));
});

test('-deprovision+user without ovf-env.xml warns as upstream and deletes no user', async (t) => {
  const root = await tempRoot({ 'Provisioning.DeleteRootPassword': 'n' });
  t.after(() => root.cleanup());
  const calls = await populateSystem(root);
  await rm(join(root.libDir, 'ovf-env.xml'));
  const r = await waagent(['-deprovision+user', '-force'], root, null);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /WARNING! ovf-env\.xml is not found\.\nWARNING! Skip delete user\.\n$/);
  assert.doesNotMatch(r.stdout, /root password/);
  assert.equal(await readFile(calls, 'utf8'), 'systemctl stop waagent\nhostname localhost.localdomain\n');
  assert.match(await readFile(join(root.dir, 'etc/shadow'), 'utf8'), /^root:\$6\$s\$h:/, 'root password kept with DeleteRootPassword=n');
});
