// PluginVersionManifest XML (wire-protocol.md §8), the same format for extension and agent manifests.
import { z } from 'zod';
import { compareVersions, isValidVersion } from '../../extensions/version.js';
import type { ManifestPackage, PluginVersionManifest } from '../goal-state.js';
import { findAll, findFirst, findText, parseXml, type XmlNode } from '../xml.js';
import { deepFreeze, validate } from './validate.js';

const packageSchema = z.object({
  Version: z.string().refine(isValidVersion, { message: 'is not a valid version' }),
  Uris: z.array(z.string()),
});

function packages(root: XmlNode, list: 'Plugins' | 'InternalPlugins', isInternal: boolean, doc: string): ManifestPackage[] {
  return findAll(findFirst(root, list), 'Plugin').map((p, i) => {
    const v = validate(
      packageSchema,
      {
        Version: findText(p, 'Version'),
        Uris: findAll(findFirst(p, 'Uris'), 'Uri')
          .map((u) => u.text)
          .filter((u): u is string => u !== null),
      },
      doc,
      { at: `${list}/Plugin[${i}]` },
    );
    return { version: v.Version, uris: v.Uris, isInternal };
  });
}

/**
 * `Plugins` and `InternalPlugins` merged and sorted ascending by version (stable, so equal versions keep document
 * order). `DisallowMajorVersionUpgrade` is ignored, as upstream 2.15 ignores it. `source` names the document in errors
 * verbatim (`Cannot parse <source> as ...`), e.g. 'manifest of Pub.Type'.
 */
export function parseManifest(xml: string, source: string): PluginVersionManifest {
  const doc = source;
  const root = parseXml(xml, doc);
  const all = [...packages(root, 'Plugins', false, doc), ...packages(root, 'InternalPlugins', true, doc)];
  all.sort((a, b) => compareVersions(a.version, b.version));
  return deepFreeze({ packages: all });
}
