// Handler folders are renamed away before they are deleted (a kill point the fault-injection suite aims at): a kill
// during the delete leaves a hidden folder no one takes for an installed handler, swept by the next removal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDirAtomically } from '../../../src/extensions/remove-dir.js';
import { installedVersion, listHandlerDirs } from '../../../src/extensions/installed.js';
import type { Paths } from '../../../src/state/paths.js';

function handlerFolder(dir: string, state = 'Enabled'): void {
  mkdirSync(join(dir, 'config'), { recursive: true });
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'config', 'HandlerState'), state);
  writeFileSync(join(dir, 'bin', 'handler.sh'), '#!/bin/sh\n');
}

function setup(t: { after: (fn: () => void) => void }): { lib: string; paths: Paths } {
  const lib = mkdtempSync(join(tmpdir(), 'waagent-remove-'));
  t.after(() => rmSync(lib, { recursive: true, force: true }));
  return { lib, paths: { libDir: lib, extLogDir: join(lib, 'log'), agentLogFile: join(lib, 'log.txt'), confPath: join(lib, 'conf'), pidFile: join(lib, 'pid') } };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('removes the folder and leaves nothing behind; a missing folder is fine', async (t) => {
  const { lib } = setup(t);
  const dir = join(lib, 'Test.X-1.0.0');
  handlerFolder(dir);
  await removeDirAtomically(dir);
  assert.deepEqual(readdirSync(lib), []);
  await removeDirAtomically(dir);
});

test('a folder left renamed by a killed agent is not a handler, and the next removal deletes it', async (t) => {
  const { lib, paths } = setup(t);
  const leftover = join(lib, `.waagent-removing.${deadPid()}.0123456789ab`);
  handlerFolder(leftover);
  const ours = join(lib, `.waagent-removing.${process.pid}.ba9876543210`);
  handlerFolder(ours);
  assert.deepEqual(await listHandlerDirs(paths), []);
  assert.equal(await installedVersion(paths, 'Test.X'), null);
  handlerFolder(join(lib, 'Test.X-1.0.0'));
  handlerFolder(join(lib, 'Test.X-2.0.0'), 'Installed');
  await removeDirAtomically(join(lib, 'Test.X-2.0.0'));
  assert.ok(!existsSync(leftover), 'the dead process\'s folder was swept');
  assert.ok(existsSync(ours), 'a live process\'s folder is its own business');
  assert.equal((await installedVersion(paths, 'Test.X'))?.version, '1.0.0');
});
