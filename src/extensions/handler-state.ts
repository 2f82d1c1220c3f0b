// Agent-owned state in a handler's config dir (extension-handlers.md §8): HandlerState, HandlerStatus and the
// multi-config `<ext>.HandlerState`. Files left by WALinuxAgent are read as is, so a VM can be taken over.
// Reads never throw: a missing or bad file is treated as absent and the problem is returned for the log.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { redactSecrets } from '../log/redact.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { pyJsonDumps } from '../util/py-json.js';

export const HANDLER_STATES = ['NotInstalled', 'Installed', 'Enabled', 'FailedUpgrade'] as const;
export type HandlerState = (typeof HANDLER_STATES)[number];
export const EXTENSION_STATES = ['enabled', 'disabled'] as const;
export type ExtensionState = (typeof EXTENSION_STATES)[number];
export type HandlerStatusValue = 'Ready' | 'NotReady';

export const HANDLER_STATE_FILE = 'HandlerState';
export const HANDLER_STATUS_FILE = 'HandlerStatus';

/** A value read from disk; `problem` is set when the file existed but could not be used. */
export interface StateRead<T> {
  readonly value: T;
  readonly problem: string | null;
}

export interface HandlerStatusRecord {
  readonly name: string;
  readonly version: string;
  readonly status: HandlerStatusValue;
  readonly code: number;
  readonly message: string | null;
  readonly supportsMultiConfig: boolean;
}

/** `<extName>.HandlerState` (multi-config extension state file). */
export function extensionStateFileName(extName: string): string {
  return `${extName}.HandlerState`;
}

type TextRead = { kind: 'missing' } | { kind: 'error'; problem: string } | { kind: 'ok'; text: string };

async function readText(file: string): Promise<TextRead> {
  try {
    return { kind: 'ok', text: await readFile(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'error', problem: `Cannot read ${file}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

async function readEnum<T extends string>(file: string, values: readonly T[], fallback: T): Promise<StateRead<T>> {
  const r = await readText(file);
  if (r.kind === 'missing') return { value: fallback, problem: null };
  if (r.kind === 'error') return { value: fallback, problem: r.problem };
  // Trimmed: a hand-edited file may end with a newline; the agent writes the bare word.
  const text = r.text.trim();
  const found = values.find((v) => v === text);
  if (found !== undefined) return { value: found, problem: null };
  return { value: fallback, problem: `Unknown state ${JSON.stringify(text.slice(0, 100))} in ${file}; using ${fallback}` };
}

async function writeState(configDir: string, fileName: string, value: string, health?: WriteHealth): Promise<void> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(configDir, fileName), value, { health });
}

/** `config/HandlerState`; missing => NotInstalled. */
export function readHandlerState(configDir: string): Promise<StateRead<HandlerState>> {
  return readEnum(join(configDir, HANDLER_STATE_FILE), HANDLER_STATES, 'NotInstalled');
}

export function writeHandlerState(configDir: string, state: HandlerState, health?: WriteHealth): Promise<void> {
  return writeState(configDir, HANDLER_STATE_FILE, state, health);
}

/** `config/<extName>.HandlerState` (multi-config only); missing => disabled. */
export function readExtensionState(configDir: string, extName: string): Promise<StateRead<ExtensionState>> {
  return readEnum(join(configDir, extensionStateFileName(extName)), EXTENSION_STATES, 'disabled');
}

export function writeExtensionState(configDir: string, extName: string, state: ExtensionState, health?: WriteHealth): Promise<void> {
  return writeState(configDir, extensionStateFileName(extName), state, health);
}

/** Exact `HandlerStatus` content (Python json.dumps of upstream's ExtHandlerStatus); the message is redacted. */
export function handlerStatusJson(s: HandlerStatusRecord): string {
  return pyJsonDumps({
    name: s.name,
    version: s.version,
    status: s.status,
    code: s.code,
    message: s.message === null ? null : redactSecrets(s.message),
    supports_multi_config: s.supportsMultiConfig,
    extension_status: null,
  });
}

const HandlerStatusSchema = z.looseObject({
  name: z.string(),
  version: z.string(),
  status: z.enum(['Ready', 'NotReady']),
  code: z.number().int(),
  message: z.string().nullish(),
  supports_multi_config: z.boolean().nullish(),
});

/** Parses `HandlerStatus` text; returns the problem instead of throwing. */
export function parseHandlerStatus(text: string, source: string): StateRead<HandlerStatusRecord | null> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { value: null, problem: `Malformed ${source}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = HandlerStatusSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    return { value: null, problem: `Malformed ${source}: field ${field}: ${issue?.message ?? 'invalid'}` };
  }
  const d = parsed.data;
  return {
    value: {
      name: d.name,
      version: d.version,
      status: d.status,
      code: d.code,
      message: d.message ?? null,
      supportsMultiConfig: d.supports_multi_config ?? false,
    },
    problem: null,
  };
}

/** `config/HandlerStatus`; missing or malformed => null (the handler is then not reported). */
export async function readHandlerStatus(configDir: string): Promise<StateRead<HandlerStatusRecord | null>> {
  const file = join(configDir, HANDLER_STATUS_FILE);
  const r = await readText(file);
  if (r.kind === 'missing') return { value: null, problem: null };
  if (r.kind === 'error') return { value: null, problem: r.problem };
  return parseHandlerStatus(r.text, file);
}

export async function writeHandlerStatus(configDir: string, s: HandlerStatusRecord, health?: WriteHealth): Promise<void> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  // Only reported, and rewritten by every command: not durable (atomic-write.ts).
  await writeFileAtomic(join(configDir, HANDLER_STATUS_FILE), handlerStatusJson(s), { durable: false, health: health });
}
