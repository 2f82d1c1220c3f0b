// The WireServer firewall with nftables (agent-lifecycle.md §7), used when iptables is not installed: one rule in
// the agent's own table, so nothing else on the system is touched and removal is one `delete table`.
import { commandFailure, FirewallError } from './firewall-command.js';
import type { FirewallCheck, FirewallOptions, WireServerFirewall } from './firewall.js';

const TABLE = 'walinuxagent';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function items(json: unknown, key: string): Record<string, unknown>[] {
  const list = isRecord(json) ? json.nftables : undefined;
  if (!Array.isArray(list)) throw new Error('no "nftables" array');
  return list.filter((i): i is Record<string, Record<string, unknown>> => isRecord(i) && isRecord(i[key])).map((i) => i[key]!);
}

/** Deep equality for the small JSON expressions nft prints. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => same(a[k], b[k]));
  }
  return false;
}

export class NftablesFirewall implements WireServerFirewall {
  readonly tool = 'nft';

  constructor(private readonly opts: FirewallOptions, readonly version: string) {}

  static async create(opts: FirewallOptions): Promise<NftablesFirewall | null> {
    const r = await opts.run(['nft', '--version']);
    if (r.notFound) return null;
    return new NftablesFirewall(opts, r.exitCode === 0 ? r.stdout.trim() : 'unknown');
  }

  /** One transaction (nft -f -): the table, its output chain and the drop rule appear together or not at all. */
  script(): string {
    const { address, uid } = this.opts;
    return [
      `add table ip ${TABLE}`,
      `add chain ip ${TABLE} output { type filter hook output priority 0 ; policy accept ; }`,
      `add rule ip ${TABLE} output ip daddr ${address} tcp dport != 53 skuid != ${uid} ct state invalid,new counter drop`,
      '',
    ].join('\n');
  }

  private async json(argv: string[]): Promise<unknown> {
    const r = await this.opts.run(argv);
    if (r.exitCode !== 0) throw commandFailure(argv, r);
    try {
      return JSON.parse(r.stdout) as unknown;
    } catch (err) {
      throw new FirewallError(`Cannot parse the output of '${argv.join(' ')}': ${(err as Error).message}`);
    }
  }

  async check(): Promise<FirewallCheck> {
    const tables = await this.json(['nft', '--json', 'list', 'tables']);
    let present: boolean;
    try {
      present = items(tables, 'table').some((t) => t.name === TABLE && t.family === 'ip');
    } catch (err) {
      throw new FirewallError(`Cannot parse the output of 'nft --json list tables': ${(err as Error).message}`);
    }
    if (!present) return { state: 'missing', missing: ['table'] };
    const listing = await this.json(['nft', '--json', 'list', 'table', 'ip', TABLE]);
    let rules: Record<string, unknown>[];
    try {
      rules = items(listing, 'rule').filter((r) => r.table === TABLE && r.chain === 'output');
    } catch (err) {
      throw new FirewallError(`Cannot parse the output of 'nft --json list table ip ${TABLE}': ${(err as Error).message}`);
    }
    if (rules.length !== 1) return { state: 'inconsistent', missing: [`exactly one rule in chain output (found ${rules.length})`] };
    const expr = Array.isArray(rules[0]!.expr) ? (rules[0]!.expr as unknown[]) : [];
    const want: Array<[string, unknown]> = [
      ['the WireServer address match', { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: this.opts.address } }],
      ['the DNS port exception', { match: { op: '!=', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 53 } }],
      ["the agent's uid exception", { match: { op: '!=', left: { meta: { key: 'skuid' } }, right: this.opts.uid } }],
      ['the drop action', { drop: null }],
    ];
    const missing = want.filter(([, e]) => !expr.some((x) => same(x, e))).map(([name]) => name);
    return { state: missing.length === 0 ? 'ok' : 'inconsistent', missing };
  }

  async setup(): Promise<void> {
    const argv = ['nft', '-f', '-'];
    const r = await this.opts.run(argv, { input: this.script() });
    if (r.exitCode !== 0) throw commandFailure(argv, r);
  }

  async remove(): Promise<void> {
    if ((await this.check()).state === 'missing') return;
    const argv = ['nft', 'delete', 'table', 'ip', TABLE];
    const r = await this.opts.run(argv);
    if (r.exitCode !== 0) throw commandFailure(argv, r);
  }

  async removeLegacyRule(): Promise<boolean> {
    return false;
  }

  async listRules(): Promise<string> {
    const argv = ['nft', 'list', 'table', 'ip', TABLE];
    const r = await this.opts.run(argv);
    return r.exitCode === 0 ? r.stdout : `Failed to get the current state of the firewall rules: ${commandFailure(argv, r).message}`;
  }
}
