// Document models for structural mutation: XML element trees and JSON values, rendered after elements or keys
// were deleted, duplicated, renamed, nested deep or given hostile values.
import fc from 'fast-check';
import { DEEP, hostileString, mutateText } from './arbitraries.js';

// ---- XML model --------------------------------------------------------------------------------------------------

export interface XEl {
  tag: string;
  attrs: [string, string][];
  children: (XEl | string)[];
}

export const el = (tag: string, attrs: Record<string, string | null | undefined> = {}, ...children: (XEl | string | null)[]): XEl => ({
  tag,
  attrs: Object.entries(attrs).filter((e): e is [string, string] => typeof e[1] === 'string'),
  children: children.filter((c): c is XEl | string => c !== null),
});

export const escText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const escAttr = (s: string): string => escText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Renders without escaping when `raw` (mutations may put raw markup in text and attribute values). */
export function renderXml(e: XEl | string, raw = false): string {
  if (typeof e === 'string') return raw ? e : escText(e);
  const attrs = e.attrs.map(([k, v]) => ` ${k}="${raw ? v : escAttr(v)}"`).join('');
  if (e.children.length === 0) return `<${e.tag}${attrs}/>`;
  return `<${e.tag}${attrs}>${e.children.map((c) => renderXml(c, raw)).join('')}</${e.tag}>`;
}

export const xmlDoc = (root: XEl): string => `<?xml version="1.0" encoding="utf-8"?>\n${renderXml(root)}`;

type XmlOp = { op: 'delete' | 'duplicate' | 'rename' | 'dropAttr' | 'setAttr' | 'setText' | 'nest' | 'insert' | 'swap'; a: number; b: number; s: string; tag: string };

function elements(root: XEl): { node: XEl; parent: XEl | null }[] {
  const out: { node: XEl; parent: XEl | null }[] = [];
  const walk = (node: XEl, parent: XEl | null): void => {
    out.push({ node, parent });
    for (const c of node.children) if (typeof c !== 'string') walk(c, node);
  };
  walk(root, null);
  return out;
}

const clone = (e: XEl): XEl => structuredClone(e);

function applyXmlOp(root: XEl, { op, a, b, s, tag }: XmlOp): XEl {
  const all = elements(root);
  const { node, parent } = all[a % all.length]!;
  const idx = parent ? parent.children.indexOf(node) : -1;
  switch (op) {
    case 'delete':
      if (parent) parent.children.splice(idx, 1);
      break;
    case 'duplicate':
      if (parent) parent.children.splice(idx, 0, clone(node));
      break;
    case 'rename':
      node.tag = tag;
      break;
    case 'dropAttr':
      if (node.attrs.length > 0) node.attrs.splice(b % node.attrs.length, 1);
      break;
    case 'setAttr': {
      const name = node.attrs[b % Math.max(1, node.attrs.length)]?.[0] ?? tag;
      node.attrs = node.attrs.filter(([k]) => k !== name).concat([[name, s]]);
      break;
    }
    case 'setText':
      node.children = [s];
      break;
    case 'nest': {
      let inner: XEl = clone(node);
      for (let i = 0; i < 1 + (b % 150); i++) inner = el('n', {}, inner);
      if (parent) parent.children[idx] = inner;
      break;
    }
    case 'insert':
      node.children.splice(b % (node.children.length + 1), 0, el(tag, {}, s));
      break;
    case 'swap':
      node.children.reverse();
      break;
  }
  return root;
}

/**
 * Structural mutations of an XML document model (elements deleted, duplicated, renamed, nested deep, attributes
 * dropped or set to hostile values, hostile text), rendered escaped or raw, then maybe byte-level mutations.
 */
export function mutateXml(base: fc.Arbitrary<XEl>, tags: readonly string[]): fc.Arbitrary<string> {
  const xmlOp: fc.Arbitrary<XmlOp> = fc.record({
    op: fc.constantFrom('delete', 'duplicate', 'rename', 'dropAttr', 'setAttr', 'setText', 'nest', 'insert', 'swap'),
    a: fc.nat(),
    b: fc.nat(),
    s: hostileString,
    tag: fc.oneof(fc.constantFrom(...tags), fc.stringMatching(/^[A-Za-z_][\w.-]{0,8}$/)),
  });
  const structural = fc
    .tuple(base, fc.array(xmlOp, { minLength: 1, maxLength: 5 }), fc.boolean())
    .map(([root, ops, raw]) => renderXml(ops.reduce(applyXmlOp, clone(root)), raw));
  return fc.oneof(structural, mutateText(structural), mutateText(base.map(xmlDoc)));
}

// ---- JSON model -------------------------------------------------------------------------------------------------

/** Inserted verbatim when rendering: numbers JSON.stringify cannot write, deep nesting, invalid tokens. */
export class Raw {
  constructor(readonly text: string) {}
}

/** JSON.stringify with Raw values written as is. */
export function renderJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => (v instanceof Raw ? `\u0000RAW${raws.push(v.text) - 1}\u0000` : v));
  return (text ?? 'null').replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

export const hostileJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  hostileString,
  fc.constantFrom(
    new Raw('1e400'), new Raw('-0'), new Raw('123456789012345678901234567890'), new Raw('-9007199254740993'),
    new Raw('['.repeat(DEEP) + ']'.repeat(DEEP)), new Raw('{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP)),
    new Raw(`[${'0,'.repeat(50_000)}0]`), '', null, true, 0, -1, 1.5, 2 ** 53, [], {},
  ),
);

type JsonOp = { op: 'delete' | 'set' | 'renameCase' | 'rename' | 'duplicate' | 'wrap'; a: number; b: number; v: unknown; k: string };

function containers(v: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (v !== null && typeof v === 'object' && !(v instanceof Raw)) {
    out.push(v as Record<string, unknown>);
    for (const c of Object.values(v)) containers(c, out);
  }
  return out;
}

/** An own property even for `__proto__` (plain assignment would set the prototype instead). */
const put = (o: object, k: string, v: unknown): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
};

function applyJsonOp(doc: unknown, { op, a, b, v, k }: JsonOp): unknown {
  const all = containers(doc);
  const c = all[a % Math.max(1, all.length)];
  if (!c) return op === 'set' ? v : doc;
  const keys = Object.keys(c);
  const key = keys[b % Math.max(1, keys.length)];
  const obj = c as Record<string, unknown>;
  switch (op) {
    case 'delete':
      if (key === undefined) break;
      if (Array.isArray(c)) c.splice(Number(key), 1);
      else delete obj[key];
      break;
    case 'set':
      if (Array.isArray(c)) c[key === undefined ? c.length : Number(key)] = v;
      else put(obj, key ?? k, v);
      break;
    case 'renameCase':
    case 'rename': {
      if (key === undefined || Array.isArray(c)) break;
      const value = obj[key];
      delete obj[key];
      put(obj, op === 'rename' ? k : key.toUpperCase(), value);
      break;
    }
    case 'duplicate': {
      // JSON text with the same key twice (JSON.parse keeps the last one), the hostile value first or last.
      if (key === undefined || Array.isArray(c)) break;
      const [first, last] = b % 2 === 0 ? [v, obj[key]] : [obj[key], v];
      obj[key] = new Raw(`${renderJson(first)}, ${JSON.stringify(key)}: ${renderJson(last)}`);
      break;
    }
    case 'wrap':
      if (key !== undefined) obj[key] = b % 2 === 0 ? [obj[key]] : { value: obj[key] };
      break;
  }
  return doc;
}

/** Deep copy that keeps Raw values (structuredClone would turn them into plain objects). */
function cloneJson(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof Raw) return v;
  if (Array.isArray(v)) return v.map(cloneJson);
  return Object.fromEntries(Object.entries(v).map(([k, c]) => [k, cloneJson(c)]));
}

/** Structural mutations of a JSON document (keys deleted, renamed, duplicated, values of the wrong type, huge, deep). */
export function mutateJson(base: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  const jsonOp: fc.Arbitrary<JsonOp> = fc.record({
    op: fc.constantFrom('delete', 'set', 'renameCase', 'rename', 'duplicate', 'wrap'),
    a: fc.nat(),
    b: fc.nat(),
    v: hostileJsonValue,
    k: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', '')),
  });
  const structural = fc
    .tuple(base, fc.array(jsonOp, { minLength: 1, maxLength: 4 }))
    .map(([doc, ops]) => renderJson(ops.reduce(applyJsonOp, cloneJson(doc))));
  return fc.oneof(structural, mutateText(structural), mutateText(base.map(renderJson)));
}

/** A secret-looking value unique enough that finding it in a message is a real leak. */
export const secretArb = fc.stringMatching(/^[A-Za-z0-9+/]{24,40}$/).map((s) => `SECRET${s}`);
