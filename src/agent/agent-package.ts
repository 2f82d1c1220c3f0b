// Verifies a downloaded agent package and unpacks it atomically to `<lib>/waagent-ts-<v>/`. Checks, in order:
// the digest the manifest gave (if any), the format (gzip'd tar: an upstream zip is refused), every entry (regular
// files and directories only, relative paths without '..', bounded count and size), our own manifest at the root
// (name waagent-ts, the requested version, an existing entry). Only then is the folder renamed into place.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AgentError } from '../errors.js';
import { MANIFEST_FILE, agentDirName, parsePackageManifest, type PackageManifest } from '../daemon/package-manifest.js';

export interface InstallAgentOptions {
  readonly archive: string;
  readonly libDir: string;
  readonly version: string;
  /** Hex sha256 from the agent manifest; verified when present. */
  readonly sha256?: string | null;
  readonly maxEntries?: number;
  readonly maxBytes?: number;
}

const DEFAULT_MAX_ENTRIES = 20_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function refuse(version: string, why: string, cause?: unknown): AgentError {
  return new AgentError('WAA_EXT_UNPACK', `Cannot install agent package ${agentDirName(version)} as ${why}`, cause === undefined ? {} : { cause });
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function magic(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** `./a/b` and `a/b/` -> `a/b`; null when the path is absolute or climbs out. */
function normalizeEntry(path: string): string | null {
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0')) return null;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return null;
  return parts.join('/');
}

/** Loaded only when an agent package is installed (rare), not at every start of the extension handler. */
const loadTar = () => import('tar');

/** First pass: every entry is checked before anything is written. Returns the root-level names. */
async function checkEntries(opts: InstallAgentOptions): Promise<Set<string>> {
  const { version } = opts;
  const names = new Set<string>();
  let count = 0;
  let bytes = 0;
  let problem: string | null = null;
  try {
    const tar = await loadTar();
    await tar.t({
      file: opts.archive,
      strict: true,
      onReadEntry: (e) => {
        count++;
        bytes += e.size ?? 0;
        const rel = normalizeEntry(e.path);
        if (problem !== null) return;
        if (rel === null) problem = `entry ${JSON.stringify(e.path)} is not a relative path inside the package`;
        else if (!FILE_TYPES.has(e.type) && e.type !== 'Directory') problem = `entry ${JSON.stringify(e.path)} is a ${e.type}, not a file or directory`;
        else if (count > (opts.maxEntries ?? DEFAULT_MAX_ENTRIES)) problem = `it has more than ${opts.maxEntries ?? DEFAULT_MAX_ENTRIES} entries`;
        else if (bytes > (opts.maxBytes ?? DEFAULT_MAX_BYTES)) problem = `it unpacks to more than ${opts.maxBytes ?? DEFAULT_MAX_BYTES} bytes`;
        else if (rel !== '' && !rel.includes('/')) names.add(rel);
      },
    });
  } catch (err) {
    throw refuse(version, `it is not a valid tar.gz archive: ${(err as Error).message}`, err);
  }
  if (problem !== null) throw refuse(version, problem);
  if (count === 0) throw refuse(version, 'it is empty');
  return names;
}

/** Verifies the package and unpacks it into `<lib>/waagent-ts-<version>/`; returns that folder and its manifest. */
export async function installAgentPackage(opts: InstallAgentOptions): Promise<{ dir: string; manifest: PackageManifest }> {
  const { version, archive } = opts;
  if (opts.sha256) {
    const actual = await sha256File(archive);
    if (actual.toLowerCase() !== opts.sha256.toLowerCase()) throw refuse(version, `its sha256 ${actual} does not match the manifest's ${opts.sha256}`);
  }
  const head = await magic(archive);
  if (head[0] === 0x50 && head[1] === 0x4b) throw refuse(version, 'it is a zip (an upstream WALinuxAgent package?), not a waagent-ts package');
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw refuse(version, 'it is not a gzip-compressed tar archive');
  const names = await checkEntries(opts);
  if (!names.has(MANIFEST_FILE)) {
    const why = names.has('HandlerManifest.json') ? 'it is an upstream agent package (HandlerManifest.json)' : `it has no ${MANIFEST_FILE}`;
    throw refuse(version, `${why}, not a waagent-ts package`);
  }
  const dir = join(opts.libDir, agentDirName(version));
  const tmp = join(opts.libDir, `.${agentDirName(version)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(tmp, { recursive: true, mode: 0o755 });
  try {
    try {
      const tar = await loadTar();
      await tar.x({
        file: archive, cwd: tmp, strict: true, preserveOwner: false,
        // Defence in depth: the first pass already refused anything else.
        filter: (_p, e) => 'type' in e && (FILE_TYPES.has(e.type) || e.type === 'Directory'),
      });
    } catch (err) {
      throw refuse(version, `it cannot be unpacked: ${(err as Error).message}`, err);
    }
    let manifest: PackageManifest;
    try {
      manifest = parsePackageManifest(await readFile(join(tmp, MANIFEST_FILE), 'utf8'), `${MANIFEST_FILE} of ${agentDirName(version)}`);
    } catch (err) {
      throw refuse(version, (err as Error).message, err);
    }
    if (manifest.version !== version) throw refuse(version, `its manifest says version ${manifest.version}`);
    const entry = await stat(join(tmp, manifest.entry)).catch(() => null);
    if (!entry?.isFile()) throw refuse(version, `its entry ${manifest.entry} is missing`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { dir, manifest };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
