// ExtensionsConfig Plugins + PluginSettings -> HandlerSpec[] (wire-protocol.md §7.3, §7.4).
// A per-handler configuration problem does not fail the document: the handler keeps the settings parsed so far
// (as upstream does) and carries an invalidReason. Malformed settings *structure* (valid JSON without
// runtimeSettings/handlerSettings, a non-integer seqNo) fails the whole document, as upstream's KeyError/ValueError do.
import { z } from 'zod';
import type { ExtensionSettings, HandlerRequestedState, HandlerSpec } from '../goal-state.js';
import { attr, attrNonEmpty, findAll, findFirst, parseError, type XmlNode } from '../xml.js';
import { exceedsJsonDepth } from './json-text.js';
import { validate } from './validate.js';

const DOC = 'ExtensionsConfig';
const REQUESTED_STATES: readonly string[] = ['enabled', 'disabled', 'uninstall'] satisfies HandlerRequestedState[];

/** A handler-level configuration error; becomes HandlerSpec.invalidReason. */
class HandlerConfigError extends Error {}

interface Builder {
  name: string;
  version: string;
  state: HandlerRequestedState;
  manifestUris: string[];
  encodedSignature: string | null;
  isMultiConfig: boolean;
  settings: ExtensionSettings[];
}

const runtimeSettingsSchema = z.object({
  runtimeSettings: z.array(
    z.object({
      handlerSettings: z.object({
        publicSettings: z.unknown().optional(),
        protectedSettings: z.string().nullable().optional(),
        protectedSettingsCertThumbprint: z.string().nullable().optional(),
      }),
    }),
  ),
});

const INT_RE = /^\s*[+-]?\d+\s*$/;

function parsePlugin(b: Builder, plugin: XmlNode): void {
  b.encodedSignature = attrNonEmpty(plugin, 'encodedSignature');
  const locations = [attrNonEmpty(plugin, 'location'), attrNonEmpty(plugin, 'failoverlocation')];
  for (const n of findAll(findFirst(plugin, 'additionalLocations'), 'additionalLocation')) locations.push(n.text);
  b.manifestUris = locations.filter((u): u is string => u !== null && u !== '');
  const state = attr(plugin, 'state') ?? '';
  if (state === '') throw new HandlerConfigError('Received empty Extensions.Plugins.Plugin.state, failing Handler');
  // Upstream does not validate the value; our model is a closed set, so anything else makes the handler invalid.
  if (!REQUESTED_STATES.includes(state)) {
    throw new HandlerConfigError(`Received invalid Extensions.Plugins.Plugin.state '${state}', failing Handler`);
  }
  b.state = state as HandlerRequestedState;
}

/** `DependsOn/@dependencyLevel` as Python int(); anything unparsable (or no node) is 0. */
function dependencyLevel(node: XmlNode | undefined): number {
  const raw = node ? attr(node, 'dependencyLevel') : null;
  return raw !== null && INT_RE.test(raw) ? Number.parseInt(raw.trim(), 10) : 0;
}

function addSettings(b: Builder, node: XmlNode, name: string, level: number, state: 'enabled' | 'disabled', at: string): void {
  const seqNoRaw = attr(node, 'seqNo') ?? '';
  if (seqNoRaw === '') throw new HandlerConfigError(`SeqNo not specified for the Extension: ${name}`);
  if (!INT_RE.test(seqNoRaw)) throw parseError(DOC, `${at}@seqNo is not an integer`);
  const sequenceNumber = Number.parseInt(seqNoRaw.trim(), 10);
  // Beyond 2^53 the number is no longer exact (and would name the settings file 1.2e+29.settings).
  if (!Number.isSafeInteger(sequenceNumber)) throw parseError(DOC, `${at}@seqNo is out of range`);
  const base = { name, sequenceNumber, state, dependencyLevel: level };
  let json: unknown;
  try {
    // Too deep to handle safely downstream (see MAX_JSON_DEPTH): treated as invalid settings.
    if (exceedsJsonDepth(node.text ?? '')) throw new SyntaxError('settings nest too deeply');
    json = JSON.parse(node.text ?? '');
  } catch {
    // Invalid settings are not fatal: report a settings entry without public/protected settings so that a status
    // can still be reported for this sequence number (instead of CRP timing out).
    b.settings.push({ ...base, publicSettings: null, protectedSettings: null, certificateThumbprint: null });
    return;
  }
  const parsed = validate(runtimeSettingsSchema, json, DOC, { at });
  for (const rs of parsed.runtimeSettings) {
    const hs = rs.handlerSettings;
    b.settings.push({
      ...base,
      publicSettings: hs.publicSettings ?? null,
      protectedSettings: hs.protectedSettings ?? null,
      certificateThumbprint: hs.protectedSettingsCertThumbprint ?? null,
    });
  }
}

function parseSingleConfig(b: Builder, settingsNode: XmlNode, runtime: XmlNode, at: string): void {
  const dependsOn = findAll(settingsNode, 'DependsOn');
  if (dependsOn.length > 1) {
    throw new HandlerConfigError(
      `Extension Handler can only have a single dependsOn node for Single config extensions. Found: ${dependsOn.length}`,
    );
  }
  addSettings(b, runtime, b.name, dependencyLevel(dependsOn[0]), 'enabled', `${at}/RuntimeSettings`);
}

function parseMultiConfig(b: Builder, settingsNode: XmlNode, runtimes: readonly XmlNode[], at: string): void {
  const levels = new Map<string, number>();
  for (const d of findAll(settingsNode, 'DependsOn')) {
    const extName = attr(d, 'name') ?? '';
    if (extName === '') {
      throw new HandlerConfigError('No Name not specified for DependsOn object in ExtensionRuntimeSettings for MultiConfig!');
    }
    levels.set(extName, dependencyLevel(d));
  }
  b.isMultiConfig = true;
  for (const r of runtimes) {
    const extName = attr(r, 'name') ?? '';
    if (extName === '') throw new HandlerConfigError('Extension Name not specified for ExtensionRuntimeSettings for MultiConfig!');
    const state = (attrNonEmpty(r, 'state') ?? 'enabled').toLowerCase();
    if (state !== 'enabled' && state !== 'disabled') {
      throw new HandlerConfigError(`Invalid state '${state}' in ExtensionRuntimeSettings for extension ${extName}`);
    }
    addSettings(b, r, extName, levels.get(extName) ?? 0, state, `${at}/ExtensionRuntimeSettings[${extName}]`);
  }
}

function parsePluginSettings(b: Builder, pluginSettings: readonly XmlNode[]): void {
  const lname = b.name.toLowerCase();
  const matching = pluginSettings.filter((p) => (attr(p, 'name') ?? '').toLowerCase() === lname);
  if (matching.length === 0) return;
  const same = matching.filter((p) => (attr(p, 'version') ?? '') === b.version);
  if (same.length !== matching.length) {
    const versions = [...new Set(matching.map((p) => attr(p, 'version') ?? ''))].join(', ');
    throw new HandlerConfigError(
      `Extension PluginSettings Version Mismatch! Expected PluginSettings version: ${b.version} for Extension: ${b.name} but found versions: (${versions})`,
    );
  }
  const node = same[0];
  if (same.length > 1 || node === undefined) {
    throw new HandlerConfigError(
      `Multiple plugin settings found for the same extension: ${b.name} and version: ${b.version} (Expected: 1; Available: ${same.length})`,
    );
  }
  const at = `PluginSettings/Plugin[${b.name}]`;
  const runtime = findAll(node, 'RuntimeSettings');
  const extRuntime = findAll(node, 'ExtensionRuntimeSettings');
  if (runtime.length > 0 && extRuntime.length > 0) {
    throw new HandlerConfigError(
      `Both RuntimeSettings and ExtensionRuntimeSettings found for the same extension: ${b.name} and version: ${b.version}`,
    );
  }
  const first = runtime[0];
  if (first !== undefined) {
    if (runtime.length > 1) {
      throw new HandlerConfigError(
        `Multiple RuntimeSettings found for the same extension: ${b.name} and version: ${b.version} (Expected: 1; Available: ${runtime.length})`,
      );
    }
    parseSingleConfig(b, node, first, at);
  } else if (extRuntime.length > 0) {
    parseMultiConfig(b, node, extRuntime, at);
  }
}

/** One HandlerSpec per `Plugins/Plugin`, in document order. */
export function parseHandlers(root: XmlNode): HandlerSpec[] {
  const plugins = findAll(findFirst(root, 'Plugins'), 'Plugin');
  const pluginSettings = findAll(findFirst(root, 'PluginSettings'), 'Plugin');
  return plugins.map((plugin) => {
    // An empty name or version is only logged upstream (it cannot even be reported); keep it as ''.
    const b: Builder = {
      name: attr(plugin, 'name') ?? '',
      version: attr(plugin, 'version') ?? '',
      state: 'enabled', // placeholder while the state is unknown; an invalid handler is never executed
      manifestUris: [],
      encodedSignature: null,
      isMultiConfig: false,
      settings: [],
    };
    let invalidReason: string | null = null;
    try {
      parsePlugin(b, plugin);
      parsePluginSettings(b, pluginSettings);
    } catch (err) {
      if (!(err instanceof HandlerConfigError)) throw err;
      invalidReason = err.message;
    }
    return { ...b, invalidReason };
  });
}
