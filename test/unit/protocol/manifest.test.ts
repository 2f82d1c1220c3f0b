import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { parseManifest } from '../../../src/protocol/schemas/manifest.js';
import { readWireFixture } from './fixtures.js';

test('Plugins and InternalPlugins are merged, flagged and sorted ascending by version', () => {
  const m = parseManifest(readWireFixture('manifest.xml'), 'Example.Handler');
  assert.deepEqual(
    m.packages.map((p) => [p.version, p.isInternal]),
    [
      ['1.9.3', false],
      ['1.10', false], // numeric, not lexical
      ['2.1.0rc1', false], // pre-release before the release
      ['2.1.0', false],
      ['2.1.5', true],
    ],
  );
  assert.deepEqual(m.packages[1]?.uris, ['https://127.0.0.1/pkgs/Example.Handler__1.10', 'https://127.0.0.2/pkgs/Example.Handler__1.10']);
  assert.ok(Object.isFrozen(m.packages));
});

test('an empty manifest has no packages; a package without Uris has none', () => {
  assert.deepEqual(parseManifest('<PluginVersionManifest/>', 'x').packages, []);
  const m = parseManifest('<PluginVersionManifest><Plugins><Plugin><Version>1.0</Version></Plugin></Plugins></PluginVersionManifest>', 'x');
  assert.deepEqual(m.packages, [{ version: '1.0', uris: [], isInternal: false }]);
});

test('a missing or invalid version is a parse error naming the manifest and the plugin', () => {
  assert.throws(
    () => parseManifest('<PluginVersionManifest><InternalPlugins><Plugin><Uris/></Plugin></InternalPlugins></PluginVersionManifest>', 'manifest of Pub.Type'),
    (e: unknown) => e instanceof ProtocolError && e.message === 'Cannot parse manifest of Pub.Type as InternalPlugins/Plugin[0].Version is missing',
  );
  assert.throws(
    () => parseManifest('<PluginVersionManifest><Plugins><Plugin><Version>latest</Version></Plugin></Plugins></PluginVersionManifest>', 'Pub.Type'),
    (e: unknown) => e instanceof ProtocolError && /Plugins\/Plugin\[0\]\.Version is not a valid version/.test(e.message),
  );
});
