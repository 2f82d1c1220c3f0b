// HostingEnvironmentConfig (wire-protocol.md §5.3): only three attributes are read, for telemetry.
// The elements must exist; a missing attribute reads as '' (minidom getAttribute), as upstream tolerates it.
import { z } from 'zod';
import type { HostingEnvironment } from '../goal-state.js';
import { attr, findFirst, parseXml, type XmlNode } from '../xml.js';
import { validate } from './validate.js';

const DOC = 'HostingEnvironmentConfig';

const schema = z.object({
  'Incarnation@instance': z.string(),
  'Role@name': z.string(),
  'Deployment@name': z.string(),
});

function attrOrEmpty(node: XmlNode | null, name: string): string | null {
  return node ? (attr(node, name) ?? '') : null;
}

export function parseHostingEnvironment(xml: string): HostingEnvironment {
  const root = parseXml(xml, DOC);
  const v = validate(
    schema,
    {
      'Incarnation@instance': attrOrEmpty(findFirst(root, 'Incarnation'), 'instance'),
      'Role@name': attrOrEmpty(findFirst(root, 'Role'), 'name'),
      'Deployment@name': attrOrEmpty(findFirst(root, 'Deployment'), 'name'),
    },
    DOC,
  );
  return Object.freeze({
    vmName: v['Incarnation@instance'],
    roleName: v['Role@name'],
    deploymentName: v['Deployment@name'],
  });
}
