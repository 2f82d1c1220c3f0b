// Fetches a handler's manifest, picks the version, and lays out its package on disk.
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../deps.js';
import { ExtCode, ExtensionError, errorMessage } from '../errors.js';
import type { HandlerSpec, ManifestPackage } from '../protocol/goal-state.js';
import { parseManifest } from '../protocol/schemas/manifest.js';
import { handlerZipPath, type Paths } from '../state/paths.js';
import type { ArtifactDownloader } from './download.js';
import { findHandlerManifest, parseHandlerManifest, type HandlerManifest } from './manifest.js';
import { selectVersion } from './version.js';

export interface ResolvedPackage {
  readonly version: string;
  readonly pkg: ManifestPackage | null;
  readonly manifestUrl: string;
  readonly all: readonly ManifestPackage[];
}

/**
 * Content that arrived but is not what was asked for (a garbled or cut manifest, an HTML page from a proxy, a zip
 * without a handler manifest) is treated as a failed download and fetched again, this many times in all: one bad
 * answer must not fail the handler until the next goal state. Upstream parses once and fails the handler.
 */
export const CONTENT_ATTEMPTS = 3;

/** Downloads the handler's version manifest (every time it is processed, as upstream does). */
export async function fetchHandlerManifest(dl: ArtifactDownloader, spec: HandlerSpec, fastTrack: boolean, signal?: AbortSignal, logger?: Logger): Promise<{ packages: readonly ManifestPackage[]; url: string }> {
  const fail = (err: unknown): ExtensionError =>
    new ExtensionError(`Failed to get ext handler pkgs: ${errorMessage(err)}`, ExtCode.PluginUnknownFailure, { code: 'WAA_EXT_DOWNLOAD', cause: err });
  for (let attempt = 1; ; attempt++) {
    let fetched: { text: string; uri: string };
    try {
      // Failures to download were already retried over every URI and both channels.
      fetched = await dl.fetchText(spec.manifestUris, `${spec.name} manifest`, { fastTrack, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw fail(err);
    }
    try {
      return { packages: parseManifest(fetched.text, `manifest of ${spec.name}`).packages, url: fetched.uri };
    } catch (err) {
      if (attempt >= CONTENT_ATTEMPTS) throw fail(err);
      logger?.warn(`Downloading the manifest of ${spec.name} again (attempt ${attempt + 1} of ${CONTENT_ATTEMPTS}): ${errorMessage(err)}`);
    }
  }
}

export function pickVersion(spec: HandlerSpec, packages: readonly ManifestPackage[]): ManifestPackage {
  const pkg = selectVersion(spec.version, packages);
  if (!pkg) throw new ExtensionError(`Unable to find version ${spec.version} in manifest for extension ${spec.name}`, ExtCode.PluginUnknownFailure, { code: 'WAA_EXT_DOWNLOAD' });
  return pkg;
}

/**
 * Downloads the zip to `<lib>/<name>__<version>.zip`, unpacks it safely into baseDir and deletes the zip.
 * A package that does not unpack, or has no HandlerManifest.json, is removed from baseDir and the next URI tried;
 * all URIs are tried CONTENT_ATTEMPTS times before the download fails.
 */
export async function downloadPackage(
  deps: { downloader: ArtifactDownloader; paths: Paths; logger: Logger },
  name: string,
  pkg: ManifestPackage,
  baseDir: string,
  opts: { manifestUrl: string; fastTrack: boolean; signal?: AbortSignal },
): Promise<void> {
  const zip = handlerZipPath(deps.paths, name, pkg.version);
  let lastError = '';
  try {
    for (let round = 1; round <= CONTENT_ATTEMPTS; round++) {
      let rejected = false;
      for (const uri of pkg.uris) {
        opts.signal?.throwIfAborted();
        try {
          await deps.downloader.fetchToFile([uri], zip, `${name}-${pkg.version} package`, { manifestUrl: opts.manifestUrl, fastTrack: opts.fastTrack, logger: deps.logger, ...(opts.signal ? { signal: opts.signal } : {}) });
        } catch (err) {
          lastError = errorMessage(err);
          continue;
        }
        try {
          await mkdir(baseDir, { recursive: true, mode: 0o755 });
          // yauzl is loaded on first use: a (re)starting agent reports status before it unpacks anything.
          const { unpackZip } = await import('./unpack.js');
          const r = await unpackZip(zip, baseDir);
          if ((await findHandlerManifest(baseDir)) === null) throw new Error('the package has no HandlerManifest.json');
          deps.logger.info(`Unpacked ${name}-${pkg.version}: ${r.files} files, ${r.bytes} bytes`);
          return;
        } catch (err) {
          lastError = errorMessage(err);
          deps.logger.error(`Rejected package ${name}-${pkg.version}: ${lastError}`);
          await clearPackageFiles(baseDir);
          rejected = true;
        }
      }
      // Downloads that failed outright were retried inside the downloader already; only bad content is fetched again.
      if (!rejected) break;
    }
  } finally {
    await rm(zip, { force: true });
  }
  if (pkg.uris.length === 0) throw new ExtensionError(`No package uri found for ${name}-${pkg.version}`, ExtCode.PluginManifestDownloadError, { code: 'WAA_EXT_DOWNLOAD' });
  throw new ExtensionError(`Failed to download artifacts: ${lastError}`, ExtCode.PluginManifestDownloadError, { code: 'WAA_EXT_DOWNLOAD' });
}

/** Removes unpacked package content but keeps config/ (HandlerState, HandlerStatus) so the failure is reported. */
async function clearPackageFiles(baseDir: string): Promise<void> {
  for (const e of await readdir(baseDir).catch(() => [] as string[])) {
    if (e !== 'config') await rm(join(baseDir, e), { recursive: true, force: true });
  }
}

/** Adds u+x to every regular file (zip permissions are not preserved), never following links. */
export async function addOwnerExecute(dir: string): Promise<void> {
  for (const e of await readdir(dir)) {
    const p = join(dir, e);
    const st = await lstat(p);
    if (st.isDirectory()) await addOwnerExecute(p);
    else if (st.isFile()) await chmod(p, st.mode | 0o100);
  }
}

/** Finds HandlerManifest.json anywhere in the package, copies it to the root, parses it. */
export async function initializeManifest(baseDir: string): Promise<HandlerManifest> {
  const found = await findHandlerManifest(baseDir);
  if (!found) throw new ExtensionError('HandlerManifest.json not found', ExtCode.PluginHandlerManifestNotFound, { code: 'WAA_EXT_MANIFEST' });
  const root = join(baseDir, 'HandlerManifest.json');
  if (found !== root) await copyFile(found, root);
  return loadHandlerManifest(baseDir);
}

export async function loadHandlerManifest(baseDir: string): Promise<HandlerManifest> {
  const file = join(baseDir, 'HandlerManifest.json');
  let text: string;
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a regular file');
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ExtensionError(`Failed to load manifest file (${file}): ${errorMessage(err)}`, ExtCode.PluginHandlerManifestNotFound, { code: 'WAA_EXT_MANIFEST' });
  }
  return parseHandlerManifest(text, file);
}
