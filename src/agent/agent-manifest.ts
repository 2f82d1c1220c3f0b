// The agent manifest: upstream's PluginVersionManifest (wire-protocol.md §8), plus an optional `<Sha256>` per
// `<Plugin>` (ours; upstream ignores unknown elements) that the package must match. Pure: no I/O.
import { z } from 'zod';
import { compareVersions } from '../extensions/version.js';
import { parseManifest } from '../protocol/schemas/manifest.js';
import { validate } from '../protocol/schemas/validate.js';
import { findAll, findFirst, findText, parseXml } from '../protocol/xml.js';

export interface AgentPackageRef {
  readonly version: string;
  readonly uris: readonly string[];
  /** Lower-case hex, or null when the manifest gives none. */
  readonly sha256: string | null;
}

const sha256Schema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'is not a hex sha256').nullable();

/** Packages sorted ascending by version; `source` names the document in errors. */
export function parseAgentManifest(xml: string, source: string): AgentPackageRef[] {
  const base = parseManifest(xml, source);
  const digests = new Map<string, string | null>();
  const root = parseXml(xml, source);
  for (const list of ['Plugins', 'InternalPlugins']) {
    findAll(findFirst(root, list), 'Plugin').forEach((p, i) => {
      const v = findText(p, 'Version');
      const digest = validate(sha256Schema, findText(p, 'Sha256'), source, { at: `${list}/Plugin[${i}]/Sha256` });
      if (v !== null && !digests.has(v)) digests.set(v, digest?.toLowerCase() ?? null);
    });
  }
  return base.packages.map((p) => ({ version: p.version, uris: p.uris, sha256: digests.get(p.version) ?? null }));
}

/** The package whose version equals `version` (not a prefix match), or null. */
export function findAgentPackage(pkgs: readonly AgentPackageRef[], version: string): AgentPackageRef | null {
  return pkgs.filter((p) => compareVersions(p.version, version) === 0 && p.uris.length > 0).at(-1) ?? null;
}

/** The highest version with at least one URI, or null. */
export function highestAgentPackage(pkgs: readonly AgentPackageRef[]): AgentPackageRef | null {
  return pkgs.filter((p) => p.uris.length > 0).at(-1) ?? null;
}
