// The machine-changing steps of `waagent -deprovision` (upstream's osutil calls), behind one seam so the command
// can be tested with a recording fake. The real implementation edits files under `root` atomically (keeping mode
// and owner) and runs system tools as argv. Under a scratch root (tests) a tool is looked up only inside that root
// (`<root>/usr/sbin`, ...), never on the host's PATH, so a test can never stop a service or rename the real machine.
import { access, lstat, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-write.js';
import { errorMessage } from '../errors.js';
import { createCommandRunner, formatArgv, type CommandRunner } from './firewall-command.js';

export interface SystemActions {
  /** `systemctl stop <service>` (failures ignored, as upstream). */
  stopAgentService(): Promise<void>;
  /** `/etc/hostname` and the running hostname. */
  setHostname(name: string): Promise<void>;
  /** `send host-name "<name>";` in dhclient.conf unless it already sends the machine's own name. */
  setDhcpHostname(name: string): Promise<void>;
  /** The root entry of the password file (OS.PasswordPath) becomes `root:*LOCK*:14600::::::`. */
  deleteRootPassword(): Promise<void>;
  /** `userdel -f -r <user>` and the user's lines removed from `<OS.SudoersDir>/waagent`. Refuses system users. */
  deleteUser(name: string): Promise<void>;
  /** The network-setup unit and script that re-apply the WireServer firewall at boot. */
  removeFirewallPersistence(): Promise<void>;
  /** The agent unit's cgroup drop-ins and the log-collector slice. */
  removeCgroupConfig(): Promise<void>;
}

export interface SystemActionsOptions {
  /** `/` on a machine; a scratch folder in tests. */
  readonly root: string;
  readonly libDir: string;
  /** OS.PasswordPath, OS.SudoersDir (taken under root). */
  readonly passwordPath: string;
  readonly sudoersDir: string;
  /** Provisioning.AllowResetSysUser: allows deleting a user below UID_MIN. */
  readonly allowResetSysUser: boolean;
  /** Where non-fatal problems go (upstream logs them and carries on). */
  readonly warn: (msg: string) => void;
  readonly run?: CommandRunner;
}

/** Service names: ours, and upstream's on Ubuntu (a VM taken over from WALinuxAgent). */
const SERVICE_NAMES = ['waagent', 'walinuxagent'];
const UNIT_DIRS = ['lib/systemd/system', 'usr/lib/systemd/system'];
/** upstream cgroupconfigurator.py: the agent unit's drop-ins and the log collector's slice. */
export const AGENT_DROP_INS = ['10-Slice.conf', '11-CPUAccounting.conf', '12-CPUQuota.conf', '13-MemoryAccounting.conf'];
export const LOGCOLLECTOR_SLICE = 'azure-walinuxagent-logcollector.slice';
/** upstream persist_firewall_rules.py */
export const NETWORK_SETUP_SCRIPT = 'waagent-network-setup.py';
const DHCLIENT_CONFS = ['etc/dhcp/dhclient.conf', 'etc/dhcp3/dhclient.conf', 'etc/dhclient.conf'];
// upstream set_dhcp_hostname: a config that already sends gethostname() (or a template) is left alone.
const AUTOSEND = /^[^#]*?send\s*host-name.*?(<hostname>|gethostname[(,)])/m;
const TOOL_DIRS = ['usr/sbin', 'usr/bin', 'sbin', 'bin'];

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** Rewrites a file atomically with its mode and owner; a missing file is created 0644 (or `mode`). */
async function rewrite(path: string, data: string, mode?: number): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  await writeFileAtomic(path, data, st ? { mode: st.mode & 0o7777, owner: { uid: st.uid, gid: st.gid } } : mode === undefined ? {} : { mode });
}

export function createSystemActions(opts: SystemActionsOptions): SystemActions {
  const under = (p: string): string => join(opts.root, p);
  const run = opts.run ?? createCommandRunner({ timeoutMs: 120_000 });
  const scratch = opts.root !== '/';

  /** argv[0] resolved: the host's PATH on a machine; only inside the root under a scratch root. */
  const resolveTool = async (name: string): Promise<string | undefined> => {
    if (!scratch) return name;
    for (const d of TOOL_DIRS) if (await exists(under(join(d, name)))) return under(join(d, name));
    return undefined;
  };
  /** Runs a tool; a missing tool or a failure is a warning (upstream's run without raising). */
  const tool = async (argv: readonly string[]): Promise<boolean> => {
    const path = await resolveTool(argv[0]!);
    const r = path === undefined ? undefined : await run([path, ...argv.slice(1)]);
    if (r === undefined || r.notFound) {
      opts.warn(`${argv[0]} is not installed; skipped: ${formatArgv(argv)}`);
      return false;
    }
    if (r.exitCode !== 0) {
      opts.warn(`${formatArgv(argv)} failed (${r.exitCode === null ? 'did not complete' : `exit code ${r.exitCode}`}): ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`);
      return false;
    }
    return true;
  };

  return {
    async stopAgentService() {
      // Only units that exist: `systemctl stop` of an unknown unit is an error on most systems.
      const known = [];
      for (const s of SERVICE_NAMES) {
        if (await anyExists([...UNIT_DIRS, 'etc/systemd/system'].map((d) => under(join(d, `${s}.service`))))) known.push(s);
      }
      for (const s of known.length > 0 ? known : ['waagent']) await tool(['systemctl', 'stop', s]);
    },

    async setHostname(name) {
      await rewrite(under('etc/hostname'), name);
      await tool(['hostname', name]);
    },

    async setDhcpHostname(name) {
      for (const rel of DHCLIENT_CONFS) {
        const path = under(rel);
        const text = await readFile(path, 'utf8').catch(() => undefined);
        if (text === undefined) continue;
        if (AUTOSEND.test(text)) return;
        // upstream's update_conf_file: drop the old `send host-name` lines (and empty ones), append the new one.
        const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('send host-name'));
        lines.push(`send host-name "${name}";`);
        await rewrite(path, lines.join('\n') + '\n');
      }
    },

    async deleteRootPassword() {
      const path = under(opts.passwordPath);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new Error(`Failed to delete root password:${errorMessage(err)}`);
      }
      const lines = text.split('\n').filter((l) => !l.startsWith('root:'));
      lines.unshift('root:*LOCK*:14600::::::');
      await rewrite(path, lines.join('\n'));
    },

    async deleteUser(name) {
      if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(name)) throw new Error(`refusing to delete the user ${JSON.stringify(name)}: not a valid user name`);
      const uid = await userUid(under('etc/passwd'), name);
      const uidMin = await loginDefsUidMin(under('etc/login.defs'));
      // Upstream only logs this and deletes anyway; deleting root or a service account would break the image.
      if (name === 'root' || (uid !== undefined && uid < uidMin && !opts.allowResetSysUser)) {
        throw new Error(`${name} is a system user. Will not delete it.`);
      }
      // userdel fails on some distros when utmp is missing (upstream touches it first).
      const utmp = under('var/run/utmp');
      if (!(await exists(utmp))) await writeFile(utmp, '', { flag: 'a' }).catch(() => undefined);
      await tool(['userdel', '-f', '-r', name]);
      const sudoers = under(join(opts.sudoersDir, 'waagent'));
      const text = await readFile(sudoers, 'utf8').catch(() => undefined);
      if (text !== undefined) {
        // upstream drops every line that mentions the user.
        const kept = text.split('\n').filter((l) => !l.includes(name));
        await rewrite(sudoers, kept.join('\n'));
      }
    },

    async removeFirewallPersistence() {
      const paths = [join(opts.libDir, NETWORK_SETUP_SCRIPT)];
      for (const d of UNIT_DIRS) for (const s of SERVICE_NAMES) paths.push(under(join(d, `${s}-network-setup.service`)));
      await removeFiles(paths);
    },

    async removeCgroupConfig() {
      const paths: string[] = [];
      for (const d of UNIT_DIRS) {
        for (const s of SERVICE_NAMES) for (const f of AGENT_DROP_INS) paths.push(under(join(d, `${s}.service.d`, f)));
        paths.push(under(join(d, LOGCOLLECTOR_SLICE)));
      }
      await removeFiles(paths);
    },
  };
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const p of paths) if (await exists(p)) return true;
  return false;
}

/** Removes files (never directories); missing ones are fine. */
async function removeFiles(paths: readonly string[]): Promise<void> {
  for (const p of paths) {
    const st = await lstat(p).catch(() => undefined);
    if (st && !st.isDirectory()) await rm(p, { force: true });
  }
}

async function userUid(passwd: string, name: string): Promise<number | undefined> {
  const text = await readFile(passwd, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

/** UID_MIN of login.defs; 100 when absent (upstream). */
async function loginDefsUidMin(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const m = /^UID_MIN\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : 100;
}
