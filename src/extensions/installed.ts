// Which versions of a handler are on disk, and which one counts as "installed" (extension-handlers.md §9.1).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Paths } from '../state/paths.js';
import { readHandlerState } from './handler-state.js';
import { handlerEnvironmentFor, writeHandlerEnvironment } from './environment.js';
import type { WriteHealth } from '../state/write-health.js';
import { compareVersions, isValidVersion } from './version.js';

export interface HandlerDirEntry {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
}

/** Every `<lib>/<Name>-<Version>` directory with a parseable version (agent packages excluded). */
export async function listHandlerDirs(paths: Paths): Promise<HandlerDirEntry[]> {
  const out: HandlerDirEntry[] = [];
  let entries;
  try {
    entries = await readdir(paths.libDir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const i = e.name.lastIndexOf('-');
    if (i <= 0) continue;
    const name = e.name.slice(0, i);
    const version = e.name.slice(i + 1);
    if (!isValidVersion(version) || name.startsWith('WALinuxAgent') || name.startsWith('waagent-ts')) continue;
    out.push({ name, version, dir: join(paths.libDir, e.name) });
  }
  return out;
}

/** The highest version whose HandlerState exists and is neither NotInstalled nor FailedUpgrade. */
export async function installedVersion(paths: Paths, handlerName: string): Promise<HandlerDirEntry | null> {
  const candidates = (await listHandlerDirs(paths))
    .filter((d) => d.name.toLowerCase() === handlerName.toLowerCase())
    .sort((a, b) => compareVersions(b.version, a.version));
  for (const c of candidates) {
    const st = await readHandlerState(join(c.dir, 'config'));
    if (st.value !== 'NotInstalled' && st.value !== 'FailedUpgrade') return c;
  }
  return null;
}

/**
 * Re-writes HandlerEnvironment.json of every installed handler, as upstream does at each agent start: the
 * paths may have changed (Extension.LogDir), and a VM taken over from WALinuxAgent gets our exact bytes.
 */
export async function refreshHandlerEnvironments(paths: Paths, onError: (dir: string, err: unknown) => void, health?: WriteHealth): Promise<number> {
  let n = 0;
  for (const d of await listHandlerDirs(paths)) {
    const st = await readHandlerState(join(d.dir, 'config'));
    if (st.value === 'NotInstalled') continue;
    try {
      await writeHandlerEnvironment(d.dir, handlerEnvironmentFor(paths, d.name, d.version), health);
      n++;
    } catch (err) {
      onError(d.dir, err);
    }
  }
  return n;
}
