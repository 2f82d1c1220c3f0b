import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExtensionSettings } from '../../../src/protocol/goal-state.js';
import {
  settingsFileContent,
  settingsFileName,
  statusFileName,
  writeSettingsFile,
} from '../../../src/extensions/settings.js';

const full: ExtensionSettings = {
  name: 'Microsoft.Azure.Extensions.CustomScript',
  sequenceNumber: 3,
  state: 'enabled',
  publicSettings: { foo: 'bar', n: 1, list: [true, null] },
  protectedSettings: 'MIIBzQYJKoZIhvcNAQcDoIIBvjCC',
  certificateThumbprint: 'F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9',
  dependencyLevel: 0,
};

test('settings file content is byte-identical to upstream json.dumps', () => {
  assert.equal(
    settingsFileContent(full),
    '{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"foo": "bar", "n": 1, "list": [true, null]}, ' +
      '"protectedSettings": "MIIBzQYJKoZIhvcNAQcDoIIBvjCC", ' +
      '"protectedSettingsCertThumbprint": "F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9"}}]}',
  );
});

test('absent values are written as null', () => {
  const bare: ExtensionSettings = { ...full, publicSettings: undefined, protectedSettings: null, certificateThumbprint: null };
  assert.equal(
    settingsFileContent(bare),
    '{"runtimeSettings": [{"handlerSettings": {"publicSettings": null, "protectedSettings": null, "protectedSettingsCertThumbprint": null}}]}',
  );
});

test('no settings => empty content and 0.settings', () => {
  assert.equal(settingsFileContent(null), '');
  assert.equal(settingsFileName(null, false), '0.settings');
  assert.equal(settingsFileName(null, true), '0.settings');
});

test('file names for single- and multi-config', () => {
  assert.equal(settingsFileName(full, false), '3.settings');
  assert.equal(settingsFileName({ name: 'MCExt1', sequenceNumber: 0 }, true), 'MCExt1.0.settings');
  assert.equal(statusFileName(full, false), '3.status');
  assert.equal(statusFileName({ name: 'MCExt1', sequenceNumber: 12 }, true), 'MCExt1.12.status');
});

test('writeSettingsFile creates config/ and writes mode 0600', async () => {
  const root = await mkdtemp(join(tmpdir(), 'extfiles-settings-'));
  try {
    const configDir = join(root, 'config');
    const file = await writeSettingsFile(configDir, full, false);
    assert.equal(file, join(configDir, '3.settings'));
    assert.equal(await readFile(file, 'utf8'), settingsFileContent(full));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(configDir)).mode & 0o777, 0o700);
    const empty = await writeSettingsFile(configDir, null, false);
    assert.equal(empty, join(configDir, '0.settings'));
    assert.equal(await readFile(empty, 'utf8'), '');
    // Older settings files stay.
    assert.equal(await readFile(file, 'utf8'), settingsFileContent(full));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
