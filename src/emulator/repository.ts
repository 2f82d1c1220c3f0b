// The extension repository: PluginVersionManifest documents and handler zips built on the fly with yazl.
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import yazl from 'yazl';
import { agentArtifact } from './agent-packages.js';
import { manifestXml, packagesOf } from './documents.js';
import { HttpError } from './http-util.js';
import type { ResolvedScenario, ScenarioExtension, ScenarioPackage } from './scenario.js';
import { parseRepoPath } from './urls.js';

export interface Artifact {
  readonly body: Buffer;
  readonly contentType: string;
}

const MAX_ZIP_BYTES = 64 * 1024 * 1024;
const MAX_ZIP_FILES = 10_000;
const MAX_CACHED_ZIPS = 64;
const MAX_REMEMBERED = 16;

export class Repository {
  /** Newest first: the agent may still be working on an older goal state's handlers. */
  private readonly scenarios: ResolvedScenario[] = [];
  private readonly zips = new Map<string, Promise<Buffer>>();

  remember(s: ResolvedScenario): void {
    this.scenarios.unshift(s);
    if (this.scenarios.length > MAX_REMEMBERED) this.scenarios.length = MAX_REMEMBERED;
  }

  /** The artifact at a repository path, as a blob store would serve it; HttpError 404 when unknown. */
  async get(pathname: string, base: string): Promise<Artifact> {
    const agent = await agentArtifact(pathname, base, this.scenarios);
    if (agent) return agent;
    const target = parseRepoPath(pathname);
    if (!target) throw new HttpError(404, 'The specified blob does not exist.', 'BlobNotFound');
    if (target.kind === 'manifest') {
      const ext = this.findExtension(target.name);
      if (!ext || (target.manifest === 'primary' && ext.failPrimaryManifest)) {
        throw new HttpError(404, 'The specified blob does not exist.', 'BlobNotFound');
      }
      return { body: Buffer.from(manifestXml(base, ext), 'utf8'), contentType: 'text/xml; charset=utf-8' };
    }
    const pkg = this.findPackage(target.name, target.version);
    if (!pkg) throw new HttpError(404, 'The specified blob does not exist.', 'BlobNotFound');
    return { body: await this.zipFor(pkg), contentType: 'application/zip' };
  }

  private findExtension(name: string): ScenarioExtension | undefined {
    for (const s of this.scenarios) {
      const e = s.extensions.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (e) return e;
    }
    return undefined;
  }

  private findPackage(name: string, version: string): ScenarioPackage | undefined {
    for (const s of this.scenarios) {
      for (const e of s.extensions) {
        if (e.name.toLowerCase() !== name.toLowerCase()) continue;
        const p = packagesOf(e).find((x) => x.version === version);
        if (p) return p;
      }
    }
    return undefined;
  }

  private async zipFor(p: ScenarioPackage): Promise<Buffer> {
    if (p.packageZip !== undefined) {
      // Served as-is and re-read every time: hostile-zip tests may rewrite the file.
      const st = await stat(p.packageZip);
      if (st.size > MAX_ZIP_BYTES) throw new HttpError(500, 'package zip too large', 'InternalError');
      return readFile(p.packageZip);
    }
    const dir = p.packageDir;
    if (dir === undefined) throw new HttpError(404, 'no package for this version', 'BlobNotFound');
    const key = `${dir}\0${p.version}`;
    let zip = this.zips.get(key);
    if (!zip) {
      zip = buildZip(dir);
      zip.catch(() => this.zips.delete(key));
      this.zips.set(key, zip);
      if (this.zips.size > MAX_CACHED_ZIPS) {
        const oldest = this.zips.keys().next().value;
        if (oldest !== undefined) this.zips.delete(oldest);
      }
    }
    return zip;
  }
}

/** Regular files under dir (symlinks and specials skipped), bounded in count. */
async function listFiles(dir: string): Promise<Array<{ path: string; mode: number; size: number }>> {
  const out: Array<{ path: string; mode: number; size: number }> = [];
  const pending = [dir];
  while (pending.length) {
    const d = pending.pop() as string;
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const full = join(d, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile()) {
        const st = await lstat(full);
        out.push({ path: full, mode: st.mode, size: st.size });
        if (out.length > MAX_ZIP_FILES) throw new Error(`${dir}: more than ${MAX_ZIP_FILES} files`);
      }
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Zips a handler folder, keeping unix modes so scripts stay executable after extraction. */
export async function buildZip(dir: string): Promise<Buffer> {
  const files = await listFiles(dir);
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > MAX_ZIP_BYTES) throw new Error(`${dir}: more than ${MAX_ZIP_BYTES} bytes`);
  const zip = new yazl.ZipFile();
  const mtime = new Date(Date.UTC(2020, 0, 1));
  for (const f of files) {
    const name = relative(dir, f.path).split(sep).join('/');
    zip.addBuffer(await readFile(f.path), name, { mode: f.mode, mtime });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
