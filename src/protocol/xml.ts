// Minimal DOM over fast-xml-parser, emulating the minidom calls upstream uses (getElementsByTagName, first text child).
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { errorMessage, ProtocolError } from '../errors.js';

export interface XmlNode {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
  /** The first (trimmed, non-empty) text child, or null: minidom's gettext. */
  readonly text: string | null;
}

const ATTR_PREFIX = '@_';

const NAMED_ENTITIES: Readonly<Record<string, string>> = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' };
const ENTITY_RE = /&(?:#(\d+)|#x([0-9a-fA-F]+)|(amp|apos|gt|lt|quot));/g;

/** XML's five named entities and character references (&#13;); anything else is left as written. */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY_RE, (ref: string, dec?: string, hex?: string, name?: string) => {
    if (name !== undefined) return NAMED_ENTITIES[name] ?? ref;
    const cp = dec !== undefined ? Number(dec) : Number.parseInt(hex ?? '', 16);
    // NUL, surrogates and out-of-range references stay as written (expat would refuse the document).
    return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : ref;
  });
}

// Our own decoder, stateless: entities declared in a DOCTYPE are never registered, so never expanded. It replaces
// `htmlEntities: true`, which also decoded ~250 HTML names XML does not define (&nbsp;) and re-registered them on
// every parse, ~0.2 ms per document (3-4x the whole parse of a goal state).
const entityDecoder = { setExternalEntities() {}, addInputEntities() {}, reset() {}, setXmlVersion() {}, decode: decodeEntities };

// preserveOrder keeps document order, which "first match wins" lookups depend on.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  preserveOrder: true,
  entityDecoder,
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

/** True when the parser would read a `<!D…` (DOCTYPE) declaration anywhere outside comments and CDATA. Linear. */
function hasDoctype(text: string): boolean {
  for (let i = text.indexOf('<!'); i >= 0; i = text.indexOf('<!', i)) {
    const close = text.startsWith('<!--', i) ? '-->' : text.startsWith('<![CDATA[', i) ? ']]>' : null;
    if (close === null) {
      if (text.charAt(i + 2) === 'D' || text.charAt(i + 2) === 'd') return true;
      i += 2;
      continue;
    }
    const end = text.indexOf(close, i + 4);
    if (end < 0) return false; // unclosed: the validator reports it
    i = end + close.length;
  }
  return false;
}

const VALIDATOR_CODES: Readonly<Record<string, string>> = {
  InvalidTag: 'invalid or mismatched tag',
  InvalidAttr: 'invalid attribute',
  InvalidChar: 'unexpected character',
  InvalidXml: 'not well-formed',
};

/**
 * The validator quotes tag and attribute names, which in a broken document can be any text, a settings value
 * included: a message with quoted text is replaced by a description of its code, and the position is kept.
 */
function validatorDetail(err: { code: string; msg: string; line: number; col?: number }): string {
  const what = err.msg.includes("'") ? (VALIDATOR_CODES[err.code] ?? 'not well-formed') : err.msg;
  return `line ${err.line}${err.col === undefined ? '' : `, column ${err.col}`}: ${what}`;
}

/**
 * Parses a whole document into a synthetic `#document` node whose only child is the root element, so that
 * findAll/findFirst on it see the root element too (like minidom's Document.getElementsByTagName).
 */
export function parseXml(xml: string, doc: string): XmlNode {
  const text = stripBom(xml);
  // No wire document has a DOCTYPE; refusing it means no entity is ever defined, expanded or fetched.
  if (hasDoctype(text)) throw parseError(doc, 'it has a DOCTYPE declaration, which is not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw parseError(doc, `malformed XML (${validatorDetail(valid.err)})`);
  let raw: unknown;
  try {
    raw = parser.parse(text);
  } catch (err) {
    // The parser's own limits (nesting depth, reserved names) land here; its messages name tags, not content.
    throw parseError(doc, `malformed XML (${errorMessage(err).slice(0, 200)})`, err);
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
