// `waagent -show-configuration` output (agent-lifecycle.md §11). Pure.
import { isPresent, type Config, type ConfigKey } from './schema.js';

/**
 * The keys upstream's fixed option tables list (76), each with the Config key it shows, plus our two timeouts.
 * Not listed, as upstream: CGroups.Enabled, Monitor.NetworkConfigurationChanges, Debug.EnableRsmDowngrade.
 * The self-update frequencies appear under the tables' older names.
 */
const SHOWN: Readonly<Record<string, ConfigKey>> = Object.freeze({
  ...Object.fromEntries(
    (
      [
        'OS.AllowHTTP', 'OS.EnableFirewall', 'OS.EnableFIPS', 'OS.EnableRDMA', 'OS.UpdateRdmaDriver',
        'OS.CheckRdmaDriver', 'Logs.Verbose', 'Logs.Console', 'Logs.Collect', 'Extensions.Enabled',
        'Extensions.WaitForCloudInit', 'Provisioning.AllowResetSysUser', 'Provisioning.RegenerateSshHostKeyPair',
        'Provisioning.DeleteRootPassword', 'Provisioning.DecodeCustomData', 'Provisioning.ExecuteCustomData',
        'Provisioning.MonitorHostName', 'DetectScvmmEnv', 'ResourceDisk.Format', 'ResourceDisk.EnableSwap',
        'ResourceDisk.EnableSwapEncryption', 'AutoUpdate.Enabled', 'AutoUpdate.UpdateToLatestVersion',
        'EnableOverProvisioning', 'Debug.CgroupLogMetrics', 'Debug.CgroupDisableOnProcessCheckFailure',
        'Debug.CgroupDisableOnQuotaCheckFailure', 'Debug.EnableAgentMemoryUsageCheck', 'Debug.EnableFastTrack',
        'Debug.EnableGAVersioning', 'Debug.EnableCgroupV2ResourceLimiting', 'Debug.EnableExtensionPolicy',
        'Debug.EnableSignatureValidation',
        'Lib.Dir', 'DVD.MountPoint', 'Pid.File', 'Extension.LogDir', 'OS.OpensslPath', 'OS.SshDir', 'OS.HomeDir',
        'OS.PasswordPath', 'OS.SudoersDir', 'OS.RootDeviceScsiTimeout', 'Provisioning.Agent',
        'Provisioning.SshHostKeyPairType', 'Provisioning.PasswordCryptId', 'HttpProxy.Host',
        'ResourceDisk.MountPoint', 'ResourceDisk.MountOptions', 'ResourceDisk.Filesystem', 'AutoUpdate.GAFamily',
        'Policy.PolicyFilePath', 'Protocol.EndpointDiscovery',
        'Extensions.GoalStatePeriod', 'Extensions.InitialGoalStatePeriod', 'Extensions.WaitForCloudInitTimeout',
        'OS.EnableFirewallPeriod', 'OS.RemovePersistentNetRulesPeriod', 'OS.RootDeviceScsiTimeoutPeriod',
        'OS.MonitorDhcpClientRestartPeriod', 'OS.SshClientAliveInterval', 'Provisioning.MonitorHostNamePeriod',
        'Provisioning.PasswordCryptSaltLength', 'HttpProxy.Port', 'ResourceDisk.SwapSizeMB', 'Autoupdate.Frequency',
        'Logs.CollectPeriod', 'Debug.CgroupCheckPeriod', 'Debug.AgentCpuQuota',
        'Debug.AgentCpuThrottledTimeThreshold', 'Debug.AgentMemoryQuota', 'Debug.EtpCollectionPeriod',
        'Debug.FirewallRulesLogPeriod', 'Debug.LogCollectorInitialDelay',
        'Extensions.CommandTimeout', 'Extensions.LongCommandTimeout',
      ] as const
    ).map((k) => [k, k]),
  ),
  'Debug.AutoUpdateHotfixFrequency': 'Debug.SelfUpdateHotfixFrequency',
  'Debug.AutoUpdateNormalFrequency': 'Debug.SelfUpdateRegularFrequency',
});

/**
 * Upstream's table reads these with a fixed default rather than the getter's: when the file does not set them
 * it prints this value, not the derived or code default.
 */
const TABLE_DEFAULTS: Partial<Record<ConfigKey, boolean | number>> = {
  'Extensions.InitialGoalStatePeriod': 6,
  'AutoUpdate.UpdateToLatestVersion': true,
  'Debug.EnableCgroupV2ResourceLimiting': false,
};

/** Python's str() of the value. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}

/** One `<key> = <value>` line per listed key, sorted by code point, each ending in a newline. */
export function showConfiguration(cfg: Config): string {
  const names = Object.keys(SHOWN).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names
    .map((name) => {
      const key = SHOWN[name]!;
      const tableDefault = TABLE_DEFAULTS[key];
      const value = tableDefault !== undefined && !isPresent(cfg, key) ? tableDefault : cfg[key];
      return `${name} = ${pyStr(value)}\n`;
    })
    .join('');
}
