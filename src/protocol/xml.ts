// Minimal DOM over fast-xml-parser, emulating the minidom calls upstream uses (getElementsByTagName, first text child).
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ProtocolError } from '../errors.js';

export interface XmlNode {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
  /** The first (trimmed, non-empty) text child, or null: minidom's gettext. */
  readonly text: string | null;
}

const ATTR_PREFIX = '@_';

// preserveOrder keeps document order, which "first match wins" lookups depend on. htmlEntities also decodes
// numeric character references (&#13;), which the default entity set does not.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  preserveOrder: true,
  htmlEntities: true,
});

/** A parse failure of a named document: `Cannot parse <doc> as <detail>`. */
export function parseError(doc: string, detail: string, cause?: unknown): ProtocolError {
  return new ProtocolError(`Cannot parse ${doc} as ${detail}`, { code: 'WAA_PROTOCOL_PARSE', cause });
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

type RawNode = Record<string, unknown>;

function toNode(raw: RawNode): XmlNode | null {
  const tag = Object.keys(raw).find((k) => k !== ':@');
  if (tag === undefined || tag === '#text' || tag.startsWith('?')) return null;
  const attrsRaw = (raw[':@'] ?? {}) as Record<string, unknown>;
  // Null prototype: attribute names come from the wire and must not reach Object.prototype.
  const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(attrsRaw)) {
    if (k.startsWith(ATTR_PREFIX)) attrs[k.slice(ATTR_PREFIX.length)] = String(v);
  }
  const rawChildren = Array.isArray(raw[tag]) ? (raw[tag] as RawNode[]) : [];
  const children: XmlNode[] = [];
  let text: string | null = null;
  for (const c of rawChildren) {
    if ('#text' in c) {
      const t = String(c['#text']);
      if (text === null && t !== '') text = t;
      continue;
    }
    const child = toNode(c);
    if (child) children.push(child);
  }
  return { tag, attrs, children, text };
}

/**
 * Parses a whole document into a synthetic `#document` node whose only child is the root element, so that
 * findAll/findFirst on it see the root element too (like minidom's Document.getElementsByTagName).
 */
export function parseXml(xml: string, doc: string): XmlNode {
  const text = stripBom(xml);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw parseError(doc, `malformed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  let raw: unknown;
  try {
    raw = parser.parse(text);
  } catch (err) {
    throw parseError(doc, 'malformed XML', err);
  }
  const children = (Array.isArray(raw) ? (raw as RawNode[]) : [])
    .map(toNode)
    .filter((n): n is XmlNode => n !== null);
  if (children.length === 0) throw parseError(doc, 'the document has no root element');
  return { tag: '#document', attrs: {}, children, text: null };
}

/** All descendants (not the node itself) named `tag`, in document order: getElementsByTagName. */
export function findAll(node: XmlNode | null, tag: string): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (n: XmlNode): void => {
    for (const c of n.children) {
      if (c.tag === tag) out.push(c);
      walk(c);
    }
  };
  if (node) walk(node);
  return out;
}

/** First descendant named `tag` in document order, or null. */
export function findFirst(node: XmlNode | null, tag: string): XmlNode | null {
  if (!node) return null;
  for (const c of node.children) {
    if (c.tag === tag) return c;
    const hit = findFirst(c, tag);
    if (hit) return hit;
  }
  return null;
}

/** Text of the first descendant named `tag`, or null when absent or empty. */
export function findText(node: XmlNode | null, tag: string): string | null {
  return findFirst(node, tag)?.text ?? null;
}

/** Attribute value, or null when the node or attribute is absent (empty string when present but empty). */
export function attr(node: XmlNode | null, name: string): string | null {
  if (!node) return null;
  return Object.prototype.hasOwnProperty.call(node.attrs, name) ? (node.attrs[name] ?? null) : null;
}

/** Attribute value with empty treated as absent. */
export function attrNonEmpty(node: XmlNode | null, name: string): string | null {
  const v = attr(node, name);
  return v === null || v === '' ? null : v;
}
