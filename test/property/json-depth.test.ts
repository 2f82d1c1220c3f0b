// Deeply nested JSON: JSON.parse takes any depth, the recursive code after it (lowerKeys, deepFreeze, JSON.stringify,
// pyJsonDumps) overflowed the stack with a RangeError. Every JSON reader now refuses nesting beyond MAX_JSON_DEPTH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionError, ProtocolError } from '../../src/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/protocol/schemas/json-text.js';
import { parseVmSettings } from '../../src/protocol/schemas/vm-settings.js';
import { parseExtensionsConfig } from '../../src/protocol/schemas/extensions-config.js';
import { parseArtifactsProfile } from '../../src/protocol/schemas/artifacts-profile.js';
import { parseHandlerManifest } from '../../src/extensions/manifest.js';
import { readExtensionStatus, readHeartbeat } from '../../src/extensions/status-file.js';
import { parseHandlerStatus } from '../../src/extensions/handler-state.js';
import { escText } from './documents.js';

const DEEP = 20_000;
const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

test('exceedsJsonDepth counts brackets outside strings only', () => {
  assert.equal(exceedsJsonDepth(deepArray(MAX_JSON_DEPTH)), false);
  assert.equal(exceedsJsonDepth(deepArray(MAX_JSON_DEPTH + 1)), true);
  assert.equal(exceedsJsonDepth(deepObject(3), 2), true);
  assert.equal(exceedsJsonDepth(JSON.stringify({ s: '['.repeat(1000) + '\\"[[[' }), 2), false);
  assert.equal(exceedsJsonDepth('[[[[', 3), true, 'unbalanced text is counted too');
});

const vmSettings = (publicSettings: string, extra = '') =>
  `{"hostGAPluginVersion":"1.0.8.159"${extra},"extensionGoalStates":[{"name":"Pub.Ext","version":"1.0","state":"enabled",` +
  `"settingsSeqNo":1,"settings":[{"publicSettings":${JSON.stringify(publicSettings)}}]}]}`;

test('vmSettings: too deep a document or publicSettings is a ProtocolError, a deep-enough one parses', () => {
  for (const json of [deepArray(DEEP), vmSettings('{}', `,"x":${deepObject(DEEP)}`), vmSettings(deepArray(DEEP))]) {
    assert.throws(() => parseVmSettings(json, 'e1'), (e: unknown) => e instanceof ProtocolError && /^Cannot parse vmSettings \[etag e1.*(nested|nests) deeper than 128 levels/.test(e.message));
  }
  const ok = parseVmSettings(vmSettings(deepArray(MAX_JSON_DEPTH)), 'e1');
  assert.ok(Array.isArray(ok.goalState.handlers[0]?.settings[0]?.publicSettings));
});

test('ExtensionsConfig: too deep settings are invalid settings (no public settings), not a crash', () => {
  const settings = `{"runtimeSettings":[{"handlerSettings":{"publicSettings":${deepArray(DEEP)}}}]}`;
  const xml =
    '<Extensions><Plugins><Plugin name="Pub.Ext" version="1.0" state="enabled" location="http://127.0.0.1/m"/></Plugins>' +
    `<PluginSettings><Plugin name="Pub.Ext" version="1.0"><RuntimeSettings seqNo="4">${escText(settings)}</RuntimeSettings></Plugin></PluginSettings></Extensions>`;
  const gs = parseExtensionsConfig(xml, '1');
  assert.deepEqual(gs.handlers[0]?.settings.map((s) => [s.sequenceNumber, s.publicSettings]), [[4, null]]);
});

test('ExtensionsConfig: a seqNo beyond 2^53 is refused (it would name a 1.2e+29.settings file)', () => {
  const xml =
    '<Extensions><Plugins><Plugin name="Pub.Ext" version="1.0" state="enabled" location="http://127.0.0.1/m"/></Plugins>' +
    '<PluginSettings><Plugin name="Pub.Ext" version="1.0"><RuntimeSettings seqNo="123456789012345678901234567890">{}</RuntimeSettings></Plugin></PluginSettings></Extensions>';
  assert.throws(() => parseExtensionsConfig(xml, '1'), (e: unknown) => e instanceof ProtocolError && /@seqNo is out of range/.test(e.message));
});

test('HandlerManifest.json, status, heartbeat, HandlerStatus and artifacts profile refuse deep nesting cleanly', async () => {
  assert.throws(
    () => parseHandlerManifest(`[{"handlerManifest":{"reportHeartbeat":${deepArray(DEEP)}}}]`, 'HM.json'),
    (e: unknown) => e instanceof ExtensionError && /HM\.json.*nested deeper than 128 levels/.test(e.message),
  );
  const status = await readExtensionStatus({
    statusDir: '/s', fileName: '0.status', extensionName: 'Pub.Ext', extensionFullName: 'Pub.Ext', fullName: 'Pub.Ext-1.0', seq: 0,
    attempts: 1, readFile: async () => `[{"status":{"status":"success","code":${deepArray(DEEP)}}}]`,
  });
  assert.equal(status.outcome, 'invalid-json');
  assert.match(status.message ?? '', /Pub\.Ext-1\.0.*nested deeper than 128 levels/s);
  const hb = await readHeartbeat('/h', 0, { readFile: async () => `[{"heartbeat":{"status":${deepArray(DEEP)}}}]`, mtimeMs: async () => 0 });
  assert.deepEqual(hb, { kind: 'error', code: -1, message: 'Malformed heartbeat file: JSON nested deeper than 128 levels' });
  // These two never recurse into unknown values, so deep nesting is merely a schema error there.
  assert.match(parseHandlerStatus(deepObject(DEEP), 'HandlerStatus').problem ?? '', /^Malformed HandlerStatus/);
  assert.deepEqual(parseArtifactsProfile(`{"x":${deepObject(DEEP)},"onHold":true}`), { onHold: true });
});
