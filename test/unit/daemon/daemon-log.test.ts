import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDaemonLogger } from '../../../src/daemon/daemon-log.js';

test("lines are upstream's format with thread and prefix Daemon; VERBOSE only when verbose", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daemon-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'waagent.log');
  const log = createDaemonLogger({ file, console: false, verbose: false, now: () => Date.UTC(2025, 0, 15, 10, 20, 30, 123) + 0.5 });
  log.info('Azure Linux Agent Version: waagent-ts-0.1.0');
  log.verbose('hidden');
  log.warn('careful é');
  log.error('bad');
  log.close();
  assert.equal(await readFile(file, 'utf8'),
    '2025-01-15T10:20:30.123500Z INFO Daemon Daemon Azure Linux Agent Version: waagent-ts-0.1.0\n' +
    '2025-01-15T10:20:30.123500Z WARNING Daemon Daemon careful \\xe9\n' +
    '2025-01-15T10:20:30.123500Z ERROR Daemon Daemon bad\n');
});

test('reopen() writes to the new file after a rename (logrotate), never throws when it cannot', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daemon-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'waagent.log');
  const log = createDaemonLogger({ file, console: false, verbose: true });
  log.verbose('one');
  await rename(file, `${file}.1`);
  log.info('two');
  log.reopen();
  log.info('three');
  log.close();
  log.info('after close is dropped');
  assert.match(await readFile(`${file}.1`, 'utf8'), /VERBOSE Daemon Daemon one\n.*INFO Daemon Daemon two\n$/);
  assert.match(await readFile(file, 'utf8'), /^\S+ INFO Daemon Daemon three\n$/);
});
