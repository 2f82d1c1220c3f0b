// Small node:http helpers shared by the emulator's routers. Every body read is bounded.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Azure-style error code put in the XML error body. */
    readonly errorCode = 'InvalidInput',
  ) {
    super(message);
  }
}

/** Reads the request body, refusing more than `max` bytes (413). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) throw new HttpError(413, `body larger than ${max} bytes`, 'RequestBodyTooLarge');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) throw new HttpError(413, `body larger than ${max} bytes`, 'RequestBodyTooLarge');
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Replaces how one response's answer goes out (fault injection: slow, cut or altered bodies). It gets what send()
 * would have sent and returns false to let send() deliver it unchanged.
 */
export type BodyFilter = (res: ServerResponse, status: number, body: Buffer, headers: Record<string, string>) => boolean;
const bodyFilters = new WeakMap<ServerResponse, BodyFilter>();

export function setBodyFilter(res: ServerResponse, filter: BodyFilter): void {
  bodyFilters.set(res, filter);
}

export function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const filter = bodyFilters.get(res);
  if (filter) {
    bodyFilters.delete(res);
    if (filter(res, status, buf, { 'Content-Type': contentType, ...extra })) return;
  }
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(buf.length), Connection: 'close', ...extra });
  res.end(buf);
}

export function sendXml(res: ServerResponse, status: number, xml: string): void {
  send(res, status, xml, 'text/xml; charset=utf-8');
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, text, 'text/plain; charset=utf-8');
}

/** Azure Storage / WireServer style error document. */
export function errorXml(code: string, message: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<?xml version="1.0" encoding="utf-8"?><Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error>`;
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendXml(res, err.status, errorXml(err.errorCode, err.message));
}

/** Lower-cased single-valued header, or undefined. */
export function header(req: IncomingMessage | { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
