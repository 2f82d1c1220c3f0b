// `waagent -deprovision[+user]` against a scratch root: "n" deletes nothing, -force empties the agent's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_MAIN, tempRoot, type TempRoot } from '../helpers/agent.js';

const exists = (p: string) => access(p).then(() => true, () => false);

function waagent(args: string[], root: TempRoot, input: string | null): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [
      '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
      '--', ...args, `-configuration-path:${root.confPath}`,
    ], {
      timeout: 30_000,
      // Every system path is taken under the scratch root; the test never touches the machine.
      env: { ...process.env, WAAGENT_TS_NO_CONSOLE: '1', WAAGENT_TS_DEPROVISION_ROOT: root.dir, WAAGENT_TS_LOG_FILE: root.logFile },
    }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: child.exitCode, stdout, stderr });
    });
    if (input !== null) child.stdin!.write(input);
    child.stdin!.end();
  });
}

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

test('-deprovision+user -force empties the lib and log dirs and deletes keys, leases and the agent log', async (t) => {
  const root = await tempRoot({ 'Provisioning.RegenerateSshHostKeyPair': 'y', 'Provisioning.DeleteRootPassword': 'y' });
  t.after(() => root.cleanup());
  const files = await populate(root);
  const r = await waagent(['-deprovision+user', '-force'], root, null);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /proceed/);
  assert.match(r.stdout, /account and entire home directory will be deleted/);
  assert.match(r.stdout, /Not implemented by waagent-ts.*disabling the root password.*deleting the provisioned user/);
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
