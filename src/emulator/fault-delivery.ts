// How random faults (faults.ts) reach the agent: which kind a request is, and the answers that break it —
// error statuses, dropped connections, a request left hanging, bodies that trickle, stop half-way, come garbled,
// or are something else entirely (an HTML page or a zip without a handler manifest, served with 200).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import yazl from 'yazl';
import type { FaultClass, RandomFaults, RequestKind } from './faults.js';
import { errorXml, header, send, setBodyFilter } from './http-util.js';
import type { ServerName } from './recorder.js';
import { BLOB_PREFIX, REPO_PREFIX, parseRepoPath } from './urls.js';

/** The kind of a request, from its server, method and path (the artifact proxy by the artifact it asks for). */
export function classifyRequest(server: ServerName, method: string, pathAndQuery: string, req: Pick<IncomingMessage, 'headers'>): RequestKind {
  const url = new URL(pathAndQuery, 'http://emulator');
  const path = url.pathname;
  const comp = url.searchParams.get('comp');
  if (server === 'hostplugin') {
    switch (path) {
      case '/versions': return 'versions';
      case '/health': return 'health';
      case '/vmSettings': return 'vmSettings';
      case '/status': return 'statusUpload';
      case '/vmAgentLog': return 'other';
      case '/extensionArtifact': {
        const location = header(req, 'x-ms-artifact-location');
        try {
          return repoKind(location === undefined ? '' : new URL(location).pathname);
        } catch {
          return 'other';
        }
      }
      default: return 'other';
    }
  }
  if (path === '/' && comp === 'versions') return 'versions';
  if ((path === '/machine' || path === '/machine/') && comp === 'goalstate') return 'goalState';
  if (comp === 'health' || path === '/HealthService') return 'health';
  if (comp === 'telemetrydata') return 'telemetry';
  if (path.startsWith('/machine/') && comp === 'certificates') return 'certificates';
  if (path.startsWith('/machine/') && comp === 'config') return url.searchParams.get('type') === 'extensionsConfig' ? 'extensionsConfig' : 'config';
  if (path.startsWith(BLOB_PREFIX) && method === 'PUT') return 'statusUpload';
  if (path.startsWith(REPO_PREFIX)) return repoKind(path);
  return 'other';
}

function repoKind(pathname: string): RequestKind {
  const t = parseRepoPath(pathname);
  return t === null ? 'other' : t.kind;
}

const STATUS_OF: Partial<Record<FaultClass, [number, string]>> = {
  http500: [500, 'InternalError'],
  http503: [503, 'ServerBusy'],
  http429: [429, 'TooManyRequests'],
  http410: [410, 'ResourceGone'],
};

let noManifestZip: Promise<Buffer> | undefined;

/** A well-formed zip that is not a handler package (no HandlerManifest.json). */
function zipWithoutManifest(): Promise<Buffer> {
  noManifestZip ??= (async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('This is not the package you asked for.\n'), 'README.txt', { mtime: new Date(Date.UTC(2020, 0, 1)) });
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
  return noManifestZip;
}

const HTML_PAGE = '<!DOCTYPE html><html><head><title>Service</title></head><body><h1>Welcome</h1><p>The page you requested is temporarily served from cache.</p></body></html>\n';

/** Garbled body of the same kind: the first half, then bytes no parser accepts. */
function malformedBody(body: Buffer): Buffer {
  return Buffer.concat([body.subarray(0, Math.floor(body.length / 2)), Buffer.from('\u0000<<{"]]>', 'utf8')]);
}

export interface DeliveryContext {
  readonly faults: RandomFaults;
  readonly kind: RequestKind;
  readonly cls: FaultClass;
  readonly stopping: AbortSignal;
}

/**
 * Applies a fault that replaces the answer (status, reset, timeout); returns false for body faults, which are set
 * up on `res` here and applied when the route answers 2xx (an error answer goes out unchanged and is not counted).
 */
export async function deliverFault(ctx: DeliveryContext, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const { faults, kind, cls } = ctx;
  const status = STATUS_OF[cls];
  if (status) {
    faults.applied(kind, cls);
    req.resume();
    send(res, status[0], errorXml(status[1], `injected fault ${cls}`), 'application/xml');
    return true;
  }
  if (cls === 'reset') {
    faults.applied(kind, cls);
    req.socket.destroy();
    return true;
  }
  if (cls === 'timeout') {
    faults.applied(kind, cls);
    // Hold the request until the client gives up (it closes the socket) or the cap passes, then drop it.
    const closed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
    await Promise.race([sleep(faults.config.timeoutMs, undefined, { signal: ctx.stopping }).catch(() => undefined), closed]);
    req.socket.destroy();
    return true;
  }
  const wrong = cls === 'wrongContent' ? (kind === 'package' && faults.counts().byClass.wrongContent % 2 === 0 ? await zipWithoutManifest() : Buffer.from(HTML_PAGE)) : null;
  setBodyFilter(res, (r, code, body, headers) => {
    if (code < 200 || code >= 300) return false;
    faults.applied(kind, cls);
    if (cls === 'malformed' || wrong) {
      const b = wrong ?? malformedBody(body);
      r.writeHead(code, { ...headers, 'Content-Length': String(b.length), Connection: 'close' });
      r.end(b);
    } else if (cls === 'truncated') {
      // Announces the whole body, sends half of it, and drops the connection.
      r.writeHead(code, { ...headers, 'Content-Length': String(body.length), Connection: 'close' });
      r.write(body.subarray(0, Math.floor(body.length / 2)), () => r.socket?.destroy());
    } else {
      void trickle(r, code, body, headers, faults.config.slowBodyMs, ctx.stopping);
    }
    return true;
  });
  return false;
}

/** Sends the body in 8 pieces spread over `totalMs`. */
async function trickle(res: ServerResponse, code: number, body: Buffer, headers: Record<string, string>, totalMs: number, stopping: AbortSignal): Promise<void> {
  res.writeHead(code, { ...headers, 'Content-Length': String(body.length), Connection: 'close' });
  const pieces = 8;
  const size = Math.ceil(body.length / pieces) || 1;
  for (let at = 0; at < body.length; at += size) {
    if (res.destroyed || stopping.aborted) return;
    res.write(body.subarray(at, at + size));
    await sleep(totalMs / pieces, undefined, { signal: stopping }).catch(() => undefined);
  }
  if (!res.destroyed) res.end();
}
