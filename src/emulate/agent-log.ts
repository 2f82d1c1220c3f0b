// Turns the agent's console lines into the events `waagent emulate` shows: downloads, handler commands starting,
// finishing or failing, goal states processed. Pure (no I/O); it keeps only which commands are open.

export type HandlerOp = 'install' | 'enable' | 'disable' | 'update' | 'uninstall';

export type AgentEvent =
  | { readonly kind: 'download-start'; readonly at: number; readonly version: string }
  | { readonly kind: 'download-end'; readonly at: number; readonly version: string; readonly detail: string; readonly durationMs: number | null }
  /** The agent's progress line of a long download (`1.5 MiB of 6.0 MiB (25%) in 10s at ...`), or its summary at the end. */
  | { readonly kind: 'download-progress'; readonly at: number; readonly version: string; readonly detail: string; readonly done: boolean }
  | { readonly kind: 'command-start'; readonly at: number; readonly version: string; readonly op: HandlerOp; readonly command: string }
  | { readonly kind: 'command-end'; readonly at: number; readonly version: string; readonly op: HandlerOp; readonly durationMs: number }
  | {
    readonly kind: 'command-failed'; readonly at: number; readonly version: string; readonly op: HandlerOp; readonly durationMs: number | null;
    readonly exitCode: number | null; readonly timedOut: boolean; readonly message: string;
  }
  /** The agent could not process the handler for another reason (manifest, download, package). */
  | { readonly kind: 'handler-error'; readonly at: number; readonly version: string; readonly message: string }
  | { readonly kind: 'goal-state-done'; readonly at: number; readonly incarnation: number };

// `<timestamp> <LEVEL> <thread> <prefix> <message>` (src/log/format.ts); the prefix is `[Name-version]` or the thread.
const RECORD_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6})Z (VERBOSE|INFO|WARNING|ERROR) \S+ (\S+) (.*)$/;
const LABELS: Record<string, HandlerOp> = { Install: 'install', Enable: 'enable', Disable: 'disable', Update: 'update', Uninstall: 'uninstall' };
const START_RE = /^(Install|Enable|Disable|Update|Uninstall) extension(?: \S+)?: \[(.*)\]$/;
const END_RE = /^(Install|Enable|Disable|Update|Uninstall) completed in (\d+) ms$/;
const FAIL_RE = /\[ExtensionOperationError\] (Install|Enable|Disable|Update|Uninstall): (?:Non-zero exit code: (-?\d+)|Timeout\((\d+)\)|(Failed to launch))/;
const DONE_RE = /^ProcessExtensionsGoalState completed \[incarnation_(\d+) /;

/** Milliseconds since the epoch of a log timestamp (microseconds dropped). */
function timeOf(ts: string): number {
  return Date.parse(`${ts.slice(0, 23)}Z`);
}

export class AgentLogParser {
  private readonly open = new Map<string, { at: number; op: HandlerOp }>();
  private readonly downloads = new Map<string, number>();

  constructor(private readonly handlerName: string) {}

  /** One console line; continuation lines of multi-line records yield nothing. */
  feed(line: string): AgentEvent[] {
    const m = RECORD_RE.exec(line);
    if (!m) return [];
    const at = timeOf(m[1]!);
    const level = m[2]!;
    const prefix = m[3]!;
    const msg = m[4]!;
    const done = DONE_RE.exec(msg);
    if (done) return [{ kind: 'goal-state-done', at, incarnation: Number(done[1]) }];
    const head = `[${this.handlerName}-`;
    if (!prefix.startsWith(head) || !prefix.endsWith(']')) return [];
    const version = prefix.slice(head.length, -1);
    return this.handlerRecord(at, level, version, msg);
  }

  private handlerRecord(at: number, level: string, version: string, msg: string): AgentEvent[] {
    if (msg === `Downloading ${this.handlerName}-${version}`) {
      this.downloads.set(version, at);
      return [{ kind: 'download-start', at, version }];
    }
    // src/log/progress.ts: `Download progress: <what>: <amount> in <t> at <rate> from <host/path>`, `Downloaded <what>: ...`.
    const what = `${this.handlerName}-${version} package: `;
    for (const [head, done] of [['Download progress: ', false], ['Downloaded ', true]] as const) {
      if (msg.startsWith(`${head}${what}`)) {
        const detail = msg.slice(head.length + what.length).replace(/ from \S+( via HostGAPlugin)?$/, '');
        return [{ kind: 'download-progress', at, version, detail, done }];
      }
    }
    const unpacked = `Unpacked ${this.handlerName}-${version}: `;
    if (msg.startsWith(unpacked)) {
      const started = this.downloads.get(version);
      this.downloads.delete(version);
      return [{ kind: 'download-end', at, version, detail: msg.slice(unpacked.length), durationMs: started === undefined ? null : at - started }];
    }
    const start = START_RE.exec(msg);
    if (start) {
      const op = LABELS[start[1]!]!;
      this.open.set(`${version}/${op}`, { at, op });
      return [{ kind: 'command-start', at, version, op, command: start[2]! }];
    }
    const end = END_RE.exec(msg);
    if (end) {
      const op = LABELS[end[1]!]!;
      this.open.delete(`${version}/${op}`);
      return [{ kind: 'command-end', at, version, op, durationMs: Number(end[2]) }];
    }
    if (level !== 'ERROR' && level !== 'WARNING') return [];
    const fail = FAIL_RE.exec(msg);
    if (fail) {
      const op = LABELS[fail[1]!]!;
      const key = `${version}/${op}`;
      const started = this.open.get(key);
      // The same failure can be logged again further up the call chain: only the first closes the command.
      if (!started) return [];
      this.open.delete(key);
      const exitCode = fail[2] !== undefined ? Number(fail[2]) : null;
      return [{ kind: 'command-failed', at, version, op, durationMs: at - started.at, exitCode, timedOut: fail[3] !== undefined, message: msg.slice(fail.index) }];
    }
    if (level === 'ERROR' && / failed: /.test(msg)) {
      return [{ kind: 'handler-error', at, version, message: msg.slice(msg.indexOf(' failed: ') + ' failed: '.length) }];
    }
    return [];
  }
}
