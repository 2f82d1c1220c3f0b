import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearAgentFailure, isBlacklisted, readAgentFailure, recordAgentFailure } from '../../../src/daemon/agent-error.js';
import { chooseAgent, listDownloadedAgents } from '../../../src/daemon/agent-versions.js';
import { checkPackageManifest, versionOfAgentDir } from '../../../src/daemon/package-manifest.js';

const installed = { version: '0.1.0', entry: '/usr/lib/waagent-ts/src/daemon/child-entry.js' };

async function lib(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'daemon-versions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function agent(libDir: string, version: string, manifest: Record<string, unknown> | null = {}, entry = true): Promise<string> {
  const dir = join(libDir, `waagent-ts-${version}`);
  await mkdir(join(dir, 'bin'), { recursive: true });
  if (manifest) await writeFile(join(dir, 'waagent-ts-manifest.json'), JSON.stringify({ format: 1, name: 'waagent-ts', version, entry: 'bin/waagent.js', ...manifest }));
  if (entry) await writeFile(join(dir, 'bin/waagent.js'), '');
  return dir;
}

test('runs the highest complete, non-blacklisted downloaded version newer than the installed one', async (t) => {
  const libDir = await lib(t);
  await agent(libDir, '0.1.1');
  await agent(libDir, '0.1.10');
  const bad = await agent(libDir, '0.2.0');
  recordAgentFailure(bad, 'crashed', true, 1_700_000_000_000);
  await agent(libDir, '0.3.0', null); // no manifest: incomplete download
  await agent(libDir, '0.4.0', {}, false); // entry missing
  await agent(libDir, '0.5.0', { version: '0.5.1' }); // manifest for another version
  await mkdir(join(libDir, 'WALinuxAgent-9.9.9'));
  await mkdir(join(libDir, '.waagent-ts-9.0.0.123.tmp'));
  const c = chooseAgent({ libDir, installed, runDownloaded: true });
  assert.deepEqual(c, { version: '0.1.10', kind: 'downloaded', entry: join(libDir, 'waagent-ts-0.1.10', 'bin/waagent.js'), cwd: join(libDir, 'waagent-ts-0.1.10'), dir: join(libDir, 'waagent-ts-0.1.10') });
  const all = listDownloadedAgents(libDir);
  assert.deepEqual(all.map((a) => a.version), ['0.5.0', '0.4.0', '0.3.0', '0.2.0', '0.1.10', '0.1.1']);
  assert.match(all[0]!.problem!, /manifest version 0\.5\.1 does not match/);
  assert.match(all[1]!.problem!, /entry bin\/waagent\.js is missing/);
  assert.match(all[2]!.problem!, /waagent-ts-manifest\.json is missing/);
  assert.equal(all[3]!.failure?.reason, 'crashed');
});

test('the installed agent runs when nothing newer is usable, or when auto-update is off', async (t) => {
  const libDir = await lib(t);
  assert.equal(chooseAgent({ libDir, installed, runDownloaded: true }).kind, 'installed');
  await agent(libDir, '0.0.9');
  await agent(libDir, '0.1.0');
  assert.deepEqual(chooseAgent({ libDir, installed, runDownloaded: true }), { version: '0.1.0', kind: 'installed', entry: installed.entry, cwd: libDir, dir: null });
  await agent(libDir, '0.1.1');
  assert.equal(chooseAgent({ libDir, installed, runDownloaded: false }).kind, 'installed');
  assert.equal(chooseAgent({ libDir: join(libDir, 'missing'), installed, runDownloaded: true }).kind, 'installed');
});

test('error.json: upstream fields; fatal or 3 failures blacklist; unreadable is reset; clear un-blacklists', async (t) => {
  const dir = await lib(t);
  assert.equal(readAgentFailure(dir), null);
  recordAgentFailure(dir, 'first', false, 1_700_000_000_500);
  recordAgentFailure(dir, 'second', false, 1_700_000_001_000);
  assert.equal(isBlacklisted(readAgentFailure(dir)), false);
  recordAgentFailure(dir, 'third', false, 1_700_000_002_000);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'error.json'), 'utf8')), { last_failure: 1_700_000_002, failure_count: 3, was_fatal: false, reason: 'third' });
  assert.equal(isBlacklisted(readAgentFailure(dir)), true);
  clearAgentFailure(dir);
  assert.equal(readAgentFailure(dir), null);
  recordAgentFailure(dir, 'fatal', true, 0);
  assert.equal(isBlacklisted(readAgentFailure(dir)), true);
  await writeFile(join(dir, 'error.json'), '{not json');
  assert.equal(readAgentFailure(dir), null);
  await assert.rejects(readFile(join(dir, 'error.json')), { code: 'ENOENT' });
});

test('package manifest: our name, a dotted version and a relative entry, else an error naming the field', () => {
  const ok = { format: 1, name: 'waagent-ts', version: '1.2.3', entry: 'bin/waagent.js' };
  assert.deepEqual(checkPackageManifest(ok, 'm'), ok);
  assert.throws(() => checkPackageManifest({ ...ok, name: 'WALinuxAgent' }, 'm'), /Cannot use m as field name is not "waagent-ts"/);
  assert.throws(() => checkPackageManifest({ ...ok, version: '1.2.3rc1' }, 'm'), /field version/);
  for (const entry of ['/bin/x.js', '../x.js', 'bin/../../x', 'bin//x', './x', '']) {
    assert.throws(() => checkPackageManifest({ ...ok, entry }, 'm'), /field entry/, entry);
  }
  assert.throws(() => checkPackageManifest({ ...ok, format: 2 }, 'm'), /field format/);
  assert.throws(() => checkPackageManifest([], 'm'), /\(root\) is not an object/);
  assert.equal(versionOfAgentDir('waagent-ts-1.2.3'), '1.2.3');
  assert.equal(versionOfAgentDir('waagent-ts-1.2.3.tar.gz'), null);
  assert.equal(versionOfAgentDir('WALinuxAgent-1.2.3'), null);
});
