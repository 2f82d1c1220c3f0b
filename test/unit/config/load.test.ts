import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { DEFAULT_CONF_PATH, loadConfig } from '../../../src/config/load.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-config-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('DEFAULT_CONF_PATH is /etc/waagent.conf', () => {
  assert.equal(DEFAULT_CONF_PATH, '/etc/waagent.conf');
});

test('loadConfig reads and parses the file, naming it in warnings', () =>
  withDir(async (dir) => {
    const path = join(dir, 'waagent.conf');
    await writeFile(path, 'Logs.Verbose=y\nBogus=1\n');
    const { config, warnings } = await loadConfig(path);
    assert.equal(config['Logs.Verbose'], true);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.includes(`${path}:2`));
  }));

test('a missing file is "Missing configuration in <path>"', () =>
  withDir(async (dir) => {
    const path = join(dir, 'nope.conf');
    await assert.rejects(loadConfig(path), (err: unknown) => err instanceof ConfigError && err.message === `Missing configuration in ${path}`);
    await assert.rejects(loadConfig(dir), (err: unknown) => err instanceof ConfigError && err.message === `Missing configuration in ${dir}`);
  }));

test('an empty file is a ConfigError', () =>
  withDir(async (dir) => {
    const path = join(dir, 'empty.conf');
    await writeFile(path, '');
    await assert.rejects(loadConfig(path), ConfigError);
  }));

test('a bad value names the file and line', () =>
  withDir(async (dir) => {
    const path = join(dir, 'bad.conf');
    await writeFile(path, '#\nLogs.Verbose=maybe\n');
    await assert.rejects(loadConfig(path), {
      name: 'ConfigError',
      message: `Cannot load configuration as ${path}:2 has an invalid value for Logs.Verbose: expected y or n, got 'maybe'`,
    });
  }));
