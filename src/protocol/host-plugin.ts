// HostGAPlugin (port 32526): availability, status proxy, artifact proxy.
import { randomUUID } from 'node:crypto';
import type { Clock, Logger } from '../deps.js';
import { GoneError, ProtocolError } from '../errors.js';
import { HOST_PLUGIN_API_VERSION } from '../version.js';
import { bodyText, requestWithRetry, type BodyProgress, type HttpClient, type HttpResponse, type RetryPolicy, DEFAULT_RETRY, OK_CODES } from './http.js';
import { redactSecrets } from '../log/redact.js';

export interface HostPluginDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** e.g. http://168.63.129.16:32526 */
  readonly baseUrl: string;
  readonly retry?: RetryPolicy;
}

export interface StorageEnvelope {
  readonly requestUri: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly content?: Buffer;
}

export class HostPluginClient {
  readonly baseUrl: string;
  private containerId = '';
  private configName = '';
  private available = false;

  constructor(private readonly deps: HostPluginDeps) {
    this.baseUrl = deps.baseUrl.replace(/\/+$/, '');
  }

  /** Identity from the latest WireServer goal-state fetch (refreshed on every poll). */
  setIdentity(containerId: string, configName: string): void {
    this.containerId = containerId;
    this.configName = configName;
  }

  get hasIdentity(): boolean {
    return this.containerId !== '';
  }

  private identityHeaders(): Record<string, string> {
    return {
      'x-ms-version': HOST_PLUGIN_API_VERSION,
      'x-ms-containerid': this.containerId,
      'x-ms-host-config-name': this.configName,
    };
  }

  /** GET /versions; cached once the plugin answered with our API version. */
  async ensureAvailable(signal?: AbortSignal): Promise<boolean> {
    if (this.available) return true;
    try {
      const res = await this.deps.http.send({
        method: 'GET',
        url: `${this.baseUrl}/versions`,
        headers: { 'x-ms-containerid': this.containerId },
        ...(signal ? { signal } : {}),
      });
      this.available = OK_CODES.has(res.status) && bodyText(res).includes(HOST_PLUGIN_API_VERSION);
    } catch (err) {
      this.deps.logger.verbose(`HostGAPlugin versions check failed: ${(err as Error).message}`);
      this.available = false;
    }
    return this.available;
  }

  /** PUT /status with one storage-request envelope (keys sorted as upstream serializes them). */
  async putStatusEnvelope(env: StorageEnvelope, signal?: AbortSignal): Promise<void> {
    const body: Record<string, unknown> = {};
    if (env.content !== undefined) body.content = env.content.toString('base64');
    body.headers = env.headers.map(([headerName, headerValue]) => ({ headerName, headerValue }));
    body.requestUri = env.requestUri;
    const url = `${this.baseUrl}/status`;
    const res = await requestWithRetry(this.deps.http, this.deps.clock, {
      method: 'PUT',
      url,
      body: JSON.stringify(body),
      headers: { ...this.identityHeaders(), 'content-type': 'application/json' },
      ...(signal ? { signal } : {}),
    }, this.deps.retry ?? DEFAULT_RETRY);
    classify(res, 'HostGAPlugin status upload', url);
  }

  /** GET /extensionArtifact for a blob URL; 400 is retryable for these GETs (plugin cache issue). */
  async getArtifact(
    artifactUrl: string,
    opts: { manifestUrl?: string; fastTrack?: boolean; signal?: AbortSignal; toFile?: FileDownload } = {},
  ): Promise<Buffer> {
    const headers: Record<string, string> = { ...this.identityHeaders(), 'x-ms-artifact-location': artifactUrl };
    if (opts.fastTrack) headers['x-ms-verify-from-artifacts-blob'] = 'true';
    if (opts.manifestUrl) headers['x-ms-artifact-manifest-location'] = opts.manifestUrl;
    const url = `${this.baseUrl}/extensionArtifact`;
    const http = opts.toFile ? toFileClient(this.deps.http, opts.toFile) : this.deps.http;
    const res = await requestWithRetry(http, this.deps.clock, {
      method: 'GET',
      url,
      headers,
      timeoutMs: opts.toFile ? 10 * 60_000 : 60_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    }, { ...(this.deps.retry ?? DEFAULT_RETRY), extraRetryCodes: [400] });
    classify(res, 'HostGAPlugin artifact', artifactUrl);
    return res.body;
  }

  /**
   * GET /vmSettings (hostgaplugin.md §3.1): one attempt, 10 s, raw response; classified by vm-settings-client.ts.
   * Not gated on /versions, as upstream.
   */
  async getVmSettings(opts: { etag: string | null; correlationId: string; signal?: AbortSignal }): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...this.identityHeaders(), 'x-ms-client-correlationid': opts.correlationId };
    if (opts.etag !== null) headers['if-none-match'] = opts.etag;
    return this.deps.http.send({
      method: 'GET',
      url: `${this.baseUrl}/vmSettings`,
      headers,
      timeoutMs: 10_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  newCorrelationId(): string {
    return randomUUID();
  }
}

/** Where a package goes: the file, its size cap, and who is told how much arrived. */
export interface FileDownload {
  readonly path: string;
  readonly maxBytes: number;
  readonly onProgress?: BodyProgress;
}

/** A client whose send() streams a successful body to a file (for packages). */
export function toFileClient(http: HttpClient, file: FileDownload): HttpClient {
  return { send: (r) => http.sendToFile(r, file.path, file.maxBytes, file.onProgress), sendToFile: http.sendToFile };
}

/** 410 and 400+InvalidContainerConfiguration mean a stale identity: the caller refreshes the goal state. */
function classify(res: HttpResponse, what: string, url: string): void {
  if (OK_CODES.has(res.status)) return;
  const stale = res.status === 410 || (res.status === 400 && bodyText(res).includes('InvalidContainerConfiguration'));
  const msg = `[${what} Failed] URI ${redactSecrets(url)} [HTTP Failed] Status Code ${res.status}`;
  if (stale) throw new GoneError(msg);
  throw new ProtocolError(msg, { status: res.status });
}
