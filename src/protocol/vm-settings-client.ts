// GET /vmSettings on the HostGAPlugin (hostgaplugin.md §3.1-3.2): one request, its answer classified.
// The ETag cache and the support state machine live in agent/vm-settings-fetcher.ts.
import { randomUUID } from 'node:crypto';
import { ProtocolError, errorMessage } from '../errors.js';
import { redactSecrets } from '../log/redact.js';
import type { HostPluginClient } from './host-plugin.js';
import { bodyText, type HttpResponse } from './http.js';

export type VmSettingsResponse =
  /** 200: a new document and its ETag (text not parsed yet). */
  | { readonly kind: 'ok'; readonly etag: string; readonly text: string; readonly correlationId: string }
  /** 304: the document sent with If-None-Match is still current. */
  | { readonly kind: 'not-modified'; readonly correlationId: string }
  /** 404: the plugin does not support vmSettings. */
  | { readonly kind: 'not-found'; readonly correlationId: string }
  /** 410: stale container id / config name; refresh them and ask once more. */
  | { readonly kind: 'gone'; readonly correlationId: string };

/** Upstream's error categories (telemetry `VmSettingsSummary`). */
export type VmSettingsErrorKind = 'ClientError' | 'ServerError' | 'HttpError' | 'Timeout' | 'RequestFailed';

export class VmSettingsError extends ProtocolError {
  readonly kind: VmSettingsErrorKind;
  constructor(message: string, kind: VmSettingsErrorKind, opts: { status?: number; cause?: unknown; timeout?: boolean } = {}) {
    super(message, {
      retryable: true,
      ...(opts.status !== undefined ? { status: opts.status } : {}),
      ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
      ...(opts.timeout ? { code: 'WAA_PROTOCOL_TIMEOUT' as const } : {}),
    });
    this.name = 'VmSettingsError';
    this.kind = kind;
  }
}

const MAX_ERROR_BODY = 300;

function describe(correlationId: string, etag: string | null): string {
  return `GET vmSettings [correlation ID: ${correlationId} eTag: ${etag ?? 'None'}]`;
}

/** Header names from http.ts are lower-cased already; this also accepts any case (the ETag rule is case-insensitive). */
function etagOf(res: HttpResponse): string | undefined {
  for (const [k, v] of Object.entries(res.headers)) if (k.toLowerCase() === 'etag') return v;
  return undefined;
}

/** Pure: maps the raw answer to a VmSettingsResponse, or throws the VmSettingsError upstream would raise. */
export function classifyVmSettingsResponse(res: HttpResponse, ctx: { correlationId: string; etag: string | null }): VmSettingsResponse {
  const { correlationId } = ctx;
  switch (res.status) {
    case 200: {
      const etag = etagOf(res);
      if (etag === undefined || etag === '') {
        throw new VmSettingsError(`${describe(correlationId, ctx.etag)}: The vmSettings response does not include an Etag header`, 'HttpError', { status: 200 });
      }
      return { kind: 'ok', etag, text: bodyText(res), correlationId };
    }
    case 304:
      return { kind: 'not-modified', correlationId };
    case 404:
      return { kind: 'not-found', correlationId };
    case 410:
      return { kind: 'gone', correlationId };
  }
  const body = redactSecrets(bodyText(res).slice(0, MAX_ERROR_BODY)).replace(/\s+/g, ' ').trim();
  let detail = `[HTTP Failed] [${res.status}] ${body}`.trim();
  // 502 is how the plugin reports its own internal errors for vmSettings.
  if (res.status === 502) detail = `[Internal error in HostGAPlugin] ${detail}`;
  const kind: VmSettingsErrorKind = res.status >= 400 && res.status <= 499 ? 'ClientError' : res.status >= 500 && res.status <= 599 ? 'ServerError' : 'HttpError';
  throw new VmSettingsError(`${describe(correlationId, ctx.etag)}: ${detail}`, kind, { status: res.status });
}

/** One GET /vmSettings with a new correlation id; network errors and timeouts become VmSettingsError too. */
export async function requestVmSettings(hostPlugin: HostPluginClient, etag: string | null, signal?: AbortSignal): Promise<VmSettingsResponse> {
  const correlationId = randomUUID();
  let res: HttpResponse;
  try {
    res = await hostPlugin.getVmSettings({ etag, correlationId, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) throw err;
    const timeout = err instanceof ProtocolError && err.code === 'WAA_PROTOCOL_TIMEOUT';
    throw new VmSettingsError(`${describe(correlationId, etag)}: ${errorMessage(err)}`, timeout ? 'Timeout' : 'RequestFailed', { cause: err, timeout });
  }
  return classifyVmSettingsResponse(res, { correlationId, etag });
}
