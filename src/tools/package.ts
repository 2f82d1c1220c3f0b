// `npm run package`: builds a versioned waagent-ts agent package, `waagent-ts-<X.Y.Z>.tar.gz`, from the compiled
// tree. Layout: waagent-ts-manifest.json, package.json, bin/waagent.js, dist/src/**, node_modules/** (the production
// closure without typings, sources, docs or tests). The version is stamped into package.json and dist/src/version.js,
// so the packaged agent reports it everywhere. tar.gz, not zip: modes are kept, the whole stream is compressed, and
// an upstream (zip) agent package can never be mistaken for one of ours.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tar from 'tar';
import { MANIFEST_FILE, MANIFEST_FORMAT, PACKAGE_VERSION_RE, agentDirName, type PackageManifest } from '../daemon/package-manifest.js';
import { AGENT_NAME } from '../version.js';
import { keepDepEntry, productionDeps } from './prod-deps.js';

export interface PackageOptions {
  /** Folder with package.json, bin/waagent.js and node_modules/. */
  readonly repoRoot: string;
  /** The compiled `src` folder (dist/src, or another outDir's src). */
  readonly compiledSrc: string;
  readonly version: string;
  readonly outDir: string;
  /** Files replaced or added (relative path -> content); tests build broken packages with it. */
  readonly overrides?: Readonly<Record<string, string>>;
}

export interface PackageResult {
  readonly file: string;
  readonly version: string;
  readonly bytes: number;
  readonly files: number;
  readonly unpackedBytes: number;
  readonly sha256: string;
}

export const PACKAGE_ENTRY = 'bin/waagent.js';
/** Fixed mtime: the same tree gives the same archive. */
const MTIME = new Date(Date.UTC(2020, 0, 1));

interface Counter {
  files: number;
  bytes: number;
}

function copyTree(from: string, to: string, keep: (name: string, isDir: boolean) => boolean, n: Counter): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!keep(e.name, e.isDirectory())) continue;
    const src = join(from, e.name);
    if (e.isDirectory()) copyTree(src, join(to, e.name), keep, n);
    else if (e.isFile()) {
      copyFileSync(src, join(to, e.name));
      chmodSync(join(to, e.name), statSync(src).mode & 0o755);
      n.files++;
      n.bytes += statSync(src).size;
    }
    // Symlinks and special files are never packaged: the installer refuses them.
  }
}

function stampVersion(staging: string, version: string): void {
  const path = join(staging, 'dist/src/version.js');
  const text = readFileSync(path, 'utf8');
  const stamped = text.replace(/export const AGENT_VERSION = '[^']*';/, `export const AGENT_VERSION = '${version}';`);
  if (stamped === text && !text.includes(`AGENT_VERSION = '${version}'`)) throw new Error(`Cannot stamp the version as ${path} has no AGENT_VERSION`);
  writeFileSync(path, stamped);
  const pkgPath = join(staging, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as Record<string, unknown>;
  const { devDependencies: _dev, scripts: _scripts, ...rest } = pkg;
  writeFileSync(pkgPath, JSON.stringify({ ...rest, version }, null, 2) + '\n');
}

/**
 * Copies the runnable agent into `dest`: package.json (version stamped, no dev fields), bin/waagent.js, dist/src/**
 * and the production node_modules closure. Shared by the self-update package and the Debian package.
 */
export function stageAgentTree(opts: Pick<PackageOptions, 'repoRoot' | 'compiledSrc' | 'version'>, dest: string): { files: number; bytes: number } {
  const n: Counter = { files: 0, bytes: 0 };
  copyTree(opts.compiledSrc, join(dest, 'dist/src'), () => true, n);
  mkdirSync(join(dest, 'bin'), { recursive: true });
  copyFileSync(join(opts.repoRoot, PACKAGE_ENTRY), join(dest, PACKAGE_ENTRY));
  chmodSync(join(dest, PACKAGE_ENTRY), 0o755);
  copyFileSync(join(opts.repoRoot, 'package.json'), join(dest, 'package.json'));
  for (const dep of productionDeps(opts.repoRoot)) {
    // Nested node_modules are dependencies of their own, listed separately by productionDeps.
    copyTree(dep.dir, join(dest, dep.relPath), (name, isDir) => !(isDir && name === 'node_modules') && keepDepEntry(name, isDir), n);
  }
  stampVersion(dest, opts.version);
  return n;
}

export async function buildAgentPackage(opts: PackageOptions): Promise<PackageResult> {
  if (!PACKAGE_VERSION_RE.test(opts.version)) throw new Error(`Cannot package version ${opts.version} as it is not a dotted version`);
  const staging = mkdtempSync(join(tmpdir(), 'waagent-ts-pkg-'));
  try {
    const n = stageAgentTree(opts, staging);
    const manifest: PackageManifest = { format: MANIFEST_FORMAT, name: AGENT_NAME, version: opts.version, entry: PACKAGE_ENTRY };
    writeFileSync(join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    for (const [rel, content] of Object.entries(opts.overrides ?? {})) {
      mkdirSync(dirname(join(staging, rel)), { recursive: true });
      writeFileSync(join(staging, rel), content);
    }
    mkdirSync(opts.outDir, { recursive: true });
    const file = join(opts.outDir, `${agentDirName(opts.version)}.tar.gz`);
    const entries = readdirSync(staging).sort();
    await tar.c({ gzip: { level: 6 }, file, cwd: staging, portable: true, mtime: MTIME }, entries);
    const body = readFileSync(file);
    return {
      file, version: opts.version, bytes: body.length, files: n.files + 3, unpackedBytes: n.bytes,
      sha256: createHash('sha256').update(body).digest('hex'),
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The folder above `from` whose package.json names waagent-ts (dist/src -> the checkout). */
export function findRepoRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === AGENT_NAME) return dir;
    } catch {
      // keep walking up
    }
  }
  throw new Error(`Cannot find the waagent-ts checkout above ${from}`);
}

export function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** `node dist/src/tools/package.js [--version X.Y.Z] [--out DIR]` */
export async function packageMain(args: readonly string[]): Promise<number> {
  const compiledSrc = fileURLToPath(new URL('..', import.meta.url));
  try {
    const repoRoot = findRepoRoot(compiledSrc);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = await buildAgentPackage({
      repoRoot, compiledSrc, version: argValue(args, '--version') ?? pkg.version, outDir: resolve(argValue(args, '--out') ?? join(repoRoot, 'dist/packages')),
    });
    process.stdout.write(`${r.file}\n  version ${r.version}, ${r.files} files, ${(r.unpackedBytes / 1048576).toFixed(1)} MiB unpacked, ` +
      `${(r.bytes / 1048576).toFixed(1)} MiB packed, sha256 ${r.sha256}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await packageMain(process.argv.slice(2));
}
