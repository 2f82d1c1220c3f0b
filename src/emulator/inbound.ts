// Parses what the agent POSTs to the WireServer (health reports, telemetry). Pure: no I/O.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HttpError } from './http-util.js';
import type { HealthReportRecord, TelemetryEventRecord, TelemetryParamRecord, TelemetryRecord } from './recorder.js';

const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, ignoreDeclaration: true, trimValues: false });

function wellFormed(text: string, what: string): void {
  const v = XMLValidator.validate(text);
  if (v !== true) throw new HttpError(400, `${what}: malformed XML: ${v.err.msg} (line ${v.err.line})`, 'InvalidXmlDocument');
}

function field(obj: unknown, ...path: string[]): string | null {
  let cur: unknown = obj;
  for (const p of path) {
    if (Array.isArray(cur)) cur = cur[0];
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (Array.isArray(cur)) cur = cur[0];
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return null;
}

/** `<Health>` report (wire-protocol.md §10.2). A body without Health/Role/Health/State is a 400. */
export function parseHealthReport(text: string, at: number): HealthReportRecord {
  wellFormed(text, 'health report');
  const doc: unknown = parser.parse(text);
  const role = ['Health', 'Container', 'RoleInstanceList', 'Role'];
  const state = field(doc, ...role, 'Health', 'State');
  if (state === null) throw new HttpError(400, 'health report: missing Health/Container/RoleInstanceList/Role/Health/State', 'InvalidXmlDocument');
  return {
    at,
    incarnation: field(doc, 'Health', 'GoalStateIncarnation'),
    containerId: field(doc, 'Health', 'Container', 'ContainerId'),
    instanceId: field(doc, ...role, 'InstanceId'),
    state,
    substatus: field(doc, ...role, 'Health', 'Details', 'SubStatus'),
    description: field(doc, ...role, 'Health', 'Details', 'Description'),
    raw: text,
  };
}

/** `<TelemetryData>` (wire-protocol.md §12): kept raw, with provider ids and the event count for quick checks. */
export function parseTelemetry(text: string, at: number): TelemetryRecord {
  wellFormed(text, 'telemetry');
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<TelemetryData\b/.test(text)) throw new HttpError(400, 'telemetry: root element must be TelemetryData', 'InvalidXmlDocument');
  const providerIds = [...text.matchAll(/<Provider\s+id="([^"]*)"/g)].map((m) => m[1] ?? '');
  const eventCount = [...text.matchAll(/<Event\s+id="/g)].length;
  return { at, raw: text, providerIds, eventCount, events: telemetryEvents(text) };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e]!);
}

/** Events per provider with their `<Param Name=.. Value=.. T=.. />` lists (values single- or double-quoted). */
function telemetryEvents(text: string): TelemetryEventRecord[] {
  const out: TelemetryEventRecord[] = [];
  for (const p of text.matchAll(/<Provider\s+id="([^"]*)">([\s\S]*?)<\/Provider>/g)) {
    for (const e of (p[2] ?? '').matchAll(/<Event\s+id="([^"]*)"><!\[CDATA\[([\s\S]*?)\]\]><\/Event>/g)) {
      const params: TelemetryParamRecord[] = [];
      for (const m of (e[2] ?? '').matchAll(/<Param Name=(?:"([^"]*)"|'([^']*)') Value=(?:"([^"]*)"|'([^']*)') T="([^"]*)" \/>/g)) {
        params.push({ name: decodeEntities(m[1] ?? m[2] ?? ''), value: decodeEntities(m[3] ?? m[4] ?? ''), type: m[5] ?? '' });
      }
      out.push({ providerId: p[1] ?? '', eventId: e[1] ?? '', params });
    }
  }
  return out;
}
