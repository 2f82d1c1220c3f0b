// Extension Telemetry Pipeline events (extension-handlers.md §16): validation and conversion. Pure.
import { z } from 'zod';
import { redactSecrets } from '../log/redact.js';
import type { CommonParams } from './common-params.js';
import { LOG_EVENT_ID, LOG_PROVIDER_ID, type TelemetryEvent, type TelemetryParam } from './event.js';

export const ETP_LIMITS = {
  maxMessageChars: 3072,
  maxEventChars: 6144,
  maxEventsPerHandler: 360,
  maxFileBytes: 4 * 1024 * 1024,
} as const;

/** The eight required keys, lower-cased, in upstream's check order (sorted). */
export const ETP_KEYS = ['eventlevel', 'eventpid', 'eventtid', 'message', 'operationid', 'taskname', 'timestamp', 'version'] as const;
type EtpKey = (typeof ETP_KEYS)[number];

export type ExtensionEvent = Readonly<Record<EtpKey, string>>;

export type EtpResult = { readonly ok: true; readonly event: ExtensionEvent } | { readonly ok: false; readonly reason: string };

const text = z.string().transform((s) => redactSecrets(s.trim()));
// EventPid/EventTid may be integers (agent 2.10+); they are sent as text.
const idText = z.union([z.number().int().transform(String), text]);
const valueSchema: Record<EtpKey, z.ZodType<string, unknown>> = {
  eventlevel: text, eventpid: idText, eventtid: idText, message: text, operationid: text, taskname: text, timestamp: text, version: text,
};
const objectSchema = z.record(z.string(), z.unknown());

/** Number of code points (Python's len). */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** The first `max` code points (Python's s[:max]). */
export function sliceCodePoints(s: string, max: number): string {
  if (s.length <= max) return s;
  let n = 0;
  let i = 0;
  for (const ch of s) {
    if (n++ >= max) break;
    i += ch.length;
  }
  return s.slice(0, i);
}

/**
 * Validates one event object: keys case-insensitive, the eight keys required (others ignored), values trimmed
 * and SAS-redacted, Message non-empty and cut to 3072 characters, the whole event at most 6144 characters.
 * Reasons use upstream's InvalidExtensionEventError wording, so dropped counts group the same way.
 */
export function validateExtensionEvent(raw: unknown): EtpResult {
  const obj = objectSchema.safeParse(raw);
  if (!obj.success || Array.isArray(raw)) return { ok: false, reason: 'InvalidEventError: event is not a JSON object' };
  const event: Partial<Record<EtpKey, string>> = {};
  for (const [k, v] of Object.entries(obj.data)) {
    const key = k.toLowerCase() as EtpKey;
    if (!(ETP_KEYS as readonly string[]).includes(key)) continue;
    const r = valueSchema[key].safeParse(v);
    if (!r.success) return { ok: false, reason: `InvalidTypeError: ${key} must be a string${key === 'eventpid' || key === 'eventtid' ? ' or an integer' : ''}` };
    event[key] = r.data;
  }
  if (event.message === undefined) return { ok: false, reason: 'MissingKeyError: Message not found' };
  event.message = sliceCodePoints(event.message, ETP_LIMITS.maxMessageChars);
  if (event.message === '') return { ok: false, reason: 'EmptyMessageError: Message should not be empty' };
  let size = 0;
  for (const key of ETP_KEYS) {
    const v = event[key];
    if (v === undefined) return { ok: false, reason: `MissingKeyError: ${key} not found` };
    size += codePoints(v);
  }
  if (size > ETP_LIMITS.maxEventChars) return { ok: false, reason: `OversizeEventError: max event size allowed: ${ETP_LIMITS.maxEventChars}` };
  return { ok: true, event: event as ExtensionEvent };
}

/**
 * The telemetry event for a valid extension event: the agent's common params (OpcodeName = the file's mtime)
 * with TaskName, EventPid and EventTid replaced in place, then EventName, CapabilityUsed, Context1-3 (as upstream).
 */
export function extensionTelemetryEvent(handlerName: string, e: ExtensionEvent, fileTimeMs: number, common: CommonParams): TelemetryEvent {
  const kind = { eventId: LOG_EVENT_ID, providerId: LOG_PROVIDER_ID, fileType: 'json' as const };
  const replace: Record<string, string> = { TaskName: e.taskname, EventPid: e.eventpid, EventTid: e.eventtid };
  const params: TelemetryParam[] = common.for(kind, fileTimeMs, { pid: 0, tid: 0, taskName: '' })
    .map((p) => (p.name in replace ? { name: p.name, value: replace[p.name]! } : p));
  params.push(
    { name: 'EventName', value: `${handlerName}-${e.version}` },
    { name: 'CapabilityUsed', value: e.eventlevel },
    { name: 'Context1', value: e.message },
    { name: 'Context2', value: e.timestamp },
    { name: 'Context3', value: e.operationid },
  );
  return { ...kind, parameters: params };
}
