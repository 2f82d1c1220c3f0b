// planDeprovision and executePlan with a recording SystemActions: upstream's warnings and the order of the steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/parse.js';
import { executePlan, planDeprovision, readProvisionedUser } from '../../../src/cli/commands/deprovision.js';
import type { SystemActions } from '../../../src/platform/system-actions.js';

function recordingActions(log: string[], fail?: string): SystemActions {
  const rec = (name: string) => async (...args: string[]) => {
    log.push([name, ...args].join(' '));
    if (name === fail) throw new Error(`${name} failed`);
  };
  return {
    stopAgentService: rec('stopAgentService'), setHostname: rec('setHostname'), setDhcpHostname: rec('setDhcpHostname'),
    deleteRootPassword: rec('deleteRootPassword'), deleteUser: rec('deleteUser'),
    removeFirewallPersistence: rec('removeFirewallPersistence'), removeCgroupConfig: rec('removeCgroupConfig'),
  };
}

async function scratch(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'waagent-ts-deprov-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const lib = join(root, 'var/lib/waagent');
  const extLog = join(root, 'var/log/azure');
  await mkdir(lib, { recursive: true });
  await mkdir(extLog, { recursive: true });
  const config = (extra: string) => parseConfig(`Lib.Dir=${lib}\nExtension.LogDir=${extLog}\n${extra}`, 'test.conf').config;
  return { root, lib, extLog, config };
}

test('steps run in upstream\'s order; the user is deleted after the lib dir is emptied', async (t) => {
  const s = await scratch(t);
  await writeFile(join(s.lib, 'SharedConfig.xml'), 'x');
  const plan = planDeprovision(s.config('Provisioning.DeleteRootPassword=y\n'), { root: s.root, deluser: true, agentLogFile: join(s.root, 'var/log/waagent.log'), user: 'azureuser' });
  const log: string[] = [];
  const removed = await executePlan(plan, recordingActions(log));
  assert.deepEqual(log, [
    'stopAgentService', 'setHostname localhost.localdomain', 'setDhcpHostname localhost.localdomain', 'deleteRootPassword',
    'deleteUser azureuser', 'removeFirewallPersistence', 'removeCgroupConfig',
  ]);
  assert.deepEqual(removed, [join(s.lib, 'SharedConfig.xml')]);
});

test('without DeleteRootPassword and +user, neither step runs nor warns', async (t) => {
  const s = await scratch(t);
  const plan = planDeprovision(s.config('Provisioning.DeleteRootPassword=n\nProvisioning.RegenerateSshHostKeyPair=y\n'), { root: s.root, deluser: false, agentLogFile: join(s.root, 'log') });
  assert.deepEqual(plan.warnings, [
    'WARNING! The waagent service will be stopped.',
    'WARNING! All SSH host key pairs will be deleted.',
    'WARNING! Cached DHCP leases will be deleted.',
    'WARNING! /etc/resolv.conf will be deleted.',
  ]);
  const log: string[] = [];
  await executePlan(plan, recordingActions(log));
  assert.ok(!log.some((l) => l.startsWith('deleteRootPassword') || l.startsWith('deleteUser')), log.join(','));
});

test('a failing step stops the run (upstream raises out of do_actions); a lib dir of / is refused before anything', async (t) => {
  const s = await scratch(t);
  await writeFile(join(s.lib, 'keep'), 'x');
  const plan = planDeprovision(s.config('Provisioning.DeleteRootPassword=y\n'), { root: s.root, deluser: false, agentLogFile: join(s.root, 'log') });
  const log: string[] = [];
  await assert.rejects(executePlan(plan, recordingActions(log, 'deleteRootPassword')), /deleteRootPassword failed/);
  assert.equal(await readFile(join(s.lib, 'keep'), 'utf8'), 'x', 'lib dir not emptied after the failure');
  const bad = planDeprovision(parseConfig('Lib.Dir=/\n', 'x').config, { root: s.root, deluser: false, agentLogFile: join(s.root, 'log') });
  const log2: string[] = [];
  await assert.rejects(executePlan(bad, recordingActions(log2)), /refusing to empty \//);
  assert.deepEqual(log2, []);
});

test('readProvisionedUser: UserName of LinuxProvisioningConfigurationSet, prefixed or not; undefined when absent', async (t) => {
  const s = await scratch(t);
  assert.equal(await readProvisionedUser(s.lib), undefined);
  await writeFile(join(s.lib, 'ovf-env.xml'), '<ns0:Environment xmlns:ns0="http://schemas.dmtf.org/ovf/environment/1" xmlns:ns1="http://schemas.microsoft.com/windowsazure"><ns1:ProvisioningSection><ns1:LinuxProvisioningConfigurationSet><ns1:UserName>alice</ns1:UserName></ns1:LinuxProvisioningConfigurationSet></ns1:ProvisioningSection></ns0:Environment>');
  assert.equal(await readProvisionedUser(s.lib), 'alice');
  await writeFile(join(s.lib, 'ovf-env.xml'), '<Environment><LinuxProvisioningConfigurationSet><HostName>h</HostName></LinuxProvisioningConfigurationSet></Environment>');
  assert.equal(await readProvisionedUser(s.lib), undefined);
  await writeFile(join(s.lib, 'ovf-env.xml'), 'not xml <');
  assert.equal(await readProvisionedUser(s.lib), undefined);
});
