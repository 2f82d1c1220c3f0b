// Files a handler wrote outside its folders: the scratch root is listed before the run and after it, and every
// new or changed entry that is neither the handler's nor the agent's own is reported.
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface Entry {
  readonly kind: 'file' | 'dir' | 'other';
  readonly size: number;
  readonly mtimeMs: number;
}

export type Snapshot = ReadonlyMap<string, Entry>;

export interface FileChange {
  /** Relative to the scratch root. */
  readonly path: string;
  readonly change: 'created' | 'modified';
}

const MAX_ENTRIES = 50_000;
const MAX_DEPTH = 24;

/** Every entry under `root` (relative paths, symlinks not followed), bounded. */
export async function snapshot(root: string): Promise<Snapshot> {
  const out = new Map<string, Entry>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || out.size >= MAX_ENTRIES) return;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (out.size >= MAX_ENTRIES) return;
      const p = join(dir, name);
      const st = await lstat(p).catch(() => null);
      if (!st) continue;
      const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      out.set(relative(root, p), { kind, size: st.size, mtimeMs: st.mtimeMs });
      if (kind === 'dir') await walk(p, depth + 1);
    }
  };
  await walk(root, 0);
  return out;
}

/** Top-level files of the lib folder the agent itself writes (upstream's layout). */
const AGENT_LIB_FILES = new Set([
  'Certificates.pem', 'Certificates.xml', 'Protocol', 'WireServerEndpoint', 'TransportCert.pem', 'TransportPrivate.pem',
  'waagent_status.json', 'fast_track.json', 'history', 'events', 'ovf-env.xml', 'Incarnation',
]);
const AGENT_LIB_PATTERNS = [
  /^[0-9A-F]{40}\.(crt|prv)$/, /^\d+\.prv$/, /^\..+\.tmp$/, /\.xml$/, /^waagent-ts-/, /^WALinuxAgent-/,
];

/**
 * Whether a path (relative to the scratch root) may be written during the run: the handler's folders (any version),
 * its package zip and log folder, the scratch TMPDIR, and what the agent writes (its lib files, log, pid file).
 */
export function allowedPath(rel: string, handlerName: string): boolean {
  const parts = rel.split(sep);
  const [a, b, c, d] = parts;
  if (a === 'tmp' || rel === 'waagent.pid' || /^waagent\.log(\.\d+)?$/.test(rel)) return true;
  if (a === 'var' && b === 'log' && c === 'azure') return d === undefined || d === handlerName;
  if (a === 'var' && b === 'lib' && c === 'waagent') {
    const top = parts[3];
    if (top === undefined) return true;
    if (top.startsWith(`${handlerName}-`) || (top.startsWith(`${handlerName}__`) && top.endsWith('.zip'))) return true;
    return AGENT_LIB_FILES.has(top) || AGENT_LIB_PATTERNS.some((re) => re.test(top));
  }
  // The folders the scratch root was created with (their contents are judged above).
  return rel === 'var' || rel === join('var', 'lib') || rel === join('var', 'log') || rel === 'home';
}

/** New or changed entries the predicate does not allow; a new folder is reported once, not with its contents. */
export function changesOutside(before: Snapshot, after: Snapshot, allowed: (rel: string) => boolean): FileChange[] {
  const out: FileChange[] = [];
  const reportedDirs: string[] = [];
  for (const [path, e] of [...after.entries()].sort(([x], [y]) => x.localeCompare(y))) {
    if (allowed(path) || reportedDirs.some((d) => path.startsWith(d + sep))) continue;
    const old = before.get(path);
    if (!old) {
      out.push({ path: e.kind === 'dir' ? path + sep : path, change: 'created' });
      if (e.kind === 'dir') reportedDirs.push(path);
    } else if (e.kind !== 'dir' && (old.size !== e.size || old.mtimeMs !== e.mtimeMs)) {
      out.push({ path, change: 'modified' });
    }
  }
  return out;
}
