// `<lib>/waagent-ts-<v>/error.json`: why a downloaded agent version must not run (upstream's GuestAgentError,
// agent-lifecycle.md §5). Written by the daemon (crash loop) and the extension handler (RSM downgrade); cleared
// only by a new update attempt. Small on purpose: the daemon imports it.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ERROR_FILE = 'error.json';
/** Non-fatal failures that blacklist a version, as upstream. */
export const MAX_FAILURES = 3;

export interface AgentFailure {
  /** Seconds since the epoch. */
  readonly last_failure: number;
  readonly failure_count: number;
  readonly was_fatal: boolean;
  readonly reason: string;
}

/** The recorded failure, or null. An unreadable file is deleted (state reset), as upstream does. */
export function readAgentFailure(agentDir: string): AgentFailure | null {
  const path = join(agentDir, ERROR_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v !== 'object' || v === null) throw new Error('not an object');
    return {
      last_failure: typeof v.last_failure === 'number' ? v.last_failure : 0,
      failure_count: typeof v.failure_count === 'number' ? v.failure_count : 0,
      was_fatal: v.was_fatal === true,
      reason: typeof v.reason === 'string' ? v.reason : '',
    };
  } catch {
    rmSync(path, { force: true });
    return null;
  }
}

export function isBlacklisted(f: AgentFailure | null): boolean {
  return f !== null && (f.was_fatal || f.failure_count >= MAX_FAILURES);
}

/** Records a failure; `fatal` blacklists the version at once. Written via rename so a reader never sees half a file. */
export function recordAgentFailure(agentDir: string, reason: string, fatal: boolean, nowMs: number): AgentFailure {
  const prev = readAgentFailure(agentDir);
  const next: AgentFailure = {
    last_failure: nowMs / 1000,
    failure_count: (prev?.failure_count ?? 0) + 1,
    was_fatal: fatal || (prev?.was_fatal ?? false),
    reason,
  };
  const path = join(agentDir, ERROR_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(next), { mode: 0o644 });
  renameSync(tmp, path);
  return next;
}

export function clearAgentFailure(agentDir: string): void {
  rmSync(join(agentDir, ERROR_FILE), { force: true });
}
