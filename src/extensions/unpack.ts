// Safe extraction of extension packages (zip). Two passes: every entry is checked (names, types, limits)
// before anything is written, then entries are written in order, later duplicates replacing earlier ones
// as unzip does. Nothing is ever written through a symlink, and links may only point inside destDir.
//
// On rejection this function does NOT delete what it already wrote: checks that fail in the first pass
// leave destDir untouched, failures while writing leave partial output, which the caller removes
// (extensions/package.ts clears the base directory and keeps config/).
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Entry, ZipFile } from 'yauzl';
import { AgentError, errorMessage } from '../errors.js';

export interface UnpackLimits {
  maxEntries?: number;
  maxTotalBytes?: number;
  /** Total uncompressed size / zip file size. */
  maxRatio?: number;
}

export interface UnpackResult {
  /** Regular files and symlinks written. */
  files: number;
  /** Uncompressed bytes written. */
  bytes: number;
}

const DEFAULT_LIMITS = { maxEntries: 10_000, maxTotalBytes: 1024 ** 3, maxRatio: 200 };
// Below this total the ratio is not checked: small, very compressible packages are not bombs.
const RATIO_MIN_BYTES = 1024 ** 2;
const MAX_LINK_TARGET = 4096;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

type Kind = 'file' | 'dir' | 'symlink';
interface Planned {
  entry: Entry;
  label: string;
  parts: string[];
  kind: Kind;
}

/** A refusal whose message already says why; becomes the AgentError message. */
class Rejection extends Error {}

function readAllEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolvePromise, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (e: Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolvePromise(entries));
    // Stays attached: a late error must not become an unhandled 'error' event.
    zip.on('error', reject);
    zip.readEntry();
  });
}

/** Checks one entry; throws Rejection with a reason that names it. */
type Yauzl = typeof import('yauzl');
let yauzlModule: Promise<Yauzl> | undefined;
/** Loaded on the first package: an agent whose handlers are all installed never pays for it at start-up. */
const loadYauzl = (): Promise<Yauzl> => (yauzlModule ??= import('yauzl').then((m) => (m as { default?: Yauzl }).default ?? m));

function plan(yauzl: Yauzl, entry: Entry): Planned {
  // Our own decoding (decodeStrings: false) so that backslashes are seen, not silently turned into '/'.
  const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
  const label = JSON.stringify(name);
  const bad = (why: string): Rejection => new Rejection(`entry ${label} ${why}`);
  if (name.includes('\0')) throw bad('contains a NUL character');
  if (name.includes('\\')) throw bad('contains a backslash');
  if (name.startsWith('/')) throw bad('is an absolute path');
  if (/^[A-Za-z]:/.test(name)) throw bad('starts with a drive letter');
  const raw = name.split('/');
  if (raw.includes('..')) throw bad("contains a '..' segment");
  const parts = raw.filter((p) => p !== '' && p !== '.');
  const isDir = name.endsWith('/');
  if (parts.length === 0 && !isDir) throw bad('has an empty path');
  if (entry.isEncrypted()) throw bad('is encrypted');
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw bad(`uses unsupported compression method ${entry.compressionMethod}`);
  }
  const isLink = !isDir && ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
  if (isLink && entry.uncompressedSize > MAX_LINK_TARGET) throw bad('is a symlink with an oversized target');
  return { entry, label, parts, kind: isDir ? 'dir' : isLink ? 'symlink' : 'file' };
}

async function lstatOrUndefined(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Creates missing directories along `parts` under root; every existing one must be a real directory. */
async function ensureRealDirs(root: string, parts: string[], label: string): Promise<string> {
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    let st = await lstatOrUndefined(cur);
    if (!st) {
      await mkdir(cur, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      st = await lstat(cur);
    }
    if (st.isSymbolicLink()) throw new Rejection(`entry ${label} would be written through the symlink ${JSON.stringify(relative(root, cur))}`);
    if (!st.isDirectory()) throw new Rejection(`entry ${label} needs ${JSON.stringify(relative(root, cur))} to be a directory`);
  }
  return cur;
}

/** Clears the way for a file or link at `path` (replacing a file or link, never a directory). */
async function makeRoom(path: string, label: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (!st) return;
  if (st.isDirectory()) throw new Rejection(`entry ${label} conflicts with a directory of the same name`);
  await unlink(path);
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** Follows `linkPath` (and any link it goes through) as the kernel would; false when a step leaves root. */
async function resolvesInside(root: string, linkPath: string): Promise<boolean> {
  let pending = relative(root, linkPath).split(sep);
  let cur = root;
  let hops = 0;
  while (pending.length > 0) {
    const c = pending.shift() ?? '';
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (cur === root) return false;
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, c);
    const st = await lstatOrUndefined(next);
    if (st?.isSymbolicLink()) {
      const target = await readlink(next);
      if (++hops > 40 || isAbsolute(target)) return false;
      pending = [...target.split('/'), ...pending];
      continue;
    }
    cur = next; // a directory, a file, or missing (then the rest is lexical)
  }
  return true;
}

async function readSmall(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function writeFileEntry(zip: ZipFile, p: Planned, path: string): Promise<void> {
  await makeRoom(path, p.label);
  // O_EXCL | O_NOFOLLOW: a fresh inode, never a link planted between the check and the open.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  // Zip modes are ignored; the caller adds u+x to every file like upstream.
  const fh = await open(path, flags, 0o644);
  await pipeline(await zip.openReadStreamPromise(p.entry), fh.createWriteStream());
}

async function writeLinkEntry(zip: ZipFile, root: string, p: Planned, path: string): Promise<void> {
  const target = (await readSmall(zip, p.entry)).toString('utf8');
  if (target === '' || target.includes('\0')) throw new Rejection(`entry ${p.label} is a symlink with an invalid target`);
  if (isAbsolute(target) || !inside(root, resolve(dirname(path), target))) {
    throw new Rejection(`entry ${p.label} is a symlink pointing outside the package (${JSON.stringify(target)})`);
  }
  await makeRoom(path, p.label);
  await symlink(target, path);
}

export async function unpackZip(zipPath: string, destDir: string, limits: UnpackLimits = {}): Promise<UnpackResult> {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const fail = (why: string, cause?: unknown): AgentError =>
    new AgentError('WAA_EXT_UNPACK', `Cannot unpack ${basename(zipPath)} as ${why}`, cause === undefined ? {} : { cause });

  const yauzl = await loadYauzl();
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
  } catch (e) {
    throw fail(`it is not a readable zip file: ${errorMessage(e)}`, e);
  }
  try {
    if (zip.entryCount > lim.maxEntries) throw new Rejection(`it has ${zip.entryCount} entries (limit ${lim.maxEntries})`);
    const planned = (await readAllEntries(zip)).map((e) => plan(yauzl, e));
    const total = planned.reduce((n, p) => n + (p.kind === 'dir' ? 0 : p.entry.uncompressedSize), 0);
    if (total > lim.maxTotalBytes) throw new Rejection(`it would unpack to ${total} bytes (limit ${lim.maxTotalBytes})`);
    if (total > RATIO_MIN_BYTES && total > lim.maxRatio * zip.fileSize) {
      throw new Rejection(`it expands ${Math.round(total / zip.fileSize)}:1 (limit ${lim.maxRatio}:1), a likely zip bomb`);
    }

    await mkdir(destDir, { recursive: true });
    const root = await realpath(destDir);
    const links = new Set<string>();
    let files = 0;
    let bytes = 0;
    for (const p of planned) {
      const isDir = p.kind === 'dir';
      const parent = await ensureRealDirs(root, isDir ? p.parts : p.parts.slice(0, -1), p.label);
      if (isDir) continue;
      const path = join(parent, p.parts[p.parts.length - 1] ?? '');
      try {
        if (p.kind === 'symlink') {
          await writeLinkEntry(zip, root, p, path);
          links.add(path);
        } else {
          await writeFileEntry(zip, p, path);
          bytes += p.entry.uncompressedSize;
        }
      } catch (e) {
        if (e instanceof Rejection) throw e;
        throw new Rejection(`entry ${p.label} could not be extracted: ${errorMessage(e)}`, { cause: e });
      }
      files++;
    }
    // Links are checked lexically when made; chains of links (a -> b/.. with b -> ..) only show now.
    for (const link of links) {
      const st = await lstatOrUndefined(link);
      if (st?.isSymbolicLink() && !(await resolvesInside(root, link))) {
        throw new Rejection(`the symlink ${JSON.stringify(relative(root, link))} resolves outside the package`);
      }
    }
    return { files, bytes };
  } catch (e) {
    if (e instanceof Rejection) throw fail(e.message, e.cause);
    throw fail(errorMessage(e), e);
  } finally {
    zip.close();
  }
}
