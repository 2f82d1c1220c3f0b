// HandlerManifest.json (extension-handlers.md §4): a JSON array, only element [0] is used.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ExtCode, ExtensionError } from '../errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../protocol/schemas/json-text.js';

export type HandlerOperation = 'install' | 'uninstall' | 'update' | 'enable' | 'disable';

export interface ResourceLimits {
  readonly cpuQuotaPercentage?: unknown;
  readonly memoryQuotaInMB?: unknown;
  readonly services?: unknown;
  readonly [key: string]: unknown;
}

export interface HandlerManifest {
  /** Command lines relative to the handler directory (non-string values are dropped); see requireCommand. */
  readonly commands: Readonly<Partial<Record<HandlerOperation, string>>>;
  readonly reportHeartbeat: boolean;
  readonly continueOnUpdateFailure: boolean;
  readonly supportsMultipleExtensions: boolean;
  /** Raw `updateMode`, null when absent. */
  readonly updateMode: string | null;
  /** Run install during an upgrade: `updateMode` absent or `UpdateWithInstall` (any case). */
  readonly installOnUpdate: boolean;
  readonly resourceLimits: ResourceLimits | null;
  readonly signingInfo: Readonly<Record<string, unknown>> | null;
  /** Upstream's telemetry warnings for boolean fields that are present but not JSON booleans. */
  readonly warnings: readonly string[];
}

const COMMAND_KEYS: Record<HandlerOperation, string> = {
  install: 'installCommand',
  uninstall: 'uninstallCommand',
  update: 'updateCommand',
  enable: 'enableCommand',
  disable: 'disableCommand',
};

const BOOLEAN_KEYS = ['reportHeartbeat', 'continueOnUpdateFailure', 'supportsMultipleExtensions'] as const;

// Loose on purpose: only the structure is required here. Commands and optional fields are checked when used, so a
// bad updateCommand does not break enable (as upstream, which reads each key lazily).
const ManifestSchema = z
  .array(
    z.looseObject({
      handlerManifest: z.looseObject({
        reportHeartbeat: z.unknown().optional(),
        continueOnUpdateFailure: z.unknown().optional(),
        supportsMultipleExtensions: z.unknown().optional(),
        updateMode: z.unknown().optional(),
      }),
      resourceLimits: z.unknown().optional(),
      signingInfo: z.unknown().optional(),
    }),
  )
  .min(1);

/** JSON true, or the string "true" in any case; anything else is false (upstream `_parse_boolean_value`). */
function manifestBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  return typeof value === 'string' && value.toLowerCase() === 'true';
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function malformed(source: string, detail: string): ExtensionError {
  return new ExtensionError(`Malformed manifest file (${source}): ${detail}`, ExtCode.PluginHandlerManifestDeserializationError, {
    code: 'WAA_EXT_MANIFEST',
  });
}

/** Parses HandlerManifest.json text; `source` names the file in errors. */
export function parseHandlerManifest(text: string, source: string): HandlerManifest {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let data: unknown;
  try {
    if (exceedsJsonDepth(body)) throw new SyntaxError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    data = JSON.parse(body);
  } catch (err) {
    throw malformed(source, err instanceof Error ? err.message : String(err));
  }
  const parsed = ManifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw malformed(source, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const entry = parsed.data[0]!;
  const hm = entry.handlerManifest;

  const commands: Partial<Record<HandlerOperation, string>> = {};
  for (const [op, key] of Object.entries(COMMAND_KEYS) as [HandlerOperation, string][]) {
    const value = hm[key];
    if (typeof value === 'string') commands[op] = value;
  }

  const warnings: string[] = [];
  for (const key of BOOLEAN_KEYS) {
    const value = hm[key];
    if (value !== undefined && value !== null && typeof value !== 'boolean') {
      warnings.push(
        `In the handler manifest: '${key}' has a non-boolean value [${String(value)}] for boolean type. Please change it to a boolean value.`,
      );
    }
  }

  const updateMode = hm.updateMode === undefined || hm.updateMode === null ? null : String(hm.updateMode);
  const installOnUpdate =
    updateMode === null || (typeof hm.updateMode === 'string' && hm.updateMode.toLowerCase() === 'updatewithinstall');

  return {
    commands,
    reportHeartbeat: manifestBoolean(hm.reportHeartbeat),
    continueOnUpdateFailure: manifestBoolean(hm.continueOnUpdateFailure),
    supportsMultipleExtensions: manifestBoolean(hm.supportsMultipleExtensions),
    updateMode,
    installOnUpdate,
    resourceLimits: asRecord(entry.resourceLimits),
    signingInfo: asRecord(entry.signingInfo),
    warnings,
  };
}

/**
 * The command line for `op`. A missing command is an unexpected error (code -1) raised only when that
 * operation runs, as upstream's KeyError is.
 */
export function requireCommand(manifest: HandlerManifest, op: HandlerOperation): string {
  const cmd = manifest.commands[op];
  if (cmd === undefined) {
    throw new ExtensionError(
      `Cannot run ${op} as the handler manifest has no string '${COMMAND_KEYS[op]}'`,
      ExtCode.PluginUnknownFailure,
      { code: 'WAA_EXT_MANIFEST' },
    );
  }
  return cmd;
}

/**
 * First `HandlerManifest.json` under `baseDir`, searched like Python's `os.walk` top-down: a directory's files
 * before its subdirectories, subdirectories depth-first. Names are sorted for a stable result; symlinked
 * directories are not followed.
 */
export async function findHandlerManifest(baseDir: string, fileName = 'HandlerManifest.json'): Promise<string | null> {
  let entries;
  try {
    entries = await readdir(baseDir, { withFileTypes: true });
  } catch {
    return null;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const dirs: string[] = [];
  for (const e of entries) {
    const full = join(baseDir, e.name);
    let isFile = e.isFile();
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) {
      const target = await stat(full).catch(() => null);
      isFile = target?.isFile() ?? false;
      isDir = false;
    }
    if (isFile && e.name === fileName) return full;
    if (isDir) dirs.push(full);
  }
  for (const dir of dirs) {
    const found = await findHandlerManifest(dir, fileName);
    if (found !== null) return found;
  }
  return null;
}
