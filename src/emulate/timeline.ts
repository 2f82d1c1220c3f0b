// The live timeline of `waagent emulate`: one permanent line per event, prefixed with the time since the start.
// On a terminal a bottom line is redrawn while something runs (what, for how long, against which time limit);
// elsewhere a plain "still running" line is printed now and then instead, so logs of CI jobs show progress too.
import { formatDuration } from '../log/progress.js';

export interface TimelineOutput {
  write(text: string): void;
  readonly isTTY: boolean;
  /** ANSI colours (a terminal without NO_COLOR). */
  readonly color: boolean;
  /** Terminal width: the live line is cut to fit, so it never wraps (a wrapped line is not erased by `\r`). */
  readonly columns?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK_MS = 100;
/** Default period of the plain progress lines. */
export const PLAIN_PROGRESS_MS = 15_000;

export interface TimelineOptions {
  /** Period of the plain progress lines (not on a terminal). */
  readonly plainEveryMs?: number;
}

interface Activity {
  readonly key: string;
  label: string;
  readonly since: number;
  /** A time limit (a command's timeout): shown as elapsed against it. */
  readonly limitMs: number | null;
  lastReport: number;
}

export class Timeline {
  private readonly activities = new Map<string, Activity>();
  private liveShown = false;
  private frame = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly plainEveryMs: number;

  constructor(private readonly out: TimelineOutput, private readonly startedAt: number, private readonly now: () => number = Date.now, opts: TimelineOptions = {}) {
    this.plainEveryMs = Math.max(1, opts.plainEveryMs ?? PLAIN_PROGRESS_MS);
    this.timer = setInterval(() => this.tick(), out.isTTY ? TICK_MS : Math.min(1000, this.plainEveryMs));
    this.timer.unref();
  }

  /** Whether a live bottom line is drawn (a terminal). */
  get live(): boolean {
    return this.out.isTTY;
  }

  green(s: string): string {
    return this.out.color ? `\x1b[32m${s}\x1b[0m` : s;
  }

  red(s: string): string {
    return this.out.color ? `\x1b[31m${s}\x1b[0m` : s;
  }

  bold(s: string): string {
    return this.out.color ? `\x1b[1m${s}\x1b[0m` : s;
  }

  dim(s: string): string {
    return this.out.color ? `\x1b[2m${s}\x1b[0m` : s;
  }

  /** A permanent line, `[  12.3s] text`, at the time `at` (default now). */
  line(text: string, at: number = this.now()): void {
    const secs = Math.max(0, (at - this.startedAt) / 1000).toFixed(1);
    this.print(`${this.dim(`[${secs.padStart(6)}s]`)} ${text}\n`);
  }

  /** A line without the time prefix (headers, the report). */
  raw(text: string): void {
    this.print(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Something that takes a while (a command, a wait): shown live until end(key); `limitMs`: its time limit. */
  begin(key: string, label: string, since: number = this.now(), limitMs: number | null = null): void {
    this.activities.set(key, { key, label, since, limitMs, lastReport: since });
    this.draw();
  }

  /** New text for a running activity (a download's progress): redrawn live, used by the next plain line. */
  update(key: string, label: string): void {
    const a = this.activities.get(key);
    if (!a) return;
    a.label = label;
    this.draw();
  }

  end(key: string): void {
    if (this.activities.delete(key)) this.draw();
  }

  close(): void {
    clearInterval(this.timer);
    this.activities.clear();
    this.clearLive();
  }

  private print(text: string): void {
    this.clearLive();
    this.out.write(text);
    this.draw();
  }

  private clearLive(): void {
    if (this.liveShown) {
      this.out.write('\r\x1b[2K');
      this.liveShown = false;
    }
  }

  private tick(): void {
    if (this.out.isTTY) {
      this.frame = (this.frame + 1) % SPINNER.length;
      this.draw();
      return;
    }
    const now = this.now();
    for (const a of this.activities.values()) {
      if (now - a.lastReport >= this.plainEveryMs) {
        a.lastReport = now;
        this.line(`   … ${a.label} (${this.elapsed(a, now, 0)})`, now);
      }
    }
  }

  /** `12 s`, or `12 s of 2m timeout` for an activity with a limit. */
  private elapsed(a: Activity, now: number, digits: number): string {
    const secs = `${((now - a.since) / 1000).toFixed(digits)} s`;
    return a.limitMs === null ? secs : `${secs} of ${formatDuration(a.limitMs)} timeout`;
  }

  private draw(): void {
    if (!this.out.isTTY) return;
    const current = [...this.activities.values()].at(-1);
    this.clearLive();
    if (!current) return;
    const text = `           ${SPINNER[this.frame]} ${current.label} · ${this.elapsed(current, this.now(), 1)}`;
    const columns = this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : 80;
    const width = Math.max(20, columns - 1);
    this.out.write(text.length > width ? `${text.slice(0, width - 1)}…` : text);
    this.liveShown = true;
  }
}
