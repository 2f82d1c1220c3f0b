// The manifest every waagent-ts agent package carries at its root (`waagent-ts-manifest.json`), and the layout of
// downloaded agents in the lib dir (`<lib>/waagent-ts-<version>/`). Hand-checked rather than zod: the daemon reads it.
import { AGENT_NAME } from '../version.js';

export const MANIFEST_FILE = 'waagent-ts-manifest.json';
export const MANIFEST_FORMAT = 1;
/** Versions of our packages: dotted numbers, as upstream's `WALinuxAgent-<v>` directories. */
export const PACKAGE_VERSION_RE = /^\d{1,9}(?:\.\d{1,9}){0,3}$/;
const AGENT_DIR_RE = /^waagent-ts-(\d{1,9}(?:\.\d{1,9}){0,3})$/;
const ENTRY_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

export interface PackageManifest {
  readonly format: number;
  readonly name: string;
  readonly version: string;
  /** The script node runs with `-run-exthandlers`, relative to the package root. */
  readonly entry: string;
}

export function agentDirName(version: string): string {
  return `${AGENT_NAME}-${version}`;
}

/** The version in a lib-dir entry name (`waagent-ts-1.2.3`), or null when it is not an agent directory. */
export function versionOfAgentDir(name: string): string | null {
  return AGENT_DIR_RE.exec(name)?.[1] ?? null;
}

/** Checks a parsed manifest; the error names the source and the field. */
export function checkPackageManifest(value: unknown, source: string): PackageManifest {
  const fail = (field: string, why: string): Error => new Error(`Cannot use ${source} as field ${field} ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('(root)', 'is not an object');
  const v = value as Record<string, unknown>;
  if (v.format !== MANIFEST_FORMAT) throw fail('format', `is not ${MANIFEST_FORMAT}`);
  if (v.name !== AGENT_NAME) throw fail('name', `is not "${AGENT_NAME}" (not a waagent-ts agent package)`);
  if (typeof v.version !== 'string' || !PACKAGE_VERSION_RE.test(v.version)) throw fail('version', 'is not a dotted version');
  if (typeof v.entry !== 'string' || !ENTRY_RE.test(v.entry) || v.entry.split('/').some((p) => p === '..' || p === '.')) {
    throw fail('entry', 'is not a relative path inside the package');
  }
  return { format: MANIFEST_FORMAT, name: AGENT_NAME, version: v.version, entry: v.entry };
}

export function parsePackageManifest(text: string, source: string): PackageManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot use ${source} as it is not JSON: ${(err as Error).message}`);
  }
  return checkPackageManifest(value, source);
}
