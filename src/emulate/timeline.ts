// The live timeline of `waagent emulate`: one permanent line per event, prefixed with the time since the start.
// On a terminal a bottom line is redrawn while something runs (what, for how long); elsewhere a plain
// "still running" line is printed now and then instead, so logs of CI jobs show progress too.

export interface TimelineOutput {
  write(text: string): void;
  readonly isTTY: boolean;
  /** ANSI colours (a terminal without NO_COLOR). */
  readonly color: boolean;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK_MS = 100;
const PLAIN_PROGRESS_MS = 15_000;

interface Activity {
  readonly key: string;
  readonly label: string;
  readonly since: number;
  lastReport: number;
}

export class Timeline {
  private readonly activities = new Map<string, Activity>();
  private liveShown = false;
  private frame = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly out: TimelineOutput, private readonly startedAt: number, private readonly now: () => number = Date.now) {
    this.timer = setInterval(() => this.tick(), out.isTTY ? TICK_MS : 1000);
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

  /** Something that takes a while (a command, a wait): shown live until end(key). */
  begin(key: string, label: string, since: number = this.now()): void {
    this.activities.set(key, { key, label, since, lastReport: since });
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
      if (now - a.lastReport >= PLAIN_PROGRESS_MS) {
        a.lastReport = now;
        this.line(`   … ${a.label} (${Math.round((now - a.since) / 1000)} s)`, now);
      }
    }
  }

  private draw(): void {
    if (!this.out.isTTY) return;
    const current = [...this.activities.values()].at(-1);
    this.clearLive();
    if (!current) return;
    const secs = ((this.now() - current.since) / 1000).toFixed(1);
    this.out.write(`           ${SPINNER[this.frame]} ${current.label} · ${secs} s`);
    this.liveShown = true;
  }
}
