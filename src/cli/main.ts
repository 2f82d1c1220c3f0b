// Entry point: rewrites upstream's single-dash spellings, then dispatches with commander.
// `--version`, `--help` and the configuration-path check run before commander and the command modules are
// imported (all lazily), so `waagent --version` stays fast.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { EmulateCommandOptions } from './commands/emulate.js';
import { normalizeArgv, scanTopLevel } from './argv.js';
import { helpText, usageText } from './usage.js';

export interface GlobalOptions {
  daemon?: boolean;
  runExthandlers?: boolean;
  showConfiguration?: boolean;
  version?: boolean;
  configurationPath?: string;
  verbose?: boolean;
  debug?: boolean;
  force?: boolean;
  collectLogs?: boolean;
  full?: boolean;
  deprovision?: boolean;
  deprovisionUser?: boolean;
  setupFirewall?: string | boolean;
  dstIp?: string;
  uid?: string;
  wait?: boolean;
}

const ARGV0 = 'waagent';
/** Flags that may accompany `--version` without changing what it prints. */
const VERSION_COMPANIONS = new Set(['--version', '--verbose', '--debug', '--force', '--configuration-path']);
const RUN_EXTHANDLERS_COMPANIONS = new Set(['--run-exthandlers', '--verbose', '--debug', '--configuration-path']);
/** Upstream commands we recognise but do not implement (agent-lifecycle.md §11, §12). */
const UNSUPPORTED: ReadonlyArray<readonly [string, string]> = [
  ['--register-service', '-register-service'],
  ['--start', '-start'],
];

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const args = normalizeArgv(argv);
  const top = scanTopLevel(args);
  if (top.subcommand === undefined) {
    // As upstream's parse_args: checked for every command, before anything else runs.
    if (top.configurationPath !== undefined && !existsSync(top.configurationPath)) {
      process.stderr.write(`Error: Configuration file ${top.configurationPath} does not exist\n`);
      process.stdout.write(usageText(ARGV0));
      return 1;
    }
    if (top.flags.has('--help') || top.flags.has('-h') || (top.flags.size === 0 && top.positionals.length === 1 && top.positionals[0] === 'help')) {
      process.stdout.write(helpText(ARGV0));
      return 0;
    }
    if (top.flags.has('--version') && top.positionals.length === 0 && [...top.flags].every((f) => VERSION_COMPANIONS.has(f))) {
      const { versionText } = await import('./commands/version.js');
      process.stdout.write(versionText());
      return 0;
    }
    const unsupported = UNSUPPORTED.find(([flag]) => top.flags.has(flag));
    if (unsupported) {
      process.stderr.write(`Error: ${unsupported[1]} is not supported by waagent-ts\n`);
      return 1;
    }
    // The daemon starts `-run-exthandlers` at every (re)start and systemd starts `-daemon`: both skip commander
    // (~0.1 s of start-up) when nothing else is on the line.
    const service = serviceOptions(top);
    if (service) return runLegacy(service);
  }
  if (top.subcommand === 'status') {
    // Upstream's spelling also works after `status`: `waagent status -configuration-path:FILE`.
    const at = args.indexOf('status');
    const rest = args.slice(at + 1).flatMap((a) => {
      const m = /^-{1,2}configuration-path[:=](.+)$/.exec(a);
      return m ? ['--configuration-path', m[1]!] : a === '-configuration-path' ? ['--configuration-path'] : [a];
    });
    return runCommander([...args.slice(0, at + 1), ...rest]);
  }
  return runCommander(args);
}

/** Flags that may accompany `--daemon` or `--run-exthandlers` on the fast path. */
const SERVICE_COMPANIONS = new Set(['--configuration-path', '--verbose', '--debug', '--force']);

function serviceOptions(top: ReturnType<typeof scanTopLevel>): GlobalOptions | null {
  const daemon = top.flags.has('--daemon');
  const runExthandlers = top.flags.has('--run-exthandlers');
  if (daemon === runExthandlers || top.positionals.length > 0) return null;
  // A dangling --configuration-path is commander's error to report.
  if (top.flags.has('--configuration-path') && top.configurationPath === undefined) return null;
  if (![...top.flags].every((f) => f === '--daemon' || f === '--run-exthandlers' || SERVICE_COMPANIONS.has(f))) return null;
  return {
    ...(daemon ? { daemon } : { runExthandlers }),
    ...(top.configurationPath !== undefined ? { configurationPath: top.configurationPath } : {}),
    ...(top.flags.has('--verbose') ? { verbose: true } : {}),
    ...(top.flags.has('--debug') ? { debug: true } : {}),
    ...(top.flags.has('--force') ? { force: true } : {}),
  };
}

async function runCommander(args: string[]): Promise<number> {
  const { Command: CommandClass, CommanderError, Option: OptionClass } = await import('commander');
  let exitCode = 0;
  const program: Command = new CommandClass(ARGV0)
    .description('Azure Linux guest agent (waagent-ts)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .option('--daemon', 'run the agent daemon (supervises the extension handler)')
    .option('--run-exthandlers', 'run the extension handler (goal-state loop)')
    .option('--show-configuration', 'print the effective configuration')
    .option('--version', 'print version information')
    .option('--configuration-path <file>', 'configuration file (default /etc/waagent.conf)')
    .option('--verbose', 'log VERBOSE lines')
    .option('--debug', 'debug mode')
    .option('--force', 'do not ask for confirmation')
    .option('--collect-logs', 'write a tar.gz of logs, state and configuration (secrets redacted)')
    .option('--full', 'with --collect-logs: every text file of the lib dir')
    .option('--deprovision', 'delete agent state, logs, SSH host keys and DHCP leases (asks first unless --force)')
    .option('--deprovision-user', 'as --deprovision, and also the provisioned user')
    .option('--setup-firewall [ip]', 'apply the WireServer firewall rules for IP once (run at boot)')
    // Spelling of upstream agents before 2.13: -setup-firewall -dst_ip=<IP> -uid=<UID> [-w].
    .addOption(new OptionClass('--dst-ip <ip>').hideHelp())
    .addOption(new OptionClass('--uid <uid>').hideHelp())
    .addOption(new OptionClass('--wait').hideHelp())
    .action(async (opts: GlobalOptions) => {
      exitCode = await runLegacy(opts);
    });
  program
    .command('status')
    .description('show the agent version, goal-state incarnation and each extension handler\'s state and last status')
    .option('--configuration-path <file>', 'configuration file (default /etc/waagent.conf)')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      // The top-level --configuration-path is recognised after `status` too, so it lands on the program.
      const { runStatusCommand } = await import('./commands/status.js');
      exitCode = await runStatusCommand(cmd.optsWithGlobals<{ configurationPath?: string; json?: boolean }>());
    })
    .addHelpText('after', '\nExamples:\n  waagent status\n  waagent status --json -configuration-path:/etc/waagent.conf\n\nExit code: 0 the status was shown, 1 the configuration could not be read.\n');
  program
    .command('emulator')
    .description('run the fabric emulator (WireServer, HostGAPlugin, blob store, repository)')
    .option('--listen <addr>', 'ADDR or ADDR:PORT for the WireServer port (default port 80)', '127.0.0.1:8080')
    .option('--host-plugin-port <port>', 'HostGAPlugin port', '32526')
    .option('--scenario <file>', 'goal state scenario (JSON)')
    .option('--public-base-url <url>', 'base URL written into documents (e.g. http://168.63.129.16)')
    .action(async (opts: { listen: string; hostPluginPort: string; scenario?: string; publicBaseUrl?: string }) => {
      const { runEmulatorCommand } = await import('./commands/emulator.js');
      exitCode = await runEmulatorCommand(opts);
    })
    .addHelpText('after', '\nExamples:\n  waagent emulator --listen 127.0.0.1:8080\n  waagent emulator --listen 127.0.0.1:8080 --scenario scenario.json\n\nIt runs until SIGINT or SIGTERM (exit code 0); 1 when it cannot start. See src/emulator/README.md.\n');
  program
    .command('emulate')
    .description('test an extension handler locally through the real agent and the fabric emulator; report contract breaches')
    .argument('<package>', 'handler folder or zip')
    .option('--settings <file>', 'JSON {"publicSettings": {...}, "protectedSettings": {...}}')
    .option('--second-settings <file>', 'settings of the second goal state (default: the same, next sequence number)')
    .option('--from <old>', 'install this older package first, then update to PACKAGE')
    .option('--name <Publisher.Type>', 'handler name (default: from the file name, else Emulate.<name>)')
    .option('--handler-version <version>', 'version of PACKAGE (default: from the file name, else 1.0.0; 1.1.0 with --from)')
    .option('--from-version <version>', 'version of OLD (default: from the file name, else 1.0.0)')
    .option('--timeout <seconds>', 'per phase: wait for a terminal status, and each command\'s limit', '120')
    .option('--json', 'print one JSON report on stdout (the timeline goes to stderr)')
    .option('--keep', 'keep the scratch root even when nothing was breached')
    .addHelpText('after', '\nExamples:\n  waagent emulate ./Contoso.Hello-1.0.0 --settings settings.json\n  waagent emulate Contoso.Hello__1.1.0.zip --from Contoso.Hello__1.0.0.zip --json > report.json\n\nExit code: 0 no breach, 1 breaches of the handler contract, 2 the run failed.\n')
    .action(async (pkg: string, opts: EmulateCommandOptions) => {
      const { runEmulateCommand } = await import('./commands/emulate.js');
      exitCode = await runEmulateCommand(pkg, opts);
    });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return 0;
      process.stderr.write(usageText(ARGV0));
      return err.exitCode === 0 ? 0 : 1;
    }
    throw err;
  }
  return exitCode;
}

async function runLegacy(opts: GlobalOptions): Promise<number> {
  if (opts.version) {
    const { versionText } = await import('./commands/version.js');
    process.stdout.write(versionText());
    return 0;
  }
  if (opts.showConfiguration) {
    const { runShowConfiguration } = await import('./commands/show-configuration.js');
    return runShowConfiguration(opts);
  }
  if (opts.deprovision || opts.deprovisionUser) {
    const { runDeprovision } = await import('./commands/deprovision.js');
    return runDeprovision({ ...opts, deluser: opts.deprovisionUser === true });
  }
  if (opts.setupFirewall !== undefined || opts.dstIp !== undefined) {
    const { runSetupFirewall } = await import('./commands/setup-firewall.js');
    return runSetupFirewall(opts);
  }
  if (opts.collectLogs) {
    const { runCollectLogs } = await import('./commands/collect-logs.js');
    return runCollectLogs(opts);
  }
  if (opts.runExthandlers) {
    const { runExtHandlers } = await import('./commands/run-exthandlers.js');
    return runExtHandlers(opts);
  }
  if (opts.daemon) {
    const { runDaemon } = await import('./commands/daemon.js');
    return runDaemon(opts);
  }
  process.stdout.write(helpText(ARGV0));
  return 0;
}
