// Event files in <lib>/events: the agent's own `<µs>.waagent.tld` JSON files and legacy `*.tld` files
// (JSON TelemetryEvent or `<Data><Provider/><Event/><Param/></Data>` XML) dropped by extensions.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../deps.js';
import { attr, findAll, findFirst, parseXml } from '../protocol/xml.js';
import type { Paths } from '../state/paths.js';
import type { FileType, TelemetryEvent, TelemetryParam } from './event.js';

export const EVENTS_DIR = 'events';
export const AGENT_EVENT_SUFFIX = '.waagent.tld';
/** Collected files; group 1 marks the agent's own. `.tmp` files (being written) never match. */
export const EVENT_FILE_RE = /(\.waagent)?\.tld$/;
export const MAX_EVENT_FILES = 1000;
/** Larger event files are deleted unread: an event that big could never be sent (64 512-byte buffer). */
export const MAX_EVENT_FILE_BYTES = 1024 * 1024;

export function eventsDir(paths: Paths): string {
  return join(paths.libDir, EVENTS_DIR);
}

/** The file content: upstream's get_properties(TelemetryEvent). */
export function serializeEvent(e: TelemetryEvent): string {
  return JSON.stringify({
    eventId: e.eventId,
    providerId: e.providerId,
    parameters: e.parameters.map((p) => ({ name: p.name, value: p.value })),
    file_type: e.fileType,
  });
}

/**
 * Writes `<dir>/<µs>.waagent.tld` (as `.tmp`, then renamed). When the folder already holds MAX_EVENT_FILES
 * entries the oldest are deleted so that 999 remain. Returns the number of files deleted.
 */
export async function writeEventFile(dir: string, micros: number, content: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let removed = 0;
  const existing = await readdir(dir);
  if (existing.length >= MAX_EVENT_FILES) {
    // Names start with the µs epoch, so name order is age order (as upstream sorts them).
    existing.sort();
    for (const f of existing.slice(0, existing.length - (MAX_EVENT_FILES - 1))) {
      await rm(join(dir, f), { force: true, recursive: true });
      removed++;
    }
  }
  const base = join(dir, String(micros));
  try {
    await writeFile(`${base}.tmp`, content, { mode: 0o600 });
    await rename(`${base}.tmp`, `${base}${AGENT_EVENT_SUFFIX}`);
  } catch (err) {
    // A full disk must not leave half-written files behind.
    await rm(`${base}.tmp`, { force: true }).catch(() => undefined);
    throw err;
  }
  return removed;
}

const GUID_RE = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const MAX_PARAMS = 256;

const jsonEventSchema = z.object({
  eventId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]),
  providerId: z.string().regex(GUID_RE, 'must be a GUID'),
  parameters: z.array(z.object({ name: z.string().min(1).max(256), value: z.union([z.string(), z.number(), z.boolean()]) })).max(MAX_PARAMS),
});

function zodDetail(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid';
}

function xmlParam(node: Parameters<typeof attr>[0], file: string): TelemetryParam {
  const name = attr(node, 'Name');
  const raw = attr(node, 'Value') ?? '';
  if (!name) throw new Error(`Cannot parse event file ${file} as a Param has no Name`);
  switch (attr(node, 'T')) {
    case 'mt:uint64': {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`Cannot parse event file ${file} as Param ${name} is not an integer: ${raw.slice(0, 40)}`);
      return { name, value: Number(raw) };
    }
    case 'mt:bool':
      return { name, value: raw.trim().toLowerCase() === 'true' };
    case 'mt:float64': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new Error(`Cannot parse event file ${file} as Param ${name} is not a number: ${raw.slice(0, 40)}`);
      return { name, value: v, float: true };
    }
    default:
      return { name, value: raw };
  }
}

function parseXmlEvent(text: string, file: string): TelemetryEvent {
  const root = parseXml(text, `event file ${file}`);
  const eventId = attr(findFirst(root, 'Event'), 'id') ?? '';
  const providerId = attr(findFirst(root, 'Provider'), 'id') ?? '';
  if (!/^\d+$/.test(eventId)) throw new Error(`Cannot parse event file ${file} as Event/@id is not a number`);
  if (!GUID_RE.test(providerId)) throw new Error(`Cannot parse event file ${file} as Provider/@id is not a GUID`);
  const params = findAll(root, 'Param');
  if (params.length > MAX_PARAMS) throw new Error(`Cannot parse event file ${file} as it has more than ${MAX_PARAMS} parameters`);
  return { eventId: Number(eventId), providerId, parameters: params.map((p) => xmlParam(p, file)), fileType: 'xml' };
}

/** A collected event file: JSON first, XML when the text is not JSON (as upstream's parse_event). */
export function parseEventFile(text: string, file: string): TelemetryEvent {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return parseXmlEvent(text, file);
  }
  const r = jsonEventSchema.safeParse(data);
  if (!r.success) throw new Error(`Cannot parse event file ${file} as ${zodDetail(r.error)}`);
  const fileType: FileType = 'json';
  return { eventId: r.data.eventId, providerId: r.data.providerId, parameters: r.data.parameters, fileType };
}

/** The file is larger than allowed: not retried. */
export class SizeError extends Error {}

/** Only a file modified this recently may still be being written: others are not retried. */
export const RETRY_YOUNGER_THAN_MS = 3000;

/**
 * Reads a file of at most maxBytes and parses it. A file that fails while it is young (an extension may be
 * still writing it) is retried up to `attempts` times, `delayMs` apart (upstream: 3 attempts, 1 s), so that old
 * garbage cannot stall a scan.
 */
export async function readParsedFile<T>(
  path: string, maxBytes: number, parse: (text: string) => T, clock: Clock, opts: { attempts?: number; delayMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let young = false;
    try {
      const st = await stat(path);
      if (st.size > maxBytes) throw new SizeError(`Cannot read ${path} as its size ${st.size} exceeds ${maxBytes} bytes`);
      young = clock.now() - st.mtimeMs < RETRY_YOUNGER_THAN_MS;
      return parse(await readFile(path, 'utf8'));
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (err instanceof SizeError || attempt >= attempts || !(young || missing)) throw err;
      await clock.sleep(opts.delayMs ?? 1000, opts.signal);
    }
  }
}
