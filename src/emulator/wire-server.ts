// Routes for the WireServer port: versions, goal state, config documents, health, telemetry, blob store, repository.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Fabric } from './fabric.js';
import { HttpError, header, readBody, send, sendText, sendXml } from './http-util.js';
import { parseHealthReport, parseTelemetry } from './inbound.js';
import { MAX_BLOB_BYTES } from './blob-store.js';
import { BLOB_PREFIX, CONFIG_TYPES, REPO_PREFIX, parseMachinePath, type ConfigType } from './urls.js';

export interface RouteContext {
  upstreamStatus?: number;
}

const MAX_POST_BYTES = 1024 * 1024;

function requireMethod(req: IncomingMessage, ...methods: string[]): void {
  if (!methods.includes(req.method ?? '')) throw new HttpError(405, `method ${req.method ?? ''} not allowed`, 'UnsupportedHttpVerb');
}

/** The WireServer refuses /machine calls without the protocol version header (the "basic" header set). */
function requireWireHeaders(req: IncomingMessage): void {
  const v = header(req, 'x-ms-version');
  if (v === undefined) throw new HttpError(400, 'missing x-ms-version header', 'MissingRequiredHeader');
  if (v !== '2012-11-30') throw new HttpError(400, `unsupported x-ms-version ${v}`, 'InvalidHeaderValue');
}

function requireContentType(req: IncomingMessage, prefix: string): void {
  const ct = (header(req, 'content-type') ?? '').toLowerCase();
  if (!ct.startsWith(prefix)) throw new HttpError(400, `Content-Type must be ${prefix}, got ${ct || 'none'}`, 'InvalidHeaderValue');
}

export async function handleWire(fabric: Fabric, req: IncomingMessage, res: ServerResponse, _ctx: RouteContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const path = url.pathname;
  const comp = url.searchParams.get('comp');

  if (path === '/' && comp === 'versions') {
    requireMethod(req, 'GET');
    return sendXml(res, 200, fabric.document('versions'));
  }
  if ((path === '/machine' || path === '/machine/') && comp !== null) return machineRoot(fabric, req, res, comp);
  if (path.startsWith('/machine/')) return machineDocument(fabric, req, res, url);
  if (path === '/HealthService') {
    requireMethod(req, 'POST');
    requireContentType(req, 'application/json');
    const text = (await readBody(req, MAX_POST_BYTES)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'HealthService: body is not JSON', 'InvalidInput');
    }
    fabric.recorder.addHealthService({ at: Date.now(), body });
    return sendText(res, 200, '');
  }
  if (path.startsWith(BLOB_PREFIX)) {
    requireMethod(req, 'PUT');
    const body = await readBody(req, MAX_BLOB_BYTES);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
    const status = fabric.blobs.put({ pathname: path, query: url.searchParams, headers, body, via: 'direct' });
    const blob = fabric.blobs.get(path);
    return send(res, status, '', 'text/plain', {
      ...(blob ? { ETag: blob.etag, 'Last-Modified': blob.lastModified.toUTCString() } : {}),
      'x-ms-version': headers['x-ms-version'] ?? '',
      'x-ms-request-server-encrypted': 'true',
    });
  }
  if (path.startsWith(REPO_PREFIX)) {
    requireMethod(req, 'GET');
    const a = await fabric.repository.get(path, fabric.storageBaseUrl);
    return send(res, 200, a.body, a.contentType);
  }
  throw new HttpError(404, `no such resource ${path}`, 'ResourceNotFound');
}

/** `/machine/?comp=goalstate` and the POST endpoints on `/machine?comp=...`. */
async function machineRoot(fabric: Fabric, req: IncomingMessage, res: ServerResponse, comp: string): Promise<void> {
  switch (comp) {
    case 'goalstate':
      requireMethod(req, 'GET');
      requireWireHeaders(req);
      return sendXml(res, 200, fabric.document('goalState'));
    case 'health': {
      requireMethod(req, 'POST');
      requireWireHeaders(req);
      requireContentType(req, 'text/xml');
      const text = (await readBody(req, MAX_POST_BYTES)).toString('utf8');
      fabric.recorder.addHealth(parseHealthReport(text, Date.now()));
      return sendText(res, 200, '');
    }
    case 'telemetrydata': {
      requireMethod(req, 'POST');
      requireWireHeaders(req);
      requireContentType(req, 'text/xml');
      const text = (await readBody(req, MAX_POST_BYTES)).toString('utf8');
      fabric.recorder.addTelemetry(parseTelemetry(text, Date.now()));
      return sendText(res, 200, '');
    }
    case 'roleProperties':
      requireMethod(req, 'POST');
      requireWireHeaders(req);
      await readBody(req, MAX_POST_BYTES);
      return sendText(res, 202, '');
    default:
      throw new HttpError(400, `unknown comp=${comp}`, 'InvalidQueryParameterValue');
  }
}

/** `/machine/<container>/<role>?comp=config&type=...&incarnation=N` and `?comp=certificates`. */
async function machineDocument(fabric: Fabric, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  requireMethod(req, 'GET');
  requireWireHeaders(req);
  const ids = parseMachinePath(url.pathname);
  if (!ids) throw new HttpError(404, `no such resource ${url.pathname}`, 'ResourceNotFound');
  const s = fabric.scenario;
  // URLs of an older goal state (other container, role or incarnation) are gone, as on the real WireServer.
  const incarnation = url.searchParams.get('incarnation');
  if (ids.containerId !== s.containerId || ids.roleInstanceId !== s.roleInstanceId || incarnation !== String(s.incarnation)) {
    throw new HttpError(410, 'The goal state this URL belongs to is no longer current', 'ResourceGone');
  }
  const comp = url.searchParams.get('comp');
  if (comp === 'certificates') {
    const cert = header(req, 'x-ms-guest-agent-public-x509-cert');
    if (!cert) throw new HttpError(400, 'missing x-ms-guest-agent-public-x509-cert header', 'MissingRequiredHeader');
    const cipher = header(req, 'x-ms-cipher-name');
    if (cipher !== 'AES128_CBC' && cipher !== 'DES_EDE3_CBC') throw new HttpError(400, `invalid x-ms-cipher-name ${String(cipher)}`, 'InvalidHeaderValue');
    // An unusable certificate is answered 400 once something has to be encrypted to it (certificates.ts).
    return sendXml(res, 200, await fabric.certificatesDocument(cert, cipher));
  }
  const type = url.searchParams.get('type');
  if (comp !== 'config' || !CONFIG_TYPES.includes(type as ConfigType)) {
    throw new HttpError(400, `unknown document comp=${String(comp)} type=${String(type)}`, 'InvalidQueryParameterValue');
  }
  sendXml(res, 200, type === 'extensionsConfig' ? await fabric.extensionsConfigDocument() : fabric.document(type as ConfigType));
}
