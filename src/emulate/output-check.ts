// Commands whose output was too large, read from the CommandExecution*.log files the agent writes in the handler's
// log folder. The agent keeps only the last 3200 characters of a command's stdout and stderr together (with its
// `[stdout]`/`[stderr]` headers), so a record holding about that much means the rest was cut.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMMAND_OUTPUT_MAX } from '../platform/command-output.js';

export interface LargeOutput {
  readonly version: string;
  readonly command: string;
  /** Characters of stdout + stderr the agent recorded (at most ~3180 once cut). */
  readonly chars: number;
}

/**
 * Recorded output at or above this is reported. The agent records at most COMMAND_OUTPUT_MAX - 20 characters of
 * the two streams and drops blank lines from the log, so a cut output shows a little under 3180.
 */
export const LARGE_OUTPUT_THRESHOLD = COMMAND_OUTPUT_MAX - 100;
const MAX_LOG_BYTES = 20 * 1024 * 1024;
const RECORD_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ \S+ \[(.+)\] Command: (.*)$/;

/** Pure: every command record of a CommandExecution log with its recorded output size. */
export function parseCommandLog(text: string, handlerName: string): LargeOutput[] {
  const out: LargeOutput[] = [];
  let cur: { version: string; command: string; lines: string[] } | null = null;
  const flush = (): void => {
    if (!cur) return;
    const body = cur.lines.filter((l) => l !== '[stdout]' && l !== '[stderr]');
    // Newlines count: they are characters of the output too.
    const chars = body.reduce((n, l) => n + l.length, 0) + Math.max(0, body.length - 1);
    out.push({ version: cur.version, command: cur.command, chars });
  };
  for (const line of text.split('\n')) {
    const m = RECORD_RE.exec(line);
    if (m && m[1]!.startsWith(`${handlerName}-`)) {
      flush();
      cur = { version: m[1]!.slice(handlerName.length + 1), command: m[2]!, lines: [] };
    } else if (cur && line !== '') {
      cur.lines.push(line);
    }
  }
  flush();
  return out;
}

/** Records of the handler's command logs whose output reached the agent's limit. */
export async function findLargeOutputs(handlerLogDir: string, handlerName: string): Promise<LargeOutput[]> {
  const files = (await readdir(handlerLogDir).catch(() => [] as string[])).filter((f) => /^CommandExecution(_.+)?\.log$/.test(f));
  const out: LargeOutput[] = [];
  for (const f of files.sort()) {
    const text = await readFile(join(handlerLogDir, f), 'utf8').catch(() => '');
    if (text.length > MAX_LOG_BYTES) continue;
    out.push(...parseCommandLog(text, handlerName).filter((r) => r.chars >= LARGE_OUTPUT_THRESHOLD));
  }
  return out;
}
