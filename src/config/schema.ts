// Every waagent.conf key, its type and its code default (agent-lifecycle.md §9). Pure: no I/O.
import { z } from 'zod';

export type KeyKind = 'switch' | 'int' | 'string';

/** How one key is read: its kind, the zod schema its typed value must satisfy, and its code default. */
export interface KeySpec<T> {
  readonly kind: KeyKind;
  readonly schema: z.ZodType<T>;
  readonly default: T;
  /** Shown in errors after "expected ". */
  readonly expected: string;
}

const sw = (def: boolean): KeySpec<boolean> => ({ kind: 'switch', schema: z.boolean(), default: def, expected: 'y or n' });

/** An integer >= min (1 for periods and sizes where zero makes no sense). */
const int = (def: number, min = 1): KeySpec<number> => ({
  kind: 'int',
  schema: z.number().int().min(min).max(Number.MAX_SAFE_INTEGER),
  default: def,
  expected: `an integer >= ${min}`,
});

const str = (def: string): KeySpec<string> => ({
  kind: 'string',
  schema: z.string().min(1),
  default: def,
  expected: 'a non-empty string',
});

/** A string whose default is None (unset). */
const optStr = (): KeySpec<string | null> => ({
  kind: 'string',
  schema: z.string().min(1).nullable(),
  default: null,
  expected: 'a string',
});

export const CONFIG_KEYS = {
  'Extensions.Enabled': sw(true),
  'Extensions.GoalStatePeriod': int(6),
  // Derived: when absent it takes Extensions.GoalStatePeriod (see parse.ts); 6 is the table default.
  'Extensions.InitialGoalStatePeriod': int(6),
  'Extensions.WaitForCloudInit': sw(false),
  // Upstream reads this with the switch reader, so any number silently becomes 3600. We deliberately
  // fix that bug and read it as the int it is meant to be (0 = do not wait).
  'Extensions.WaitForCloudInitTimeout': int(3600, 0),
  'Provisioning.Agent': str('auto'),
  'Provisioning.DeleteRootPassword': sw(false),
  'Provisioning.RegenerateSshHostKeyPair': sw(false),
  'Provisioning.SshHostKeyPairType': str('rsa'),
  'Provisioning.MonitorHostName': sw(false),
  'Provisioning.MonitorHostNamePeriod': int(30),
  'Provisioning.DecodeCustomData': sw(false),
  'Provisioning.ExecuteCustomData': sw(false),
  'Provisioning.PasswordCryptId': str('6'),
  'Provisioning.PasswordCryptSaltLength': int(10, 0),
  'Provisioning.AllowResetSysUser': sw(false),
  'ResourceDisk.Format': sw(false),
  'ResourceDisk.Filesystem': str('ext3'),
  'ResourceDisk.MountPoint': str('/mnt/resource'),
  'ResourceDisk.MountOptions': optStr(),
  'ResourceDisk.EnableSwap': sw(false),
  'ResourceDisk.EnableSwapEncryption': sw(false),
  'ResourceDisk.SwapSizeMB': int(0, 0),
  'Logs.Verbose': sw(false),
  'Logs.Console': sw(true),
  'Logs.Collect': sw(true),
  'Logs.CollectPeriod': int(3600),
  'OS.EnableFIPS': sw(false),
  // A string upstream (written verbatim to /sys/block/<dev>/device/timeout).
  'OS.RootDeviceScsiTimeout': optStr(),
  'OS.RootDeviceScsiTimeoutPeriod': int(30),
  'OS.OpensslPath': str('/usr/bin/openssl'),
  // Upstream reads it as a string; an int is what sshd_config accepts (0 disables).
  'OS.SshClientAliveInterval': int(180, 0),
  'OS.SshDir': str('/etc/ssh'),
  'OS.HomeDir': str('/home'),
  'OS.PasswordPath': str('/etc/shadow'),
  'OS.SudoersDir': str('/etc/sudoers.d'),
  'OS.EnableRDMA': sw(false),
  'OS.UpdateRdmaDriver': sw(false),
  'OS.CheckRdmaDriver': sw(false),
  'OS.AllowHTTP': sw(false),
  'OS.EnableFirewall': sw(false),
  'OS.EnableFirewallPeriod': int(300),
  'OS.RemovePersistentNetRulesPeriod': int(30),
  'OS.MonitorDhcpClientRestartPeriod': int(30),
  'HttpProxy.Host': optStr(),
  'HttpProxy.Port': {
    kind: 'int',
    schema: z.number().int().min(1).max(65535).nullable(),
    default: null,
    expected: 'a port number (1-65535)',
  } as KeySpec<number | null>,
  'DetectScvmmEnv': sw(false),
  'Lib.Dir': str('/var/lib/waagent'),
  'DVD.MountPoint': str('/mnt/cdrom/secure'),
  'Pid.File': str('/var/run/waagent.pid'),
  'Extension.LogDir': str('/var/log/azure'),
  'AutoUpdate.Enabled': sw(true),
  // Derived: when absent it takes AutoUpdate.Enabled (see parse.ts); true is the table default.
  'AutoUpdate.UpdateToLatestVersion': sw(true),
  'AutoUpdate.GAFamily': str('Prod'),
  'Autoupdate.Frequency': int(3600),
  'EnableOverProvisioning': sw(true),
  'Protocol.EndpointDiscovery': str('dhcp'),
  'Policy.PolicyFilePath': str('/etc/waagent_policy.json'),
  'Monitor.NetworkConfigurationChanges': sw(false),
  'CGroups.Enabled': sw(true),
  'Debug.CgroupCheckPeriod': int(300),
  'Debug.CgroupLogMetrics': sw(false),
  'Debug.CgroupDisableOnProcessCheckFailure': sw(true),
  'Debug.CgroupDisableOnQuotaCheckFailure': sw(true),
  'Debug.AgentCpuQuota': int(50),
  'Debug.AgentCpuThrottledTimeThreshold': int(120, 0),
  'Debug.AgentMemoryQuota': int(30 * 1024 * 1024),
  'Debug.EnableAgentMemoryUsageCheck': sw(false),
  'Debug.EnableFastTrack': sw(true),
  'Debug.EnableGAVersioning': sw(true),
  'Debug.EnableRsmDowngrade': sw(false),
  'Debug.EtpCollectionPeriod': int(300),
  'Debug.SelfUpdateHotfixFrequency': int(4 * 60 * 60),
  'Debug.SelfUpdateRegularFrequency': int(24 * 60 * 60),
  'Debug.FirewallRulesLogPeriod': int(86400),
  'Debug.LogCollectorInitialDelay': int(300, 0),
  // Code default y; upstream's -show-configuration table says n (show.ts reproduces that).
  'Debug.EnableCgroupV2ResourceLimiting': sw(true),
  'Debug.EnableExtensionPolicy': sw(false),
  'Debug.EnableSignatureValidation': sw(false),
  // Ours: a downloaded agent version that exits abnormally this many times within the window (seconds) is blacklisted.
  'Debug.AgentCrashLoopCount': int(3),
  'Debug.AgentCrashLoopWindow': int(300),
  // Ours, not upstream's: limits for a handler command (upstream hard-codes them).
  'Extensions.CommandTimeout': int(1200),
  /** For CustomScript, Chef and DSC, whose commands legitimately run long. */
  'Extensions.LongCommandTimeout': int(5400),
} as const satisfies Record<string, KeySpec<unknown>>;

export type ConfigKey = keyof typeof CONFIG_KEYS;
type ValueOf<S> = S extends KeySpec<infer T> ? T : never;

/** Symbol-keyed field listing the keys the file set (to a value other than None). Spread copies it. */
export const PRESENT: unique symbol = Symbol('waagent.conf keys present');

/** The effective configuration: `cfg['Lib.Dir']`, `cfg['Logs.Verbose']`, ... Deeply frozen when built here. */
export type Config = { readonly [K in ConfigKey]: ValueOf<(typeof CONFIG_KEYS)[K]> } & {
  readonly [PRESENT]: readonly ConfigKey[];
};

export const ALL_KEYS = Object.freeze(Object.keys(CONFIG_KEYS) as ConfigKey[]);

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(CONFIG_KEYS, key);
}

/** True when the file set `key` (AutoUpdate.UpdateToLatestVersion overrides AutoUpdate.Enabled only then). */
export function isPresent(cfg: Config, key: ConfigKey): boolean {
  return (cfg[PRESENT] ?? []).includes(key);
}

type MutableValues = { -readonly [K in ConfigKey]: ValueOf<(typeof CONFIG_KEYS)[K]> };

/** Build a frozen Config from the values the file set; derived defaults follow upstream's getters. */
export function buildConfig(set: Partial<MutableValues>): Config {
  const values: Record<string, unknown> = {};
  for (const key of ALL_KEYS) values[key] = Object.hasOwn(set, key) ? set[key] : CONFIG_KEYS[key].default;
  if (!Object.hasOwn(set, 'Extensions.InitialGoalStatePeriod')) {
    values['Extensions.InitialGoalStatePeriod'] = values['Extensions.GoalStatePeriod'];
  }
  if (!Object.hasOwn(set, 'AutoUpdate.UpdateToLatestVersion')) {
    values['AutoUpdate.UpdateToLatestVersion'] = values['AutoUpdate.Enabled'];
  }
  const present = Object.freeze(ALL_KEYS.filter((k) => Object.hasOwn(set, k)));
  return Object.freeze({ ...(values as MutableValues), [PRESENT]: present });
}

export const DEFAULT_CONFIG: Config = buildConfig({});
