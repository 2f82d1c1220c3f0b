// `waagent -deprovision[+user] [-force]` (agent-lifecycle.md §12), upstream's steps in upstream's order. Every system
// path is taken under `root` (default `/`; tests use a scratch root via WAAGENT_TS_DEPROVISION_ROOT) and the lib/log
// dirs come from the config; what changes the machine beyond deleting files goes through SystemActions.
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import { DEFAULT_CONF_PATH, loadConfig } from '../../config/load.js';
import { errorMessage } from '../../errors.js';
import { createSystemActions, type SystemActions } from '../../platform/system-actions.js';

/** upstream deprovision/default.py reset_hostname */
export const DEPROVISION_HOSTNAME = 'localhost.localdomain';

export interface DeprovisionPlan {
  readonly warnings: readonly string[];
  /** Files deleted (missing ones are ignored). */
  readonly files: readonly string[];
  /** Directories emptied (the directory itself is kept). */
  readonly emptyDirs: readonly string[];
  /** SSH host keys: files in `dir` whose name matches `re`. */
  readonly sshKeys: ReadonlyArray<{ dir: string; re: RegExp }>;
  /** DHCP leases, same form. */
  readonly leases: ReadonlyArray<{ dir: string; re: RegExp }>;
  readonly deleteRootPassword: boolean;
  /** The provisioned user to delete (`-deprovision+user` with an ovf-env.xml naming one). */
  readonly user?: string;
}

const DHCP_LEASE_DIRS = ['var/lib/dhclient', 'var/lib/dhcpcd', 'var/lib/dhcp', 'run/systemd/netif/leases', 'var/lib/NetworkManager'];

/** Local name of a possibly prefixed tag (`wa:UserName` => `UserName`). */
const local = (tag: string): string => tag.slice(tag.indexOf(':') + 1);

/**
 * The provisioned user from `<lib>/ovf-env.xml` (upstream get_ovf_env().username): LinuxProvisioningConfigurationSet's
 * UserName. Undefined when the file is missing or names no user. The XML parser is imported only here.
 */
export async function readProvisionedUser(libDir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(libDir, 'ovf-env.xml'), 'utf8');
  } catch {
    return undefined;
  }
  const { parseXml } = await import('../../protocol/xml.js');
  type Node = ReturnType<typeof parseXml>;
  const find = (n: Node, name: string): Node | undefined => {
    for (const c of n.children) {
      if (local(c.tag) === name) return c;
      const hit = find(c, name);
      if (hit) return hit;
    }
    return undefined;
  };
  try {
    const set = find(parseXml(text, 'ovf-env.xml'), 'LinuxProvisioningConfigurationSet');
    const user = set ? find(set, 'UserName')?.text?.trim() : undefined;
    return user ? user : undefined;
  } catch {
    return undefined;
  }
}

export function planDeprovision(config: Config, opts: { root: string; deluser: boolean; agentLogFile: string; user?: string }): DeprovisionPlan {
  const r = (p: string): string => join(opts.root, p);
  // The warnings are upstream's, word for word and in its order.
  const warnings = ['WARNING! The waagent service will be stopped.'];
  const sshKeys: Array<{ dir: string; re: RegExp }> = [];
  if (config['Provisioning.RegenerateSshHostKeyPair']) {
    warnings.push('WARNING! All SSH host key pairs will be deleted.');
    sshKeys.push({ dir: r(config['OS.SshDir']), re: /^ssh_host_.*key(?:\.pub)?$/ });
  }
  warnings.push('WARNING! Cached DHCP leases will be deleted.');
  const leases = DHCP_LEASE_DIRS.map((d) => ({ dir: r(d), re: d.endsWith('NetworkManager') ? /^dhclient-.*\.lease$/ : /./ }));
  if (config['Provisioning.DeleteRootPassword']) {
    warnings.push('WARNING! root password will be disabled. You will not be able to login as root.');
  }
  warnings.push('WARNING! /etc/resolv.conf will be deleted.');
  let user: string | undefined;
  if (opts.deluser) {
    if (opts.user === undefined) {
      warnings.push('WARNING! ovf-env.xml is not found.', 'WARNING! Skip delete user.');
    } else {
      user = opts.user;
      warnings.push(`WARNING! ${user} account and entire home directory will be deleted.`);
    }
  }
  return {
    warnings,
    files: [r('root/.bash_history'), opts.agentLogFile, `${opts.agentLogFile}.1`, r('etc/resolv.conf')],
    emptyDirs: [config['Lib.Dir'], config['Extension.LogDir']],
    sshKeys,
    leases,
    deleteRootPassword: config['Provisioning.DeleteRootPassword'],
    ...(user === undefined ? {} : { user }),
  };
}

/** Performs a plan in upstream's order; returns the files and folders removed. */
export async function executePlan(plan: DeprovisionPlan, actions: SystemActions): Promise<string[]> {
  const removed: string[] = [];
  const remove = async (p: string): Promise<void> => {
    await rm(p, { recursive: true, force: true });
    removed.push(p);
  };
  const removeMatching = async (globs: DeprovisionPlan['sshKeys']): Promise<void> => {
    for (const { dir, re } of globs) {
      for (const name of await readdir(dir).catch(() => [])) if (re.test(name)) await remove(join(dir, name));
    }
  };
  // A misconfigured Lib.Dir or Extension.LogDir of `/` must never wipe the machine: refuse before changing anything.
  for (const dir of plan.emptyDirs) if (resolve(dir) === '/') throw new Error(`refusing to empty ${dir}`);
  await actions.stopAgentService();
  await removeMatching(plan.sshKeys);
  await removeMatching(plan.leases);
  await actions.setHostname(DEPROVISION_HOSTNAME);
  await actions.setDhcpHostname(DEPROVISION_HOSTNAME);
  if (plan.deleteRootPassword) await actions.deleteRootPassword();
  for (const dir of plan.emptyDirs) {
    for (const name of await readdir(dir).catch(() => [])) await remove(join(dir, name));
  }
  for (const f of plan.files) {
    if (await lstat(f).then(() => true, () => false)) await remove(f);
  }
  if (plan.user !== undefined) await actions.deleteUser(plan.user);
  await actions.removeFirewallPersistence();
  await actions.removeCgroupConfig();
  return removed;
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
  process.stdout.write(question);
  try {
    // End of input (stdin closed) counts as "no".
    return await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
  } finally {
    rl.close();
  }
}

export async function runDeprovision(opts: { configurationPath?: string; force?: boolean; deluser: boolean }, seams: { actions?: SystemActions } = {}): Promise<number> {
  let config: Config;
  try {
    config = (await loadConfig(opts.configurationPath ?? DEFAULT_CONF_PATH)).config;
  } catch (err) {
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    return 1;
  }
  const root = process.env.WAAGENT_TS_DEPROVISION_ROOT ?? '/';
  const plan = planDeprovision(config, {
    root,
    deluser: opts.deluser,
    agentLogFile: process.env.WAAGENT_TS_LOG_FILE ?? join(root, 'var/log/waagent.log'),
    ...(opts.deluser ? { user: await readProvisionedUser(config['Lib.Dir']) } : {}),
  });
  process.stdout.write(plan.warnings.join('\n') + '\n');
  if (!opts.force) {
    const answer = await ask('Do you want to proceed (y/n)');
    // As upstream: anything but yes does nothing and still exits 0.
    if (!answer.trim().toLowerCase().startsWith('y')) return 0;
  }
  const actions = seams.actions ?? createSystemActions({
    root,
    libDir: config['Lib.Dir'],
    passwordPath: config['OS.PasswordPath'],
    sudoersDir: config['OS.SudoersDir'],
    allowResetSysUser: config['Provisioning.AllowResetSysUser'],
    warn: (msg) => process.stderr.write(`WARNING: ${msg}\n`),
  });
  try {
    await executePlan(plan, actions);
  } catch (err) {
    process.stderr.write(`Error: Failed to run 'deprovision': ${errorMessage(err)}\n`);
    return 1;
  }
  return 0;
}
