// Encodes events into TelemetryData request bodies, as upstream's event_to_v1_encoded/report_event do. Pure.
import type { ParamValue, TelemetryEvent, TelemetryParam } from './event.js';

/** Bytes of concatenated events per request: upstream's 2^16 - 2^10 = 64 512; an event that alone reaches it is dropped. */
export const MAX_EVENT_BUFFER_BYTES = 2 ** 16 - 2 ** 10;

// Characters XML 1.0 forbids even inside CDATA (command output carries ANSI escapes); one would make the fabric
// reject the whole request, so they become U+FFFD. Lone surrogates become U+FFFD when the body is UTF-8 encoded.
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Python's xml.sax.saxutils.quoteattr: escaped and quoted, quotes included. */
export function quoteAttr(text: string): string {
  const d = text
    .replace(/&/g, '&amp;').replace(/>/g, '&gt;').replace(/</g, '&lt;')
    .replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
  if (!d.includes('"')) return `"${d}"`;
  if (!d.includes("'")) return `'${d}'`;
  return `"${d.replace(/"/g, '&quot;')}"`;
}

function isFloat(p: TelemetryParam): boolean {
  return typeof p.value === 'number' && (p.float === true || !Number.isInteger(p.value));
}

export function paramType(p: TelemetryParam): 'mt:wstr' | 'mt:uint64' | 'mt:bool' | 'mt:float64' {
  if (typeof p.value === 'boolean') return 'mt:bool';
  if (typeof p.value === 'number') return isFloat(p) ? 'mt:float64' : 'mt:uint64';
  return 'mt:wstr';
}

/** The value as Python's str() prints it: True/False, "1.0" for an integral float. */
export function valueText(p: TelemetryParam): string {
  const v: ParamValue = p.value;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' && isFloat(p) && Number.isInteger(v)) return `${v}.0`;
  return String(v).replace(INVALID_XML_CHARS, '\uFFFD');
}

export function encodeParam(p: TelemetryParam): string {
  return `<Param Name=${quoteAttr(p.name)} Value=${quoteAttr(valueText(p))} T="${paramType(p)}" />`;
}

export function encodeEvent(e: TelemetryEvent): string {
  return `<Event id="${e.eventId}"><![CDATA[${e.parameters.map(encodeParam).join('')}]]></Event>`;
}

export function wrapEvents(providerId: string, encodedEvents: string): string {
  return `<?xml version="1.0"?><TelemetryData version="1.0"><Provider id=${quoteAttr(providerId)}>${encodedEvents}</Provider></TelemetryData>`;
}

export interface TelemetryRequest {
  readonly providerId: string;
  readonly body: string;
  readonly events: number;
}

export interface BuiltRequests {
  readonly requests: readonly TelemetryRequest[];
  /** Events whose own encoding reaches the limit: never sent. */
  readonly oversized: readonly { readonly event: TelemetryEvent; readonly bytes: number }[];
}

/**
 * One request per provider: events of a provider are concatenated until the next one would make the buffer
 * reach `limit` bytes, then the buffer is flushed (as upstream; the XML envelope is not counted).
 */
export function buildRequests(events: Iterable<TelemetryEvent>, limit = MAX_EVENT_BUFFER_BYTES): BuiltRequests {
  const requests: TelemetryRequest[] = [];
  const oversized: { event: TelemetryEvent; bytes: number }[] = [];
  const buffers = new Map<string, { parts: string[]; bytes: number }>();
  const flush = (providerId: string, b: { parts: string[]; bytes: number }) => {
    if (b.parts.length > 0) requests.push({ providerId, body: wrapEvents(providerId, b.parts.join('')), events: b.parts.length });
    b.parts = [];
    b.bytes = 0;
  };
  for (const event of events) {
    const text = encodeEvent(event);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes >= limit) {
      oversized.push({ event, bytes });
      continue;
    }
    let b = buffers.get(event.providerId);
    if (!b) buffers.set(event.providerId, (b = { parts: [], bytes: 0 }));
    if (b.bytes + bytes >= limit) flush(event.providerId, b);
    b.parts.push(text);
    b.bytes += bytes;
  }
  for (const [providerId, b] of buffers) flush(providerId, b);
  return { requests, oversized };
}
