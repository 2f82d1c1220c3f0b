// `waagent -collect-logs [-full]`: a tar.gz of the agent's logs, state and configuration for support.
// Every text file is copied through redactSecrets into a staging dir first, so no secret reaches the archive;
// key material and files that carry protectedSettings are never copied. Sizes are capped, newest files first.
import { chmod, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { create as tarCreate } from 'tar';
import { DEFAULT_CONF_PATH, loadConfig } from '../../config/load.js';
import { errorMessage } from '../../errors.js';
import { redactSecrets } from '../../log/redact.js';
import { createOpenssl, type Openssl } from '../../platform/openssl.js';
import { protectedValues, scrubValues } from './collect-protected.js';

export const TOTAL_CAP = 50 * 1024 * 1024;
export const FILE_CAP = 5 * 1024 * 1024;

export interface CollectOptions {
  readonly libDir: string;
  readonly extLogDir: string;
  readonly agentLogFile: string;
  readonly confPath: string;
  readonly full: boolean;
  readonly totalCap?: number;
  readonly fileCap?: number;
  /** Decrypts the protected settings so their plaintext values can be scrubbed (collect-protected.ts); none: not scrubbed. */
  readonly openssl?: Openssl;
}

export interface CollectResult {
  readonly archive: string;
  readonly included: readonly string[];
  readonly skipped: ReadonlyArray<{ path: string; reason: string }>;
}

/** Never copied, whatever the mode: private keys, certificate bundles, and files carrying protectedSettings. */
const NEVER = /(?:\.(?:prv|pem|pfx|p7m|key|crt|settings)$)|(?:^|\/)Certificates\.xml$|(?:^|\/)(?:Extensions|ExtensionsConfig)[^/]*\.xml$|(?:^|\/)(?:VmSettings|vmSettings)[^/]*\.json$|(?:^|\/)ovf-env\.xml$/;
/** The goal-state history (src/state/goal-state-history.ts): documents redacted when saved, taken by every collection. */
const HISTORY = /^history\/[^/]+\/[^/]+\.(?:xml|json|txt)$/;
/** Key material, excluded even from the history. */
const KEY_MATERIAL = /\.(?:prv|pem|pfx|p7m|key|crt|settings)$/;
/** The lib-dir state a normal collection takes (a full one takes every other text file too). */
const STATE = /(?:^|\/)(?:HandlerState|HandlerStatus|[^/]+\.HandlerState|HandlerEnvironment\.json|HandlerManifest\.json|waagent_status\.json|SharedConfig\.xml|WireServerEndpoint|Protocol|Incarnation|fast_track\.json|mrseq|heartbeat\.log|[^/]+\.status)$/;

async function walk(dir: string, out: string[], skipDir: (d: string) => boolean): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!skipDir(p)) await walk(p, out, skipDir);
    } else if (e.isFile()) out.push(p);
  }
}

/** The last `cap` bytes of a file (logs: the newest lines matter most). */
async function readTail(file: string, size: number, cap: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const len = Math.min(size, cap);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf;
  } finally {
    await fh.close();
  }
}

export async function collectLogs(o: CollectOptions): Promise<CollectResult> {
  const totalCap = o.totalCap ?? TOTAL_CAP;
  const fileCap = o.fileCap ?? FILE_CAP;
  const outDir = join(o.libDir, 'logcollector');
  const staging = join(outDir, 'staging');
  const archive = join(outDir, 'logs.tar.gz');
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const included: string[] = [];
  const skipped: Array<{ path: string; reason: string }> = [];

  const candidates: string[] = [o.agentLogFile, `${o.agentLogFile}.1`, o.confPath];
  await walk(o.extLogDir, candidates, () => false);
  const lib: string[] = [];
  await walk(o.libDir, lib, (d) => d === outDir);
  const thumbprints: string[] = [];
  for (const f of lib) {
    const rel = relative(o.libDir, f).split(sep).join('/');
    if (/^[^/]+\.crt$/.test(rel)) thumbprints.push(rel.slice(0, -4));
    if (HISTORY.test(rel) && !KEY_MATERIAL.test(rel)) candidates.push(f);
    else if (NEVER.test(rel)) skipped.push({ path: f, reason: 'secret material (never collected)' });
    else if (o.full || STATE.test(rel)) candidates.push(f);
  }

  // Plaintext a handler may have written to its logs: decrypted here with the tenant keys and scrubbed.
  const settingsFiles = lib.filter((f) => f.endsWith('.settings'));
  const prot = o.openssl ? await protectedValues(o.libDir, settingsFiles, o.openssl) : { values: [], failed: settingsFiles.length };

  const sized: Array<{ path: string; size: number; mtime: number }> = [];
  for (const f of new Set(candidates)) {
    try {
      const s = await stat(f);
      sized.push({ path: f, size: s.size, mtime: s.mtimeMs });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') skipped.push({ path: f, reason: `cannot read: ${code ?? errorMessage(err)}` });
    }
  }
  sized.sort((a, b) => b.mtime - a.mtime);
  let total = 0;
  for (const f of sized) {
    let buf: Buffer;
    try {
      buf = await readTail(f.path, f.size, fileCap);
    } catch (err) {
      skipped.push({ path: f.path, reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` });
      continue;
    }
    if (buf.subarray(0, 8192).includes(0)) {
      skipped.push({ path: f.path, reason: 'binary file' });
      continue;
    }
    const text = scrubValues(redactSecrets(buf.toString('utf8')), prot.values);
    const bytes = Buffer.byteLength(text);
    if (total + bytes > totalCap) {
      skipped.push({ path: f.path, reason: `total size cap of ${totalCap} bytes reached` });
      continue;
    }
    total += bytes;
    const dest = join(staging, f.path.replace(/^\/+/, ''));
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, text, { mode: 0o600 });
    included.push(f.size > fileCap ? `${f.path} (last ${fileCap} of ${f.size} bytes)` : f.path);
  }

  const manifest = [
    `waagent-ts log collection (${o.full ? 'full' : 'normal'}), ${new Date().toISOString()}`,
    `Certificate thumbprints: ${thumbprints.sort().join(', ') || 'none'}`,
    `Protected settings values scrubbed: ${prot.values.length}${prot.failed > 0 ? ` (${prot.failed} settings could not be decrypted)` : ''}`,
    '', 'Included (secrets redacted):', ...included.map((p) => `  ${p}`),
    '', 'Skipped:', ...skipped.map((s) => `  ${s.path}: ${s.reason}`), '',
  ].join('\n');
  await writeFile(join(staging, 'results.txt'), manifest, { mode: 0o600 });
  const names = (await readdir(staging)).sort();
  await tarCreate({ gzip: true, file: archive, cwd: staging, portable: true }, names);
  await chmod(archive, 0o600);
  await rm(staging, { recursive: true, force: true });
  return { archive, included, skipped };
}

export async function runCollectLogs(opts: { configurationPath?: string; full?: boolean }): Promise<number> {
  const confPath = opts.configurationPath ?? DEFAULT_CONF_PATH;
  try {
    const { config } = await loadConfig(confPath);
    const r = await collectLogs({
      libDir: config['Lib.Dir'], extLogDir: config['Extension.LogDir'], confPath, full: opts.full === true,
      agentLogFile: process.env.WAAGENT_TS_LOG_FILE ?? '/var/log/waagent.log',
      openssl: createOpenssl({ path: config['OS.OpensslPath'] }),
    });
    process.stdout.write(`Log collection successfully completed. Archive can be found at ${r.archive} ` +
      `(${r.included.length} files included, ${r.skipped.length} skipped; see results.txt inside)\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Error: Log collection failed: ${errorMessage(err)}\n`);
    return 1;
  }
}
