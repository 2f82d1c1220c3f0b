import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';
import { AgentError, errorMessage } from '../errors.js';
import type { WriteHealth } from './write-health.js';
import { isAlive } from '../platform/process-alive.js';

export interface WriteOptions {
  /** Mode of the file; when absent an existing file keeps its mode, a new one gets 0o644 (less umask). */
  mode?: number;
  /**
   * false: temp file + rename without the two fsyncs. Still atomic for readers and across a crash of the agent; only
   * a power loss may lose the newest version. For files rewritten anyway (statuses, HandlerEnvironment.json, copies
   * of fabric documents), which upstream writes without fsync either: an fsync costs 3-6 ms of wall time each, and an
   * extension's commands write several. Default true: whatever decides which command runs next (HandlerState,
   * extension state, settings) stays durable, so a power loss never makes the agent re-run or skip a command.
   */
  durable?: boolean;
  /** Told of the outcome, so a failed state write shows in the status until its folder takes writes again. */
  health?: WriteHealth;
  /** Owner given to the file before it replaces the old one (e.g. /etc/shadow's root:shadow). */
  owner?: { uid: number; gid: number };
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (e) {
    // Some filesystems cannot fsync a directory; the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw e;
  } finally {
    await fh.close();
  }
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

/** `.<name>.<pid>.<12 hex>.tmp`: the temp files writeFileAtomic creates. */
const TEMP_RE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
/** Folders already swept by this process (bounded: cleared when it grows past the limit). */
const swept = new Set<string>();


/**
 * A process killed between open and rename leaves its temp file behind. The first write into a folder removes the
 * temp files of processes that are gone, so kills never accumulate more than one per file between restarts.
 */
async function sweepStaleTemps(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return; // the write itself reports the problem
  }
  if (swept.size >= 10_000) swept.clear();
  swept.add(dir);
  for (const name of names) {
    const pid = TEMP_RE.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
  }
}

/** Temp file in the same directory, write, fsync, chmod, rename over `path`, fsync the directory (no fsync when not durable). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await sweepStaleTemps(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = opts.mode ?? (await existingMode(path));
  let created = false;
  try {
    // With an explicit mode, 0o600 until it is set, so a secret never sits in a readable temp file.
    const fh = await open(tmp, 'wx', mode === undefined ? 0o644 : 0o600);
    created = true;
    try {
      await fh.writeFile(data);
      // chmod, not the open mode: the umask must not change an explicit mode.
      if (opts.owner) await fh.chown(opts.owner.uid, opts.owner.gid);
      if (mode !== undefined) await fh.chmod(mode);
      if (opts.durable !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
    if (opts.durable !== false) await syncDir(dir);
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    const err = new AgentError('WAA_STATE', `Cannot write ${path} as ${errorMessage(e)}`, { cause: e });
    opts.health?.noteFailure(path, err.message);
    throw err;
  }
  opts.health?.noteSuccess(path);
}

export async function writeJsonAtomic(
  path: string,
  value: unknown,
  opts: WriteOptions & { space?: number } = {},
): Promise<void> {
  const { space, ...write } = opts;
  await writeFileAtomic(path, JSON.stringify(value, null, space), write);
}

/**
 * Reads and validates a JSON file. Missing file => undefined. Malformed JSON or a schema mismatch =>
 * AgentError naming the source and file, and for schema errors the fields (never their values).
 */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>, source: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AgentError('WAA_STATE', `Cannot read ${source} (${path}) as ${errorMessage(e)}`, { cause: e });
  }
  let raw: unknown;
  try {
    // Handlers sometimes write a UTF-8 BOM.
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new AgentError('WAA_STATE', `Cannot parse ${source} (${path}) as it is not valid JSON: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new AgentError('WAA_STATE', `Cannot use ${source} (${path}) as it is invalid: ${fields}`);
  }
  return parsed.data;
}

/** mkdir -p, then chmod the leaf (mkdir's mode is filtered by the umask and ignored for existing dirs). */
export async function ensureDir(path: string, mode: number): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode });
    await chmod(path, mode);
  } catch (e) {
    throw new AgentError('WAA_STATE', `Cannot create directory ${path} as ${errorMessage(e)}`, { cause: e });
  }
}
