// Upstream WALinuxAgent 2.15 text log line (agent-lifecycle.md §10):
//   <timestamp> <LEVEL> <thread> [<prefix> ]<message>\n
// Pure: no I/O, no clock.

export type LogLevelName = 'VERBOSE' | 'INFO' | 'WARNING' | 'ERROR';

export interface LogRecord {
  /** Microseconds since the epoch. */
  timeMicros: bigint | number;
  level: LogLevelName;
  thread: string;
  prefix?: string;
  msg: string;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, always six fractional digits (Python's `%Y-%m-%dT%H:%M:%S.%fZ`). */
export function formatTimestamp(timeMicros: bigint | number): string {
  const micros = typeof timeMicros === 'bigint' ? timeMicros : BigInt(Math.floor(timeMicros));
  // Floor division so times before the epoch still get a fraction in [0, 1e6).
  let secs = micros / 1_000_000n;
  let frac = micros % 1_000_000n;
  if (frac < 0n) {
    frac += 1_000_000n;
    secs -= 1n;
  }
  const iso = new Date(Number(secs) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(6, '0')}Z`;
}

/**
 * Python's `str.encode('ascii', 'backslashreplace')`, which upstream applies to the whole line:
 * `\xNN` below U+0100, `\uNNNN` in the BMP, `\UNNNNNNNN` above. ASCII (newlines included) is kept.
 */
export function escapeNonAscii(text: string): string {
  // Fast path: most lines are pure ASCII.
  if (!/[^\x00-\x7f]/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out += ch;
    else if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out;
}

/** One line for an already formatted timestamp (used when the timestamp travels as text, e.g. through pino). */
export function formatLogLineAt(timestamp: string, rec: Omit<LogRecord, 'timeMicros'>): string {
  const prefix = rec.prefix ? `${rec.prefix} ` : '';
  return escapeNonAscii(`${timestamp} ${rec.level} ${rec.thread} ${prefix}${rec.msg}\n`);
}

export function formatLogLine(rec: LogRecord): string {
  return formatLogLineAt(formatTimestamp(rec.timeMicros), rec);
}

function renderValue(v: unknown): string {
  if (typeof v === 'string') return v !== '' && !/[\s,()="]/.test(v) ? v : JSON.stringify(v);
  if (v !== null && typeof v === 'object') {
    // A serialized Error: its message is what a reader wants on the line.
    const message = (v as { message?: unknown }).message;
    if (typeof message === 'string' && 'type' in v) return JSON.stringify(message);
    return JSON.stringify(v) ?? String(v);
  }
  return String(v);
}

/** Structured fields appended to a text line: ` (durationMs=12, op=enable)`, or '' when there are none. */
export function renderFields(fields: Record<string, unknown>): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${renderValue(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
