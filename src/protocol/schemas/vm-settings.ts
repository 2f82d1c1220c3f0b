// HostGAPlugin vmSettings JSON -> ExtensionsGoalState (hostgaplugin.md §3.3). Keys are case-insensitive at every
// level (lower-cased before validation); unknown keys are ignored; any violation fails the whole document.
import { z } from 'zod';
import { compareVersions, isValidVersion } from '../../extensions/version.js';
import type { ExtensionSettings, ExtensionsGoalState, HandlerSpec } from '../goal-state.js';
import { ZERO_GUID } from '../goal-state.js';
import { parseError, stripBom } from '../xml.js';
import { normalizeTicks } from './extensions-config.js';
import { exceedsJsonDepth, lowerKeys, MAX_JSON_DEPTH, quoteUnsafeIntegers } from './json-text.js';
import { deepFreeze, validate } from './validate.js';
import { vmSettingsSchema, VM_SETTINGS_NAMES, type VmSettingsExtension } from './vm-settings-schema.js';

export const MIN_VMSETTINGS_HGAP_VERSION = '1.0.8.133';
/** From this HostGAPlugin version on, `encodedSignature` in vmSettings is meaningful. */
export const MIN_SIGNATURE_HGAP_VERSION = '1.0.8.159';

export type VmSettingsSource = 'FastTrack' | 'Fabric' | 'UNKNOWN';

export interface ParsedVmSettings {
  /**
   * `goalState.source` is 'FastTrack' only for FastTrack documents; 'Fabric' and 'UNKNOWN' both map to 'Fabric'
   * there (nothing FastTrack-specific applies to them). Use `source` to decide whether to ignore the document.
   */
  readonly goalState: ExtensionsGoalState;
  readonly hostGAPluginVersion: string;
  readonly source: VmSettingsSource;
}

/** vmSettings from a HostGAPlugin older than 1.0.8.133 are treated as "not supported". False for invalid versions. */
export function isVmSettingsSupportedVersion(version: string): boolean {
  return isValidVersion(version) && compareVersions(version, MIN_VMSETTINGS_HGAP_VERSION) >= 0;
}

export function supportsEncodedSignature(hostGAPluginVersion: string): boolean {
  return isValidVersion(hostGAPluginVersion) && compareVersions(hostGAPluginVersion, MIN_SIGNATURE_HGAP_VERSION) >= 0;
}

function ticks(raw: number | string | null | undefined): string {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? String(raw) : '0';
  return normalizeTicks(raw ?? null);
}

function parseHandler(e: VmSettingsExtension, i: number, doc: string): HandlerSpec {
  const at = `extensionGoalStates[${i}]`;
  const fail = (field: string, problem: string): never => {
    throw parseError(doc, `${at}.${field} ${problem} (extension: ${e.name})`);
  };
  const isMultiConfig = e.ismulticonfig ?? false;
  const list = e.settings ?? [];
  if (!isMultiConfig && list.length > 1) fail('settings', 'has more than one element for a single-config extension');
  const settings = list.map((s, j): ExtensionSettings => {
    let publicSettings: unknown = null;
    if (s.publicsettings != null) {
      if (exceedsJsonDepth(s.publicsettings)) fail(`settings[${j}].publicSettings`, `nests deeper than ${MAX_JSON_DEPTH} levels`);
      try {
        publicSettings = JSON.parse(s.publicsettings);
      } catch {
        fail(`settings[${j}].publicSettings`, 'is not valid JSON');
      }
    }
    const protectedSettings = s.protectedsettings ?? null;
    const certificateThumbprint = s.protectedsettingscertthumbprint ?? null;
    if (protectedSettings !== null && certificateThumbprint === null) {
      fail(`settings[${j}].protectedSettingsCertThumbprint`, 'is missing');
    }
    const common = { publicSettings, protectedSettings, certificateThumbprint, dependencyLevel: 0 };
    if (!isMultiConfig) {
      const seq = e.settingsseqno ?? fail('settingsSeqNo', 'is missing');
      return { ...common, name: e.name, sequenceNumber: seq, state: 'enabled' };
    }
    const name = s.extensionname ?? fail(`settings[${j}].extensionName`, 'is missing');
    const sequenceNumber = s.seqno ?? fail(`settings[${j}].seqNo`, 'is missing');
    const state = (s.extensionstate ?? fail(`settings[${j}].extensionState`, 'is missing')).toLowerCase();
    if (state !== 'enabled' && state !== 'disabled') fail(`settings[${j}].extensionState`, 'must be enabled or disabled');
    return { ...common, name, sequenceNumber, state: state as 'enabled' | 'disabled' };
  });

  const dependsOn = e.dependson ?? [];
  if (!isMultiConfig) {
    if (dependsOn.length > 1) fail('dependsOn', 'must have at most one element for a single-config extension');
    const first = settings[0];
    // Without settings the dependency level is ignored (upstream warns).
    if (dependsOn[0] && first) settings[0] = { ...first, dependencyLevel: dependsOn[0].dependencylevel };
  } else {
    dependsOn.forEach((d, k) => {
      const name = d.name ?? fail(`dependsOn[${k}].name`, 'is missing');
      const idx = settings.findIndex((s) => s.name === name);
      const target = settings[idx];
      if (!target) fail(`dependsOn[${k}].name`, `'${name}' does not correspond to any of the settings`);
      else settings[idx] = { ...target, dependencyLevel: d.dependencylevel };
    });
  }
  const uris = [e.location, e.failoverlocation, ...(e.additionallocations ?? [])];
  return {
    name: e.name,
    version: e.version,
    state: e.state,
    manifestUris: uris.filter((u): u is string => typeof u === 'string' && u !== ''),
    encodedSignature: e.encodedsignature ? e.encodedsignature : null,
    isMultiConfig,
    settings,
    invalidReason: null,
  };
}

function readJson(json: string, doc: string): Record<string, unknown> {
  let raw: unknown;
  const text = stripBom(json);
  if (exceedsJsonDepth(text)) throw parseError(doc, `invalid JSON (nested deeper than ${MAX_JSON_DEPTH} levels)`);
  try {
    raw = JSON.parse(quoteUnsafeIntegers(text));
  } catch (err) {
    throw parseError(doc, 'invalid JSON', err);
  }
  const lowered = lowerKeys(raw);
  if (lowered === null || typeof lowered !== 'object' || Array.isArray(lowered)) {
    throw parseError(doc, 'the document is not a JSON object');
  }
  return lowered as Record<string, unknown>;
}

export function parseVmSettings(json: string, etag: string): ParsedVmSettings {
  let doc = `vmSettings [etag ${etag}]`;
  const raw = readJson(json, doc);
  // The HostGAPlugin version is read first so that later errors can name it.
  const hgap = raw['hostgapluginversion'];
  if (typeof hgap === 'string' && isValidVersion(hgap)) doc = `vmSettings [etag ${etag}, HostGAPlugin ${hgap}]`;
  const v = validate(vmSettingsSchema, raw, doc, { names: VM_SETTINGS_NAMES });
  const source: VmSettingsSource =
    v.extensiongoalstatessource === 'FastTrack' || v.extensiongoalstatessource === 'Fabric' ? v.extensiongoalstatessource : 'UNKNOWN';
  const blob = v.statusuploadblob;
  const type = blob?.statusblobtype === 'PageBlob' ? 'PageBlob' : 'BlockBlob';
  const inSvd = v.insvdseqno;
  const goalState: ExtensionsGoalState = {
    id: `etag_${etag}`,
    source: source === 'FastTrack' ? 'FastTrack' : 'Fabric',
    channel: 'HostGAPlugin',
    inSvdSeqNo: inSvd === undefined || inSvd === null || inSvd === '' ? ZERO_GUID : String(inSvd),
    createdOnTicks: ticks(v.extensionslastmodifiedtickcount),
    activityId: v.activityid || ZERO_GUID,
    correlationId: v.correlationid || ZERO_GUID,
    statusUploadBlob: blob ? { url: blob.value, type } : null,
    // vmSettings carry onHold themselves; there is no artifacts profile to fetch.
    artifactsProfileUrl: null,
    onHold: v.onhold ?? false,
    requiredFeatures: (v.requiredfeatures ?? []).map((f) => f.name),
    gaFamilies: (v.gafamilies ?? []).map((f) => ({
      name: f.name,
      version: f.version ?? null,
      fromVersion: f.fromversion ?? null,
      isVersionFromRSM: f.isversionfromrsm ?? null,
      isVMEnabledForRSMUpgrades: f.isvmenabledforrsmupgrades ?? null,
      uris: f.uris ?? [],
    })),
    handlers: (v.extensiongoalstates ?? []).map((e, i) => parseHandler(e, i, doc)),
  };
  return deepFreeze({ goalState, hostGAPluginVersion: v.hostgapluginversion ?? '0.0.0.0', source });
}
