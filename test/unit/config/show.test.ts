import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../src/config/parse.js';
import { ALL_KEYS, DEFAULT_CONFIG } from '../../../src/config/schema.js';
import { showConfiguration } from '../../../src/config/show.js';

/** The repo's config/waagent.conf, found upwards from this file (works from any build output dir). */
function shippedConf(): { path: string; text: string } {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'config', 'waagent.conf');
    if (existsSync(path) && existsSync(join(dir, 'package.json'))) return { path, text: readFileSync(path, 'utf8') };
  }
  throw new Error('config/waagent.conf not found');
}

// Upstream's `waagent -show-configuration` for its shipped waagent.conf (agent-lifecycle.md §11),
// plus our two Extensions.*Timeout lines in sort order.
const GOLDEN = `AutoUpdate.Enabled = True
AutoUpdate.GAFamily = Prod
AutoUpdate.UpdateToLatestVersion = True
Autoupdate.Frequency = 3600
DVD.MountPoint = /mnt/cdrom/secure
Debug.AgentCpuQuota = 50
Debug.AgentCpuThrottledTimeThreshold = 120
Debug.AgentMemoryQuota = 31457280
Debug.AutoUpdateHotfixFrequency = 14400
Debug.AutoUpdateNormalFrequency = 86400
Debug.CgroupCheckPeriod = 300
Debug.CgroupDisableOnProcessCheckFailure = True
Debug.CgroupDisableOnQuotaCheckFailure = True
Debug.CgroupLogMetrics = False
Debug.EnableAgentMemoryUsageCheck = False
Debug.EnableCgroupV2ResourceLimiting = False
Debug.EnableExtensionPolicy = False
Debug.EnableFastTrack = True
Debug.EnableGAVersioning = True
Debug.EnableSignatureValidation = False
Debug.EtpCollectionPeriod = 300
Debug.FirewallRulesLogPeriod = 86400
Debug.LogCollectorInitialDelay = 300
DetectScvmmEnv = False
EnableOverProvisioning = True
Extension.LogDir = /var/log/azure
Extensions.CommandTimeout = 1200
Extensions.Enabled = True
Extensions.GoalStatePeriod = 6
Extensions.InitialGoalStatePeriod = 6
Extensions.LongCommandTimeout = 5400
Extensions.WaitForCloudInit = False
Extensions.WaitForCloudInitTimeout = 3600
HttpProxy.Host = None
HttpProxy.Port = None
Lib.Dir = /var/lib/waagent
Logs.Collect = True
Logs.CollectPeriod = 3600
Logs.Console = True
Logs.Verbose = False
OS.AllowHTTP = False
OS.CheckRdmaDriver = False
OS.EnableFIPS = False
OS.EnableFirewall = True
OS.EnableFirewallPeriod = 30
OS.EnableRDMA = False
OS.HomeDir = /home
OS.MonitorDhcpClientRestartPeriod = 30
OS.OpensslPath = /usr/bin/openssl
OS.PasswordPath = /etc/shadow
OS.RemovePersistentNetRulesPeriod = 30
OS.RootDeviceScsiTimeout = 300
OS.RootDeviceScsiTimeoutPeriod = 30
OS.SshClientAliveInterval = 180
OS.SshDir = /etc/ssh
OS.SudoersDir = /etc/sudoers.d
OS.UpdateRdmaDriver = False
Pid.File = /var/run/waagent.pid
Policy.PolicyFilePath = /etc/waagent_policy.json
Protocol.EndpointDiscovery = dhcp
Provisioning.Agent = auto
Provisioning.AllowResetSysUser = False
Provisioning.DecodeCustomData = False
Provisioning.DeleteRootPassword = True
Provisioning.ExecuteCustomData = False
Provisioning.MonitorHostName = True
Provisioning.MonitorHostNamePeriod = 30
Provisioning.PasswordCryptId = 6
Provisioning.PasswordCryptSaltLength = 10
Provisioning.RegenerateSshHostKeyPair = True
Provisioning.SshHostKeyPairType = rsa
ResourceDisk.EnableSwap = False
ResourceDisk.EnableSwapEncryption = False
ResourceDisk.Filesystem = ext4
ResourceDisk.Format = True
ResourceDisk.MountOptions = None
ResourceDisk.MountPoint = /mnt/resource
ResourceDisk.SwapSizeMB = 0
`;

test('show-configuration of the shipped waagent.conf matches upstream', () => {
  const { path, text } = shippedConf();
  const { config, warnings } = parseConfig(text, path);
  assert.deepEqual(warnings, []);
  assert.equal(showConfiguration(config), GOLDEN);
  assert.equal(GOLDEN.split('\n').length - 1, 76 + 2);
});

test('the shipped waagent.conf mentions every key exactly once', () => {
  const { text } = shippedConf();
  for (const key of ALL_KEYS) {
    const lines = text.split('\n').filter((l) => l.replace(/^# /, '').startsWith(`${key}=`));
    assert.equal(lines.length, 1, key);
  }
});

test('values print as Python does: True/False, None, numbers', () => {
  const out = showConfiguration(DEFAULT_CONFIG);
  assert.match(out, /^Logs\.Verbose = False$/m);
  assert.match(out, /^Logs\.Console = True$/m);
  assert.match(out, /^HttpProxy\.Port = None$/m);
  assert.match(out, /^OS\.EnableFirewallPeriod = 300$/m);
  assert.match(out, /^ResourceDisk\.Filesystem = ext3$/m);
  assert.doesNotMatch(out, /CGroups\.Enabled|Monitor\.NetworkConfigurationChanges|EnableRsmDowngrade|SelfUpdate/);
});

test('table defaults show for unset keys whose getter default differs', () => {
  const unset = parseConfig('Extensions.GoalStatePeriod=10\nAutoUpdate.Enabled=n\n', 'f').config;
  assert.equal(unset['Extensions.InitialGoalStatePeriod'], 10);
  assert.equal(unset['AutoUpdate.UpdateToLatestVersion'], false);
  assert.equal(unset['Debug.EnableCgroupV2ResourceLimiting'], true);
  const out = showConfiguration(unset);
  assert.match(out, /^Extensions\.InitialGoalStatePeriod = 6$/m);
  assert.match(out, /^AutoUpdate\.UpdateToLatestVersion = True$/m);
  assert.match(out, /^Debug\.EnableCgroupV2ResourceLimiting = False$/m);
  const set = parseConfig(
    'Extensions.InitialGoalStatePeriod=3\nAutoUpdate.UpdateToLatestVersion=n\nDebug.EnableCgroupV2ResourceLimiting=y\n',
    'f',
  ).config;
  const out2 = showConfiguration(set);
  assert.match(out2, /^Extensions\.InitialGoalStatePeriod = 3$/m);
  assert.match(out2, /^AutoUpdate\.UpdateToLatestVersion = False$/m);
  assert.match(out2, /^Debug\.EnableCgroupV2ResourceLimiting = True$/m);
});

test('self-update frequencies show under the table names; lines are sorted by code point', () => {
  const cfg = parseConfig('Debug.SelfUpdateHotfixFrequency=600\nDebug.SelfUpdateRegularFrequency=7200\n', 'f').config;
  const lines = showConfiguration(cfg).trimEnd().split('\n');
  assert.ok(lines.includes('Debug.AutoUpdateHotfixFrequency = 600'));
  assert.ok(lines.includes('Debug.AutoUpdateNormalFrequency = 7200'));
  const names = lines.map((l) => l.split(' = ')[0]!);
  assert.deepEqual(names, [...names].sort());
  assert.ok(names.indexOf('AutoUpdate.UpdateToLatestVersion') < names.indexOf('Autoupdate.Frequency'));
});
