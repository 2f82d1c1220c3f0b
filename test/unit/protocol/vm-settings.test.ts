import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { ZERO_GUID } from '../../../src/protocol/goal-state.js';
import {
  isVmSettingsSupportedVersion,
  parseVmSettings,
  supportsEncodedSignature,
} from '../../../src/protocol/schemas/vm-settings.js';
import { readWireFixture } from './fixtures.js';

const text = readWireFixture('vm-settings.json');
const doc = (): Record<string, any> => JSON.parse(text) as Record<string, any>;
const parseObj = (o: unknown) => parseVmSettings(JSON.stringify(o), 'E1');

const rejects = (o: unknown, re: RegExp) =>
  assert.throws(() => parseObj(o), (e: unknown) => e instanceof ProtocolError && e.code === 'WAA_PROTOCOL_PARSE' && re.test(e.message));

test('top-level fields', () => {
  const r = parseVmSettings(text, '123456');
  assert.equal(r.hostGAPluginVersion, '1.0.8.159');
  assert.equal(r.source, 'FastTrack');
  const gs = r.goalState;
  assert.equal(gs.id, 'etag_123456');
  assert.equal(gs.source, 'FastTrack');
  assert.equal(gs.channel, 'HostGAPlugin');
  assert.equal(gs.inSvdSeqNo, '3');
  assert.equal(gs.createdOnTicks, '638512345678901299'); // digits kept exactly beyond 2^53
  assert.equal(gs.activityId, '2b3c4d5e-0000-1111-2222-333344445555');
  assert.equal(gs.correlationId, ZERO_GUID); // empty => zero GUID
  assert.equal(gs.onHold, false);
  assert.deepEqual(gs.statusUploadBlob, { url: 'https://127.0.0.1/status/vm.status?sv=2018-03-28&sr=b&sig=bm90LWEtc2ln&sp=w', type: 'PageBlob' });
  assert.equal(gs.artifactsProfileUrl, null);
  assert.deepEqual(gs.requiredFeatures, ['MultipleExtensionsPerHandler']);
  assert.deepEqual(gs.gaFamilies, [
    { name: 'Prod', version: '2.15.0.3', fromVersion: '2.15.0.1', isVersionFromRSM: true, isVMEnabledForRSMUpgrades: false, uris: ['https://127.0.0.1/agent/Prod_manifest.xml'] },
    { name: 'Test', version: null, fromVersion: null, isVersionFromRSM: null, isVMEnabledForRSMUpgrades: null, uris: [] },
  ]);
  assert.ok(Object.isFrozen(gs.handlers[0]?.settings[0]));
});

test('single-config handler: settingsSeqNo, JSON-encoded publicSettings (case kept), dependsOn level, keys any case', () => {
  const [h] = parseVmSettings(text, 'E').goalState.handlers;
  assert.deepEqual(h, {
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
        sequenceNumber: 9,
        state: 'enabled',
        publicSettings: { commandToExecute: 'echo hi', Nested: { KeepCase: true } },
        protectedSettings: 'UFJPVEVDVEVELU5PVC1SRUFM',
        certificateThumbprint: '0123456789ABCDEF0123456789ABCDEF01234567',
        dependencyLevel: 2,
      },
    ],
    invalidReason: null,
  });
});

test('multi-config handler and a handler without settings', () => {
  const [, mc, mon] = parseVmSettings(text, 'E').goalState.handlers;
  assert.equal(mc?.isMultiConfig, true);
  assert.deepEqual(
    mc?.settings.map((s) => [s.name, s.sequenceNumber, s.state, s.dependencyLevel, s.publicSettings]),
    [
      ['first', 4, 'enabled', 0, { script: 'echo 1' }],
      ['second', 1, 'disabled', 5, null],
    ],
  );
  assert.deepEqual(mc?.manifestUris, ['https://127.0.0.1/ext/RunCommand_manifest.xml']);
  assert.equal(mon?.state, 'uninstall');
  assert.deepEqual(mon?.settings, []);
  assert.equal(mon?.encodedSignature, null);
});

test('source: Fabric and UNKNOWN are reported; the model only says FastTrack for FastTrack', () => {
  const fabric = doc();
  fabric.extensionGoalStatesSource = 'Fabric';
  assert.equal(parseObj(fabric).source, 'Fabric');
  assert.equal(parseObj(fabric).goalState.source, 'Fabric');
  const unknown = doc();
  delete unknown.extensionGoalStatesSource;
  assert.equal(parseObj(unknown).source, 'UNKNOWN');
  assert.equal(parseObj(unknown).goalState.source, 'Fabric');
});

test('defaults for a bare document', () => {
  const r = parseVmSettings('{}', 'E');
  assert.equal(r.hostGAPluginVersion, '0.0.0.0');
  assert.equal(r.goalState.inSvdSeqNo, ZERO_GUID);
  assert.equal(r.goalState.createdOnTicks, '0');
  assert.equal(r.goalState.statusUploadBlob, null);
  assert.equal(r.goalState.onHold, false);
  assert.deepEqual(r.goalState.handlers, []);
});

test('statusUploadBlob: missing/invalid type => BlockBlob; object without value => error', () => {
  const d = doc();
  d.statusUploadBlob = { value: 'https://127.0.0.1/s', statusBlobType: 'AppendBlob' };
  assert.equal(parseObj(d).goalState.statusUploadBlob?.type, 'BlockBlob');
  d.statusUploadBlob = { value: 'https://127.0.0.1/s' };
  assert.equal(parseObj(d).goalState.statusUploadBlob?.type, 'BlockBlob');
  d.statusUploadBlob = { statusBlobType: 'BlockBlob' };
  rejects(d, /statusUploadBlob\.value is missing/);
});

test('every violation is a parse error naming the field', () => {
  const cases: [string, (d: Record<string, any>) => void, RegExp][] = [
    ['invalid JSON', () => undefined, /./],
    ['requiredFeatures not an array', (d) => (d.requiredFeatures = { name: 'x' }), /requiredFeatures is invalid/],
    ['required feature without name', (d) => (d.requiredFeatures = [{}]), /requiredFeatures\[0\]\.name is missing/],
    ['gaFamily without name', (d) => delete d.gaFamilies[0].name, /gaFamilies\[0\]\.name is missing/],
    ['extension without version', (d) => delete d.extensionGoalStates[0].version, /extensionGoalStates\[0\]\.version is missing/],
    ['bad extension state', (d) => (d.extensionGoalStates[0].state = 'running'), /extensionGoalStates\[0\]\.state is invalid/],
    ['SC with two settings', (d) => d.extensionGoalStates[0].settings.push({}), /settings has more than one element/],
    ['SC without settingsSeqNo', (d) => delete d.extensionGoalStates[0].settingsSeqNo, /extensionGoalStates\[0\]\.settingsSeqNo is missing/],
    ['publicSettings not JSON', (d) => (d.extensionGoalStates[0].settings[0].publicSettings = '{oops'), /settings\[0\]\.publicSettings is not valid JSON/],
    ['publicSettings not a string', (d) => (d.extensionGoalStates[0].settings[0].publicSettings = { a: 1 }), /settings\[0\]\.publicSettings is invalid/],
    ['protected without thumbprint', (d) => delete d.extensionGoalStates[0].settings[0].protectedSettingsCertThumbprint, /protectedSettingsCertThumbprint is missing/],
    ['SC with two dependsOn', (d) => d.extensionGoalStates[0].DependsOn.push({ dependencyLevel: 1 }), /dependsOn must have at most one element/],
    ['dependsOn without level', (d) => delete d.extensionGoalStates[0].DependsOn[0].dependencyLevel, /dependsOn\[0\]\.dependencyLevel is missing/],
    ['MC settings without extensionName', (d) => delete d.extensionGoalStates[1].Settings[0].extensionName, /Settings?\[0\]\.extensionName is missing/i],
    ['MC settings without seqNo', (d) => delete d.extensionGoalStates[1].Settings[1].seqNo, /settings\[1\]\.seqNo is missing/i],
    ['MC settings without extensionState', (d) => delete d.extensionGoalStates[1].Settings[1].extensionState, /extensionState is missing/],
    ['MC dependsOn without name', (d) => delete d.extensionGoalStates[1].dependsOn[0].name, /dependsOn\[0\]\.name is missing/],
    ['MC dependsOn unknown name', (d) => (d.extensionGoalStates[1].dependsOn[0].name = 'nope'), /'nope' does not correspond to any of the settings/],
    ['additionalLocations not an array', (d) => (d.extensionGoalStates[0].additionalLocations = 'x'), /additionalLocations is invalid/],
    ['bad hostGAPluginVersion', (d) => (d.hostGAPluginVersion = 'one.two'), /hostGAPluginVersion is not a valid version/],
  ];
  for (const [name, mutate, re] of cases) {
    if (name === 'invalid JSON') {
      assert.throws(() => parseVmSettings('{"a":', 'E'), (e: unknown) => e instanceof ProtocolError && /invalid JSON/.test(e.message), name);
      continue;
    }
    const d = doc();
    mutate(d);
    assert.throws(() => parseObj(d), (e: unknown) => e instanceof ProtocolError && e.code === 'WAA_PROTOCOL_PARSE' && re.test(e.message), name);
  }
});

test('errors name the etag and HostGAPlugin version and never contain protected settings', () => {
  const d = doc();
  d.extensionGoalStates[0].settings[0].protectedSettings = 7;
  assert.throws(
    () => parseObj(d),
    (e: unknown) =>
      e instanceof ProtocolError &&
      e.message.startsWith('Cannot parse vmSettings [etag E1, HostGAPlugin 1.0.8.159] as extensionGoalStates[0].settings[0].protectedSettings is invalid') &&
      !e.message.includes('UFJPVEVDVEVELU5PVC1SRUFM'),
  );
});

test('SC dependsOn without settings is ignored; empty dependsOn => level 0', () => {
  const d = doc();
  d.extensionGoalStates[2].dependsOn = [{ dependencyLevel: 3 }];
  assert.deepEqual(parseObj(d).goalState.handlers[2]?.settings, []);
  const e = doc();
  e.extensionGoalStates[0].DependsOn = [];
  assert.equal(parseObj(e).goalState.handlers[0]?.settings[0]?.dependencyLevel, 0);
});

test('HostGAPlugin version gates', () => {
  assert.equal(isVmSettingsSupportedVersion('1.0.8.133'), true);
  assert.equal(isVmSettingsSupportedVersion('1.0.8.159'), true);
  assert.equal(isVmSettingsSupportedVersion('1.0.9'), true);
  assert.equal(isVmSettingsSupportedVersion('1.0.8.132'), false);
  assert.equal(isVmSettingsSupportedVersion('1.0.8'), false);
  assert.equal(isVmSettingsSupportedVersion('0.0.0.0'), false);
  assert.equal(isVmSettingsSupportedVersion('garbage'), false);
  assert.equal(supportsEncodedSignature('1.0.8.159'), true);
  assert.equal(supportsEncodedSignature('1.0.8.158'), false);
});
