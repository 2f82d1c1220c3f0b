// Runs firewall tools (iptables, nft) as argv, never through a shell. Injected into the firewall managers so tests
// can use a fake, or run the real tools inside a network namespace (prefix `ip netns exec <ns>`).
import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code; null when killed (timeout) or not started. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The tool is not installed (ENOENT, or `ip netns exec` reporting that it cannot exec it). */
  readonly notFound: boolean;
}

/** argv[0] is the tool; `input` goes to its stdin (nft -f -). Never rejects. */
export type CommandRunner = (argv: readonly string[], opts?: { input?: string }) => Promise<CommandResult>;

export interface CommandRunnerOptions {
  /** Prepended to every argv, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  readonly prefix?: readonly string[];
  /** Kill after this long (default 30 s; iptables -w may wait for the xtables lock). */
  readonly timeoutMs?: number;
}

const MAX_OUTPUT = 256 * 1024;
// `ip netns exec` execs the command itself and prints this when it cannot.
const NETNS_EXEC_ENOENT = /exec of ".*" failed: No such file or directory/;

export function createCommandRunner(opts: CommandRunnerOptions = {}): CommandRunner {
  const prefix = opts.prefix ?? [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return (argv, runOpts = {}) =>
    new Promise<CommandResult>((resolve) => {
      const full = [...prefix, ...argv];
      let stdout = '';
      let stderr = '';
      let settled = false;
      const done = (r: CommandResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      // LC_ALL=C: the output is parsed and logged; it must not depend on the locale.
      const child = spawn(full[0]!, full.slice(1), { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        stderr += `\n(killed after ${timeoutMs} ms)`;
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => {
        if (stdout.length < MAX_OUTPUT) stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < MAX_OUTPUT) stderr += d.toString();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        done({ exitCode: null, stdout, stderr: stderr || err.message, notFound: err.code === 'ENOENT' });
      });
      child.on('close', (code) => {
        done({ exitCode: code, stdout, stderr, notFound: prefix.length > 0 && NETNS_EXEC_ENOENT.test(stderr) });
      });
      // A tool that exits without reading stdin must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(runOpts.input ?? '');
    });
}

/** `iptables -w -t security -C OUTPUT ...` as one line for logs and errors. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export class FirewallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FirewallError';
  }
}

/** A failed tool run as an error naming the command, its exit and the first of its output. */
export function commandFailure(argv: readonly string[], r: CommandResult): FirewallError {
  const why = r.exitCode === null ? 'did not complete' : `exited with ${r.exitCode}`;
  const detail = (r.stderr.trim() || r.stdout.trim()).slice(0, 500);
  return new FirewallError(`${formatArgv(argv)} ${why}${detail ? `: ${detail}` : ''}`);
}
