// Which agent the daemon runs (agent-lifecycle.md §3): the highest downloaded `<lib>/waagent-ts-<v>/` that is
// complete (its manifest matches the directory and names an existing entry), not blacklisted, and newer than
// the installed agent; otherwise the installed one. Synchronous and small: the daemon calls it per launch.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions } from '../extensions/version.js';
import { isBlacklisted, readAgentFailure, type AgentFailure } from './agent-error.js';
import { MANIFEST_FILE, parsePackageManifest, versionOfAgentDir } from './package-manifest.js';

export interface DownloadedAgent {
  readonly version: string;
  readonly dir: string;
  /** Absolute path of the entry script; null when the directory is not a usable agent. */
  readonly entry: string | null;
  readonly failure: AgentFailure | null;
  /** Why the directory is not usable (incomplete or foreign package). */
  readonly problem: string | null;
}

export interface AgentChoice {
  readonly version: string;
  readonly kind: 'installed' | 'downloaded';
  /** Script run by node with `-run-exthandlers`. */
  readonly entry: string;
  /** Working directory of the child: the agent's directory (the child's version rule), else the lib dir. */
  readonly cwd: string;
  /** The agent's directory (downloaded only). */
  readonly dir: string | null;
}

export interface InstalledAgent {
  readonly version: string;
  readonly entry: string;
}

function inspect(libDir: string, name: string, version: string): DownloadedAgent {
  const dir = join(libDir, name);
  const failure = readAgentFailure(dir);
  const base = { version, dir, failure };
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    return { ...base, entry: null, problem: `${MANIFEST_FILE} is missing` };
  }
  try {
    const m = parsePackageManifest(text, join(dir, MANIFEST_FILE));
    if (m.version !== version) return { ...base, entry: null, problem: `manifest version ${m.version} does not match the directory` };
    const entry = join(dir, m.entry);
    if (!existsSync(entry)) return { ...base, entry: null, problem: `entry ${m.entry} is missing` };
    return { ...base, entry, problem: null };
  } catch (err) {
    return { ...base, entry: null, problem: (err as Error).message };
  }
}

/** Every `waagent-ts-<v>` directory in the lib dir, highest version first. */
export function listDownloadedAgents(libDir: string): DownloadedAgent[] {
  let names: string[];
  try {
    names = readdirSync(libDir);
  } catch {
    return [];
  }
  const out: DownloadedAgent[] = [];
  for (const name of names) {
    const version = versionOfAgentDir(name);
    if (version !== null) out.push(inspect(libDir, name, version));
  }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}

export function isRunnable(a: DownloadedAgent): boolean {
  return a.entry !== null && !isBlacklisted(a.failure);
}

export function chooseAgent(opts: { libDir: string; installed: InstalledAgent; runDownloaded: boolean }): AgentChoice {
  const { libDir, installed } = opts;
  if (opts.runDownloaded) {
    for (const a of listDownloadedAgents(libDir)) {
      if (compareVersions(a.version, installed.version) <= 0) break;
      if (isRunnable(a)) return { version: a.version, kind: 'downloaded', entry: a.entry!, cwd: a.dir, dir: a.dir };
    }
  }
  return { version: installed.version, kind: 'installed', entry: installed.entry, cwd: libDir, dir: null };
}
