// HostGAPlugin vmSettings JSON (parseVmSettings) and the InVMArtifactsProfile JSON (parseArtifactsProfile):
// generated documents (keys in any case) round-trip; mutated and random documents are parsed or refused with a
// ProtocolError naming the document, never echoing protectedSettings or a SAS signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { ZERO_GUID } from '../../src/protocol/goal-state.js';
import { parseVmSettings } from '../../src/protocol/schemas/vm-settings.js';
import { parseArtifactsProfile } from '../../src/protocol/schemas/artifacts-profile.js';
import { SECRETS, check, expectedHandler, figures, handlersArb, parseOrReject, pick, randomText, type GenHandler } from './arbitraries.js';
import { Raw, mutateJson, renderJson } from './documents.js';

const SIG = 'SASSIGNATUREc2VjcmV0LXNpZ25hdHVyZQ';
const ALL_SECRETS = [...SECRETS, SIG];
const JSON_ALPHABET = '{}[]":,\\ -.0123456789eEtruefalsn\u0000\uFEFFaAxX';

/** Upper-cases some keys (vmSettings keys are case-insensitive at every level). */
function recase(value: unknown, mask: number): unknown {
  if (Array.isArray(value)) return value.map((v) => recase(v, mask));
  if (value === null || typeof value !== 'object' || value instanceof Raw) return value;
  const out: Record<string, unknown> = {};
  let i = 0;
  for (const k in value) out[(mask >> (i++ % 30)) & 1 ? k.toUpperCase() : k] = recase((value as Record<string, unknown>)[k], mask >> 1);
  return out;
}

function extensionJson(h: GenHandler, n: number): Record<string, unknown> {
  const [location, failoverLocation, ...additionalLocations] = h.uris;
  const settings = h.settings.map((s) => ({
    ...(s.pub === undefined ? {} : { publicSettings: JSON.stringify(s.pub) }),
    ...(s.prot === null ? {} : { protectedSettings: s.prot }),
    ...(s.thumb === null ? {} : { protectedSettingsCertThumbprint: s.thumb }),
    ...(h.multi ? { extensionName: s.name, seqNo: s.seq, extensionState: s.state } : {}),
  }));
  const dependsOn = h.multi
    ? h.settings.filter((s) => s.level !== 0).map((s) => ({ name: s.name, dependencyLevel: s.level, dependsOnExtension: [] }))
    : h.settings.filter((s) => s.level !== 0).map((s) => ({ dependencyLevel: s.level }));
  return {
    name: h.name,
    version: h.version,
    location,
    failoverLocation: failoverLocation ?? null,
    additionalLocations,
    state: h.state,
    autoUpgrade: true,
    runAsStartupTask: false,
    isJson: true,
    useExactVersion: true,
    ...(h.signature === null ? {} : { encodedSignature: h.signature }),
    ...(h.multi ? { isMultiConfig: true } : n % 2 === 0 ? { isMultiConfig: false } : {}),
    ...(h.multi || h.settings.length === 0 ? {} : { settingsSeqNo: h.settings[0]!.seq }),
    settings,
    ...(dependsOn.length === 0 ? {} : { dependsOn }),
  };
}

const vmSettingsArb = fc.tuple(handlersArb, fc.nat(), fc.nat(), fc.nat(), fc.nat()).map(([handlers, inSvd, ticks, misc, mask]) => {
  const ticksText = `${ticks + 1}${misc % 2 === 0 ? '1234567890' : ''}`;
  const source = pick(['FastTrack', 'Fabric'] as const, misc);
  const blob = misc % 5 === 0 ? null : { url: `https://127.0.0.1/status/vm.status?sv=2018-03-28&sr=b&sig=${SIG}${misc}`, type: misc % 4 === 0 ? 'PageBlob' : 'BlockBlob' };
  const doc = {
    hostGAPluginVersion: `1.0.8.${133 + (misc % 40)}`,
    vmSettingsSchemaVersion: '0.0',
    activityId: `act-${misc}`,
    correlationId: misc % 3 === 0 ? '' : `corr-${misc}`,
    inSvdSeqNo: inSvd,
    extensionsLastModifiedTickCount: new Raw(ticksText),
    extensionGoalStatesSource: source,
    onHold: misc % 7 === 0,
    ...(blob === null ? {} : { statusUploadBlob: { statusBlobType: blob.type, value: blob.url } }),
    inVMMetadata: { vmName: 'vm', osType: 'Linux' },
    requiredFeatures: [{ name: 'MultipleExtensionsPerHandler' }],
    gaFamilies: [{ name: 'Prod', version: `2.${misc % 9}.0.1`, uris: ['https://127.0.0.1/ga'] }],
    extensionGoalStates: handlers.map((h, i) => extensionJson(h, misc + i)),
  };
  const expected = {
    hostGAPluginVersion: doc.hostGAPluginVersion,
    source,
    goalState: {
      id: `etag_e${misc}`,
      source,
      channel: 'HostGAPlugin',
      inSvdSeqNo: String(inSvd),
      createdOnTicks: ticksText,
      activityId: doc.activityId,
      correlationId: doc.correlationId || ZERO_GUID,
      statusUploadBlob: blob,
      artifactsProfileUrl: null,
      onHold: doc.onHold,
      requiredFeatures: ['MultipleExtensionsPerHandler'],
      gaFamilies: [{ name: 'Prod', version: doc.gaFamilies[0]!.version, fromVersion: null, isVersionFromRSM: null, isVMEnabledForRSMUpgrades: null, uris: ['https://127.0.0.1/ga'] }],
      handlers: handlers.map(expectedHandler),
    },
  };
  return { etag: `e${misc}`, doc: recase(doc, mask), expected };
});

test('vmSettings: generated documents (keys in any case) round-trip', (t) => {
  const ms = check(vmSettingsArb, ({ etag, doc, expected }) => {
    assert.deepEqual(parseVmSettings(renderJson(doc), etag), expected);
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

const vmSettingsRefusedOrParsed = (json: string): void => {
  void parseOrReject(() => parseVmSettings(json, 'etag-1'), ProtocolError, 'vmSettings [etag etag-1', ALL_SECRETS);
};

test('vmSettings: mutated documents are parsed or refused, never echoing secrets', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateJson(vmSettingsArb.map((v) => v.doc)), vmSettingsRefusedOrParsed))}`);
});

test('vmSettings: random text is parsed or refused with a ProtocolError naming it', (t) => {
  t.diagnostic(`random: ${figures(check(randomText(JSON_ALPHABET), vmSettingsRefusedOrParsed))}`);
});

// ---- InVMArtifactsProfile ----

const ON_HOLD: readonly [unknown, boolean][] = [[true, true], [false, false], ['True', true], ['FALSE', false], ['true', true], [null, false], [undefined, false]];
const profileArb = fc.tuple(fc.nat(), fc.nat()).map(([n, m]) => {
  const [value, onHold] = pick(ON_HOLD, n);
  const doc: Record<string, unknown> = { inVMArtifactsProfileBlobSeqNo: m, certificateThumbprint: `T${m}`, ...(value === undefined ? {} : { onHold: value }) };
  return { doc, onHold, bom: m % 5 === 0 };
});

test('InVMArtifactsProfile: generated documents read onHold', (t) => {
  const ms = check(profileArb, ({ doc, onHold, bom }) => {
    assert.deepEqual(parseArtifactsProfile(`${bom ? '\uFEFF' : ''}${renderJson(doc)}`), { onHold });
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

const profileRefusedOrParsed = (json: string): void => {
  const r = parseOrReject(() => parseArtifactsProfile(json), ProtocolError, 'InVMArtifactsProfile');
  if (r !== undefined) assert.equal(typeof r.onHold, 'boolean');
};

test('InVMArtifactsProfile: mutated and random documents are parsed or refused with a ProtocolError', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateJson(profileArb.map((p) => p.doc)), profileRefusedOrParsed))}`);
  t.diagnostic(`random: ${figures(check(randomText(JSON_ALPHABET), profileRefusedOrParsed))}`);
});
