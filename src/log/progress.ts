// Progress of long work: a package download (bytes received against the expected size, rate) and a handler command
// (elapsed time against its timeout). Two renderings:
//  - log lines at a bounded rate, always: waagent.log, and the journal when the daemon runs under systemd;
//  - the live line (live-line.ts) when the agent runs in the foreground on a terminal.
// Time comes from the injected clock only, so tests drive every line with a fake one.
import type { Clock, Logger } from '../deps.js';
import type { LiveLine } from './live-line.js';

export interface ProgressOptions {
  /** A download logs nothing before it ran this long (short ones stay quiet), then a line at least this often. */
  readonly downloadEveryMs: number;
  /** Past that first interval, a download also logs when it crosses a multiple of this fraction of its size. */
  readonly downloadStep: number;
  /** A running command logs a "Still running" line this often. */
  readonly commandEveryMs: number;
  /** How often the live line is redrawn. */
  readonly liveEveryMs: number;
}

export const DEFAULT_PROGRESS: ProgressOptions = { downloadEveryMs: 10_000, downloadStep: 0.25, commandEveryMs: 30_000, liveEveryMs: 1000 };

/** Intervals of download and command lines (WAAGENT_TS_PROGRESS_MS: tests and `waagent emulate`). */
export function progressEvery(downloadMs: number, commandMs: number = downloadMs): ProgressOptions {
  const dl = Math.max(1, Math.round(downloadMs));
  const cmd = Math.max(1, Math.round(commandMs));
  return { ...DEFAULT_PROGRESS, downloadEveryMs: dl, commandEveryMs: cmd, liveEveryMs: Math.min(DEFAULT_PROGRESS.liveEveryMs, dl, cmd) };
}

/** `45s`, `2m30s`, `20m`, `1h30m`, `2h`: whole seconds, the largest units only. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${m}m`;
  return `${s}s`;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** `512 B`, `12.3 KiB`, `1.5 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(Number.isFinite(n) ? n : 0))} B`;
  let v = n;
  let unit = 'B';
  for (const u of UNITS) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit}`;
}

/** Bytes per second over `ms`, `0 B/s` before any time passed. */
export function formatRate(bytes: number, ms: number): string {
  return `${formatBytes(ms > 0 ? (bytes * 1000) / ms : 0)}/s`;
}

/**
 * Where a package comes from, safe to print: host and path only. The query (a SAS token) and any user info are
 * dropped; whatever does not parse as a URL is not printed at all.
 */
export function describeSource(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

export interface ProgressDeps {
  readonly clock: Clock;
  /** The terminal's live line (null or absent: log lines only). */
  readonly live?: LiveLine | null;
  readonly options?: Partial<ProgressOptions>;
}

/** A running download: told of every chunk; finish() ends its lines. */
export interface DownloadProgress {
  bytes(received: number, expected: number | null): void;
  finish(ok: boolean): void;
}

/** A running command: lines come on their own; finish() ends them. */
export interface CommandProgress {
  finish(): void;
}

/** Makes the trackers of one process; a tracker never throws into the work it watches. */
export class Progress {
  readonly options: ProgressOptions;
  private nextKey = 1;

  constructor(private readonly deps: ProgressDeps) {
    this.options = { ...DEFAULT_PROGRESS, ...deps.options };
  }

  /** `what`: `Pub.Type-1.2 package`; `source`: host/path (describeSource), never a URL with its query. */
  download(logger: Logger, what: string, source: string): DownloadProgress {
    return new DownloadTracker(this.deps.clock, this.deps.live ?? null, this.options, `dl${this.nextKey++}`, logger, what, source);
  }

  /** `label`: `enable of Pub.Type-1.2`. */
  command(logger: Logger, label: string, timeoutMs: number): CommandProgress {
    return new CommandTracker(this.deps.clock, this.deps.live ?? null, this.options, `cmd${this.nextKey++}`, logger, label, timeoutMs);
  }
}

/** A tracker's timer: ticks every period on the injected clock until finished. */
abstract class Tracker {
  protected readonly start: number;
  protected lastLog: number;
  /** Log lines written so far. */
  protected lines = 0;
  private readonly stop = new AbortController();

  constructor(
    protected readonly clock: Clock,
    protected readonly live: LiveLine | null,
    protected readonly key: string,
    protected readonly logger: Logger,
    private readonly periodMs: number,
  ) {
    this.start = clock.now();
    this.lastLog = this.start;
  }

  protected run(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      try {
        await this.clock.sleep(this.periodMs, signal);
      } catch {
        return;
      }
      if (signal.aborted) return;
      this.safely(() => this.tick(this.clock.now()));
    }
  }

  protected end(): void {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.safely(() => this.live?.remove(this.key));
  }

  protected get ended(): boolean {
    return this.stop.signal.aborted;
  }

  protected log(msg: string, now: number): void {
    this.lastLog = now;
    this.lines++;
    this.logger.info(msg);
  }

  protected safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // Progress is a courtesy: it never breaks the download or command it reports on.
    }
  }

  protected abstract tick(now: number): void;
}

class DownloadTracker extends Tracker implements DownloadProgress {
  private received = 0;
  private expected: number | null = null;
  /** Start of the current attempt (a retry starts again from 0 bytes). */
  private attemptStart: number;
  /** Index of the last size step a line was written at. */
  private lastStep = 0;
  private lastLive = -Infinity;

  constructor(
    clock: Clock,
    live: LiveLine | null,
    private readonly o: ProgressOptions,
    key: string,
    logger: Logger,
    private readonly what: string,
    private readonly source: string,
  ) {
    super(clock, live, key, logger, live ? Math.min(o.liveEveryMs, o.downloadEveryMs) : o.downloadEveryMs);
    this.attemptStart = this.start;
    this.run();
  }

  bytes(received: number, expected: number | null): void {
    if (this.ended) return;
    this.safely(() => {
      const now = this.clock.now();
      if (received < this.received) {
        this.attemptStart = now;
        this.lastStep = 0;
      }
      this.received = received;
      this.expected = expected;
      if (now - this.lastLive >= this.o.liveEveryMs) this.drawLive(now);
      const step = this.step();
      // Size steps only once the download is known to be long; the last step (100 %) is the final line's.
      if (this.lines > 0 || now - this.start >= this.o.downloadEveryMs) {
        if (step > this.lastStep && step < this.stepCount()) this.logLine(now);
      }
    });
  }

  finish(ok: boolean): void {
    if (this.ended) return;
    this.end();
    if (!ok || this.lines === 0) return;
    this.safely(() => {
      const now = this.clock.now();
      const took = now - this.attemptStart;
      this.logger.info(`Downloaded ${this.what}: ${formatBytes(this.received)} in ${formatDuration(took)} at ${formatRate(this.received, took)}`);
    });
  }

  protected tick(now: number): void {
    if (this.live) this.drawLive(now);
    if (now - this.lastLog >= this.o.downloadEveryMs) this.logLine(now);
  }

  private stepCount(): number {
    return Math.max(1, Math.round(1 / this.o.downloadStep));
  }

  private step(): number {
    if (this.expected === null || this.expected <= 0) return 0;
    return Math.floor(Math.min(1, this.received / this.expected) * this.stepCount());
  }

  private amount(): string {
    const got = formatBytes(this.received);
    if (this.expected === null || this.expected <= 0) return got;
    const pct = Math.floor(Math.min(1, this.received / this.expected) * 100);
    return `${got} of ${formatBytes(this.expected)} (${pct}%)`;
  }

  private logLine(now: number): void {
    this.lastStep = this.step();
    const rate = formatRate(this.received, now - this.attemptStart);
    this.log(`Download progress: ${this.what}: ${this.amount()} in ${formatDuration(now - this.start)} at ${rate} from ${this.source}`, now);
  }

  private drawLive(now: number): void {
    if (!this.live) return;
    this.lastLive = now;
    this.live.set(this.key, `Downloading ${this.what}: ${this.amount()} · ${formatRate(this.received, now - this.attemptStart)} · ${formatDuration(now - this.start)}`);
  }
}

class CommandTracker extends Tracker implements CommandProgress {
  constructor(
    clock: Clock,
    live: LiveLine | null,
    private readonly o: ProgressOptions,
    key: string,
    logger: Logger,
    private readonly label: string,
    private readonly timeoutMs: number,
  ) {
    super(clock, live, key, logger, live ? Math.min(o.liveEveryMs, o.commandEveryMs) : o.commandEveryMs);
    this.safely(() => this.drawLive(this.start));
    this.run();
  }

  finish(): void {
    this.end();
  }

  protected tick(now: number): void {
    this.drawLive(now);
    if (now - this.lastLog >= this.o.commandEveryMs) {
      this.log(`Still running: ${this.label} for ${formatDuration(now - this.start)} (timeout ${formatDuration(this.timeoutMs)})`, now);
    }
  }

  private drawLive(now: number): void {
    this.live?.set(this.key, `Running ${this.label}: ${formatDuration(now - this.start)} of ${formatDuration(this.timeoutMs)} timeout`);
  }
}
