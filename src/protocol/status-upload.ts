// Status blob upload: HostGAPlugin PUT /status first, direct PUT to the SAS URL as fallback.
import type { Clock, Logger } from '../deps.js';
import { GoneError, ProtocolError, errorMessage } from '../errors.js';
import { STORAGE_API_VERSION } from '../version.js';
import { requestWithRetry, type HttpClient, type RetryPolicy, DEFAULT_RETRY } from './http.js';
import type { HostPluginClient, StorageEnvelope } from './host-plugin.js';
import type { StatusBlobType } from './goal-state.js';
import { redactSecrets } from '../log/redact.js';

const PAGE = 512;
const MAX_PAGE_CHUNK = 4 * 1024 * 1024;

export interface StatusUploadDeps {
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hostPlugin: HostPluginClient;
  readonly retry?: RetryPolicy;
}

export type UploadOutcome = 'hostplugin' | 'direct' | 'skipped-gone';

/** `%Y-%m-%dT%H:%M:%SZ`, the (non-RFC 1123) x-ms-date format upstream sends. */
export function storageDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function pageUrl(sas: string): string {
  return sas.includes('?') ? `${sas}&comp=page` : `${sas}?comp=page`;
}

function padTo(buf: Buffer, fill: number): Buffer {
  const size = Math.ceil(buf.length / PAGE) * PAGE;
  if (size === buf.length) return buf;
  return Buffer.concat([buf, Buffer.alloc(size - buf.length, fill)]);
}

/** A BlockBlob upload is one PUT, the same through the plugin and direct. */
function blockBlobPut(data: Buffer, url: string, date: string): StorageEnvelope {
  return {
    requestUri: url,
    content: data,
    headers: [['Content-Length', String(data.length)], ['x-ms-blob-type', 'BlockBlob'], ['x-ms-date', date], ['x-ms-version', STORAGE_API_VERSION]],
  };
}

/** The storage requests the HostGAPlugin is asked to perform (hostgaplugin.md §4). */
export function hostPluginEnvelopes(json: string, url: string, type: StatusBlobType, date: string): StorageEnvelope[] {
  const data = Buffer.from(json, 'utf8');
  if (type === 'BlockBlob') return [blockBlobPut(data, url, date)];
  // Page blobs are padded with spaces through the plugin (zeros on the direct path), as upstream does.
  const padded = padTo(data, 0x20);
  const out: StorageEnvelope[] = [{
    requestUri: url,
    headers: [['Content-Length', '0'], ['x-ms-blob-content-length', String(padded.length)], ['x-ms-blob-type', 'PageBlob'], ['x-ms-date', date], ['x-ms-version', STORAGE_API_VERSION]],
  }];
  for (let start = 0; start < padded.length; start += MAX_PAGE_CHUNK) {
    const chunk = padded.subarray(start, Math.min(start + MAX_PAGE_CHUNK, padded.length));
    out.push({
      requestUri: pageUrl(url),
      content: chunk,
      headers: [['Content-Length', String(chunk.length)], ['x-ms-date', date], ['x-ms-range', `bytes=${start}-${start + chunk.length - 1}`], ['x-ms-page-write', 'update'], ['x-ms-version', STORAGE_API_VERSION]],
    });
  }
  return out;
}

/** The direct requests to the SAS URL (wire-protocol.md §11). */
export function directRequests(json: string, url: string, type: StatusBlobType, date: string): StorageEnvelope[] {
  const data = Buffer.from(json, 'utf8');
  if (type === 'BlockBlob') return [blockBlobPut(data, url, date)];
  const size = Math.ceil(data.length / PAGE) * PAGE;
  const out: StorageEnvelope[] = [{
    requestUri: url,
    headers: [['Content-Length', '0'], ['x-ms-blob-content-length', String(size)], ['x-ms-blob-type', 'PageBlob'], ['x-ms-date', date], ['x-ms-version', STORAGE_API_VERSION]],
  }];
  for (let start = 0; start < data.length; start += MAX_PAGE_CHUNK) {
    const chunk = padTo(data.subarray(start, Math.min(start + MAX_PAGE_CHUNK, data.length)), 0);
    out.push({
      requestUri: pageUrl(url),
      content: chunk,
      headers: [['Content-Length', String(chunk.length)], ['x-ms-range', `bytes=${start}-${start + chunk.length - 1}`], ['x-ms-page-write', 'update'], ['x-ms-date', date], ['x-ms-version', STORAGE_API_VERSION]],
    });
  }
  return out;
}

async function putDirect(deps: StatusUploadDeps, env: StorageEnvelope): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [k, v] of env.headers) headers[k] = v;
  const res = await requestWithRetry(deps.http, deps.clock, {
    method: 'PUT',
    url: env.requestUri,
    headers,
    body: env.content ?? '',
  }, deps.retry ?? DEFAULT_RETRY);
  if (res.status !== 201) {
    throw new ProtocolError(`Cannot upload status blob to ${redactSecrets(env.requestUri)} as storage answered ${res.status}`, { status: res.status });
  }
}

/** Uploads the status JSON; returns which channel carried it. Throws when both channels failed. */
export async function uploadStatus(
  deps: StatusUploadDeps,
  json: string,
  blob: { url: string; type: StatusBlobType },
  onGone: () => Promise<void>,
): Promise<UploadOutcome> {
  const date = storageDate(deps.clock.now());
  let pluginError: string;
  try {
    if (!(await deps.hostPlugin.ensureAvailable())) throw new ProtocolError('HostGAPlugin: Host plugin channel is not available');
    for (const env of hostPluginEnvelopes(json, blob.url, blob.type, date)) await deps.hostPlugin.putStatusEnvelope(env);
    return 'hostplugin';
  } catch (err) {
    if (err instanceof GoneError) {
      // Stale container id: refresh the identity and skip this cycle, as upstream does.
      deps.logger.info('HostGAPlugin answered 410 to the status upload; refreshing the goal state identity');
      await onGone().catch((e) => deps.logger.warn(`Cannot refresh the goal state identity as ${errorMessage(e)}`));
      return 'skipped-gone';
    }
    pluginError = errorMessage(err);
  }
  deps.logger.verbose(`Falling back to direct upload: ${pluginError}`);
  try {
    for (const env of directRequests(json, blob.url, blob.type, date)) await putDirect(deps, env);
    return 'direct';
  } catch (err) {
    throw new ProtocolError(`Failed to upload status blob via either channel: HostGAPlugin: ${pluginError}; direct: ${errorMessage(err)}`, { cause: err });
  }
}
