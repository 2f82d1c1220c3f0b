// Agent self-update in the emulator: the agent manifest of a GAFamily (a PluginVersionManifest listing the
// scenario's agentPackages, each with an optional <Sha256> of ours) and the packages themselves, byte-for-byte.
//   GET /repo/agent/manifest/<family>.xml        GET /repo/agent/pkg/<version>/<file name>
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HttpError } from './http-util.js';
import type { Artifact } from './repository.js';
import type { ResolvedScenario, ScenarioAgentPackage, ScenarioGAFamily } from './scenario.js';
import { REPO_PREFIX } from './urls.js';

export const AGENT_REPO_PREFIX = `${REPO_PREFIX}agent/`;
const MAX_PACKAGE_BYTES = 256 * 1024 * 1024;

// Not documents.ts's: that module imports this one.
const escapeText = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function agentManifestUrl(base: string, family: string): string {
  return `${base}${AGENT_REPO_PREFIX}manifest/${encodeURIComponent(family)}.xml`;
}

export function agentPackageUrl(base: string, p: ScenarioAgentPackage): string {
  return `${base}${AGENT_REPO_PREFIX}pkg/${encodeURIComponent(p.version)}/${encodeURIComponent(basename(p.packageFile))}`;
}

/** The family's agent manifest URIs: as given, else ours when the scenario publishes agent packages. */
export function familyUris(base: string, s: ResolvedScenario, f: ScenarioGAFamily): readonly string[] {
  return f.uris ?? (s.agentPackages.length > 0 ? [agentManifestUrl(base, f.name)] : []);
}

async function readPackage(p: ScenarioAgentPackage): Promise<Buffer> {
  const st = await stat(p.packageFile).catch(() => null);
  if (!st?.isFile()) throw new HttpError(404, 'The specified blob does not exist.', 'BlobNotFound');
  if (st.size > MAX_PACKAGE_BYTES) throw new HttpError(500, 'agent package too large', 'InternalError');
  return readFile(p.packageFile);
}

export async function agentManifestXml(base: string, pkgs: readonly ScenarioAgentPackage[]): Promise<string> {
  let plugins = '';
  for (const p of pkgs) {
    const digest = p.sha256 === false ? null : (p.sha256 ?? createHash('sha256').update(await readPackage(p)).digest('hex'));
    plugins +=
      `    <Plugin>\n      <Version>${escapeText(p.version)}</Version>\n` +
      `      <Uris><Uri>${escapeText(agentPackageUrl(base, p))}</Uri></Uris>\n` +
      (digest === null ? '' : `      <Sha256>${digest}</Sha256>\n`) +
      '    </Plugin>\n';
  }
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<PluginVersionManifest xmlns:i="http://www.w3.org/2001/XMLSchema-instance">\n' +
    `  <Plugins>\n${plugins}  </Plugins>\n  <InternalPlugins />\n</PluginVersionManifest>\n`
  );
}

/**
 * The artifact at an agent repository path, or null when the path is not one. The manifest lists the newest
 * scenario's packages; a package is found in any remembered scenario (the agent may be behind).
 */
export async function agentArtifact(pathname: string, base: string, newestFirst: readonly ResolvedScenario[]): Promise<Artifact | null> {
  if (!pathname.startsWith(AGENT_REPO_PREFIX)) return null;
  const parts = pathname.slice(AGENT_REPO_PREFIX.length).split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return '';
    }
  });
  const notFound = new HttpError(404, 'The specified blob does not exist.', 'BlobNotFound');
  if (parts.length === 2 && parts[0] === 'manifest' && parts[1]!.endsWith('.xml')) {
    const s = newestFirst[0];
    const family = parts[1]!.slice(0, -'.xml'.length);
    if (!s || !s.gaFamilies.some((f) => f.name === family)) throw notFound;
    return { body: Buffer.from(await agentManifestXml(base, s.agentPackages), 'utf8'), contentType: 'text/xml; charset=utf-8' };
  }
  if (parts.length === 3 && parts[0] === 'pkg') {
    for (const s of newestFirst) {
      const p = s.agentPackages.find((x) => x.version === parts[1] && basename(x.packageFile) === parts[2]);
      if (p) return { body: await readPackage(p), contentType: 'application/octet-stream' };
    }
  }
  throw notFound;
}
