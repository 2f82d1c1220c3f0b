// Remembers state writes that failed (full disk, read-only lib dir) until a write in the same folder (or below)
// works, so the status blob can say why the agent cannot persist its state instead of only the log saying it.
// One tracker per agent, created where the agent is wired (ext-handler.ts) and passed to the writers (through
// WriteOptions.health) and to the loop and status reporter that read it; nothing here is process-wide.
import { dirname } from 'node:path';
import type { Clock } from '../deps.js';

/** A failure not seen again for this long is forgotten (a file written once, e.g. at start, is never retried). */
export const WRITE_PROBLEM_TTL_MS = 15 * 60_000;
const MAX_TRACKED = 64;

export interface WriteHealth {
  noteFailure(path: string, message: string): void;
  /**
   * A write that worked clears the failures of its folder and of the folders above it: a failed `1.settings` is
   * superseded by `2.settings`, and a handler folder that takes writes again has space for its HandlerEnvironment.json.
   */
  noteSuccess(path: string): void;
  /** The most recent unresolved write failure (one line, for the status), or null when every failed file was written since. */
  problem(): string | null;
}

interface Failure {
  readonly path: string;
  readonly message: string;
  readonly atMs: number;
}

export function createWriteHealth(deps: { readonly clock: Pick<Clock, 'now'> }, opts: { maxTracked?: number; ttlMs?: number } = {}): WriteHealth {
  const maxTracked = opts.maxTracked ?? MAX_TRACKED;
  const ttlMs = opts.ttlMs ?? WRITE_PROBLEM_TTL_MS;
  const failures = new Map<string, Failure>();
  return {
    noteFailure(path, message) {
      failures.delete(path);
      failures.set(path, { path, message, atMs: deps.clock.now() });
      // Oldest first in insertion order: drop the oldest beyond the bound.
      while (failures.size > maxTracked) failures.delete(failures.keys().next().value as string);
    },
    noteSuccess(path) {
      failures.delete(path);
      const dir = dirname(path);
      for (const p of [...failures.keys()]) {
        const d = dirname(p);
        if (dir === d || dir.startsWith(d.endsWith('/') ? d : `${d}/`)) failures.delete(p);
      }
    },
    problem() {
      const nowMs = deps.clock.now();
      let last: Failure | undefined;
      let count = 0;
      for (const f of [...failures.values()]) {
        if (nowMs - f.atMs > ttlMs) {
          failures.delete(f.path);
          continue;
        }
        count++;
        if (!last || f.atMs >= last.atMs) last = f;
      }
      if (!last) return null;
      const more = count > 1 ? ` (and ${count - 1} other file(s))` : '';
      return `${last.message}${more}`;
    },
  };
}
