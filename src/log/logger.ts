import { fstatSync, fsyncSync, renameSync, statSync } from 'node:fs';
import pino from 'pino';
import type { Clock, LogFields, Logger } from '../deps.js';
import { formatLogLineAt, formatTimestamp, renderFields, type LogLevelName } from './format.js';
import { redactFields, redactSecrets } from './redact.js';

export interface LoggerOptions {
  /** Log file (appended; parent directory created). */
  file?: string;
  /** Also write every line to stdout (the journal under systemd). */
  console?: boolean;
  /** `Logs.Verbose=y` / `-verbose`: keep VERBOSE lines. */
  verbose: boolean;
  thread: string;
  prefix?: string;
  /** Time source; without one a microsecond wall clock is used. */
  clock?: Clock;
  /** JSON lines instead of upstream's text lines. */
  json?: boolean;
  /** Size bound of the log file (default DEFAULT_MAX_LOG_BYTES); see boundLogFile. */
  maxBytes?: number;
  /** The terminal's progress line (live-line.ts): erased before each console line and drawn again after it. */
  live?: { around(write: () => void): void } | null;
}

/**
 * Backstop for systems without logrotate (config/waagent.logrotate rotates at 20 MiB): past this size the file is
 * renamed to `<file>.1`, replacing an older one, and reopened. So the agent's log never takes more than about twice
 * this, whatever happens.
 */
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;
/** The size is checked after every this many bytes written (a stat per check). */
const SIZE_CHECK_BYTES = 64 * 1024;

export type ManagedLogger = Logger & { reopen(): void; flush(): void; close(): Promise<void> };

type SonicBoom = ReturnType<typeof pino.destination>;

const LEVEL_NAMES: Record<string, LogLevelName> = { debug: 'VERBOSE', info: 'INFO', warn: 'WARNING', error: 'ERROR' };
const RESERVED = new Set(['level', 'time', 'msg', 'thread', 'prefix']);

/**
 * Wall clock with microsecond digits: Date.now() gives the millisecond, the monotonic clock the fraction
 * (anchored on a millisecond tick). The result never leaves Date.now()'s millisecond.
 */
function microWallClock(): () => bigint {
  let anchorWall = 0n;
  let anchorHr = 0n;
  const anchor = (): void => {
    // Wait for the next millisecond tick (< 1 ms, only at start or after a clock step).
    const start = Date.now();
    let now = start;
    while (now === start) now = Date.now();
    anchorWall = BigInt(now) * 1000n;
    anchorHr = process.hrtime.bigint();
  };
  anchor();
  return () => {
    const wall = BigInt(Date.now()) * 1000n;
    let est = anchorWall + (process.hrtime.bigint() - anchorHr) / 1000n;
    const drift = est - wall;
    if (drift > 10_000n || drift < -10_000n) {
      anchor();
      est = anchorWall;
    }
    if (est < wall) return wall;
    if (est >= wall + 1000n) return wall + 999n;
    return est;
  };
}

function openFile(file: string): SonicBoom | undefined {
  try {
    // sync: each line is one write(2) with O_APPEND, so it is in the kernel before the call returns
    // (nothing lost when the process dies; daemon and child lines never interleave mid-line).
    // The agent logs a few lines a second at most, so the syscall per line costs nothing.
    const dest = pino.destination({ dest: file, append: true, sync: true, mkdir: true, maxLength: 1 << 20 });
    // Upstream swallows log I/O errors; a full disk must not take the agent down.
    dest.on('error', () => undefined);
    return dest;
  } catch (e) {
    process.stderr.write(`Cannot open log file ${file}: ${(e as Error).message}\n`);
    return undefined;
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Logging never throws into the caller.
  }
}

/** pino's line (JSON) -> the bytes written to the file and console. */
function toText(line: string): string {
  const rec = JSON.parse(line) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!RESERVED.has(k)) fields[k] = v;
  const prefix = typeof rec.prefix === 'string' ? rec.prefix : undefined;
  return formatLogLineAt(String(rec.time), {
    level: (rec.level as LogLevelName | undefined) ?? 'INFO',
    thread: String(rec.thread ?? ''),
    ...(prefix === undefined ? {} : { prefix }),
    msg: String(rec.msg ?? '') + renderFields(fields),
  });
}

/**
 * Keeps the log file bounded. The daemon and the extension handler append to the same file: when the path no longer
 * names our file (logrotate or the other process renamed it), reopen; when our file is past maxBytes, rotate it.
 */
function boundLogFile(dest: SonicBoom, path: string, maxBytes: number): void {
  const fd = (dest as unknown as { fd: number }).fd;
  if (typeof fd !== 'number' || fd < 0) return;
  const own = fstatSync(fd);
  let current: { ino: number; dev: number } | undefined;
  try {
    current = statSync(path);
  } catch {
    current = undefined;
  }
  if (!current || current.ino !== own.ino || current.dev !== own.dev) {
    dest.reopen();
    return;
  }
  if (own.size <= maxBytes) return;
  renameSync(path, `${path}.1`);
  dest.reopen();
}

export function createLogger(opts: LoggerOptions): ManagedLogger {
  let file = opts.file === undefined ? undefined : openFile(opts.file);
  const stdout = opts.console ? pino.destination({ dest: 1, sync: true }) : undefined;
  stdout?.on('error', () => undefined);
  let closed = false;
  let sinceSizeCheck = 0;

  const destination = {
    write(line: string): void {
      if (closed) return;
      let out = line;
      if (!opts.json) {
        try {
          out = toText(line);
        } catch {
          return;
        }
      }
      if (file) {
        const f = file;
        safely(() => f.write(out));
        sinceSizeCheck += out.length;
        if (sinceSizeCheck >= SIZE_CHECK_BYTES && opts.file !== undefined) {
          sinceSizeCheck = 0;
          const path = opts.file;
          safely(() => boundLogFile(f, path, opts.maxBytes ?? DEFAULT_MAX_LOG_BYTES));
        }
      }
      if (stdout) {
        const live = opts.live;
        safely(() => (live ? live.around(() => stdout.write(out)) : stdout.write(out)));
      }
    },
  };

  const clock = opts.clock;
  const fromClock = (c: Clock) => (): bigint => {
    const us = Math.round(c.now() * 1000);
    return BigInt(Number.isFinite(us) ? us : 0); // a broken clock must not make logging throw
  };
  const micros = clock ? fromClock(clock) : microWallClock();
  const base = pino(
    {
      level: opts.verbose ? 'debug' : 'info',
      base: null,
      timestamp: () => `,"time":"${formatTimestamp(micros())}"`,
      formatters: { level: (label) => ({ level: LEVEL_NAMES[label] ?? label.toUpperCase() }) },
    },
    destination,
  );

  const make = (thread: string, prefix: string | undefined): Logger => {
    const emit = (method: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: LogFields): void => {
      if (closed || !base.isLevelEnabled(method)) return;
      const obj: Record<string, unknown> = { thread };
      if (prefix) obj.prefix = prefix;
      if (fields) {
        for (const [k, v] of Object.entries(redactFields(fields))) obj[RESERVED.has(k) ? `_${k}` : k] = v;
      }
      base[method](obj, redactSecrets(msg));
    };
    return {
      verbose: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (b) => make(b.thread ?? thread, b.prefix ?? prefix),
    };
  };

  const flush = (): void => {
    if (file) {
      const f = file;
      safely(() => f.flushSync());
      // Also past the page cache: flush() is what the exit path calls before the process ends.
      safely(() => fsyncSync((f as unknown as { fd: number }).fd));
    }
    if (stdout) safely(() => stdout.flushSync());
  };

  return {
    ...make(opts.thread, opts.prefix),
    reopen(): void {
      if (closed || opts.file === undefined) return;
      if (!file) {
        file = openFile(opts.file);
        return;
      }
      // Opens the path again (logrotate renamed the old file); on failure keeps writing to the old fd.
      const f = file;
      safely(() => f.reopen());
    },
    flush,
    async close(): Promise<void> {
      if (closed) return;
      flush();
      closed = true;
      const f = file;
      file = undefined;
      if (f) {
        await new Promise<void>((resolve) => {
          f.once('close', () => resolve());
          f.once('error', () => resolve());
          try {
            f.end();
          } catch {
            resolve();
          }
        });
      }
    },
  };
}

/** Reopen the log file on SIGHUP (logrotate `postrotate`). Returns a function that removes the handler. */
export function installSighupReopen(logger: { reopen(): void }): () => void {
  const onHup = (): void => logger.reopen();
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGHUP', onHup);
  };
}
