// zod at the document boundary: the first issue becomes a ProtocolError naming the document and the field.
import type { z } from 'zod';
import { parseError } from '../xml.js';

export interface ValidateOptions {
  /** Where the value sits in the document, prefixed to the zod path. */
  readonly at?: string;
  /** Display names for path segments (e.g. lower-cased JSON keys back to their documented spelling). */
  readonly names?: Readonly<Record<string, string>>;
}

function formatPath(path: readonly PropertyKey[], opts: ValidateOptions): string {
  let out = opts.at ?? '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const name = opts.names?.[String(seg)] ?? String(seg);
      out += out === '' ? name : `.${name}`;
    }
  }
  return out === '' ? 'the document' : out;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/** Parses `value` with `schema`; on failure throws `Cannot parse <doc> as <field> is missing|invalid (...)`. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, doc: string, opts: ValidateOptions = {}): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (!issue) throw parseError(doc, 'the document is invalid');
  const field = formatPath(issue.path, opts);
  if (issue.code === 'custom') throw parseError(doc, `${field} ${issue.message}`);
  const v = valueAt(value, issue.path);
  // Messages never echo the offending value (it may be a secret); zod's default messages only name types.
  if (v === undefined || v === null) throw parseError(doc, `${field} is missing`);
  throw parseError(doc, `${field} is invalid (${issue.message})`);
}

/** Freezes a freshly built plain value (objects and arrays) all the way down. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
