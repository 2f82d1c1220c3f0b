// Hostile extension packages against unpackZip, and a package download larger than allowed against the
// downloader. Every refusal must say why, and nothing may be written outside the target directory.
//
// Hard links: the zip format has no hard-link entry type (Info-ZIP's Unix extra fields carry times and ids, not
// links; only tar has them), so there is nothing to refuse. The nearest attack, a link to a file followed by a
// regular entry of the same name hoping the write goes through to the link's target, is tested below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { AgentError, ExtensionError } from '../../../src/errors.js';
import { unpackZip, type UnpackLimits } from '../../../src/extensions/unpack.js';
import { ArtifactDownloader } from '../../../src/extensions/download.js';
import { createHttpClient } from '../../../src/protocol/http.js';
import { systemClock } from '../../../src/platform/clock.js';
import type { Logger } from '../../../src/deps.js';
import type { HostPluginClient } from '../../../src/protocol/host-plugin.js';

const FILE = 0o100644;
const LINK = 0o120777;

interface RawEntry {
  name: string;
  data?: Buffer | string;
  deflate?: boolean;
  /** Uncompressed size written in the headers (a lie when it differs from the data). */
  declaredSize?: number;
  mode?: number;
  extra?: Buffer;
  /** Central-directory entry that points at an earlier entry's local header (overlapping files). */
  sameDataAs?: number;
}

/** A zip written byte by byte, so that it can say what yazl never would. */
function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  const headers: { crc: number; csize: number; usize: number; method: number }[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const name = Buffer.from(e.name);
    const extra = e.extra ?? Buffer.alloc(0);
    let h = e.sameDataAs === undefined ? undefined : headers[e.sameDataAs];
    let at = e.sameDataAs === undefined ? offset : offsets[e.sameDataAs]!;
    if (!h) {
      const data = Buffer.from(e.data ?? '');
      const body = e.deflate ? deflateRawSync(data) : data;
      h = { crc: crc32(data), csize: body.length, usize: e.declaredSize ?? data.length, method: e.deflate ? 8 : 0 };
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x800, 6);
      local.writeUInt16LE(h.method, 8);
      local.writeUInt16LE(0x21, 12);
      local.writeUInt32LE(h.crc, 14);
      local.writeUInt32LE(h.csize, 18);
      local.writeUInt32LE(h.usize, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(extra.length, 28);
      locals.push(local, name, extra, body);
      at = offset;
      offset += 30 + name.length + extra.length + body.length;
    }
    offsets[i] = at;
    headers[i] = h;
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(h.method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(h.crc, 16);
    central.writeUInt32LE(h.csize, 20);
    central.writeUInt32LE(h.usize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE(((e.mode ?? FILE) << 16) >>> 0, 38);
    central.writeUInt32LE(at, 42);
    centrals.push(central, name, extra);
  });
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** Info-ZIP Unicode Path extra field (0x7075): readers prefer this name to the header's when its CRC matches. */
function unicodePath(headerName: string, realName: string): Buffer {
  const name = Buffer.from(realName);
  const field = Buffer.alloc(9 + name.length);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + name.length, 2);
  field.writeUInt8(1, 4);
  field.writeUInt32LE(crc32(Buffer.from(headerName)), 5);
  name.copy(field, 9);
  return field;
}

/** Every path under dir (links not followed) with its size, for "nothing changed outside the target". */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (p === skip) continue;
      const st = lstatSync(p);
      out.push(`${relative(dir, p)}:${st.isDirectory() ? 'd' : st.size}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function setup(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'waagent-hostile-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dest = join(root, 'Pub.Ext-1.0');
  const outside = join(root, 'outside');
  mkdirSync(dest);
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim.txt'), 'original');
  const zipPath = join(root, 'Pub.Ext__1.0.zip');
  /** Unpacks `zip`; a refusal must match `why`; nothing outside dest may change either way. */
  const unpack = async (zip: Buffer, why: RegExp | null, limits?: UnpackLimits) => {
    writeFileSync(zipPath, zip);
    const before = snapshot(root, dest);
    const run = unpackZip(zipPath, dest, limits);
    if (why === null) await run;
    else {
      await assert.rejects(run, (e: unknown) => {
        assert.ok(e instanceof AgentError && e.code === 'WAA_EXT_UNPACK', String(e));
        assert.match(e.message, /^Cannot unpack Pub\.Ext__1\.0\.zip as /);
        assert.match(e.message, why);
        return true;
      });
    }
    assert.deepEqual(snapshot(root, dest), before, 'nothing outside the target changed');
  };
  return { root, dest, outside, unpack };
}

test('traversal names are refused before anything is written', async (t) => {
  const { dest, unpack } = setup(t);
  for (const [name, why] of [
    ['../outside/victim.txt', /'\.\.' segment/],
    ['a/../../outside/victim.txt', /'\.\.' segment/],
    ['./../x', /'\.\.' segment/],
    ['..', /'\.\.' segment/],
    ['/tmp/abs', /is an absolute path/],
    ['//server/share', /is an absolute path/],
    ['C:/x', /drive letter/],
    ['..\\outside\\victim.txt', /backslash/],
    ['a\u0000b', /NUL/],
  ] as const) {
    await unpack(rawZip([{ name: 'ok.txt', data: 'ok' }, { name, data: 'pwned' }]), why);
    assert.deepEqual(readdirSync(dest), [], `${JSON.stringify(name)}: all entries are checked first`);
  }
});

test('a Unicode Path extra field cannot smuggle a traversal past a benign header name', async (t) => {
  const { unpack } = setup(t);
  const zip = rawZip([{ name: 'benign.txt', data: 'pwned', extra: unicodePath('benign.txt', '../outside/evil.txt') }]);
  await unpack(zip, /"\.\.\/outside\/evil\.txt" contains a '\.\.' segment/);
});

test('symlinks out of the target are refused, however they get there', async (t) => {
  const { outside, unpack } = setup(t);
  await unpack(rawZip([{ name: 'abs', data: join(outside, 'victim.txt'), mode: LINK }]), /"abs" is a symlink pointing outside/);
  await unpack(rawZip([{ name: 'a/b/up', data: '../../../outside', mode: LINK }]), /symlink pointing outside/);
  // Each link is inside on its own; followed together they leave.
  await unpack(rawZip([{ name: 'd/up', data: '..', mode: LINK }, { name: 'esc', data: 'd/up/..', mode: LINK }]), /symlink "esc" resolves outside/);
  await unpack(rawZip([{ name: 'nul', data: 'a\u0000b', mode: LINK }]), /invalid target/);
  await unpack(rawZip([{ name: 'big', data: 'x'.repeat(5000), mode: LINK }]), /oversized target/);
});

test('a link then a file of the same name replaces the link: no write through it (the hard-link stand-in)', async (t) => {
  const { root, dest, outside, unpack } = setup(t);
  writeFileSync(join(dest, 'inside.txt'), 'inside');
  await unpack(rawZip([{ name: 'link', data: 'inside.txt', mode: LINK }, { name: 'link', data: 'through?' }]), null);
  assert.equal(readFileSync(join(dest, 'inside.txt'), 'utf8'), 'inside');
  assert.ok(lstatSync(join(dest, 'link')).isFile());
  assert.equal(readFileSync(join(dest, 'link'), 'utf8'), 'through?');

  // A link planted in the target beforehand (by an earlier package or anyone else) is replaced, not followed.
  symlinkSync(join(outside, 'victim.txt'), join(dest, 'planted'));
  symlinkSync(outside, join(dest, 'planted-dir'));
  await unpack(rawZip([{ name: 'planted', data: 'overwrite?' }]), null);
  assert.equal(readFileSync(join(outside, 'victim.txt'), 'utf8'), 'original');
  await unpack(rawZip([{ name: 'planted-dir/victim.txt', data: 'overwrite?' }]), /through the symlink "planted-dir"/);
  // A link to a directory inside the zip cannot be written through either.
  await unpack(rawZip([{ name: 'sub/', mode: 0o40755 }, { name: 'ln', data: 'sub', mode: LINK }, { name: 'ln/x', data: 'x' }]), /through the symlink "ln"/);
  assert.ok(!existsSync(join(dest, 'sub', 'x')));
  assert.deepEqual(readdirSync(join(root, 'outside')), ['victim.txt']);
});

test('duplicate entries: the later one wins, a directory is never replaced', async (t) => {
  const { dest, unpack } = setup(t);
  await unpack(rawZip([{ name: 'a.txt', data: 'first' }, { name: 'a.txt', data: 'second' }, { name: 'a.txt', data: 'third' }]), null);
  assert.equal(readFileSync(join(dest, 'a.txt'), 'utf8'), 'third');
  await unpack(rawZip([{ name: 'f', data: 'file' }, { name: 'f', data: 'a.txt', mode: LINK }]), null);
  assert.ok(lstatSync(join(dest, 'f')).isSymbolicLink(), 'a later link replaces a file');
  await unpack(rawZip([{ name: 'dir/', mode: 0o40755 }, { name: 'dir', data: 'x' }]), /"dir" conflicts with a directory/);
});

test('zip bombs are refused and reported: ratio, entry count, total size, overlapping and lying entries', async (t) => {
  const { dest, unpack } = setup(t);
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  // Default limits: 200:1, 10,000 entries, 1 GiB.
  await unpack(rawZip([{ name: 'zeros', data: zeros, deflate: true }]), /expands \d+:1 \(limit 200:1\), a likely zip bomb/);
  await unpack(rawZip(Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}` }))), /it has 10001 entries \(limit 10000\)/);
  const tiny = { data: 'x', deflate: true, declaredSize: 600 * 1024 * 1024 };
  await unpack(rawZip([{ name: 'a', ...tiny }, { name: 'b', ...tiny }]), /would unpack to 1258291200 bytes \(limit 1073741824\)/);
  // Fifield's overlapping-files bomb: many central entries share one compressed body; each counts in full.
  const overlap = rawZip([{ name: 'z0', data: Buffer.alloc(1024 * 1024), deflate: true }, ...Array.from({ length: 50 }, (_, i) => ({ name: `z${i + 1}`, sameDataAs: 0 }))]);
  await unpack(overlap, /a likely zip bomb/);
  assert.deepEqual(readdirSync(dest), [], 'refused before the first write');
  // Headers that understate the size: the stream is cut as soon as it passes the declared size.
  await unpack(rawZip([{ name: 'liar', data: zeros, deflate: true, declaredSize: 10 }]), /"liar" could not be extracted: too many bytes in the stream/);
  assert.ok(!existsSync(join(dest, 'liar')) || statSync(join(dest, 'liar')).size < 1024 * 1024, 'not inflated in full');
  await unpack(rawZip([{ name: 'stored-liar', data: 'abcdef', declaredSize: 3 }]), /size mismatch/);
  // Limits are configurable, and a package within them unpacks.
  await unpack(rawZip([{ name: 'a', data: 'aaaa' }, { name: 'b', data: 'bbbb' }]), /it has 2 entries \(limit 1\)/, { maxEntries: 1 });
  await unpack(rawZip([{ name: 'ok', data: 'fine' }]), null, { maxEntries: 1 });
});

// ---- a package larger than it may be ----

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger: Logger & { lines: string[] } = {
    lines,
    verbose: (m) => void lines.push(m),
    info: (m) => void lines.push(m),
    warn: (m) => void lines.push(m),
    error: (m) => void lines.push(m),
    child: () => logger,
  };
  return logger;
}

test('a download larger than the package cap is refused mid-stream and the partial file removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'waagent-bigpkg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const CAP = 1024 * 1024;
  const LIMIT = 64 * 1024 * 1024; // what the server is willing to send at most
  let sent = 0;
  const server = createServer((req, res) => {
    const size = req.url === '/small' ? 2 * 64 * 1024 : LIMIT;
    res.writeHead(200, { 'content-type': 'application/zip' });
    const chunk = Buffer.alloc(64 * 1024, 0x50);
    const pump = (): void => {
      while (sent < size && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => res.destroy());
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const hostPlugin = { ensureAvailable: async () => false } as unknown as HostPluginClient;
  const logger = captureLogger();
  const downloader = new ArtifactDownloader({
    http: createHttpClient(),
    clock: systemClock,
    random: { random: () => 0 },
    logger,
    hostPlugin,
    refreshIdentity: async () => {},
    retry: { maxAttempts: 1, retryDelayMs: 1, throttleDelayMs: 1, throttledMinAttempts: 1 },
    maxPackageBytes: CAP,
  });

  const path = join(dir, 'Pub.Ext__1.0.zip');
  await assert.rejects(downloader.fetchToFile([`${base}/big`], path, 'Pub.Ext-1.0'), (e: unknown) => {
    assert.ok(e instanceof ExtensionError, String(e));
    assert.match(e.message, /Failed to download Pub\.Ext-1\.0 from all URIs/);
    return true;
  });
  assert.ok(logger.lines.some((l) => /via direct as Cannot download .* as it exceeds 1048576 bytes/.test(l)), logger.lines.join('\n'));
  assert.ok(!existsSync(path), 'the partial file is removed');
  assert.ok(sent < LIMIT, `the download stopped early (${sent} bytes sent)`);

  sent = 0;
  await downloader.fetchToFile([`${base}/small`], path, 'Pub.Ext-1.0');
  assert.equal(statSync(path).size, 2 * 64 * 1024, 'a package within the cap is kept');
});
