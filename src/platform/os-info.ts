import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface OsInfo {
  readonly id: string;
  readonly version: string;
  readonly codename: string;
  readonly hostname: string;
}

/** Distro id and version from os-release, as upstream's `get_distro()` reports them. */
export function readOsInfo(osReleasePath = '/etc/os-release'): OsInfo {
  const fields: Record<string, string> = {};
  try {
    for (const line of readFileSync(osReleasePath, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
      if (m) fields[m[1]!] = m[3]!;
    }
  } catch {
    // No os-release: report unknown rather than fail; --version must always work.
  }
  return {
    id: fields.ID ?? 'unknown',
    version: fields.VERSION_ID ?? '',
    codename: fields.VERSION_CODENAME ?? '',
    hostname: hostname(),
  };
}
