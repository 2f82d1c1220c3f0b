// `waagent emulate` options: the package(s) to run, the handler's name and versions, the settings files.
import { open, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';

export interface EmulateSettings {
  readonly publicSettings?: unknown;
  /** Encrypted by the emulator to its tenant certificate, as the fabric does; never printed. */
  readonly protectedSettings?: Record<string, unknown>;
}

export interface PackageRef {
  /** Absolute path of a handler folder or zip. */
  readonly path: string;
  readonly kind: 'dir' | 'zip';
  readonly version: string;
}

export interface EmulateOptions {
  /** `<Publisher>.<Type>` as the goal state names it. */
  readonly name: string;
  readonly pkg: PackageRef;
  /** `--from OLD`: installed first, then updated to pkg. */
  readonly from: PackageRef | null;
  readonly settings: EmulateSettings;
  /** The second goal state's settings (default: the same, with the next sequence number). */
  readonly secondSettings: EmulateSettings;
  /** Per phase: how long to wait for a terminal status; also each command's timeout. */
  readonly timeoutMs: number;
  /** Keep the scratch root even when nothing was breached. */
  readonly keep: boolean;
}

/** The command line as commander hands it over (strings, not yet checked). */
export interface EmulateArgs {
  readonly package: string;
  readonly settings?: string;
  readonly secondSettings?: string;
  readonly from?: string;
  readonly name?: string;
  readonly handlerVersion?: string;
  readonly fromVersion?: string;
  readonly timeout?: string;
  readonly keep?: boolean;
}

export const DEFAULT_TIMEOUT_S = 120;
const MAX_TIMEOUT_S = 3600;
const MAX_SETTINGS_BYTES = 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
const VERSION_RE = /^\d+(\.\d+){0,3}$/;

const settingsSchema = z.object({
  publicSettings: z.unknown().optional(),
  protectedSettings: z.record(z.string(), z.unknown()).optional(),
}).strict();

/** Parses a settings file's text; errors name the file and the field (never a value). */
export function parseSettings(text: string, source: string): EmulateSettings {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const r = settingsSchema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue ? issue.path.join('.') || '(root)' : '(root)';
    const why = issue?.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}; expected publicSettings and protectedSettings` : issue?.message ?? 'invalid';
    throw new Error(`${source}: ${field}: ${why}`);
  }
  return r.data as EmulateSettings;
}

/** Name and version from upstream's spellings: `Pub.Type__1.2.3.zip` (package) or `Pub.Type-1.2.3` (handler folder). */
export function identityFromPath(path: string): { name?: string; version?: string } {
  const base = basename(path);
  const m = /^(.+)__(\d+(?:\.\d+){0,3})\.zip$/i.exec(base) ?? /^(.+)-(\d+(?:\.\d+){0,3})$/.exec(base);
  if (!m || !NAME_RE.test(m[1]!)) return {};
  return { name: m[1]!, version: m[2]! };
}

/** `Emulate.<folder or zip name>` when the path does not name the handler. */
export function defaultName(path: string): string {
  const stem = basename(path).replace(/\.zip$/i, '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return `Emulate.${stem || 'Extension'}`;
}

async function packageKind(path: string, what: string): Promise<'dir' | 'zip'> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new Error(`${what} ${path} does not exist`);
  if (st.isDirectory()) {
    const manifest = await stat(join(path, 'HandlerManifest.json')).catch(() => null);
    if (!manifest?.isFile()) throw new Error(`${what} ${path} has no HandlerManifest.json at its top level`);
    return 'dir';
  }
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.readUInt32LE(0) !== 0x04034b50) throw new Error(`${what} ${path} is neither a folder nor a zip file`);
  } finally {
    await fh.close();
  }
  return 'zip';
}

async function loadSettings(file: string | undefined): Promise<EmulateSettings | null> {
  if (file === undefined) return null;
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new Error(`settings file ${file} does not exist`);
  if (st.size > MAX_SETTINGS_BYTES) throw new Error(`settings file ${file} is larger than ${MAX_SETTINGS_BYTES} bytes`);
  return parseSettings(await readFile(file, 'utf8'), file);
}

function checkVersion(v: string, flag: string): string {
  if (!VERSION_RE.test(v)) throw new Error(`${flag} must be a version such as 1.0.0, got ${JSON.stringify(v)}`);
  return v;
}

export async function resolveOptions(a: EmulateArgs): Promise<EmulateOptions> {
  const pkgPath = resolve(a.package);
  const fromPath = a.from === undefined ? null : resolve(a.from);
  const id = identityFromPath(pkgPath);
  const name = a.name ?? id.name ?? defaultName(pkgPath);
  if (!NAME_RE.test(name)) throw new Error(`--name must be <Publisher>.<Type>, got ${JSON.stringify(name)}`);
  const version = checkVersion(a.handlerVersion ?? id.version ?? (fromPath ? '1.1.0' : '1.0.0'), '--handler-version');
  const pkg: PackageRef = { path: pkgPath, kind: await packageKind(pkgPath, 'package'), version };
  let from: PackageRef | null = null;
  if (fromPath) {
    const fromVersion = checkVersion(a.fromVersion ?? identityFromPath(fromPath).version ?? '1.0.0', '--from-version');
    if (fromVersion === version) throw new Error(`--from: OLD and PACKAGE both have version ${version}; give --from-version or --handler-version`);
    from = { path: fromPath, kind: await packageKind(fromPath, '--from package'), version: fromVersion };
  } else if (a.fromVersion !== undefined) {
    throw new Error('--from-version needs --from');
  }
  const timeoutS = a.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(a.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS < 1 || timeoutS > MAX_TIMEOUT_S) throw new Error(`--timeout must be 1..${MAX_TIMEOUT_S} seconds, got ${a.timeout}`);
  const settings = (await loadSettings(a.settings)) ?? {};
  const secondSettings = (await loadSettings(a.secondSettings)) ?? settings;
  return { name, pkg, from, settings, secondSettings, timeoutMs: Math.round(timeoutS * 1000), keep: a.keep === true };
}
