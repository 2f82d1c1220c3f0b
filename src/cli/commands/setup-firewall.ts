// `waagent -setup-firewall=<IP>` (agent-lifecycle.md §7): run at boot by the network-setup service, before the
// network is up, to put the WireServer rules back; the agent's own uid is the one allowed through. Exit 0 when the
// rules are in place, 1 otherwise. Upstream agents before 2.13 spelled it `-setup-firewall -dst_ip=<IP> -uid=<UID>
// [-w]` (an explicit uid; -w is implied here, we add it whenever iptables supports it); both spellings are accepted.
import { setupFirewallOnce } from '../../agent/firewall-keeper.js';
import { unsuitableAddress } from '../../platform/firewall.js';
import { createLogger } from '../../log/logger.js';
import { systemClock } from '../../platform/clock.js';
import type { CommandRunner } from '../../platform/firewall-command.js';

// Not imported from compose.ts: that would load the HTTP stack into a boot-time command.
const DEFAULT_AGENT_LOG = '/var/log/waagent.log';

export interface SetupFirewallOptions {
  /** `--setup-firewall <ip>`; true for the legacy bare `-setup-firewall`. */
  readonly setupFirewall?: string | boolean;
  /** legacy `-dst_ip=<IP>` */
  readonly dstIp?: string;
  /** legacy `-uid=<UID>` */
  readonly uid?: string;
  readonly verbose?: boolean;
}

/** The address and uid to use, or the reason the arguments are wrong. Upstream's pattern: `[\d.]{7,}`. */
export function parseSetupFirewallArgs(opts: SetupFirewallOptions, ownUid: number): { address: string; uid: number } | { error: string } {
  const fromFlag = typeof opts.setupFirewall === 'string' ? opts.setupFirewall : undefined;
  if (fromFlag !== undefined && opts.dstIp !== undefined && fromFlag !== opts.dstIp) {
    return { error: `-setup-firewall=${fromFlag} and -dst_ip=${opts.dstIp} disagree` };
  }
  const address = fromFlag ?? opts.dstIp;
  if (address === undefined) return { error: '-setup-firewall needs the WireServer address: -setup-firewall=<IP>' };
  const why = /^[\d.]{7,}$/.test(address) ? unsuitableAddress(address) : `${address} is not an IPv4 address`;
  if (why) return { error: `-setup-firewall: ${why}` };
  if (opts.uid !== undefined && !/^\d{1,10}$/.test(opts.uid)) return { error: `-uid: ${opts.uid} is not a user id` };
  return { address, uid: opts.uid === undefined ? ownUid : Number(opts.uid) };
}

export async function runSetupFirewall(opts: SetupFirewallOptions, seams: { run?: CommandRunner; logFile?: string } = {}): Promise<number> {
  const parsed = parseSetupFirewallArgs(opts, process.getuid?.() ?? 0);
  if ('error' in parsed) {
    process.stderr.write(`Error: ${parsed.error}\n`);
    return 1;
  }
  // The config is not read: a broken waagent.conf must not leave the WireServer open after a reboot.
  const logger = createLogger({
    file: seams.logFile ?? process.env.WAAGENT_TS_LOG_FILE ?? DEFAULT_AGENT_LOG,
    console: process.env.WAAGENT_TS_NO_CONSOLE !== '1',
    verbose: opts.verbose ?? false,
    thread: 'Firewall',
    prefix: 'Firewall',
  });
  try {
    logger.info(`Setting up firewall after boot. Endpoint: ${parsed.address}`);
    const code = await setupFirewallOnce({ clock: systemClock, logger, address: parsed.address, uid: parsed.uid, ...(seams.run ? { run: seams.run } : {}) });
    if (code === 0) logger.info('Successfully set the firewall rules');
    else logger.error('Unable to add firewall rules. See the errors above.');
    return code;
  } finally {
    logger.flush();
    await logger.close();
  }
}
