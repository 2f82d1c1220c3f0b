// HTTP for the fabric: one attempt per send(), retries and classification in requestWithRetry().
// node:http with a plain (non keep-alive) agent, one connection per request as upstream does. undici was tried
// first: with the fabric closing idle connections it rebuilt its Pool and Client for each 6 s poll, and its
// module alone cost ~0.2 s of start-up; node:http polls at about a third of its CPU (bench/NOTES.md).
import { createWriteStream } from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import type * as https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../deps.js';
import { GoneError, ProtocolError } from '../errors.js';
import { redactSecrets } from '../log/redact.js';

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** Per-attempt deadline; upstream uses a 10 s socket timeout. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface HttpClient {
  /** One attempt. Network errors and timeouts reject with a retryable ProtocolError. */
  send(req: HttpRequest): Promise<HttpResponse>;
  /** One attempt that streams a 2xx body to `path` (other bodies are read into `body`, capped). */
  sendToFile(req: HttpRequest, path: string, maxBytes: number, onProgress?: BodyProgress): Promise<HttpResponse>;
}

/** Told the bytes of a streamed body received so far and its Content-Length (null when not given). */
export type BodyProgress = (receivedBytes: number, expectedBytes: number | null) => void;

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Upstream's per-response cap is unbounded; ours keeps a hostile server from exhausting memory. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

interface Transport {
  readonly request: typeof http.request;
  readonly agent: http.Agent;
}

/** The agents of one client: no keep-alive, so no idle socket (and no timer) outlives a request. */
function transports(): (protocol: string) => Promise<Transport> {
  const plain: Transport = { request: http.request, agent: new http.Agent({ keepAlive: false }) };
  let secure: Promise<Transport> | undefined;
  return async (protocol) => {
    if (protocol === 'http:') return plain;
    if (protocol !== 'https:') throw new Error(`unsupported protocol ${protocol}`);
    // Loaded on the first https URL (blob SAS uploads, repository downloads): TLS costs start-up time and memory.
    secure ??= import('node:https').then((m: typeof https) => ({ request: m.request, agent: new m.Agent({ keepAlive: false }) }));
    return secure;
  };
}

/**
 * `proxy`: an http:// proxy for every request of this client (wire-protocol.md §2.2; proxy.ts decides which requests
 * get one). Plain-http targets are sent to it in absolute form, as upstream's httplib does; https targets are tunnelled
 * with CONNECT.
 */
export function createHttpClient(opts: { proxy?: string } = {}): HttpClient {
  const transport = transports();
  const proxy = opts.proxy === undefined ? undefined : new URL(opts.proxy);
  const send = (req: HttpRequest, file?: FileTarget) => sendOnce(req, transport, file, proxy);
  return { send: (req) => send(req), sendToFile: (req, path, maxBytes, onProgress) => send(req, { path, maxBytes, ...(onProgress ? { onProgress } : {}) }) };
}

interface FileTarget {
  readonly path: string;
  readonly maxBytes: number;
  readonly onProgress?: BodyProgress;
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** Opens a CONNECT tunnel to `target` through `proxy`; `track` receives the CONNECT request so a deadline can end it. */
function connectTunnel(proxy: URL, target: URL, track: (r: http.ClientRequest) => void): Promise<net.Socket> {
  const authority = `${target.hostname}:${target.port || '443'}`;
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: proxy.hostname, port: Number(proxy.port) || 80, method: 'CONNECT', path: authority, agent: false,
      headers: { host: authority, ...proxyAuth(proxy) },
    });
    track(r);
    r.once('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`proxy ${proxy.host} refused the tunnel: HTTP ${res.statusCode}`));
      }
    });
    r.once('error', reject);
    r.end();
  });
}

/** Starts the request directly or through the proxy; resolves once the request is under way (after any tunnel). */
async function startRequest(
  url: URL, req: HttpRequest, transport: (protocol: string) => Promise<Transport>, proxy: URL | undefined,
  track: (r: http.ClientRequest) => void, onResponse: (res: http.IncomingMessage) => void,
): Promise<http.ClientRequest> {
  const { request, agent } = await transport(url.protocol);
  const headers = requestHeaders(req);
  if (!proxy) return request(url, { method: req.method, headers, agent }, onResponse);
  if (url.protocol === 'http:') {
    return http.request({
      host: proxy.hostname, port: Number(proxy.port) || 80, path: url.href, method: req.method, agent,
      headers: { ...headers, host: url.host, ...proxyAuth(proxy) },
    }, onResponse);
  }
  const socket = await connectTunnel(proxy, url, track);
  const tls = await import('node:tls');
  const secure = tls.connect({ socket, servername: url.hostname });
  return request(url, { method: req.method, headers, agent: false, createConnection: () => secure }, onResponse);
}

/** Request headers with Content-Length set for a body (the blob store refuses chunked uploads). */
function requestHeaders(req: HttpRequest): Record<string, string> {
  const headers: Record<string, string> = { ...req.headers };
  const hasLength = Object.keys(headers).some((k) => k.toLowerCase() === 'content-length');
  if (!hasLength && (req.body !== undefined || req.method !== 'GET')) {
    headers['content-length'] = String(req.body === undefined ? 0 : typeof req.body === 'string' ? Buffer.byteLength(req.body) : req.body.byteLength);
  }
  return headers;
}

async function sendOnce(req: HttpRequest, transport: (protocol: string) => Promise<Transport>, file?: FileTarget, proxy?: URL): Promise<HttpResponse> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timedOut = false;
  let cr: http.ClientRequest | undefined;
  let pendingError: Error | undefined;
  // Destroying the request fails whatever waits on it: the response promise, the body read or the file pipeline.
  const stop = (err: Error) => {
    pendingError ??= err;
    cr?.destroy(err);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => stop(req.signal?.reason instanceof Error ? req.signal.reason : new Error('The operation was aborted'));
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (req.signal?.aborted) onAbort();
    if (pendingError) throw pendingError;
    const url = new URL(req.url);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const track = (r: http.ClientRequest) => {
        cr = r;
        if (pendingError) r.destroy(pendingError);
      };
      startRequest(url, req, transport, proxy, track, resolve).then((r) => {
        track(r);
        r.on('error', reject);
        if (req.body !== undefined) r.end(req.body);
        else r.end();
      }, reject);
    });
    const status = res.statusCode ?? 0;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    if (file && status >= 200 && status < 300) {
      const length = Number(headers['content-length']);
      const expected = headers['content-length'] !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : null;
      file.onProgress?.(0, expected);
      const progress = file.onProgress ? (seen: number) => file.onProgress?.(seen, expected) : undefined;
      await pipeline(res, capBytes(file.maxBytes, req.url, progress), createWriteStream(file.path, { mode: 0o600 }));
      return { status, headers, body: Buffer.alloc(0) };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) {
        res.destroy();
        throw new ProtocolError(`Cannot read response from ${redactSecrets(req.url)} as it exceeds ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    // A response cut short (server reset, our timeout) ends the iteration without an error on some node versions.
    if (!res.complete) throw pendingError ?? new Error('the response ended before its body was complete');
    return { status, headers, body: Buffer.concat(chunks) };
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    const what = timedOut ? `timed out after ${timeoutMs} ms` : describeNetworkError(err);
    throw new ProtocolError(`[HTTP Failed] ${req.method} ${redactSecrets(req.url)} -- ${what}`, {
      retryable: true,
      code: timedOut ? 'WAA_PROTOCOL_TIMEOUT' : 'WAA_PROTOCOL_HTTP',
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** A pass-through that fails once more than maxBytes went by (a package larger than it may be). */
function capBytes(maxBytes: number, url: string, onBytes?: (seen: number) => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > maxBytes) cb(new ProtocolError(`Cannot download ${redactSecrets(url)} as it exceeds ${maxBytes} bytes`));
      else {
        onBytes?.(seen);
        cb(null, chunk);
      }
    },
  });
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return [code, err.message, cause?.code].filter(Boolean).join(' ');
  }
  return String(err);
}

export interface RetryPolicy {
  /** Total attempts (upstream's max_retry). */
  readonly maxAttempts: number;
  /** Base delay; attempt n+1 waits base × Fibonacci(n) (2, 3, 5, 8, 13 …). */
  readonly retryDelayMs: number;
  /** Fixed delay once a throttle code (403, 429, 503) was seen. */
  readonly throttleDelayMs: number;
  /** Attempt budget once throttled (upstream raises it to at least 25, except for telemetry). */
  readonly throttledMinAttempts: number;
  /** Extra retryable codes for this call (e.g. 400 for HostGAPlugin artifact GETs). */
  readonly extraRetryCodes?: readonly number[];
  /** Overall deadline for all attempts of this call. */
  readonly deadlineMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  retryDelayMs: 1000,
  throttleDelayMs: 1000,
  throttledMinAttempts: 25,
  deadlineMs: 5 * 60_000,
};

const RETRY_CODES = new Set([205, 206, 403, 500, 501, 502, 503, 504, 507, 429]);
const THROTTLE_CODES = new Set([403, 429, 503]);
export const OK_CODES = new Set([200, 201, 202]);

function fib(n: number): number {
  let a = 2;
  let b = 3;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/**
 * Sends with upstream's retry rules. Returns the final response whatever its status
 * (callers classify with expectOk); rejects only when every attempt failed at the network level.
 */
export async function requestWithRetry(
  http: HttpClient,
  clock: Clock,
  req: HttpRequest,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<HttpResponse> {
  const start = clock.now();
  let maxAttempts = policy.maxAttempts;
  let throttled = false;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await http.send(req);
      const retryable = RETRY_CODES.has(res.status) || (policy.extraRetryCodes?.includes(res.status) ?? false);
      if (!retryable) return res;
      if (THROTTLE_CODES.has(res.status) && !throttled) {
        throttled = true;
        maxAttempts = Math.max(maxAttempts, policy.throttledMinAttempts);
      }
      lastError = new ProtocolError(`[HTTP Failed] ${req.method} ${redactSecrets(req.url)} -- Status Code ${res.status}`, {
        status: res.status,
        retryable: true,
      });
      if (attempt + 1 >= maxAttempts || pastDeadline(clock, start, policy)) return res;
    } catch (err) {
      lastError = err;
      if (!(err instanceof ProtocolError && err.retryable)) throw err;
      if (attempt + 1 >= maxAttempts || pastDeadline(clock, start, policy)) {
        // Keeps the attempt's code so a timeout stays WAA_PROTOCOL_TIMEOUT.
        throw new ProtocolError(`${err.message} -- ${attempt + 1} attempts made`, { retryable: true, cause: err, code: err.code });
      }
    }
    const delay = throttled ? policy.throttleDelayMs : policy.retryDelayMs * fib(attempt);
    await clock.sleep(delay, req.signal);
  }
  // Unreachable; keeps the compiler sure of the return type.
  throw lastError;
}

function pastDeadline(clock: Clock, start: number, policy: RetryPolicy): boolean {
  return policy.deadlineMs !== undefined && clock.now() - start >= policy.deadlineMs;
}

/** Throws the classified error for a non-2xx response; 410 becomes GoneError. */
export function expectOk(res: HttpResponse, what: string, url: string): HttpResponse {
  if (OK_CODES.has(res.status)) return res;
  const msg = `[${what} Failed] URI ${redactSecrets(url)} [HTTP Failed] Status Code ${res.status}`;
  if (res.status === 410) throw new GoneError(msg);
  throw new ProtocolError(msg, { status: res.status, retryable: res.status >= 500 || res.status === 429 });
}

/** Decodes a response as text, dropping a leading 3-byte BOM like upstream. */
export function bodyText(res: HttpResponse): string {
  const b = res.body;
  if (b.length >= 3 && b[0]! > 0x80 && b[1]! > 0x80 && b[2]! > 0x80) return b.subarray(3).toString('utf8');
  return b.toString('utf8');
}
