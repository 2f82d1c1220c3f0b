import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  handlerStatusJson,
  type HandlerStatusRecord,
  readExtensionState,
  readHandlerState,
  readHandlerStatus,
  writeExtensionState,
  writeHandlerState,
  writeHandlerStatus,
} from '../../../src/extensions/handler-state.js';

async function withDir(fn: (configDir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'extfiles-state-'));
  try {
    await fn(join(root, 'config'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const enabled: HandlerStatusRecord = {
  name: 'Microsoft.Azure.Extensions.CustomScript',
  version: '2.1.6',
  status: 'Ready',
  code: 0,
  message: 'Plugin enabled',
  supportsMultiConfig: false,
};

test('HandlerStatus content is byte-identical to upstream', () => {
  assert.equal(
    handlerStatusJson(enabled),
    '{"name": "Microsoft.Azure.Extensions.CustomScript", "version": "2.1.6", "status": "Ready", "code": 0, ' +
      '"message": "Plugin enabled", "supports_multi_config": false, "extension_status": null}',
  );
});

test('HandlerStatus messages are SAS-redacted', () => {
  const s = handlerStatusJson({ ...enabled, status: 'NotReady', code: 1001, message: 'Failed to download https://a.blob.core.windows.net/c/z.zip?sv=2020&sig=SECRET' });
  assert.ok(!s.includes('SECRET'), s);
});

test('HandlerState round trip; missing => NotInstalled; config dir created 0700', async () => {
  await withDir(async (configDir) => {
    assert.deepEqual(await readHandlerState(configDir), { value: 'NotInstalled', problem: null });
    for (const state of ['Installed', 'Enabled', 'FailedUpgrade', 'NotInstalled'] as const) {
      await writeHandlerState(configDir, state);
      assert.equal(await readFile(join(configDir, 'HandlerState'), 'utf8'), state);
      assert.deepEqual(await readHandlerState(configDir), { value: state, problem: null });
    }
    assert.equal((await stat(configDir)).mode & 0o777, 0o700);
  });
});

test('HandlerState tolerates a trailing newline and reports unknown text', async () => {
  await withDir(async (configDir) => {
    await mkdir(configDir, { recursive: true });
    await writeFile(join(configDir, 'HandlerState'), 'Enabled\n');
    assert.deepEqual(await readHandlerState(configDir), { value: 'Enabled', problem: null });
    await writeFile(join(configDir, 'HandlerState'), 'Bogus');
    const r = await readHandlerState(configDir);
    assert.equal(r.value, 'NotInstalled');
    assert.match(r.problem!, /Unknown state "Bogus"/);
  });
});

test('MC extension state: enabled/disabled, missing => disabled', async () => {
  await withDir(async (configDir) => {
    assert.deepEqual(await readExtensionState(configDir, 'MCExt1'), { value: 'disabled', problem: null });
    await writeExtensionState(configDir, 'MCExt1', 'enabled');
    assert.equal(await readFile(join(configDir, 'MCExt1.HandlerState'), 'utf8'), 'enabled');
    assert.deepEqual(await readExtensionState(configDir, 'MCExt1'), { value: 'enabled', problem: null });
    assert.deepEqual(await readExtensionState(configDir, 'MCExt2'), { value: 'disabled', problem: null });
    await writeFile(join(configDir, 'MCExt2.HandlerState'), 'Enabled');
    const r = await readExtensionState(configDir, 'MCExt2');
    assert.equal(r.value, 'disabled');
    assert.ok(r.problem);
  });
});

test('HandlerStatus round trip and missing file', async () => {
  await withDir(async (configDir) => {
    assert.deepEqual(await readHandlerStatus(configDir), { value: null, problem: null });
    await writeHandlerStatus(configDir, enabled);
    assert.equal(await readFile(join(configDir, 'HandlerStatus'), 'utf8'), handlerStatusJson(enabled));
    assert.deepEqual(await readHandlerStatus(configDir), { value: enabled, problem: null });
    const mc = { ...enabled, status: 'NotReady' as const, code: 1009, message: null, supportsMultiConfig: true };
    await writeHandlerStatus(configDir, mc);
    assert.deepEqual(await readHandlerStatus(configDir), { value: mc, problem: null });
  });
});

test('HandlerStatus written by WALinuxAgent is read; malformed ones are reported, not thrown', async () => {
  await withDir(async (configDir) => {
    await mkdir(configDir, { recursive: true });
    const file = join(configDir, 'HandlerStatus');
    // Older agents omitted supports_multi_config.
    await writeFile(file, '{"name": "A.B", "version": "1.0", "status": "NotReady", "code": -1, "message": "x"}');
    assert.deepEqual(await readHandlerStatus(configDir), {
      value: { name: 'A.B', version: '1.0', status: 'NotReady', code: -1, message: 'x', supportsMultiConfig: false },
      problem: null,
    });
    for (const text of ['{', '[]', '{"name": "A.B", "version": "1.0", "status": "Weird", "code": 0}', '{"name": "A.B", "status": "Ready", "code": 0}']) {
      await writeFile(file, text);
      const r = await readHandlerStatus(configDir);
      assert.equal(r.value, null, text);
      assert.match(r.problem!, /^Malformed .*HandlerStatus/, text);
    }
    const missingVersion = await readHandlerStatus(configDir);
    assert.match(missingVersion.problem!, /field version/);
  });
});
