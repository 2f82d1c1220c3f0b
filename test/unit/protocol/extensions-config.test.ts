import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { ZERO_GUID, type HandlerSpec } from '../../../src/protocol/goal-state.js';
import { parseExtensionsConfig } from '../../../src/protocol/schemas/extensions-config.js';
import { readWireFixture } from './fixtures.js';

const byName = (handlers: readonly HandlerSpec[], name: string): HandlerSpec => {
  const h = handlers.find((x) => x.name === name);
  assert.ok(h, `handler ${name}`);
  return h;
};

test('single-config document: identity, metadata, blobs, families, features', () => {
  const gs = parseExtensionsConfig(readWireFixture('ext-conf-single.xml'), '7');
  assert.equal(gs.id, 'incarnation_7');
  assert.equal(gs.source, 'Fabric');
  assert.equal(gs.channel, 'WireServer');
  assert.equal(gs.inSvdSeqNo, '7'); // the incarnation, not InVMGoalStateMetaData/@inSvdSeqNo
  assert.equal(gs.createdOnTicks, '638512345678901234'); // exact beyond 2^53
  assert.equal(gs.activityId, '1f2e3d4c-0000-1111-2222-333344445555');
  assert.equal(gs.correlationId, '9a8b7c6d-0000-1111-2222-333344445555');
  assert.deepEqual(gs.statusUploadBlob, { url: 'https://127.0.0.1/status/vm.status?sv=2018-03-28&sr=b&sig=bm90LWEtc2ln&sp=w', type: 'PageBlob' });
  assert.equal(gs.artifactsProfileUrl, 'https://127.0.0.1/status/vm.vmSettings?sv=2018-03-28&sr=b&sp=r');
  assert.equal(gs.onHold, null);
  assert.deepEqual(gs.requiredFeatures, ['MultipleExtensionsPerHandler']);
  assert.deepEqual(gs.gaFamilies, [
    {
      name: 'Prod',
      version: '2.15.0.3',
      fromVersion: '2.15.0.1',
      isVersionFromRSM: true,
      isVMEnabledForRSMUpgrades: false, // any text other than "true" is false
      uris: ['https://127.0.0.1/agent/Prod_manifest_a.xml', 'https://127.0.0.2/agent/Prod_manifest_b.xml'],
    },
    { name: 'Test', version: null, fromVersion: null, isVersionFromRSM: null, isVMEnabledForRSMUpgrades: null, uris: ['https://127.0.0.1/agent/Test_manifest.xml'] },
  ]);
  assert.ok(Object.isFrozen(gs) && Object.isFrozen(gs.handlers) && Object.isFrozen(gs.handlers[0]?.settings));
});

test('single-config handlers: attributes, manifest URLs, case-insensitive settings match, DependsOn level', () => {
  const gs = parseExtensionsConfig(readWireFixture('ext-conf-single.xml'), '7');
  assert.deepEqual(gs.handlers.map((h) => h.name), ['Example.Publisher.ScriptRunner', 'Example.Publisher.Monitor', 'Example.Publisher.Legacy']);
  assert.deepEqual(byName(gs.handlers, 'Example.Publisher.ScriptRunner'), {
    name: 'Example.Publisher.ScriptRunner',
    version: '2.1.6',
    state: 'enabled',
    manifestUris: [
      'https://127.0.0.1/ext/ScriptRunner_manifest.xml',
      'https://127.0.0.2/ext/ScriptRunner_manifest.xml',
      'https://127.0.0.3/ext/ScriptRunner_manifest.xml',
    ],
    encodedSignature: 'U0lHTkFUVVJFLU5PVC1SRUFM',
    isMultiConfig: false,
    settings: [
      {
        name: 'Example.Publisher.ScriptRunner',
        sequenceNumber: 4,
        state: 'enabled',
        publicSettings: { commandToExecute: 'echo a & b', n: 2 },
        protectedSettings: 'UFJPVEVDVEVELU5PVC1SRUFM',
        certificateThumbprint: '0123456789ABCDEF0123456789ABCDEF01234567',
        dependencyLevel: 3,
      },
    ],
    invalidReason: null,
  });
  const monitor = byName(gs.handlers, 'Example.Publisher.Monitor');
  assert.equal(monitor.state, 'disabled');
  assert.deepEqual(monitor.manifestUris, ['https://127.0.0.1/ext/Monitor_manifest.xml']); // empty failoverlocation dropped
  assert.equal(monitor.encodedSignature, null);
  assert.deepEqual(monitor.settings, [
    { name: 'Example.Publisher.Monitor', sequenceNumber: 0, state: 'enabled', publicSettings: null, protectedSettings: null, certificateThumbprint: null, dependencyLevel: 0 },
  ]);
  const legacy = byName(gs.handlers, 'Example.Publisher.Legacy');
  assert.equal(legacy.state, 'uninstall');
  assert.deepEqual(legacy.settings, []); // no PluginSettings entry is legal
  assert.equal(legacy.invalidReason, null);
});

test('multi-config handler: ExtensionRuntimeSettings, per-extension state and DependsOn levels', () => {
  const gs = parseExtensionsConfig(readWireFixture('ext-conf-multi.xml'), '8');
  const rc = byName(gs.handlers, 'Example.Publisher.RunCommand');
  assert.equal(rc.isMultiConfig, true);
  assert.equal(rc.invalidReason, null);
  assert.deepEqual(
    rc.settings.map((s) => [s.name, s.sequenceNumber, s.state, s.dependencyLevel, s.publicSettings]),
    [
      ['first', 5, 'enabled', 0, { script: 'echo first' }],
      ['second', 2, 'disabled', 2, { script: 'echo second' }], // state lower-cased
      ['third', 1, 'enabled', 0, 'plain string'], // no state => enabled; unparsable level => 0
    ],
  );
  const agent = byName(gs.handlers, 'Example.Publisher.Agent');
  assert.equal(agent.isMultiConfig, false);
  assert.equal(agent.settings[0]?.dependencyLevel, 1);
  assert.deepEqual(gs.statusUploadBlob?.type, 'BlockBlob'); // missing type => BlockBlob
  assert.deepEqual(gs.gaFamilies, []);
  assert.deepEqual(gs.requiredFeatures, []);
});

test('per-handler configuration errors mark the handler invalid, the others are unaffected', () => {
  const gs = parseExtensionsConfig(readWireFixture('ext-conf-invalid-handlers.xml'), '9');
  const reason = (n: string) => byName(gs.handlers, n).invalidReason;
  assert.equal(
    reason('Bad.VersionMismatch'),
    'Extension PluginSettings Version Mismatch! Expected PluginSettings version: 1.0.0 for Extension: Bad.VersionMismatch but found versions: (1.0.0, 1.0.1)',
  );
  assert.equal(
    reason('Bad.MultipleSettings'),
    'Multiple plugin settings found for the same extension: Bad.MultipleSettings and version: 1.0.0 (Expected: 1; Available: 2)',
  );
  assert.equal(reason('Bad.Mixed'), 'Both RuntimeSettings and ExtensionRuntimeSettings found for the same extension: Bad.Mixed and version: 1.0.0');
  assert.equal(
    reason('Bad.TwoRuntimeSettings'),
    'Multiple RuntimeSettings found for the same extension: Bad.TwoRuntimeSettings and version: 1.0.0 (Expected: 1; Available: 2)',
  );
  assert.equal(reason('Bad.TwoDependsOn'), 'Extension Handler can only have a single dependsOn node for Single config extensions. Found: 2');
  assert.equal(reason('Bad.EmptyState'), 'Received empty Extensions.Plugins.Plugin.state, failing Handler');
  assert.equal(reason('Bad.NoSeqNo'), 'SeqNo not specified for the Extension: Bad.NoSeqNo');
  assert.equal(reason('Bad.McDependsOnNoName'), 'No Name not specified for DependsOn object in ExtensionRuntimeSettings for MultiConfig!');
  assert.equal(reason('Bad.McSecondNoSeqNo'), 'SeqNo not specified for the Extension: b');
  assert.match(reason('Bad.UnknownState') ?? '', /invalid Extensions\.Plugins\.Plugin\.state 'Running'/);
  // settings parsed before the error are kept, as upstream does
  assert.deepEqual(byName(gs.handlers, 'Bad.McSecondNoSeqNo').settings.map((s) => [s.name, s.sequenceNumber, s.publicSettings]), [['a', 3, { k: 1 }]]);
  assert.equal(byName(gs.handlers, 'Bad.McSecondNoSeqNo').isMultiConfig, true);
  assert.equal(reason('Ok.NoSettings'), null);
  assert.equal(gs.statusUploadBlob?.type, 'BlockBlob'); // AppendBlob is not valid => BlockBlob
});

test('invalid settings JSON yields one settings entry with only name/seqNo/state/level', () => {
  const gs = parseExtensionsConfig(readWireFixture('ext-conf-invalid-handlers.xml'), '9');
  const h = byName(gs.handlers, 'Ok.InvalidJson');
  assert.equal(h.invalidReason, null);
  assert.deepEqual(h.settings, [
    { name: 'Ok.InvalidJson', sequenceNumber: 6, state: 'enabled', publicSettings: null, protectedSettings: null, certificateThumbprint: null, dependencyLevel: 4 },
  ]);
});

const minimal = (body: string) => `<Extensions version="1.0.0.0">${body}</Extensions>`;

test('no metadata, status blob or artifacts profile: defaults', () => {
  const gs = parseExtensionsConfig(minimal(''), '1');
  assert.equal(gs.createdOnTicks, '0');
  assert.equal(gs.activityId, ZERO_GUID);
  assert.equal(gs.correlationId, ZERO_GUID);
  assert.equal(gs.statusUploadBlob, null);
  assert.equal(gs.artifactsProfileUrl, null);
  assert.deepEqual(gs.handlers, []);
});

test('unparsable createdOnTicks => 0; empty ids => zero GUID; leading zeros dropped', () => {
  const bad = parseExtensionsConfig(minimal('<InVMGoalStateMetaData createdOnTicks="yesterday" activityId="" />'), '1');
  assert.equal(bad.createdOnTicks, '0');
  assert.equal(bad.activityId, ZERO_GUID);
  assert.equal(parseExtensionsConfig(minimal('<InVMGoalStateMetaData createdOnTicks="000123" />'), '1').createdOnTicks, '123');
});

const withSettings = (settings: string, seqNo = '0') =>
  minimal(
    `<Plugins><Plugin name="P.Q" version="1.0" state="enabled" location="https://127.0.0.1/m.xml"/></Plugins>` +
      `<PluginSettings><Plugin name="P.Q" version="1.0"><RuntimeSettings seqNo="${seqNo}">${settings}</RuntimeSettings></Plugin></PluginSettings>`,
  );

test('valid JSON with the wrong structure fails the document and names the field', () => {
  assert.throws(
    () => parseExtensionsConfig(withSettings('{"other":1}'), '1'),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.code === 'WAA_PROTOCOL_PARSE' &&
      e.message === 'Cannot parse ExtensionsConfig as PluginSettings/Plugin[P.Q]/RuntimeSettings.runtimeSettings is missing',
  );
  assert.throws(() => parseExtensionsConfig(withSettings('{"runtimeSettings":[{}]}'), '1'), /runtimeSettings\[0\]\.handlerSettings is missing/);
});

test('a non-integer seqNo fails the document; protectedSettings never appear in errors', () => {
  assert.throws(() => parseExtensionsConfig(withSettings('{"runtimeSettings":[]}', 'x'), '1'), /RuntimeSettings@seqNo is not an integer/);
  const secret = 'U0VDUkVULURPLU5PVC1MRUFL';
  assert.throws(
    () => parseExtensionsConfig(withSettings(`{"runtimeSettings":[{"handlerSettings":{"protectedSettings":{"v":"${secret}"}}}]}`), '1'),
    (e: unknown) => e instanceof ProtocolError && /protectedSettings is invalid/.test(e.message) && !e.message.includes(secret),
  );
});

test('empty runtimeSettings array and empty settings text', () => {
  assert.deepEqual(parseExtensionsConfig(withSettings('{"runtimeSettings":[]}'), '1').handlers[0]?.settings, []);
  // empty text is invalid JSON: degraded settings entry, handler still valid
  const h = parseExtensionsConfig(withSettings(''), '1').handlers[0];
  assert.equal(h?.settings.length, 1);
  assert.equal(h?.invalidReason, null);
});

test('malformed XML is a ProtocolError', () => {
  assert.throws(() => parseExtensionsConfig('<Extensions><Plugins></Extensions>', '1'), (e: unknown) => e instanceof ProtocolError && /^Cannot parse ExtensionsConfig as malformed XML/.test(e.message));
});
