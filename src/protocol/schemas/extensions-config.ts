// ExtensionsConfig XML -> ExtensionsGoalState (wire-protocol.md §7). Element order is not significant; lookups
// are by tag name anywhere in the document, first match wins.
import {
  ZERO_GUID,
  type ExtensionsGoalState,
  type GAFamily,
  type StatusBlobType,
} from '../goal-state.js';
import { attr, attrNonEmpty, findAll, findFirst, findText, parseXml, type XmlNode } from '../xml.js';
import { parseHandlers } from './ext-conf-plugins.js';
import { deepFreeze } from './validate.js';

const DOC = 'ExtensionsConfig';

/** `true` (any case) => true, other text => false, absent/empty => null (unknown). */
function rsmFlag(node: XmlNode, tag: string): boolean | null {
  const t = findText(node, tag);
  return t === null ? null : t.toLowerCase() === 'true';
}

function parseGaFamilies(root: XmlNode): GAFamily[] {
  return findAll(findFirst(root, 'GAFamilies'), 'GAFamily').map((f) => ({
    // Upstream keeps a family without a Name; it just never matches AutoUpdate.GAFamily.
    name: findText(f, 'Name') ?? '',
    version: findText(f, 'Version'),
    fromVersion: findText(f, 'FromVersion'),
    isVersionFromRSM: rsmFlag(f, 'IsVersionFromRSM'),
    isVMEnabledForRSMUpgrades: rsmFlag(f, 'IsVMEnabledForRSMUpgrades'),
    uris: findAll(findFirst(f, 'Uris'), 'Uri')
      .map((u) => u.text)
      .filter((u): u is string => u !== null),
  }));
}

function parseStatusUploadBlob(root: XmlNode): ExtensionsGoalState['statusUploadBlob'] {
  const node = findFirst(root, 'StatusUploadBlob');
  const url = node?.text ?? null;
  if (url === null) return null;
  // Any other or missing type is treated as BlockBlob (upstream logs it).
  const raw = attr(node, 'statusBlobType');
  const type: StatusBlobType = raw === 'PageBlob' ? 'PageBlob' : 'BlockBlob';
  return { url, type };
}

/** .NET ticks as a canonical decimal string; missing or unparsable => '0' (0001-01-01). */
export function normalizeTicks(raw: string | null): string {
  if (raw === null || !/^\d+$/.test(raw)) return '0';
  return raw.replace(/^0+(?=\d)/, '');
}

/**
 * `onHold` is not known here: it comes from the InVMArtifactsProfileBlob (see parseArtifactsProfile), which the
 * caller downloads from `artifactsProfileUrl`; it is null in the returned value.
 */
export function parseExtensionsConfig(xml: string, incarnation: string): ExtensionsGoalState {
  const root = parseXml(xml, DOC);
  const gaFamilies = parseGaFamilies(root);
  const handlers = parseHandlers(root);
  const requiredFeatures = findAll(findFirst(root, 'RequiredFeatures'), 'RequiredFeature')
    .map((n) => findText(n, 'Name'))
    .filter((n): n is string => n !== null);
  const meta = findFirst(root, 'InVMGoalStateMetaData');
  return deepFreeze({
    id: `incarnation_${incarnation}`,
    source: 'Fabric',
    channel: 'WireServer',
    // The status blob echoes the incarnation, not InVMGoalStateMetaData/@inSvdSeqNo.
    inSvdSeqNo: incarnation,
    createdOnTicks: normalizeTicks(attr(meta, 'createdOnTicks')),
    activityId: attrNonEmpty(meta, 'activityId') ?? ZERO_GUID,
    correlationId: attrNonEmpty(meta, 'correlationId') ?? ZERO_GUID,
    statusUploadBlob: parseStatusUploadBlob(root),
    artifactsProfileUrl: findText(root, 'InVMArtifactsProfileBlob'),
    onHold: null,
    requiredFeatures,
    gaFamilies,
    handlers,
  });
}
