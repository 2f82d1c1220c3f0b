// ExtensionsConfig XML (parseExtensionsConfig): generated documents round-trip handler by handler; mutated and
// random documents are parsed or refused with a ProtocolError naming ExtensionsConfig, and no protectedSettings
// value ever shows up in an error or an invalidReason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import { ZERO_GUID } from '../../src/protocol/goal-state.js';
import { parseExtensionsConfig } from '../../src/protocol/schemas/extensions-config.js';
import {
  SECRETS, assertNoSecret, check, expectedHandler, figures, handlersArb, parseOrReject, pick, randomText,
  type GenHandler, type GenSettings, URL_POOL,
} from './arbitraries.js';
import { el, mutateXml, renderJson, xmlDoc, type XEl } from './documents.js';

const DOC = 'ExtensionsConfig';
const TAGS = [
  'Extensions', 'GAFamilies', 'GAFamily', 'Name', 'Version', 'Uris', 'Uri', 'Plugins', 'Plugin', 'PluginSettings',
  'RuntimeSettings', 'ExtensionRuntimeSettings', 'DependsOn', 'additionalLocations', 'additionalLocation',
  'StatusUploadBlob', 'InVMGoalStateMetaData', 'InVMArtifactsProfileBlob', 'RequiredFeatures', 'RequiredFeature',
];

function settingsJson(s: GenSettings, n: number): string {
  const hs: Record<string, unknown> = {};
  if (s.pub !== undefined) hs.publicSettings = s.pub;
  if (s.prot !== null || n % 2 === 0) hs.protectedSettings = s.prot;
  if (s.thumb !== null || n % 3 === 0) hs.protectedSettingsCertThumbprint = s.thumb;
  return renderJson({ runtimeSettings: [{ handlerSettings: hs }] });
}

function pluginEl(h: GenHandler): XEl {
  const [location, failover, ...more] = h.uris;
  return el(
    'Plugin',
    { name: h.name, version: h.version, location, failoverlocation: failover, state: h.state, autoUpgrade: 'true', encodedSignature: h.signature },
    more.length === 0 ? null : el('additionalLocations', {}, ...more.map((u) => el('additionalLocation', {}, u))),
  );
}

function pluginSettingsEl(h: GenHandler): XEl | null {
  if (h.settings.length === 0) return null;
  const attrs = { name: h.name, version: h.version };
  if (!h.multi) {
    const s = h.settings[0]!;
    const dep = s.level === 0 ? null : el('DependsOn', { dependencyLevel: String(s.level) }, el('DependsOnExtension', { handler: 'Other.Handler' }));
    return el('Plugin', attrs, dep, el('RuntimeSettings', { seqNo: String(s.seq) }, settingsJson(s, s.seq)));
  }
  return el(
    'Plugin',
    attrs,
    ...h.settings.filter((s) => s.level !== 0).map((s) => el('DependsOn', { name: s.name, dependencyLevel: String(s.level) })),
    ...h.settings.map((s) => el('ExtensionRuntimeSettings', { seqNo: String(s.seq), name: s.name, state: s.state }, settingsJson(s, s.seq))),
  );
}

const docArb = fc.tuple(handlersArb, fc.nat(), fc.nat(), fc.nat()).map(([handlers, inc, ticks, misc]) => {
  const ticksText = `${'0'.repeat(misc % 3)}${ticks}${misc % 2 === 0 ? '1234567890' : ''}`;
  const blob = misc % 5 === 0 ? null : { url: `${pick(URL_POOL, misc)}s`, type: misc % 4 === 0 ? 'PageBlob' : 'BlockBlob' };
  const activityId = misc % 3 === 0 ? '' : `act-${misc}`;
  const family = { name: 'Prod', version: `2.${misc % 9}.0.1`, uris: [`${pick(URL_POOL, misc + 1)}ga`] };
  const root = el(
    'Extensions',
    { version: '1.0.0.0', goalStateIncarnation: String(inc) },
    el('GAFamilies', {}, el('GAFamily', {}, el('Name', {}, family.name), el('Version', {}, family.version), el('Uris', {}, ...family.uris.map((u) => el('Uri', {}, u))))),
    el('Plugins', {}, ...handlers.map(pluginEl)),
    el('PluginSettings', {}, ...handlers.map(pluginSettingsEl).filter((p): p is XEl => p !== null)),
    blob === null ? null : el('StatusUploadBlob', { statusBlobType: blob.type }, blob.url),
    el('InVMGoalStateMetaData', { createdOnTicks: ticksText, activityId, correlationId: 'corr' }),
    el('RequiredFeatures', {}, el('RequiredFeature', {}, el('Name', {}, 'MultipleExtensionsPerHandler'))),
  );
  const expected = {
    id: `incarnation_${inc}`,
    inSvdSeqNo: String(inc),
    createdOnTicks: ticksText.replace(/^0+(?=\d)/, ''),
    activityId: activityId || ZERO_GUID,
    statusUploadBlob: blob,
    requiredFeatures: ['MultipleExtensionsPerHandler'],
    family,
    // A multi-config handler without ExtensionRuntimeSettings reads as single-config.
    handlers: handlers.map((h) => ({ ...(expectedHandler(h) as object), isMultiConfig: h.multi && h.settings.length > 0 })),
  };
  return { inc: String(inc), root, expected };
});

test('generated ExtensionsConfig documents round-trip handler by handler', (t) => {
  const ms = check(docArb, ({ inc, root, expected }) => {
    const gs = parseExtensionsConfig(xmlDoc(root), inc);
    assert.equal(gs.id, expected.id);
    assert.equal(gs.inSvdSeqNo, expected.inSvdSeqNo);
    assert.equal(gs.createdOnTicks, expected.createdOnTicks);
    assert.equal(gs.activityId, expected.activityId);
    assert.deepEqual(gs.statusUploadBlob, expected.statusUploadBlob);
    assert.deepEqual(gs.requiredFeatures, expected.requiredFeatures);
    assert.deepEqual(gs.gaFamilies.map((f) => ({ name: f.name, version: f.version, uris: f.uris })), [expected.family]);
    assert.deepEqual(gs.handlers, expected.handlers);
    for (const h of gs.handlers) assert.ok(Object.isFrozen(h.settings));
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

function refusedOrParsed(xml: string): void {
  const gs = parseOrReject(() => parseExtensionsConfig(xml, '1'), ProtocolError, DOC, SECRETS);
  if (gs === undefined) return;
  for (const h of gs.handlers) {
    if (h.invalidReason !== null) {
      assert.ok(h.invalidReason.trim().length > 0, 'empty invalidReason');
      assertNoSecret(h.invalidReason, SECRETS);
    }
    for (const s of h.settings) assert.ok(Number.isSafeInteger(s.sequenceNumber), `seqNo ${s.sequenceNumber}`);
  }
}

test('mutated ExtensionsConfig documents are parsed or refused, never leaking protectedSettings', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateXml(docArb.map((d) => d.root), TAGS), refusedOrParsed))}`);
});

test('random text is parsed or refused with a ProtocolError naming ExtensionsConfig', (t) => {
  t.diagnostic(`random: ${figures(check(randomText('<>/="\' &;!?[]{}:,-PluginSettings0123\n'), refusedOrParsed))}`);
});
