// `GET /?comp=versions`: the wire protocol versions the fabric speaks (wire-protocol.md §3).
import { z } from 'zod';
import { findAll, findFirst, parseError, parseXml } from '../xml.js';
import { validate } from './validate.js';

const DOC = 'Versions';

export interface WireVersions {
  /** Null when the document has no Preferred/Version (upstream tolerates that; Supported may still list ours). */
  readonly preferred: string | null;
  readonly supported: readonly string[];
}

const schema = z.object({
  preferred: z.string().min(1).nullable(),
  supported: z.array(z.string()),
});

export function parseVersions(xml: string): WireVersions {
  const root = parseXml(xml, DOC);
  const preferred = findFirst(findFirst(root, 'Preferred'), 'Version')?.text ?? null;
  const supported = findAll(findFirst(root, 'Supported'), 'Version')
    .map((n) => n.text)
    .filter((t): t is string => t !== null);
  const v = validate(schema, { preferred, supported }, DOC);
  if (v.preferred === null && v.supported.length === 0) throw parseError(DOC, 'Preferred/Version is missing');
  return Object.freeze({ preferred: v.preferred, supported: Object.freeze(v.supported) });
}

/** The agent's version is accepted if it is the preferred one or any supported one. */
export function isProtocolSupported(v: WireVersions, version: string): boolean {
  return v.preferred === version || v.supported.includes(version);
}
