// Upstream spellings (`-daemon`, `/version`, `-configuration-path:FILE`, prefix matches such as
// `-versionXYZ`) rewritten to the GNU-style options commander understands.

const LEGACY_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['deprovision+user', '--deprovision-user'],
  ['deprovision', '--deprovision'],
  ['run-exthandlers', '--run-exthandlers'],
  ['show-configuration', '--show-configuration'],
  ['register-service', '--register-service'],
  ['collect-logs', '--collect-logs'],
  ['daemon', '--daemon'],
  ['version', '--version'],
  ['verbose', '--verbose'],
  ['start', '--start'],
  ['force', '--force'],
  ['debug', '--debug'],
  ['full', '--full'],
  ['usage', '--help'],
  ['help', '--help'],
  ['?', '--help'],
];

/** Options whose value is the next word; that word is copied verbatim (`/debug/x.conf` is a path, not `-debug`). */
const TAKES_VALUE = new Set(['--configuration-path', '--setup-firewall', '--dst-ip', '--uid']);

/** Words that start a subcommand of ours; what follows belongs to it and is left alone. */
export const SUBCOMMANDS = new Set(['emulator', 'status', 'emulate']);

export function normalizeArgv(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (SUBCOMMANDS.has(arg)) {
      out.push(...args.slice(i));
      break;
    }
    // `-setup-firewall` alone is the legacy spelling (`-setup-firewall -dst_ip=<IP> -uid=<UID> [-w]`).
    if (/^(?:-+|\/+)setup-firewall$/.test(arg) && !/^[\d.]+$/.test(args[i + 1] ?? '')) {
      out.push('--setup-firewall');
      continue;
    }
    if (TAKES_VALUE.has(arg) && i + 1 < args.length) {
      out.push(arg, args[++i]!);
      continue;
    }
    const m = /^(?:-+|\/+)(.+)$/.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const body = m[1]!;
    const cfg = /^configuration-path[:=](.+)$/.exec(body);
    if (cfg) {
      out.push('--configuration-path', cfg[1]!);
      continue;
    }
    const fw = /^setup-firewall[:=](.+)$/.exec(body);
    if (fw) {
      out.push('--setup-firewall', fw[1]!);
      continue;
    }
    const fwArg = /^(dst_ip|uid)=(.*)$/.exec(body);
    if (fwArg) {
      out.push(fwArg[1] === 'uid' ? '--uid' : '--dst-ip', fwArg[2]!);
      continue;
    }
    if (body === 'w' || body === 'wait') {
      out.push('--wait');
      continue;
    }
    const legacy = LEGACY_FLAGS.find(([name]) => body === name || (!arg.startsWith('--') && body.startsWith(name)));
    out.push(legacy ? legacy[1] : arg);
  }
  return out;
}

/** What precedes the first subcommand in normalized args, as seen before commander is loaded. */
export interface TopLevelArgs {
  /** Flags (words starting with `-`), option values excluded. */
  readonly flags: ReadonlySet<string>;
  /** Words that are neither flags nor option values. */
  readonly positionals: readonly string[];
  readonly configurationPath?: string;
  readonly subcommand?: string;
}

export function scanTopLevel(args: readonly string[]): TopLevelArgs {
  const flags = new Set<string>();
  const positionals: string[] = [];
  let configurationPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (SUBCOMMANDS.has(arg)) return { flags, positionals, ...(configurationPath === undefined ? {} : { configurationPath }), subcommand: arg };
    if (TAKES_VALUE.has(arg)) {
      flags.add(arg);
      // A value-less `--setup-firewall` (legacy spelling) takes no value.
      if (arg === '--setup-firewall' && !/^[\d.]+$/.test(args[i + 1] ?? '')) continue;
      const value = args[++i];
      if (arg === '--configuration-path' && value !== undefined) configurationPath = value;
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') flags.add(arg);
    else positionals.push(arg);
  }
  return { flags, positionals, ...(configurationPath === undefined ? {} : { configurationPath }) };
}
