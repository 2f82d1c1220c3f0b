// InVMArtifactsProfileBlob JSON (wire-protocol.md §7.7): only `onHold` matters.
// Callers treat a download failure, an empty body or a ProtocolError from here as "not on hold".
import { z } from 'zod';
import { stripBom, parseError } from '../xml.js';
import { validate } from './validate.js';

const DOC = 'InVMArtifactsProfile';

// onHold may be a JSON bool or the strings true/false in any case; other keys are ignored.
const schema = z.object({
  onHold: z
    .union([z.boolean(), z.string().regex(/^(true|false)$/i, { message: 'must be true or false' })])
    .nullable()
    .optional(),
});

export function parseArtifactsProfile(json: string): { readonly onHold: boolean } {
  let doc: unknown;
  try {
    doc = JSON.parse(stripBom(json));
  } catch (err) {
    throw parseError(DOC, 'invalid JSON', err);
  }
  const v = validate(schema, doc, DOC);
  const onHold = v.onHold ?? false;
  return Object.freeze({ onHold: typeof onHold === 'boolean' ? onHold : onHold.toLowerCase() === 'true' });
}
