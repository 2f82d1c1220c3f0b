// Upstream's usage line (agent-lifecycle.md §11), with our subcommands listed after it.
export function usageText(argv0: string): string {
  return `\nusage: ${argv0} [-verbose] [-force] [-help] -configuration-path:<path to configuration file>-deprovision[+user]|-register-service|-version|-daemon|-start|-run-exthandlers|-show-configuration|-collect-logs [-full]|-setup-firewall=<IP>]\n` +
    `       ${argv0} emulator --listen <ADDR[:PORT]>   run the fabric emulator\n\n`;
}
