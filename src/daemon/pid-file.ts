// The daemon's PID file (Pid.File): a live process named there means another daemon runs (upstream exits 0).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isAlive } from '../platform/process-alive.js';


/** The PID of another live daemon, or null after writing ours (no newline, as upstream). */
export function claimPidFile(path: string, pid = process.pid): number | null {
  try {
    const other = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(other) && other > 0 && other !== pid && isAlive(other)) return other;
  } catch {
    // No file or unreadable: ours to write.
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, String(pid), { mode: 0o644 });
  return null;
}

/** Removes the file if it still names us. */
export function releasePidFile(path: string, pid = process.pid): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(pid)) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}
