// The WireServer firewall (agent-lifecycle.md §7): only the agent's uid may open new TCP connections to the
// WireServer address; TCP/53 (Azure DNS lives there) stays open to everyone; UDP is not filtered.
// iptables (table security, chain OUTPUT) when it exists, else nftables (own table; see nftables.ts).
import { commandFailure, FirewallError, type CommandRunner } from './firewall-command.js';
import { NftablesFirewall } from './nftables.js';

export { FirewallError } from './firewall-command.js';

export type FirewallState = 'ok' | 'missing' | 'inconsistent';

export interface FirewallCheck {
  readonly state: FirewallState;
  /** Names of the missing rules (or what is wrong), for the log. */
  readonly missing: readonly string[];
}

export interface WireServerFirewall {
  readonly tool: 'iptables' | 'nft';
  readonly version: string;
  /** All rules present => ok; none => missing; some => inconsistent. Throws when the tool fails. */
  check(): Promise<FirewallCheck>;
  /** Adds the rules (in order). Call on a clean state; throws when a command fails. */
  setup(): Promise<void>;
  /** Removes whatever of our rules exists (idempotent). */
  remove(): Promise<void>;
  /** Removes the rule of agents <= 2.2.25 (ACCEPT for new connections) that would void ours. True when removed. */
  removeLegacyRule(): Promise<boolean>;
  /** The current rules as the tool lists them (for the log); an error text when listing fails. */
  listRules(): Promise<string>;
}

export interface FirewallOptions {
  readonly run: CommandRunner;
  /** The WireServer IPv4 address. */
  readonly address: string;
  /** The agent's uid (process.getuid()): the one uid the DROP rule must never catch. */
  readonly uid: number;
}

type RuleName = 'ACCEPT DNS' | 'ACCEPT' | 'DROP';

/** `iptables -w` exists since 1.4.21. */
export function supportsWait(version: string): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const want = [1, 4, 21];
  for (let i = 0; i < want.length; i++) {
    const a = parts[i] ?? 0;
    if (a !== want[i]) return a > want[i]!;
  }
  return true;
}

export class IptablesFirewall implements WireServerFirewall {
  readonly tool = 'iptables';
  private readonly base: readonly string[];

  constructor(private readonly opts: FirewallOptions, readonly version: string, wait: boolean) {
    this.base = ['iptables', ...(wait ? ['-w'] : []), '-t', 'security'];
  }

  /** iptables, or null when it is not installed. An unreadable version means no -w (upstream). */
  static async create(opts: FirewallOptions): Promise<{ firewall: IptablesFirewall; warning?: string } | null> {
    const r = await opts.run(['iptables', '--version']);
    if (r.notFound) return null;
    const m = r.exitCode === 0 ? /^[^\d.]*([\d.]+)/.exec(r.stdout.trim()) : null;
    if (!m) {
      const warning = `Unable to determine version of iptables; will not use -w option. --version output: ${(r.stdout + r.stderr).trim().slice(0, 200)}`;
      return { firewall: new IptablesFirewall(opts, 'unknown', false), warning };
    }
    return { firewall: new IptablesFirewall(opts, m[1]!, supportsWait(m[1]!)) };
  }

  /** Rules in chain order: the DNS exception first, the DROP last. */
  private rules(): Array<[RuleName, string[]]> {
    const { address, uid } = this.opts;
    return [
      ['ACCEPT DNS', ['-d', address, '-p', 'tcp', '--destination-port', '53', '-j', 'ACCEPT']],
      ['ACCEPT', ['-d', address, '-p', 'tcp', '-m', 'owner', '--uid-owner', String(uid), '-j', 'ACCEPT']],
      ['DROP', ['-d', address, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'INVALID,NEW', '-j', 'DROP']],
    ];
  }

  private legacyRule(): string[] {
    return ['-d', this.opts.address, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'INVALID,NEW', '-j', 'ACCEPT'];
  }

  private argv(option: '-A' | '-C' | '-D', rule: readonly string[]): string[] {
    return [...this.base, option, 'OUTPUT', ...rule];
  }

  /** -C: exit 0 = present, 1 = absent, anything else is a failure of the tool. */
  private async exists(rule: readonly string[]): Promise<boolean> {
    const argv = this.argv('-C', rule);
    const r = await this.opts.run(argv);
    if (r.exitCode === 0) return true;
    if (r.exitCode === 1) return false;
    throw commandFailure(argv, r);
  }

  /** -D repeated until iptables says there is none left (duplicates), at most 99 times as upstream. */
  private async deleteAll(rule: readonly string[]): Promise<void> {
    const argv = this.argv('-D', rule);
    for (let i = 1; i < 100; i++) {
      const r = await this.opts.run(argv);
      if (r.exitCode === 1) return;
      if (r.exitCode !== 0) throw commandFailure(argv, r);
    }
  }

  async check(): Promise<FirewallCheck> {
    const missing: string[] = [];
    const rules = this.rules();
    for (const [name, rule] of rules) if (!(await this.exists(rule))) missing.push(name);
    const state: FirewallState = missing.length === 0 ? 'ok' : missing.length === rules.length ? 'missing' : 'inconsistent';
    return { state, missing };
  }

  async setup(): Promise<void> {
    for (const [, rule] of this.rules()) {
      const argv = this.argv('-A', rule);
      const r = await this.opts.run(argv);
      if (r.exitCode !== 0) throw commandFailure(argv, r);
    }
  }

  async remove(): Promise<void> {
    const present: string[][] = [];
    for (const [, rule] of this.rules()) if (await this.exists(rule)) present.push(rule);
    for (const rule of present) await this.deleteAll(rule);
  }

  async removeLegacyRule(): Promise<boolean> {
    if (!(await this.exists(this.legacyRule()))) return false;
    await this.deleteAll(this.legacyRule());
    return true;
  }

  async listRules(): Promise<string> {
    // Upstream's state command repeats `-t security`; kept so the log line reads the same.
    const argv = [...this.base, '-t', 'security', '-L', '-nxv'];
    const r = await this.opts.run(argv);
    return r.exitCode === 0 ? r.stdout : `Failed to get the current state of the firewall rules: ${commandFailure(argv, r).message}`;
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Why this address must not be firewalled, or null when it may. Only a plain IPv4 address outside 127/8: an emulator
 * on loopback (WAAGENT_TS_WIRESERVER) must never make the agent cut other users off from 127.0.0.1.
 */
export function unsuitableAddress(address: string): string | null {
  if (!IPV4.test(address)) return `${address} is not an IPv4 address`;
  if (address.startsWith('127.') || address === '0.0.0.0') return `${address} is a loopback or unspecified address`;
  return null;
}

/** iptables when installed, else nft; null when neither is. `warnings` are for the log. */
export async function createFirewall(opts: FirewallOptions): Promise<{ firewall: WireServerFirewall; warnings: string[] } | null> {
  const why = unsuitableAddress(opts.address);
  if (why) throw new FirewallError(`Cannot set up the firewall for the WireServer: ${why}`);
  if (!Number.isInteger(opts.uid) || opts.uid < 0) throw new FirewallError(`Cannot set up the firewall for the WireServer: invalid uid ${opts.uid}`);
  const ipt = await IptablesFirewall.create(opts);
  if (ipt) return { firewall: ipt.firewall, warnings: ipt.warning ? [ipt.warning] : [] };
  const nft = await NftablesFirewall.create(opts);
  return nft ? { firewall: nft, warnings: [] } : null;
}
