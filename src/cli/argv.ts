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
    const legacy = LEGACY_FLAGS.find(([name]) => body === name || (!arg.startsWith('--') && body.startsWith(name)));
    out.push(legacy ? legacy[1] : arg);
  }
  return out;
}
