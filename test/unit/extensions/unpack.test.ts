import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { AgentError } from '../../../src/errors.js';
import { unpackZip } from '../../../src/extensions/unpack.js';
import { buildZip, patchName } from '../../helpers/zip.js';

const LINK = 0o120777;

function setup(t: { after: (fn: () => void) => void }): { root: string; dest: string; zipAt: (buf: Buffer) => string } {
  const root = mkdtempSync(join(tmpdir(), 'waagent-unpack-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dest = join(root, 'Pub.Ext-1.0');
  mkdirSync(dest);
  const zipAt = (buf: Buffer): string => {
    const p = join(root, 'Pub.Ext__1.0.zip');
    writeFileSync(p, buf);
    return p;
  };
  return { root, dest, zipAt };
}

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AgentError, String(e));
    assert.equal(e.code, 'WAA_EXT_UNPACK');
    assert.match(e.message, re);
    return true;
  });
}

test('unpacks nested directories and files; zip modes are ignored', async (t) => {
  const { dest, zipAt } = setup(t);
  const zip = await buildZip([
    { name: 'HandlerManifest.json', data: '[{"version": 1.0}]' },
    { name: 'bin/', dir: true },
    { name: 'bin/enable.sh', data: '#!/bin/sh\necho on\n', mode: 0o100755 },
    { name: 'lib/deep/er/data.txt', data: 'x'.repeat(1000) },
    { name: 'empty/', dir: true },
  ]);
  const r = await unpackZip(zipAt(zip), dest);
  assert.deepEqual(r, { files: 3, bytes: 18 + 18 + 1000 });
  assert.equal(readFileSync(join(dest, 'bin/enable.sh'), 'utf8'), '#!/bin/sh\necho on\n');
  assert.equal(readFileSync(join(dest, 'lib/deep/er/data.txt'), 'utf8').length, 1000);
  assert.ok(lstatSync(join(dest, 'empty')).isDirectory());
  assert.equal(lstatSync(join(dest, 'bin/enable.sh')).mode & 0o100, 0, 'the caller adds u+x, not the unpacker');
});

test('overwrites existing files and keeps unrelated content; later duplicates win', async (t) => {
  const { dest, zipAt } = setup(t);
  mkdirSync(join(dest, 'config'));
  writeFileSync(join(dest, 'config', 'HandlerState'), 'NotInstalled');
  writeFileSync(join(dest, 'a.txt'), 'old');
  const zip = await buildZip([
    { name: 'a.txt', data: 'first' },
    { name: 'a.txt', data: 'second' },
  ]);
  await unpackZip(zipAt(zip), dest);
  assert.equal(readFileSync(join(dest, 'a.txt'), 'utf8'), 'second');
  assert.equal(readFileSync(join(dest, 'config', 'HandlerState'), 'utf8'), 'NotInstalled');
});

for (const [evil, placeholder, why] of [
  ['../evil', 'xx/evil', /"\.\.\/evil" contains a '\.\.' segment/],
  ['a/../../evil', 'a/bb/cc/evil', /'\.\.' segment/],
  ['/tmp/evil', 'xtmp/evil', /"\/tmp\/evil" is an absolute path/],
  ['C:/evil', 'Cx/evil', /drive letter/],
  ['..\\evil', 'xxxevil', /backslash/],
  ['ok\\..\\..\\evil', 'okxxxxxxxevil', /backslash/],
] as const) {
  test(`rejects ${JSON.stringify(evil)} and writes nothing anywhere`, async (t) => {
    const { root, dest, zipAt } = setup(t);
    const zip = patchName(await buildZip([{ name: 'good.txt', data: 'g' }, { name: placeholder, data: 'pwned' }]), placeholder, evil);
    const zipPath = zipAt(zip);
    const before = readdirSync(root).sort();
    await rejectsWith(unpackZip(zipPath, dest), why);
    assert.deepEqual(readdirSync(root).sort(), before);
    assert.deepEqual(readdirSync(dest), [], 'all entries are checked before the first write');
  });
}

test('a symlink pointing outside destDir is rejected', async (t) => {
  const { dest, zipAt } = setup(t);
  await rejectsWith(unpackZip(zipAt(await buildZip([{ name: 'sub/link', data: '../../etc', mode: LINK }])), dest), /symlink pointing outside/);
  await rejectsWith(unpackZip(zipAt(await buildZip([{ name: 'abs', data: '/etc/passwd', mode: LINK }])), dest), /"abs" is a symlink pointing outside/);
});

test('internal symlinks are created as links', async (t) => {
  const { dest, zipAt } = setup(t);
  const zip = await buildZip([
    { name: 'lib/tool.sh', data: 'echo tool' },
    { name: 'bin/tool', data: '../lib/tool.sh', mode: LINK },
    { name: 'here', data: '.', mode: LINK },
  ]);
  const r = await unpackZip(zipAt(zip), dest);
  assert.equal(r.files, 3);
  assert.ok(lstatSync(join(dest, 'bin/tool')).isSymbolicLink());
  assert.equal(readlinkSync(join(dest, 'bin/tool')), '../lib/tool.sh');
  assert.equal(readFileSync(join(dest, 'bin/tool'), 'utf8'), 'echo tool');
});

test('a chain of links that escapes only when followed is rejected', async (t) => {
  const { dest, zipAt } = setup(t);
  const zip = await buildZip([
    { name: 'd/up', data: '..', mode: LINK }, // d/.. is destDir: fine on its own
    { name: 'esc', data: 'd/up/..', mode: LINK }, // lexically destDir/d, really destDir/..
  ]);
  await rejectsWith(unpackZip(zipAt(zip), dest), /symlink "esc" resolves outside/);
});

test('never writes through a symlink, in the zip or already in destDir', async (t) => {
  const { root, dest, zipAt } = setup(t);
  const through = await buildZip([
    { name: 'inner/', dir: true },
    { name: 'sub', data: 'inner', mode: LINK },
    { name: 'sub/x', data: 'x' },
  ]);
  await rejectsWith(unpackZip(zipAt(through), dest), /"sub\/x" would be written through the symlink "sub"/);
  assert.ok(!existsSync(join(dest, 'inner', 'x')));

  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'target.txt'), 'original');
  const d2 = join(root, 'd2');
  mkdirSync(d2);
  symlinkSync(outside, join(d2, 'planted'));
  symlinkSync(join(outside, 'target.txt'), join(d2, 'victim'));
  await rejectsWith(unpackZip(zipAt(await buildZip([{ name: 'planted/f', data: 'x' }])), d2), /through the symlink "planted"/);
  assert.deepEqual(readdirSync(outside), ['target.txt']);
  // A file entry replaces an existing link instead of following it.
  await unpackZip(zipAt(await buildZip([{ name: 'victim', data: 'new' }])), d2);
  assert.equal(readFileSync(join(outside, 'target.txt'), 'utf8'), 'original');
  assert.ok(lstatSync(join(d2, 'victim')).isFile());
  assert.equal(readFileSync(join(d2, 'victim'), 'utf8'), 'new');
});

test('zip bombs are rejected by ratio and by total size', async (t) => {
  const { dest, zipAt } = setup(t);
  const bomb = await buildZip([{ name: 'zeros', data: Buffer.alloc(5 * 1024 * 1024) }]);
  await rejectsWith(unpackZip(zipAt(bomb), dest), /expands \d+:1 \(limit 200:1\)/);
  assert.deepEqual(readdirSync(dest), []);
  const small = await buildZip([{ name: 'f', data: 'x'.repeat(20) }]);
  await rejectsWith(unpackZip(zipAt(small), dest, { maxTotalBytes: 10 }), /unpack to 20 bytes \(limit 10\)/);
  // The ratio floor keeps small compressible packages working.
  await unpackZip(zipAt(await buildZip([{ name: 'z', data: Buffer.alloc(200 * 1024) }])), dest);
});

test('too many entries are rejected before reading them', async (t) => {
  const { dest, zipAt } = setup(t);
  const zip = await buildZip(['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, data: name })));
  await rejectsWith(unpackZip(zipAt(zip), dest, { maxEntries: 4 }), /5 entries \(limit 4\)/);
  const r = await unpackZip(zipAt(zip), dest, { maxEntries: 5 });
  assert.equal(r.files, 5);
});

test('a file that is not a zip is a clear error', async (t) => {
  const { dest, zipAt } = setup(t);
  await rejectsWith(unpackZip(zipAt(Buffer.from('not a zip at all')), dest), /Pub\.Ext__1\.0\.zip as it is not a readable zip file/);
  await rejectsWith(unpackZip(join(dest, 'missing.zip'), dest), /not a readable zip file/);
});
