import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { installAgentPackage } from '../../../src/agent/agent-package.js';
import { buildZip } from '../../helpers/zip.js';
import { rawTarGz, type RawEntry } from './tar-fixture.js';

const manifest = (version: string, extra: Record<string, unknown> = {}) => JSON.stringify({ format: 1, name: 'waagent-ts', version, entry: 'bin/waagent.js', ...extra });
const good = (version = '1.2.3'): RawEntry[] => [
  { name: 'waagent-ts-manifest.json', data: manifest(version) },
  { name: 'bin/', type: '5' },
  { name: 'bin/waagent.js', data: 'console.log(1)\n', mode: 0o755 },
  { name: './dist/src/x.js', data: 'export {}\n' },
];

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'agent-pkg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const libDir = join(dir, 'lib');
  await mkdir(libDir);
  const write = async (body: Buffer) => {
    const archive = join(dir, 'pkg.tar.gz');
    await writeFile(archive, body);
    return archive;
  };
  return { libDir, write };
}

test('a good package is unpacked into <lib>/waagent-ts-<v>/ with modes kept, nothing else left behind', async (t) => {
  const { libDir, write } = await setup(t);
  const body = rawTarGz(good());
  const archive = await write(body);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const r = await installAgentPackage({ archive, libDir, version: '1.2.3', sha256: sha256.toUpperCase() });
  assert.equal(r.dir, join(libDir, 'waagent-ts-1.2.3'));
  assert.deepEqual(r.manifest, { format: 1, name: 'waagent-ts', version: '1.2.3', entry: 'bin/waagent.js' });
  assert.equal((await stat(join(r.dir, 'bin/waagent.js'))).mode & 0o777, 0o755);
  assert.equal(await readFile(join(r.dir, 'dist/src/x.js'), 'utf8'), 'export {}\n');
  assert.deepEqual(await readdir(libDir), ['waagent-ts-1.2.3']);
  // Installing again replaces the folder.
  await installAgentPackage({ archive, libDir, version: '1.2.3' });
  assert.deepEqual(await readdir(libDir), ['waagent-ts-1.2.3']);
});

const refusals: Array<[string, () => Promise<Buffer> | Buffer, RegExp, string?]> = [
  ['an upstream zip (HandlerManifest.json, egg)', () => buildZip([{ name: 'HandlerManifest.json', data: '[]' }, { name: 'bin/WALinuxAgent-9.9.9-py3.12.egg', data: 'x' }]), /is a zip \(an upstream WALinuxAgent package\?\), not a waagent-ts package/],
  ['an upstream layout as tar', () => rawTarGz([{ name: 'HandlerManifest.json', data: '[]' }, { name: 'manifest.xml', data: '<x/>' }]), /is an upstream agent package \(HandlerManifest\.json\), not a waagent-ts package/],
  ['no manifest', () => rawTarGz([{ name: 'bin/waagent.js', data: '' }]), /has no waagent-ts-manifest\.json/],
  ['another name', () => rawTarGz([...good().slice(1), { name: 'waagent-ts-manifest.json', data: manifest('1.2.3', { name: 'other' }) }]), /field name is not "waagent-ts"/],
  ['another version', () => rawTarGz([...good().slice(1), { name: 'waagent-ts-manifest.json', data: manifest('1.2.4') }]), /its manifest says version 1\.2\.4/],
  ['a missing entry', () => rawTarGz([good()[0]!]), /its entry bin\/waagent\.js is missing/],
  ['a parent-directory path', () => rawTarGz([...good(), { name: 'bin/../../evil', data: 'x' }]), /entry "bin\/\.\.\/\.\.\/evil" is not a relative path/],
  ['an absolute path', () => rawTarGz([...good(), { name: '/etc/evil', data: 'x' }]), /entry "\/etc\/evil" is not a relative path/],
  ['a symlink', () => rawTarGz([...good(), { name: 'bin/link', type: '2', link: '/etc/passwd' }]), /entry "bin\/link" is a SymbolicLink/],
  ['a hard link', () => rawTarGz([...good(), { name: 'bin/hard', type: '1', link: 'bin/waagent.js' }]), /entry "bin\/hard" is a Link/],
  ['not gzip', () => Buffer.from('plain text, not an archive'), /is not a gzip-compressed tar archive/],
  ['gzip but not tar', () => gzipSync(Buffer.from('x'.repeat(2000))), /is not a valid tar\.gz archive|is empty/],
  ['a wrong digest', () => rawTarGz(good()), /its sha256 [0-9a-f]{64} does not match the manifest's 0{64}/, '0'.repeat(64)],
];

for (const [name, make, expected, sha256] of refusals) {
  test(`refused: ${name}; the lib dir is left as it was`, async (t) => {
    const { libDir, write } = await setup(t);
    const archive = await write(await make());
    await assert.rejects(installAgentPackage({ archive, libDir, version: '1.2.3', ...(sha256 ? { sha256 } : {}) }), (err: Error) => {
      assert.match(err.message, /^Cannot install agent package waagent-ts-1\.2\.3 as /);
      assert.match(err.message, expected);
      return true;
    });
    assert.deepEqual(await readdir(libDir), []);
  });
}

test('limits: too many entries or too many bytes are refused before anything is written', async (t) => {
  const { libDir, write } = await setup(t);
  const archive = await write(rawTarGz([...good(), { name: 'big', data: 'x'.repeat(5000) }]));
  await assert.rejects(installAgentPackage({ archive, libDir, version: '1.2.3', maxEntries: 3 }), /more than 3 entries/);
  await assert.rejects(installAgentPackage({ archive, libDir, version: '1.2.3', maxBytes: 4096 }), /unpacks to more than 4096 bytes/);
  assert.deepEqual(await readdir(libDir), []);
});
