// Status files written by extensions, and their heartbeat (extension-handlers.md §12).
import { readFile as fsReadFile, stat as fsStat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { ExtCode } from '../errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../protocol/schemas/json-text.js';
import { type JsonValue, pyJsonDumps } from '../util/py-json.js';

export const STATUS_VALUES = ['transitioning', 'warning', 'error', 'success'] as const;
export type ExtensionStatusValue = (typeof STATUS_VALUES)[number];

export const MAX_STATUS_FILE_SIZE = 128 * 1024;
const MAX_STATUS_MESSAGE_LENGTH = 1024;
const MAX_SUBSTATUS_FIELD_LENGTH = 10 * 1024;
const TRUNCATED_SUFFIX = ' ... [TRUNCATED]';

export interface ExtensionSubStatus {
  readonly name: JsonValue;
  readonly status: ExtensionStatusValue;
  readonly code: JsonValue;
  readonly message: string | null;
}

/** How the status file was found (`empty`: the file held `[]` or `null`). */
export type StatusFileOutcome = 'ok' | 'empty' | 'missing' | 'unreadable' | 'invalid-json' | 'malformed' | 'truncated';

/** An extension's status as reported in the status blob (upstream `ExtensionStatus`). */
export interface ExtensionStatusResult {
  /** The handler name (single-config) or the extension name (multi-config). */
  readonly name: string;
  readonly sequenceNumber: number;
  /** null only when the file held an empty array or `null`, reported as is by upstream. */
  readonly status: ExtensionStatusValue | null;
  /** Passed through from the file (extensions do write strings here). */
  readonly code: JsonValue;
  readonly message: string | null;
  readonly operation: JsonValue;
  readonly configurationAppliedTime: JsonValue;
  readonly substatus: readonly ExtensionSubStatus[];
  readonly outcome: StatusFileOutcome;
  /** Detail for the log when the outcome is not `ok`. */
  readonly problem: string | null;
}

export interface ReadExtensionStatusOptions {
  readonly statusDir: string;
  readonly fileName: string;
  /** Status name: handler name (SC) or extension name (MC). */
  readonly extensionName: string;
  /** `<HandlerName>` (SC) or `<HandlerName>.<extName>` (MC). */
  readonly extensionFullName: string;
  /** `<HandlerName>-<Version>` (SC) or `<HandlerName>.<extName>-<Version>` (MC). */
  readonly fullName: string;
  readonly seq: number;
  readonly readFile?: (path: string) => Promise<string>;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Attempts for unreadable or unparsable files (default 4: the handler may be mid-write). */
  readonly attempts?: number;
  /** Attempts for a missing file (default 1). */
  readonly missingAttempts?: number;
  readonly retryDelayMs?: number;
}

/** Upstream waits 5 × 2 s on any failure, including a missing file (8 s per missing file per report). */
export const UPSTREAM_STATUS_RETRY = { attempts: 5, missingAttempts: 5, retryDelayMs: 2000 } as const;
// Deliberate improvement: a missing file is the normal "not written yet" state, so it is not retried; a parse
// failure gets a few quick retries in case the handler is rewriting the file in place.
export const DEFAULT_STATUS_RETRY = { attempts: 4, missingAttempts: 1, retryDelayMs: 200 } as const;

type ReadFailure = { kind: 'missing' | 'unreadable' | 'invalid-json'; detail: string };
type ReadOk = { kind: 'ok'; text: string; data: unknown };

async function readOnce(path: string, read: (p: string) => Promise<string>): Promise<ReadOk | ReadFailure> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing', detail: `Status file ${path} does not exist` };
    return { kind: 'unreadable', detail: errText(err) };
  }
  try {
    if (exceedsJsonDepth(text)) throw new SyntaxError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    return { kind: 'ok', text, data: JSON.parse(text) };
  } catch (err) {
    return { kind: 'invalid-json', detail: `${errText(err)} \n First 2000 Bytes of status file:\n ${text.slice(0, 2000)}` };
  }
}

const malformedMsg = (detail: string): string => `Invalid status format by extension: ${detail}`;
const missingKey = (path: string): string => malformedMsg(`Missing ${path} key`);
const valueList = `[${STATUS_VALUES.map((s) => `'${s}'`).join(', ')}]`;

/** A key that must be present (any value, null included), as upstream's `validate_has_key`. */
const present = (path: string) => z.unknown().refine((v) => v !== undefined, { message: missingKey(path) });
const objectAt = <T extends z.core.$ZodLooseShape>(path: string, shape: T) =>
  z.looseObject(shape, { error: malformedMsg(`${path} must be an object`) });

const FormattedMessage = objectAt('formattedMessage', {
  lang: present('formattedMessage/lang'),
  message: present('formattedMessage/message').pipe(
    z.string({ error: malformedMsg('formattedMessage/message must be a string') }).nullable(),
  ),
}).nullish();

const SubStatus = objectAt('substatus', {
  status: present('substatus/status').refine((v) => (STATUS_VALUES as readonly unknown[]).includes(v), {
    error: (issue) => `Invalid value ${pyStr(issue.input)} in range ${valueList} at the node substatus/status`,
  }),
  formattedMessage: FormattedMessage,
}).nullable();

const StatusEntry = objectAt('(status entry)', {
  status: present('status').pipe(
    objectAt('status', {
      status: present('status/status'),
      formattedMessage: FormattedMessage,
      substatus: z.array(SubStatus, { error: malformedMsg('substatus must be a list') }).nullish(),
    }),
  ),
});

/** Python's str() for the values that can appear in upstream messages. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return v;
  return pyJsonDumps(v);
}

function truncate(field: string | null, max: number): [string | null, number] {
  if (field === null) return [null, 0];
  const chars = Array.from(field);
  if (chars.length < max) return [field, chars.length];
  const cut = chars.slice(0, max).join('') + TRUNCATED_SUFFIX;
  return [cut, max + TRUNCATED_SUFFIX.length];
}

async function readWithRetry(path: string, o: ReadExtensionStatusOptions): Promise<ReadOk | ReadFailure> {
  const read = o.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  const sleep = o.sleep ?? ((ms: number) => delay(ms));
  for (let attempt = 1; ; attempt++) {
    const r = await readOnce(path, read);
    const limit =
      r.kind === 'missing'
        ? (o.missingAttempts ?? DEFAULT_STATUS_RETRY.missingAttempts)
        : (o.attempts ?? DEFAULT_STATUS_RETRY.attempts);
    if (r.kind === 'ok' || attempt >= limit) return r;
    await sleep(o.retryDelayMs ?? DEFAULT_STATUS_RETRY.retryDelayMs);
  }
}

/** Reads `<statusDir>/<fileName>` and turns it into the status to report, per §12's table. Never throws. */
export async function readExtensionStatus(o: ReadExtensionStatusOptions): Promise<ExtensionStatusResult> {
  const path = join(o.statusDir, o.fileName);
  const base = { name: o.extensionName, sequenceNumber: o.seq, operation: null, configurationAppliedTime: null, substatus: [] };

  const r = await readWithRetry(path, o);
  if (r.kind === 'missing') {
    const message = `This status is being reported by the Guest Agent since no status file was reported by extension ${o.extensionFullName}: ${r.detail}`;
    return { ...base, status: 'transitioning', code: ExtCode.PluginSuccess, message, outcome: 'missing', problem: r.detail };
  }
  if (r.kind === 'unreadable') {
    const message = `We couldn't read any status for ${o.fullName} extension, for the sequence number ${o.seq}. It failed due to ${r.detail}`;
    return { ...base, status: 'error', code: ExtCode.PluginUnknownFailure, message, outcome: 'unreadable', problem: r.detail };
  }
  if (r.kind !== 'ok') {
    const message = `The status reported by the extension ${o.fullName}(Sequence number ${o.seq}), was in an incorrect format and the agent could not parse it correctly. Failed due to ${r.detail}`;
    return { ...base, status: 'error', code: ExtCode.PluginSettingsStatusInvalid, message, outcome: 'invalid-json', problem: r.detail };
  }

  const malformed = (detail: string): ExtensionStatusResult => {
    const message = `Could not get a valid status from the extension ${o.fullName}. Encountered the following error: ${detail}`;
    return { ...base, status: 'error', code: ExtCode.PluginSettingsStatusInvalid, message, outcome: 'malformed', problem: detail };
  };

  const data = r.data;
  if (data === null || (Array.isArray(data) && data.length === 0)) {
    return { ...base, status: null, code: null, message: null, outcome: 'empty', problem: 'The status file holds no status' };
  }
  if (!Array.isArray(data)) {
    return malformed(`The extension status must be an array: ${pyJsonDumps(data).slice(0, 4096)}`);
  }
  const parsed = StatusEntry.safeParse(data[0]);
  if (!parsed.success) return malformed(parsed.error.issues[0]?.message ?? malformedMsg('invalid status'));

  const st = parsed.data.status;
  const raw = st as Record<string, unknown>;
  const status = (STATUS_VALUES as readonly unknown[]).includes(st.status) ? (st.status as ExtensionStatusValue) : 'error';
  const substatus: ExtensionSubStatus[] = [];
  for (const item of st.substatus ?? []) {
    if (item === null) continue;
    const it = item as Record<string, unknown>;
    substatus.push({
      name: (it.name ?? null) as JsonValue,
      status: item.status as ExtensionStatusValue,
      code: (it.code === undefined ? 0 : it.code) as JsonValue,
      message: item.formattedMessage?.message ?? null,
    });
  }
  const result: ExtensionStatusResult = {
    ...base,
    status,
    code: (raw.code === undefined ? 0 : raw.code) as JsonValue,
    message: st.formattedMessage?.message ?? null,
    operation: (raw.operation ?? null) as JsonValue,
    configurationAppliedTime: (raw.configurationAppliedTime ?? null) as JsonValue,
    substatus,
    outcome: 'ok',
    problem: null,
  };

  // Upstream measures the decoded text in characters (code points), not bytes.
  const size = r.text.length <= MAX_STATUS_FILE_SIZE ? r.text.length : Array.from(r.text).length;
  if (size <= MAX_STATUS_FILE_SIZE) return result;

  // Too big: keep the status, cut the message and the substatus list so the blob stays bounded.
  const [message, messageSize] = truncate(result.message, MAX_STATUS_MESSAGE_LENGTH);
  let total = messageSize;
  const kept: ExtensionSubStatus[] = [];
  for (const sub of result.substatus) {
    const [name, nameSize] = typeof sub.name === 'string' ? truncate(sub.name, MAX_SUBSTATUS_FIELD_LENGTH) : [sub.name, 0];
    const [subMessage, subMessageSize] = truncate(sub.message, MAX_SUBSTATUS_FIELD_LENGTH);
    total += nameSize + subMessageSize;
    if (total > MAX_STATUS_FILE_SIZE) break;
    kept.push({ ...sub, name, message: subMessage });
  }
  const problem = `For Extension Handler ${o.fullName} for the sequence number ${o.seq}, the status file ${path} of size ${size} bytes is too big. Max Limit allowed is ${MAX_STATUS_FILE_SIZE} bytes`;
  return { ...result, message, substatus: kept, outcome: 'truncated', problem };
}

export const HEARTBEAT_STALE_SECONDS = 600;

/**
 * `kind: 'ok'`: the heartbeat's status replaces the handler status, and `message` (present only when the file has a
 * formattedMessage) the handler message. `unresponsive`: only the status is replaced. `error`: the handler status
 * becomes NotReady with this message and code.
 */
export type HeartbeatResult =
  | { readonly kind: 'ok'; readonly status: string | null; readonly message?: string | null }
  | { readonly kind: 'unresponsive'; readonly status: 'Unresponsive'; readonly code: -1; readonly message: string }
  | { readonly kind: 'error'; readonly code: number; readonly message: string };

const HeartbeatFile = z
  .array(
    z.looseObject({
      heartbeat: z.looseObject({
        status: z.string({ error: 'heartbeat.status must be a string' }).nullish(),
        formattedMessage: FormattedMessage,
      }, { error: "missing or invalid 'heartbeat'" }),
    }),
    { error: 'expected a JSON array' },
  )
  .min(1, { error: 'empty array' });

/** Reads `<base>/heartbeat.log`; `now` in ms since the epoch. Older than 600 s (mtime) is Unresponsive. */
export async function readHeartbeat(
  path: string,
  now: number,
  io: { readFile?: (p: string) => Promise<string>; mtimeMs?: (p: string) => Promise<number> } = {},
): Promise<HeartbeatResult> {
  const mtime = io.mtimeMs ?? (async (p: string) => (await fsStat(p)).mtimeMs);
  const hbError = (message: string): HeartbeatResult => ({ kind: 'error', code: ExtCode.PluginUnknownFailure, message });
  let mtimeMs: number;
  try {
    mtimeMs = await mtime(path);
  } catch {
    return hbError('Failed to get heart beat file');
  }
  if (Math.trunc((now - mtimeMs) / 1000) > HEARTBEAT_STALE_SECONDS) {
    return { kind: 'unresponsive', status: 'Unresponsive', code: -1, message: 'Extension heartbeat is not responsive' };
  }
  let text: string;
  try {
    text = await (io.readFile ?? ((p: string) => fsReadFile(p, 'utf8')))(path);
  } catch (err) {
    return hbError(`Failed to get heartbeat file:${errText(err)}`);
  }
  let data: unknown;
  try {
    if (exceedsJsonDepth(text)) throw new SyntaxError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    data = JSON.parse(text);
  } catch (err) {
    return hbError(`Malformed heartbeat file: ${errText(err)}`);
  }
  const parsed = HeartbeatFile.safeParse(data);
  if (!parsed.success) {
    const detail = parsed.error.issues[0]?.message ?? 'invalid';
    // Missing formattedMessage keys surface with upstream's status-format wording, other problems as malformed.
    return hbError(detail.startsWith('Invalid status format') ? detail : `Malformed heartbeat file: ${detail}`);
  }
  const hb = parsed.data[0]!.heartbeat;
  const status = hb.status ?? null;
  if (!('formattedMessage' in hb)) return { kind: 'ok', status };
  return { kind: 'ok', status, message: hb.formattedMessage?.message ?? null };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
