import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExtensionError } from '../../../src/errors.js';
import { findHandlerManifest, parseHandlerManifest, requireCommand } from '../../../src/extensions/manifest.js';

const commands = {
  installCommand: 'bin/install.sh',
  uninstallCommand: 'bin/uninstall.sh',
  updateCommand: 'bin/update.sh',
  enableCommand: '/bin/enable.sh',
  disableCommand: 'bin/disable.sh',
};

function manifestText(handlerManifest: Record<string, unknown>, top: Record<string, unknown> = {}): string {
  return JSON.stringify([{ name: 'TestHandler', version: 1.0, handlerManifest, ...top }], null, 2);
}

test('parses the five commands and defaults the optional fields', () => {
  const m = parseHandlerManifest(manifestText(commands), 'm.json');
  assert.deepEqual(m.commands, {
    install: 'bin/install.sh',
    uninstall: 'bin/uninstall.sh',
    update: 'bin/update.sh',
    enable: '/bin/enable.sh',
    disable: 'bin/disable.sh',
  });
  assert.equal(m.reportHeartbeat, false);
  assert.equal(m.continueOnUpdateFailure, false);
  assert.equal(m.supportsMultipleExtensions, false);
  assert.equal(m.updateMode, null);
  assert.equal(m.installOnUpdate, true);
  assert.equal(m.resourceLimits, null);
  assert.equal(m.signingInfo, null);
  assert.deepEqual(m.warnings, []);
  assert.equal(requireCommand(m, 'enable'), '/bin/enable.sh');
});

test('booleans: JSON true or "true" in any case; anything else is false and warned about', () => {
  const yes = parseHandlerManifest(
    manifestText({ ...commands, reportHeartbeat: true, continueOnUpdateFailure: 'true', supportsMultipleExtensions: 'TrUe' }),
    'm.json',
  );
  assert.deepEqual([yes.reportHeartbeat, yes.continueOnUpdateFailure, yes.supportsMultipleExtensions], [true, true, true]);
  assert.equal(yes.warnings.length, 2);
  assert.match(yes.warnings[0]!, /'continueOnUpdateFailure' has a non-boolean value \[true\]/);

  const no = parseHandlerManifest(
    manifestText({ ...commands, reportHeartbeat: 'false', continueOnUpdateFailure: 'yes', supportsMultipleExtensions: 1 }),
    'm.json',
  );
  assert.deepEqual([no.reportHeartbeat, no.continueOnUpdateFailure, no.supportsMultipleExtensions], [false, false, false]);
  assert.equal(no.warnings.length, 3);

  const explicitFalse = parseHandlerManifest(manifestText({ ...commands, reportHeartbeat: false }), 'm.json');
  assert.equal(explicitFalse.reportHeartbeat, false);
  assert.deepEqual(explicitFalse.warnings, []);
});

test('updateMode decides whether install runs on update', () => {
  const mode = (updateMode: unknown) =>
    parseHandlerManifest(manifestText({ ...commands, updateMode }), 'm.json').installOnUpdate;
  assert.equal(mode('UpdateWithInstall'), true);
  assert.equal(mode('updatewithINSTALL'), true);
  assert.equal(mode('UpdateWithoutInstall'), false);
  assert.equal(mode(''), false);
  assert.equal(mode(null), true);
  assert.equal(parseHandlerManifest(manifestText({ ...commands, updateMode: 'UpdateWithoutInstall' }), 'm').updateMode, 'UpdateWithoutInstall');
});

test('strips a UTF-8 BOM and passes resourceLimits and signingInfo through', () => {
  const limits = { cpuQuotaPercentage: 50, memoryQuotaInMB: 100, services: [{ name: 'a.service', cpuQuotaPercentage: 5 }] };
  const signing = { type: 'CustomScript', publisher: 'Microsoft.Azure.Extensions', version: '2.1.6' };
  const m = parseHandlerManifest('\ufeff' + manifestText(commands, { resourceLimits: limits, signingInfo: signing }), 'm.json');
  assert.deepEqual(m.resourceLimits, limits);
  assert.deepEqual(m.signingInfo, signing);
  // Not objects: ignored rather than failing the manifest.
  const odd = parseHandlerManifest(manifestText(commands, { resourceLimits: 'x', signingInfo: [1] }), 'm.json');
  assert.equal(odd.resourceLimits, null);
  assert.equal(odd.signingInfo, null);
});

test('a missing or non-string command fails only when that operation runs, with code -1', () => {
  const m = parseHandlerManifest(manifestText({ enableCommand: 'enable.sh', updateCommand: 42 }), 'm.json');
  assert.equal(requireCommand(m, 'enable'), 'enable.sh');
  for (const op of ['install', 'update'] as const) {
    assert.throws(
      () => requireCommand(m, op),
      (e: unknown) => e instanceof ExtensionError && e.extCode === -1 && e.message.includes(op),
    );
  }
});

test('invalid JSON and a missing handlerManifest are code 1003 naming the file', () => {
  const bad = ['[{"handlerManifest": ', '{}', '[]', '[{"name": "x"}]', '[{"handlerManifest": null}]', '[{"handlerManifest": "x"}]', '[5]'];
  for (const text of bad) {
    assert.throws(
      () => parseHandlerManifest(text, '/lib/H-1.0/HandlerManifest.json'),
      (e: unknown) =>
        e instanceof ExtensionError &&
        e.extCode === 1003 &&
        e.message.startsWith('Malformed manifest file (/lib/H-1.0/HandlerManifest.json)'),
      text,
    );
  }
});

test('findHandlerManifest walks like os.walk: files of a directory before its subdirectories', async () => {
  const root = await mkdtemp(join(tmpdir(), 'extfiles-manifest-'));
  try {
    assert.equal(await findHandlerManifest(root), null);
    await mkdir(join(root, 'a', 'deep'), { recursive: true });
    await mkdir(join(root, 'b'), { recursive: true });
    await writeFile(join(root, 'a', 'deep', 'HandlerManifest.json'), '[]');
    await writeFile(join(root, 'b', 'HandlerManifest.json'), '[]');
    // Depth-first in name order: a/deep is reached before b.
    assert.equal(await findHandlerManifest(root), join(root, 'a', 'deep', 'HandlerManifest.json'));
    await writeFile(join(root, 'a', 'HandlerManifest.json'), '[]');
    assert.equal(await findHandlerManifest(root), join(root, 'a', 'HandlerManifest.json'));
    await writeFile(join(root, 'HandlerManifest.json'), '[]');
    assert.equal(await findHandlerManifest(root), join(root, 'HandlerManifest.json'));
    // A directory with the manifest's name is not a match.
    const other = join(root, 'other');
    await mkdir(join(other, 'HandlerManifest.json'), { recursive: true });
    assert.equal(await findHandlerManifest(other), null);
    // Symlinked directories are not followed (os.walk followlinks=False).
    const linked = join(root, 'linked');
    await mkdir(linked);
    await symlink(join(root, 'b'), join(linked, 'link'));
    assert.equal(await findHandlerManifest(linked), null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
