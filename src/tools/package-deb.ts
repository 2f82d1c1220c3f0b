// `npm run package:deb`: builds `waagent-ts_<version>_all.deb` with `dpkg-deb --root-owner-group --build`.
// Layout: /usr/lib/waagent-ts (the same runnable tree as the self-update package: compiled dist/src and the
// production node_modules closure, no native code, hence Architecture: all), /usr/sbin/waagent (a launcher for the
// system node), /etc/waagent.conf and /etc/logrotate.d/waagent (conffiles), the systemd unit in
// /usr/lib/systemd/system, the man page, and the copyright (every bundled module with its license) and changelog.
// The control template, maintainer scripts, launcher, changelog and license texts live in packaging/deb/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PACKAGE_VERSION_RE } from '../daemon/package-manifest.js';
import { AGENT_NAME } from '../version.js';
import { argValue, findRepoRoot, stageAgentTree } from './package.js';
import { productionDeps } from './prod-deps.js';

export interface DebOptions {
  /** Folder with package.json, bin/, node_modules/, config/, systemd/, man/ and packaging/deb/. */
  readonly repoRoot: string;
  /** The compiled `src` folder (dist/src). */
  readonly compiledSrc: string;
  readonly version: string;
  readonly outDir: string;
  /** The Debian changelog (default packaging/deb/changelog); its newest entry must be `version`. */
  readonly changelog?: string;
  /** dpkg-deb's compression (`-Z`); tests use a faster one. */
  readonly compression?: 'xz' | 'gzip' | 'zstd' | 'none';
}

export interface DebResult {
  readonly file: string;
  readonly version: string;
  readonly bytes: number;
  /** Regular files in the data part. */
  readonly files: number;
  readonly installedSizeKiB: number;
  readonly sha256: string;
}

export const DEB_PACKAGE = AGENT_NAME;
export const LIB_DIR = 'usr/lib/waagent-ts';
/** Installed paths of the conffiles (packaging/deb/conffiles lists the same). */
export const CONFFILES = ['/etc/logrotate.d/waagent', '/etc/waagent.conf'] as const;
/** Licenses whose full text is in packaging/deb/licenses; any other license of a bundled module stops the build. */
const KNOWN_LICENSES: Readonly<Record<string, string>> = { MIT: 'Expat', ISC: 'ISC', 'BlueOak-1.0.0': 'BlueOak-1.0.0', 'Apache-2.0': 'Apache-2.0' };

export function debFileName(version: string): string {
  return `${DEB_PACKAGE}_${version}_all.deb`;
}

/** The newest entry of a Debian changelog: its version and its date (the package's timestamp). */
export function parseChangelogHead(text: string): { version: string; date: Date } {
  const head = /^(\S+) \(([^)]+)\) [^;]+; urgency=\w+$/m.exec(text);
  const trailer = /^ -- .+ <[^>]+> {2}(.+)$/m.exec(text);
  if (!head || head[1] !== DEB_PACKAGE || !trailer) throw new Error('packaging/deb/changelog does not start with a waagent-ts entry');
  const date = new Date(trailer[1]!);
  if (Number.isNaN(date.getTime())) throw new Error(`packaging/deb/changelog has a bad date: ${trailer[1]}`);
  return { version: head[2]!, date };
}

function write(root: string, rel: string, body: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), body);
  chmodSync(join(root, rel), mode);
}

/** gzip -9n: maximum compression, no name or time in the header (lintian and reproducibility want both). */
function gzip(body: Buffer): Buffer {
  return gzipSync(body, { level: 9 });
}

interface Walked {
  readonly rel: string;
  readonly isDir: boolean;
  readonly size: number;
}

function walk(root: string, dir = root, out: Walked[] = []): Walked[] {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    const st = lstatSync(p);
    out.push({ rel: relative(root, p), isDir: e.isDirectory(), size: st.size });
    if (e.isDirectory()) walk(root, p, out);
  }
  return out;
}

/**
 * Drops what a module ships but never loads, which lintian flags in an installed package: dotfiles and dot-folders
 * (.github, .husky, .gitattributes), HTML documentation (loads remote scripts) and shell scripts (release tooling);
 * then the folders left empty (typings and sources were already skipped).
 */
function pruneModules(dir: string): boolean {
  let empty = true;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.name.startsWith('.') || (!e.isDirectory() && /\.(?:html|sh)$/.test(e.name))) rmSync(p, { recursive: true, force: true });
    else if (e.isDirectory() && pruneModules(p)) rmSync(p, { recursive: true });
    else empty = false;
  }
  return empty;
}

/** `Copyright:` value of a bundled module: the copyright lines of its license file, else its author. */
function moduleCopyright(dir: string, name: string): string {
  const lines: string[] = [];
  for (const f of readdirSync(dir).filter((n) => /^(?:licen[cs]e|copying)/i.test(n))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^\s*-?\s*copyright\s+(?:\(c\)|©)?\s*(.+?)\s*$/i.exec(line);
      if (m && !/holders|notice/i.test(line)) lines.push(m[1]!.replace(/^\(c\)\s*/i, ''));
    }
  }
  if (lines.length === 0) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { author?: string | { name?: string } };
    const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
    lines.push(author ?? `the ${name} authors`);
  }
  return [...new Set(lines)].join('\n ');
}

function licenseParagraph(name: string, repoRoot: string): string {
  if (name === 'Apache-2.0') {
    return 'License: Apache-2.0\n On Debian systems, the complete text of the Apache License, Version 2.0\n can be found in "/usr/share/common-licenses/Apache-2.0".\n';
  }
  const text = readFileSync(join(repoRoot, 'packaging/deb/licenses', name), 'utf8').trimEnd();
  return `License: ${name}\n${text.split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)).join('\n')}\n`;
}

/** /usr/share/doc/waagent-ts/copyright in the machine-readable format: ours, then every bundled module. */
export function debCopyright(repoRoot: string, year: number): string {
  const used = new Set<string>(['Apache-2.0']);
  const parts = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: waagent-ts\n' +
      'Comment: The Node.js modules the agent needs at run time are bundled in\n /usr/lib/waagent-ts/node_modules; each is listed with its license.\n',
    `Files: *\nCopyright: ${year} waagent-ts maintainers\nLicense: Apache-2.0\n`,
  ];
  for (const dep of productionDeps(repoRoot)) {
    const pkg = JSON.parse(readFileSync(join(dep.dir, 'package.json'), 'utf8')) as { license?: string };
    const license = KNOWN_LICENSES[pkg.license ?? ''];
    if (license === undefined) throw new Error(`Cannot package ${dep.name} as its license ${pkg.license ?? '(none)'} has no text in packaging/deb/licenses`);
    used.add(license);
    parts.push(`Files: ${LIB_DIR}/${dep.relPath}/*\nCopyright: ${moduleCopyright(dep.dir, dep.name)}\nLicense: ${license}\n`);
  }
  for (const l of [...used].sort()) parts.push(licenseParagraph(l, repoRoot));
  return parts.join('\n');
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`Cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function buildDebPackage(opts: DebOptions): Promise<DebResult> {
  if (!PACKAGE_VERSION_RE.test(opts.version)) throw new Error(`Cannot package version ${opts.version} as it is not a dotted version`);
  const pkgDir = join(opts.repoRoot, 'packaging/deb');
  const changelog = opts.changelog ?? readFileSync(join(pkgDir, 'changelog'), 'utf8');
  const head = parseChangelogHead(changelog);
  if (head.version !== opts.version) {
    throw new Error(`packaging/deb/changelog starts with version ${head.version}, not ${opts.version}: add an entry for ${opts.version}`);
  }
  const staging = mkdtempSync(join(tmpdir(), 'waagent-ts-deb-'));
  const root = join(staging, 'root');
  try {
    // The agent tree, with the modes Debian wants: 0755 folders and scripts (`#!`, executable in their module), 0644 the rest.
    stageAgentTree(opts, join(root, LIB_DIR));
    pruneModules(join(root, LIB_DIR, 'node_modules'));
    for (const e of walk(join(root, LIB_DIR))) {
      const p = join(root, LIB_DIR, e.rel);
      chmodSync(p, e.isDir || ((statSync(p).mode & 0o111) !== 0 && readFileSync(p).subarray(0, 2).toString() === '#!') ? 0o755 : 0o644);
    }
    write(root, 'usr/sbin/waagent', readFileSync(join(pkgDir, 'waagent')), 0o755);
    write(root, 'etc/waagent.conf', readFileSync(join(opts.repoRoot, 'config/waagent.conf')));
    write(root, 'etc/logrotate.d/waagent', readFileSync(join(opts.repoRoot, 'config/waagent.logrotate')));
    write(root, 'usr/lib/systemd/system/waagent.service', readFileSync(join(opts.repoRoot, 'systemd/waagent.service')));
    write(root, 'usr/share/man/man8/waagent.8.gz', gzip(readFileSync(join(opts.repoRoot, 'man/waagent.8'))));
    // A native package (no Debian revision): the changelog is changelog.gz.
    write(root, `usr/share/doc/${DEB_PACKAGE}/changelog.gz`, gzip(Buffer.from(changelog)));
    write(root, `usr/share/doc/${DEB_PACKAGE}/copyright`, debCopyright(opts.repoRoot, head.date.getUTCFullYear()));
    const overrides = join(pkgDir, 'lintian-overrides');
    if (existsSync(overrides)) write(root, `usr/share/lintian/overrides/${DEB_PACKAGE}`, readFileSync(overrides));

    const entries = walk(root);
    for (const e of entries) if (e.isDir) chmodSync(join(root, e.rel), 0o755);
    const files = entries.filter((e) => !e.isDir);
    // As dpkg-gencontrol: each file's size rounded up to a KiB, plus one per folder.
    const installedSizeKiB = files.reduce((n, e) => n + Math.ceil(e.size / 1024), 0) + entries.filter((e) => e.isDir).length;

    const control = join(root, 'DEBIAN');
    mkdirSync(control, { mode: 0o755 });
    write(root, 'DEBIAN/control', readFileSync(join(pkgDir, 'control'), 'utf8')
      .replace('@VERSION@', opts.version).replace('@INSTALLED_SIZE@', String(installedSizeKiB)));
    const conffiles = readFileSync(join(pkgDir, 'conffiles'), 'utf8');
    if (conffiles.trim().split('\n').join(',') !== CONFFILES.join(',')) throw new Error('packaging/deb/conffiles does not list the conffiles this builder installs');
    write(root, 'DEBIAN/conffiles', conffiles);
    for (const script of ['postinst', 'prerm', 'postrm']) write(root, `DEBIAN/${script}`, readFileSync(join(pkgDir, script)), 0o755);
    // md5sums of everything but the conffiles (dpkg records those itself), as dh_md5sums.
    const md5 = files.filter((e) => !(CONFFILES as readonly string[]).includes(`/${e.rel}`))
      .map((e) => `${createHash('md5').update(readFileSync(join(root, e.rel))).digest('hex')}  ${e.rel}\n`).join('');
    write(root, 'DEBIAN/md5sums', md5);

    // One timestamp for every entry (the changelog's): the same tree gives the same package.
    const epoch = Math.floor(head.date.getTime() / 1000);
    for (const e of walk(root).reverse()) utimesSync(join(root, e.rel), epoch, epoch);
    utimesSync(root, epoch, epoch);

    mkdirSync(opts.outDir, { recursive: true });
    const file = join(opts.outDir, debFileName(opts.version));
    run('dpkg-deb', ['--root-owner-group', `-Z${opts.compression ?? 'xz'}`, '--build', root, file], { ...process.env, SOURCE_DATE_EPOCH: String(epoch) });
    const body = readFileSync(file);
    return {
      file, version: opts.version, bytes: statSync(file).size, files: files.length, installedSizeKiB,
      sha256: createHash('sha256').update(body).digest('hex'),
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `node dist/src/tools/package-deb.js [--version X.Y.Z] [--out DIR]` */
export async function packageDebMain(args: readonly string[]): Promise<number> {
  const compiledSrc = fileURLToPath(new URL('..', import.meta.url));
  try {
    const repoRoot = findRepoRoot(compiledSrc);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const r = await buildDebPackage({
      repoRoot, compiledSrc, version: argValue(args, '--version') ?? pkg.version,
      outDir: resolve(argValue(args, '--out') ?? join(repoRoot, 'dist/packages')),
    });
    process.stdout.write(`${r.file}\n  version ${r.version}, ${r.files} files, ${(r.installedSizeKiB / 1024).toFixed(1)} MiB installed, ` +
      `${(r.bytes / 1048576).toFixed(1)} MiB packed, sha256 ${r.sha256}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await packageDebMain(process.argv.slice(2));
}
