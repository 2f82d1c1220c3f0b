// Downloads manifests and packages: URIs shuffled, each tried on the default channel then the other
// (direct blob GET vs HostGAPlugin /extensionArtifact), within a 5-minute budget per artifact.
import { rm } from 'node:fs/promises';
import type { Clock, Logger, Random } from '../deps.js';
import { ExtCode, ExtensionError, GoneError, errorMessage } from '../errors.js';
import { bodyText, expectOk, requestWithRetry, DEFAULT_RETRY, type HttpClient, type RetryPolicy } from '../protocol/http.js';
import { toFileClient, type HostPluginClient } from '../protocol/host-plugin.js';
import { redactSecrets } from '../log/redact.js';
import { describeSource, type Progress } from '../log/progress.js';

export interface DownloaderDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly hostPlugin: HostPluginClient;
  /** Refreshes the HostGAPlugin identity from a fresh goal state (after a 410). */
  readonly refreshIdentity: () => Promise<void>;
  readonly retry?: RetryPolicy;
  readonly budgetMs?: number;
  /** Cap on one package download (default MAX_PACKAGE_BYTES); a larger body is refused and the file removed. */
  readonly maxPackageBytes?: number;
  /** Progress lines for package downloads (none without). */
  readonly progress?: Progress;
}

type FileOptions = {
  manifestUrl?: string; fastTrack?: boolean; signal?: AbortSignal;
  /** Logs the progress lines (a handler's logger, so they carry its `[Name-version]` prefix). */
  logger?: Logger;
};

export const DOWNLOAD_BUDGET_MS = 5 * 60_000;
/** No extension package may exceed this; a package far larger than expected is refused. */
export const MAX_PACKAGE_BYTES = 1024 * 1024 * 1024;

type Channel = 'direct' | 'hostplugin';

export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export class ArtifactDownloader {
  /** Flipped process-wide when the fallback channel succeeds (upstream behaviour). */
  private defaultChannel: Channel = 'direct';

  constructor(private readonly deps: DownloaderDeps) {}

  /** Downloads a small document (manifest, artifacts profile) as text. */
  async fetchText(uris: readonly string[], what: string, opts: { fastTrack?: boolean; signal?: AbortSignal } = {}): Promise<{ text: string; uri: string }> {
    const { value, uri } = await this.tryAll(uris, what, opts.signal, (u, ch) => this.fetchBuffer(u, ch, opts));
    return { text: value, uri };
  }

  /** Streams a package to `path`; removes a partial file on failure. */
  async fetchToFile(uris: readonly string[], path: string, what: string, opts: FileOptions = {}): Promise<string> {
    const { uri } = await this.tryAll(uris, what, opts.signal, async (u, ch) => {
      try {
        await this.fetchFile(u, ch, path, what, opts);
        return '';
      } catch (err) {
        await rm(path, { force: true });
        throw err;
      }
    });
    return uri;
  }

  private async tryAll<T>(uris: readonly string[], what: string, signal: AbortSignal | undefined, get: (uri: string, ch: Channel) => Promise<T>): Promise<{ value: T; uri: string }> {
    if (uris.length === 0) throw new ExtensionError(`No package uri found for ${what}`, ExtCode.PluginManifestDownloadError, { code: 'WAA_EXT_DOWNLOAD' });
    const start = this.deps.clock.now();
    const budget = this.deps.budgetMs ?? DOWNLOAD_BUDGET_MS;
    let lastError = '';
    for (const uri of shuffle(uris, this.deps.random)) {
      if (this.deps.clock.now() - start > budget) {
        throw new ExtensionError(`Timeout downloading ${what}. Last error: ${lastError}`, ExtCode.PluginManifestDownloadError, { code: 'WAA_EXT_DOWNLOAD' });
      }
      const first = this.defaultChannel;
      const second: Channel = first === 'direct' ? 'hostplugin' : 'direct';
      for (const ch of [first, second]) {
        signal?.throwIfAborted();
        try {
          const value = await get(uri, ch);
          if (ch !== first) {
            this.deps.logger.info(`Default channel changed to ${ch} channel`);
            this.defaultChannel = ch;
          }
          return { value, uri };
        } catch (err) {
          lastError = `${ch}: ${errorMessage(err)}`;
          this.deps.logger.verbose(`Cannot download ${what} from ${redactSecrets(uri)} via ${ch} as ${errorMessage(err)}`);
        }
      }
    }
    throw new ExtensionError(`Failed to download ${what} from all URIs. Last error: ${redactSecrets(lastError)}`, ExtCode.PluginManifestDownloadError, { code: 'WAA_EXT_DOWNLOAD' });
  }

  private async viaHostPlugin<T>(fn: () => Promise<T>): Promise<T> {
    if (!(await this.deps.hostPlugin.ensureAvailable())) throw new Error('HostGAPlugin: Host plugin channel is not available');
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof GoneError)) throw err;
      // Stale container id: refresh from a new goal state and retry once.
      await this.deps.refreshIdentity();
      return fn();
    }
  }

  private async fetchBuffer(uri: string, ch: Channel, opts: { fastTrack?: boolean; signal?: AbortSignal }): Promise<string> {
    if (ch === 'hostplugin') {
      const buf = await this.viaHostPlugin(() => this.deps.hostPlugin.getArtifact(uri, { ...opts }));
      return bodyText({ status: 200, headers: {}, body: buf });
    }
    const res = await requestWithRetry(this.deps.http, this.deps.clock, { method: 'GET', url: uri, ...(opts.signal ? { signal: opts.signal } : {}) }, this.deps.retry ?? DEFAULT_RETRY);
    return bodyText(expectOk(res, 'Download', uri));
  }

  private async fetchFile(uri: string, ch: Channel, path: string, what: string, opts: FileOptions): Promise<void> {
    // Host and path only: the URI's query is a SAS token.
    const source = `${describeSource(uri)}${ch === 'hostplugin' ? ' via HostGAPlugin' : ''}`;
    const progress = this.deps.progress?.download(opts.logger ?? this.deps.logger, what, source);
    const toFile = { path, maxBytes: this.deps.maxPackageBytes ?? MAX_PACKAGE_BYTES, ...(progress ? { onProgress: progress.bytes.bind(progress) } : {}) };
    let ok = false;
    try {
      if (ch === 'hostplugin') {
        await this.viaHostPlugin(() => this.deps.hostPlugin.getArtifact(uri, { ...opts, toFile }));
      } else {
        const res = await requestWithRetry(toFileClient(this.deps.http, toFile), this.deps.clock, {
          method: 'GET', url: uri, timeoutMs: 10 * 60_000, ...(opts.signal ? { signal: opts.signal } : {}),
        }, this.deps.retry ?? DEFAULT_RETRY);
        expectOk(res, 'Download', uri);
      }
      ok = true;
    } finally {
      progress?.finish(ok);
    }
  }
}
