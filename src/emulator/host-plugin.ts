// Routes for the HostGAPlugin port (hostgaplugin.md): versions, health, vmSettings, status proxy, artifact proxy.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { MAX_BLOB_BYTES } from './blob-store.js';
import type { Fabric } from './fabric.js';
import { HttpError, errorXml, header, readBody, send, sendJson, sendText } from './http-util.js';
import { BLOB_PREFIX } from './urls.js';
import type { RouteContext } from './wire-server.js';

const envelopeSchema = z.object({
  requestUri: z.string().min(1).max(8192),
  headers: z.array(z.object({ headerName: z.string().min(1).max(200), headerValue: z.string().max(8192) })).max(50),
  content: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').optional(),
});

const MAX_ENVELOPE_BYTES = Math.ceil((MAX_BLOB_BYTES * 4) / 3) + 64 * 1024;
const MAX_LOG_BYTES = 16 * 1024 * 1024;

function requireMethod(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new HttpError(405, `method ${req.method ?? ''} not allowed`, 'UnsupportedHttpVerb');
}

function requireApiVersion(req: IncomingMessage): void {
  const v = header(req, 'x-ms-version');
  if (v !== '2015-09-01') throw new HttpError(400, `x-ms-version must be 2015-09-01, got ${String(v)}`, 'InvalidHeaderValue');
}

/** The plugin knows the VM by container id and config name; values of an older goal state are 410 Gone. */
function requireIdentity(fabric: Fabric, req: IncomingMessage): void {
  const containerId = header(req, 'x-ms-containerid');
  const configName = header(req, 'x-ms-host-config-name');
  if (!containerId || !configName) throw new HttpError(400, 'missing x-ms-containerid or x-ms-host-config-name', 'MissingRequiredHeader');
  const s = fabric.scenario;
  if (containerId !== s.containerId || configName !== s.configName) {
    throw new HttpError(410, 'container id or host config name is not current', 'ResourceGone');
  }
}

export async function handleHostPlugin(fabric: Fabric, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://emulator').pathname;
  switch (path) {
    case '/versions':
      requireMethod(req, 'GET');
      return sendJson(res, 200, ['2015-09-01']);
    case '/health':
      requireMethod(req, 'GET');
      return sendText(res, 200, '');
    case '/vmSettings':
      return getVmSettings(fabric, req, res);
    case '/status':
      return putStatus(fabric, req, res, ctx);
    case '/extensionArtifact':
      return getArtifact(fabric, req, res, ctx);
    case '/vmAgentLog':
      requireMethod(req, 'PUT');
      requireApiVersion(req);
      requireIdentity(fabric, req);
      await readBody(req, MAX_LOG_BYTES);
      return sendText(res, 200, '');
    default:
      throw new HttpError(404, `no such resource ${path}`, 'ResourceNotFound');
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GET /vmSettings: 404 unless the scenario offers Fast Track; then the document with its ETag, or 304. */
async function getVmSettings(fabric: Fabric, req: IncomingMessage, res: ServerResponse): Promise<void> {
  requireMethod(req, 'GET');
  const doc = await fabric.vmSettingsDocument();
  // Fast Track is not offered: 404 is the documented "vmSettings not supported" answer.
  if (!doc) return sendText(res, 404, 'vmSettings not supported');
  requireApiVersion(req);
  requireIdentity(fabric, req);
  const correlationId = header(req, 'x-ms-client-correlationid');
  if (!correlationId || !UUID_RE.test(correlationId)) throw new HttpError(400, 'x-ms-client-correlationid must be a UUID', 'InvalidHeaderValue');
  if (header(req, 'if-none-match') === doc.etag) return send(res, 304, '', 'text/plain', { ETag: doc.etag });
  send(res, 200, doc.text, 'application/json; charset=utf-8', { ETag: doc.etag });
}

/** PUT /status: performs the storage request described by the JSON envelope against the blob store. */
async function putStatus(fabric: Fabric, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  requireMethod(req, 'PUT');
  requireApiVersion(req);
  requireIdentity(fabric, req);
  if (!(header(req, 'content-type') ?? '').toLowerCase().startsWith('application/json')) {
    throw new HttpError(400, 'Content-Type must be application/json', 'InvalidHeaderValue');
  }
  const text = (await readBody(req, MAX_ENVELOPE_BYTES)).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'status envelope is not JSON', 'InvalidInput');
  }
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, `status envelope: field ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`, 'InvalidInput');
  }
  const env = parsed.data;
  let target: URL;
  try {
    target = new URL(env.requestUri);
  } catch {
    throw new HttpError(400, 'status envelope: requestUri is not a URL', 'InvalidInput');
  }
  const headers: Record<string, string> = {};
  for (const h of env.headers) headers[h.headerName.toLowerCase()] = h.headerValue;
  const body = env.content === undefined ? Buffer.alloc(0) : Buffer.from(env.content, 'base64');
  let upstream: number;
  let message = '';
  try {
    if (!target.pathname.startsWith(BLOB_PREFIX)) throw new HttpError(404, 'The specified resource does not exist.', 'ResourceNotFound');
    upstream = fabric.blobs.put({ pathname: target.pathname, query: target.searchParams, headers, body, via: 'hostplugin' });
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    upstream = err.status;
    message = `${err.errorCode}: ${err.message}`;
  }
  ctx.upstreamStatus = upstream;
  if (upstream >= 200 && upstream < 300) return sendText(res, 200, '');
  // Failures upstream of the plugin are reported as 502 (hostgaplugin.md §1), carrying the storage answer.
  send(res, 502, errorXml('UpstreamError', `storage returned ${upstream}: ${message}`), 'text/xml; charset=utf-8');
}

/** GET /extensionArtifact: serves the bytes the repository has at x-ms-artifact-location. */
async function getArtifact(fabric: Fabric, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  requireMethod(req, 'GET');
  requireApiVersion(req);
  requireIdentity(fabric, req);
  const location = header(req, 'x-ms-artifact-location');
  if (!location) throw new HttpError(400, 'missing x-ms-artifact-location header', 'MissingRequiredHeader');
  let target: URL;
  try {
    target = new URL(location);
  } catch {
    throw new HttpError(400, 'x-ms-artifact-location is not a URL', 'InvalidHeaderValue');
  }
  const artifact = await fabric.repository.get(target.pathname, fabric.storageBaseUrl);
  ctx.upstreamStatus = 200;
  send(res, 200, artifact.body, artifact.contentType);
}
