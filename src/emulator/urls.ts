// URL layout of the emulated fabric: generated into documents and parsed back by the routers.
import type { ResolvedScenario } from './scenario.js';

export type ConfigType = 'hostingEnvironmentConfig' | 'sharedConfig' | 'extensionsConfig' | 'fullConfig';
export type ManifestKind = 'primary' | 'failover';

export const CONFIG_TYPES: readonly ConfigType[] = ['hostingEnvironmentConfig', 'sharedConfig', 'extensionsConfig', 'fullConfig'];
export const BLOB_PREFIX = '/blob/';
export const REPO_PREFIX = '/repo/';
export const CONTROL_PREFIX = '/__emulator/';

function machinePath(s: ResolvedScenario): string {
  return `/machine/${encodeURIComponent(s.containerId)}/${encodeURIComponent(s.roleInstanceId)}`;
}

export function configUrl(base: string, s: ResolvedScenario, type: ConfigType): string {
  return `${base}${machinePath(s)}?comp=config&type=${type}&incarnation=${s.incarnation}`;
}

export function certificatesUrl(base: string, s: ResolvedScenario): string {
  return `${base}${machinePath(s)}?comp=certificates&incarnation=${s.incarnation}`;
}

export function manifestUrl(base: string, name: string, kind: ManifestKind): string {
  return `${base}${REPO_PREFIX}${kind}/${encodeURIComponent(name)}/manifest.xml`;
}

export function packageUrl(base: string, name: string, version: string): string {
  const n = encodeURIComponent(name);
  const v = encodeURIComponent(version);
  return `${base}${REPO_PREFIX}pkg/${n}/${v}/${n}__${v}.zip`;
}

/** A SAS-looking URL of the status blob; `sig` is checked on every write. */
export function statusBlobUrl(base: string, blobPath: string, sig: string): string {
  return `${base}${blobPath}?sv=2018-03-28&sr=b&sk=system-1&sig=${encodeURIComponent(sig)}&se=9999-01-01T00%3a00%3a00Z&sp=w`;
}

export type RepoTarget =
  | { kind: 'manifest'; name: string; manifest: ManifestKind }
  | { kind: 'package'; name: string; version: string };

/** Parses a repository path (`/repo/...`); null when it is not one of ours. */
export function parseRepoPath(pathname: string): RepoTarget | null {
  if (!pathname.startsWith(REPO_PREFIX)) return null;
  const parts = pathname.slice(REPO_PREFIX.length).split('/');
  try {
    if (parts.length === 3 && (parts[0] === 'primary' || parts[0] === 'failover') && parts[2] === 'manifest.xml') {
      return { kind: 'manifest', name: decodeURIComponent(parts[1] ?? ''), manifest: parts[0] };
    }
    if (parts.length === 4 && parts[0] === 'pkg') {
      const name = decodeURIComponent(parts[1] ?? '');
      const version = decodeURIComponent(parts[2] ?? '');
      if (parts[3] !== `${encodeURIComponent(name)}__${encodeURIComponent(version)}.zip`) return null;
      return { kind: 'package', name, version };
    }
  } catch {
    return null;
  }
  return null;
}

/** Parses `/machine/<container>/<role>`; null when the path has another shape. */
export function parseMachinePath(pathname: string): { containerId: string; roleInstanceId: string } | null {
  const m = /^\/machine\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (!m) return null;
  try {
    return { containerId: decodeURIComponent(m[1] ?? ''), roleInstanceId: decodeURIComponent(m[2] ?? '') };
  } catch {
    return null;
  }
}

/** SAS signatures never reach logs or recorded requests. */
export function redactSas(pathOrUrl: string): string {
  return pathOrUrl.replace(/([?&]sig=)[^&]*/gi, '$1REDACTED');
}

export function httpBase(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}
