// One status line at the bottom of a terminal, redrawn in place (carriage return, erase line) and cleared at the end.
// Only built for a TTY (see liveLineFor): piped or journald output never sees a carriage return.

export interface LiveStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width; lines are cut to fit so a wrapped line never defeats the carriage return. */
  readonly columns?: number;
}

const ERASE = '\r\x1b[2K';
const DEFAULT_COLUMNS = 80;

export class LiveLine {
  /** What each running activity shows; the newest is drawn. */
  private readonly items = new Map<string, string>();
  private shown = false;

  constructor(private readonly out: LiveStream) {}

  set(key: string, text: string): void {
    this.items.set(key, text);
    this.draw();
  }

  remove(key: string): void {
    if (this.items.delete(key)) this.draw();
  }

  /** Runs another write to the same terminal (a log line on stdout) with the line erased, then draws it again. */
  around(write: () => void): void {
    this.erase();
    try {
      write();
    } finally {
      this.draw();
    }
  }

  private erase(): void {
    if (!this.shown) return;
    this.shown = false;
    this.safeWrite(ERASE);
  }

  private draw(): void {
    const text = [...this.items.values()].at(-1);
    if (text === undefined) {
      this.erase();
      return;
    }
    // A pseudo-terminal nobody sized reports 0 columns.
    const columns = this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : DEFAULT_COLUMNS;
    const width = Math.max(10, columns - 1);
    // Handler names and messages come from outside: no control characters reach the terminal.
    const clean = text.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
    const cut = clean.length > width ? `${clean.slice(0, width - 1)}…` : clean;
    this.shown = true;
    this.safeWrite(`${ERASE}${cut}`);
  }

  private safeWrite(text: string): void {
    try {
      this.out.write(text);
    } catch {
      // A closed terminal must not take the agent down.
    }
  }
}

/** A live line on `stream` when it is a terminal, else null (under systemd, in pipes, in tests). */
export function liveLineFor(stream: LiveStream): LiveLine | null {
  return stream.isTTY === true ? new LiveLine(stream) : null;
}
