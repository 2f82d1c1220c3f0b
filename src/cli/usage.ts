// Upstream's usage line (agent-lifecycle.md §11), then our commands. The same lists feed `waagent -help` and are
// checked against man/waagent.8 by a test, so the two cannot drift apart.

export interface HelpEntry {
  /** How it is typed, e.g. `-collect-logs [-full]`. */
  readonly usage: string;
  readonly summary: string;
}

/** Commands: upstream's single-dash ones (the `--name` spelling works too), then our subcommands. */
export const HELP_COMMANDS: readonly HelpEntry[] = [
  { usage: '-daemon', summary: 'run the daemon (systemd runs this)' },
  { usage: '-run-exthandlers', summary: 'run the extension handler in the foreground' },
  { usage: '-version', summary: 'print the agent and Node.js versions' },
  { usage: '-show-configuration', summary: 'print the effective configuration' },
  { usage: '-collect-logs [-full]', summary: 'archive logs and state for support (redacted)' },
  { usage: '-deprovision[+user]', summary: 'wipe state and SSH host keys (+user: the user)' },
  { usage: '-setup-firewall=<IP>', summary: 'apply the WireServer firewall rules once' },
  { usage: 'status [--json]', summary: 'agent version, goal state, extension states' },
  { usage: 'emulate <package>', summary: 'test an extension handler locally' },
  { usage: 'emulator --listen <addr>', summary: 'run the fabric emulator' },
];

export const HELP_OPTIONS: readonly HelpEntry[] = [
  { usage: '-configuration-path:<file>', summary: 'configuration file (default /etc/waagent.conf)' },
  { usage: '-verbose', summary: 'log VERBOSE lines' },
  { usage: '-force', summary: 'do not ask for confirmation (-deprovision)' },
  { usage: '-help, --help, -?', summary: 'this help (<command> --help: its options)' },
];

/** Upstream commands that are recognised but refused. */
export const HELP_UNSUPPORTED: readonly string[] = ['-register-service', '-start'];

export const HELP_EXAMPLES: readonly string[] = [
  'waagent -version',
  'waagent status',
  'waagent -show-configuration -configuration-path:/etc/waagent.conf',
  'waagent -collect-logs',
  'waagent emulate ./Contoso.Hello-1.0.0 --settings settings.json',
];

const upstreamLine = (argv0: string): string =>
  `usage: ${argv0} [-verbose] [-force] [-help] -configuration-path:<path to configuration file>-deprovision[+user]|-register-service|-version|-daemon|-start|-run-exthandlers|-show-configuration|-collect-logs [-full]|-setup-firewall=<IP>]\n`;

/** Printed with an error (bad option, missing configuration file), as upstream does. */
export function usageText(argv0: string): string {
  return `\n${upstreamLine(argv0)}       ${argv0} status|emulate|emulator ...   (${argv0} -help lists the commands)\n\n`;
}

/** One column width for both tables. */
const WIDTH = Math.max(...[...HELP_COMMANDS, ...HELP_OPTIONS].map((e) => e.usage.length)) + 2;

function table(entries: readonly HelpEntry[]): string {
  const width = WIDTH;
  return entries.map((e) => `  ${e.usage.padEnd(width)}${e.summary}\n`).join('');
}

/** `waagent -help`: upstream's usage line, then every command with one line each, options and examples. */
export function helpText(argv0: string): string {
  return `\n${upstreamLine(argv0)}\n` +
    `Commands:\n${table(HELP_COMMANDS)}\n` +
    `Options:\n${table(HELP_OPTIONS)}\n` +
    `Not supported by waagent-ts: ${HELP_UNSUPPORTED.join(', ')}.\n\n` +
    `Examples:\n${HELP_EXAMPLES.map((e) => `  ${e.replace(/^waagent\b/, argv0)}\n`).join('')}\n` +
    `See waagent(8) for the files, the configuration keys and the exit codes.\n\n`;
}
