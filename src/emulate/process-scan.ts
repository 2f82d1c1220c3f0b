// Processes a handler left running: found in /proc by the handler folder in their environment
// (AZURE_GUEST_AGENT_EXTENSION_PATH), working directory or command line. The folder lives in this run's scratch
// root, and only processes started after the agent are looked at, so nothing else on the machine matches.
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface HandlerProcess {
  readonly pid: number;
  readonly cmdline: string;
  /** What tied it to the handler: `env`, `cwd` or `cmdline`. */
  readonly matched: string;
}

const MAX_PROCS = 100_000;

/** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or null when gone. */
export async function startTicks(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Pure: how a process relates to the handler folder prefix, or null. */
export function matchProcess(prefix: string, environ: string, cwd: string, cmdline: string): string | null {
  const envPath = environ.split('\0').find((e) => e.startsWith('AZURE_GUEST_AGENT_EXTENSION_PATH='));
  if (envPath !== undefined && envPath.slice('AZURE_GUEST_AGENT_EXTENSION_PATH='.length).startsWith(prefix)) return 'env';
  // A removed folder shows as "<path> (deleted)".
  if (cwd.replace(/ \(deleted\)$/, '').startsWith(prefix)) return 'cwd';
  if (cmdline.includes(prefix)) return 'cmdline';
  return null;
}

/**
 * Live processes tied to any folder starting with `prefix` (e.g. `<lib>/<Name>-`), started no earlier than
 * `notBeforeTicks`, other than the pids in `exclude`. Processes we cannot read (other users') are skipped.
 */
export async function findHandlerProcesses(prefix: string, notBeforeTicks: number, exclude: ReadonlySet<number>): Promise<HandlerProcess[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const out: HandlerProcess[] = [];
  for (const name of entries.slice(0, MAX_PROCS)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (exclude.has(pid)) continue;
    const started = await startTicks(pid);
    if (started === null || started < notBeforeTicks) continue;
    const [environ, cwd, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/environ`, 'latin1').catch(() => ''),
      readlink(`/proc/${pid}/cwd`).catch(() => ''),
      readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    ]);
    const matched = matchProcess(prefix, environ, cwd, cmdline);
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then((s) => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3)).catch(() => 'X');
    if (matched && state !== 'Z' && state !== 'X') out.push({ pid, cmdline: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 300), matched });
  }
  return out;
}

/** SIGKILL to each process (already gone is fine). */
export function killProcesses(procs: readonly HandlerProcess[]): void {
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ESRCH: it exited meanwhile.
    }
  }
}
