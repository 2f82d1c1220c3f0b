// Remembers state writes that failed (full disk, read-only lib dir) until a write in the same folder (or below)
// works, so the status blob can say why the agent cannot persist its state instead of only the log saying it.
// Process-wide on purpose: every writer goes through writeFileAtomic, and there is one agent per process.
import { dirname } from 'node:path';

interface Failure {
  readonly path: string;
  readonly message: string;
  readonly atMs: number;
}

const MAX_TRACKED = 64;
/** A failure not seen again for this long is forgotten (a file written once, e.g. at start, is never retried). */
export const WRITE_PROBLEM_TTL_MS = 15 * 60_000;
const failures = new Map<string, Failure>();

export function noteWriteFailure(path: string, message: string, atMs = Date.now()): void {
  failures.delete(path);
  failures.set(path, { path, message, atMs });
  // Oldest first in insertion order: drop the oldest beyond the bound.
  while (failures.size > MAX_TRACKED) failures.delete(failures.keys().next().value as string);
}

/**
 * A write that worked clears the failures of its folder and of the folders above it: a failed `1.settings` is
 * superseded by `2.settings`, and a handler folder that takes writes again has space for its HandlerEnvironment.json.
 */
export function noteWriteSuccess(path: string): void {
  failures.delete(path);
  const dir = dirname(path);
  for (const p of [...failures.keys()]) {
    const d = dirname(p);
    if (dir === d || dir.startsWith(d.endsWith('/') ? d : `${d}/`)) failures.delete(p);
  }
}

/** The most recent unresolved write failure (one line, for the status), or null when every failed file was written since. */
export function writeProblem(nowMs = Date.now()): string | null {
  let last: Failure | undefined;
  let count = 0;
  for (const f of [...failures.values()]) {
    if (nowMs - f.atMs > WRITE_PROBLEM_TTL_MS) {
      failures.delete(f.path);
      continue;
    }
    count++;
    if (!last || f.atMs >= last.atMs) last = f;
  }
  if (!last) return null;
  const more = count > 1 ? ` (and ${count - 1} other file(s))` : '';
  return `${last.message}${more}`;
}

/** For tests. */
export function resetWriteHealth(): void {
  failures.clear();
}
