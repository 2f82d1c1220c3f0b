// `waagent -deprovision[+user] [-force]` (agent-lifecycle.md §12). Every system path is taken under `root`
// (default `/`; tests use a scratch root via WAAGENT_TS_DEPROVISION_ROOT) and the lib/log dirs come from the config,
// so tests never touch the real machine. Steps that change the machine beyond deleting files (stopping the service,
// hostname, root password, deleting the user) are not implemented yet and are listed as such.
import { lstat, readdir, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import { DEFAULT_CONF_PATH, loadConfig } from '../../config/load.js';
import { errorMessage } from '../../errors.js';

export interface DeprovisionPlan {
  readonly warnings: readonly string[];
  /** Files deleted (missing ones are ignored). */
  readonly files: readonly string[];
  /** Directories emptied (the directory itself is kept). */
  readonly emptyDirs: readonly string[];
  /** Globs by directory: files in `dir` whose name matches `re`. */
  readonly matching: ReadonlyArray<{ dir: string; re: RegExp }>;
  /** Upstream steps waagent-ts does not perform. */
  readonly notImplemented: readonly string[];
}

const DHCP_LEASE_DIRS = ['var/lib/dhclient', 'var/lib/dhcpcd', 'var/lib/dhcp', 'run/systemd/netif/leases', 'var/lib/NetworkManager'];

export function planDeprovision(config: Config, opts: { root: string; deluser: boolean; agentLogFile: string }): DeprovisionPlan {
  const r = (p: string): string => join(opts.root, p);
  const warnings = ['WARNING! The waagent service will be stopped.'];
  const matching: Array<{ dir: string; re: RegExp }> = [];
  const notImplemented = ['stopping the waagent service', 'resetting the hostname to localhost.localdomain', 'removing the firewall persistence and cgroup drop-ins'];
  if (config['Provisioning.RegenerateSshHostKeyPair']) {
    warnings.push('WARNING! All SSH host key pairs will be deleted.');
    matching.push({ dir: join(opts.root, config['OS.SshDir']), re: /^ssh_host_.*key(?:\.pub)?$/ });
  }
  warnings.push('WARNING! Cached DHCP leases will be deleted.');
  for (const d of DHCP_LEASE_DIRS) matching.push({ dir: r(d), re: d.endsWith('NetworkManager') ? /\.lease$/ : /./ });
  if (config['Provisioning.DeleteRootPassword']) {
    warnings.push('WARNING! root password will be disabled. You will not be able to login as root.');
    notImplemented.push('disabling the root password');
  }
  warnings.push('WARNING! /etc/resolv.conf will be deleted.');
  if (opts.deluser) {
    warnings.push('WARNING! The provisioned user account and entire home directory will be deleted.');
    notImplemented.push('deleting the provisioned user and home directory');
  }
  return {
    warnings,
    files: [opts.agentLogFile, `${opts.agentLogFile}.1`, r('root/.bash_history'), r('etc/resolv.conf')],
    emptyDirs: [config['Lib.Dir'], config['Extension.LogDir']],
    matching,
    notImplemented,
  };
}

/** Performs the file deletions of a plan; returns what was removed. */
export async function executePlan(plan: DeprovisionPlan): Promise<string[]> {
  const removed: string[] = [];
  const remove = async (p: string): Promise<void> => {
    await rm(p, { recursive: true, force: true });
    removed.push(p);
  };
  for (const dir of plan.emptyDirs) {
    // A misconfigured Lib.Dir or Extension.LogDir of `/` must never wipe the machine.
    if (resolve(dir) === '/') throw new Error(`refusing to empty ${dir}`);
    for (const name of await readdir(dir).catch(() => [])) await remove(join(dir, name));
  }
  for (const { dir, re } of plan.matching) {
    for (const name of await readdir(dir).catch(() => [])) if (re.test(name)) await remove(join(dir, name));
  }
  for (const f of plan.files) {
    if (await lstat(f).then(() => true, () => false)) await remove(f);
  }
  return removed;
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
  process.stdout.write(`${question} `);
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

export async function runDeprovision(opts: { configurationPath?: string; force?: boolean; deluser: boolean }): Promise<number> {
  let config: Config;
  try {
    config = (await loadConfig(opts.configurationPath ?? DEFAULT_CONF_PATH)).config;
  } catch (err) {
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    return 1;
  }
  const plan = planDeprovision(config, {
    root: process.env.WAAGENT_TS_DEPROVISION_ROOT ?? '/',
    deluser: opts.deluser,
    agentLogFile: process.env.WAAGENT_TS_LOG_FILE ?? join(process.env.WAAGENT_TS_DEPROVISION_ROOT ?? '/', 'var/log/waagent.log'),
  });
  process.stdout.write(plan.warnings.join('\n') + '\n');
  if (!opts.force) {
    const answer = await ask('Do you want to proceed (y/n)');
    // As upstream: anything but yes does nothing and still exits 0.
    if (!answer.trim().toLowerCase().startsWith('y')) return 0;
  }
  try {
    const removed = await executePlan(plan);
    process.stdout.write(`Deleted ${removed.length} item(s).\n`);
  } catch (err) {
    process.stderr.write(`Error: Failed to run 'deprovision': ${errorMessage(err)}\n`);
    return 1;
  }
  process.stdout.write(`Not implemented by waagent-ts (do these yourself if needed): ${plan.notImplemented.join('; ')}.\n`);
  return 0;
}
