// The daemon's logger: upstream's text line (`<time> INFO Daemon Daemon <msg>`) appended with one write(2) per
// line, without pino (the parent stays small). reopen() after logrotate renamed the file (SIGHUP).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatLogLine, type LogLevelName } from '../log/format.js';

export interface DaemonLogger {
  verbose(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  reopen(): void;
  close(): void;
}

export interface DaemonLoggerOptions {
  readonly file?: string;
  /** Also write each line to stdout (the journal under systemd). */
  readonly console: boolean;
  readonly verbose: boolean;
  /** ms since the epoch (may carry a fraction). */
  readonly now?: () => number;
}

function open(file: string): number | undefined {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, 'a', 0o644);
  } catch (err) {
    process.stderr.write(`Cannot open log file ${file}: ${(err as Error).message}\n`);
    return undefined;
  }
}

export function createDaemonLogger(opts: DaemonLoggerOptions): DaemonLogger {
  const now = opts.now ?? (() => performance.timeOrigin + performance.now());
  let fd = opts.file === undefined ? undefined : open(opts.file);
  const write = (level: LogLevelName, msg: string): void => {
    if (level === 'VERBOSE' && !opts.verbose) return;
    const line = formatLogLine({ timeMicros: Math.floor(now() * 1000), level, thread: 'Daemon', prefix: 'Daemon', msg });
    // Logging never throws into the caller (a full disk must not stop supervision).
    try {
      if (fd !== undefined) writeSync(fd, line);
    } catch {
      /* ignored */
    }
    try {
      if (opts.console) writeSync(1, line);
    } catch {
      /* ignored */
    }
  };
  return {
    verbose: (m) => write('VERBOSE', m),
    info: (m) => write('INFO', m),
    warn: (m) => write('WARNING', m),
    error: (m) => write('ERROR', m),
    reopen(): void {
      if (opts.file === undefined) return;
      const next = open(opts.file);
      if (next === undefined) return; // keep writing to the old file
      if (fd !== undefined) closeSync(fd);
      fd = next;
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
