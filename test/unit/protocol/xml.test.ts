import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { attr, attrNonEmpty, findAll, findFirst, findText, parseXml, stripBom } from '../../../src/protocol/xml.js';

test('stripBom removes only a leading U+FEFF', () => {
  assert.equal(stripBom('\ufeff<a/>'), '<a/>');
  assert.equal(stripBom('<a/>\ufeff'), '<a/>\ufeff');
});

test('parseXml accepts a BOM and an XML declaration', () => {
  const root = parseXml('\ufeff<?xml version="1.0" encoding="utf-8"?><Root><A>1</A></Root>', 'Doc');
  assert.equal(findText(root, 'A'), '1');
  assert.equal(findFirst(root, 'Root')?.tag, 'Root');
});

test('malformed XML is a ProtocolError naming the document', () => {
  for (const bad of ['<A><B></A>', 'not xml at all', '']) {
    assert.throws(
      () => parseXml(bad, 'Widget'),
      (e: unknown) => e instanceof ProtocolError && e.code === 'WAA_PROTOCOL_PARSE' && e.message.startsWith('Cannot parse Widget as'),
    );
  }
});

test('findFirst is document order at any depth, findAll lists descendants in order', () => {
  const root = parseXml('<R><X><Deep><T>first</T></Deep></X><T>second</T><T>third</T></R>', 'Doc');
  assert.equal(findText(root, 'T'), 'first');
  assert.deepEqual(findAll(root, 'T').map((n) => n.text), ['first', 'second', 'third']);
  // descendants only: a node is not its own match
  const x = findFirst(root, 'X');
  assert.equal(findFirst(x, 'X'), null);
  assert.deepEqual(findAll(null, 'T'), []);
});

test('text is the first text child, trimmed; entities and character references are decoded', () => {
  const root = parseXml('<R><A>  a &amp; b &lt;c&gt; &#65;&#x42; </A><E></E><M>one<i/>two</M></R>', 'Doc');
  assert.equal(findText(root, 'A'), 'a & b <c> AB');
  assert.equal(findText(root, 'E'), null);
  assert.equal(findText(root, 'M'), 'one');
  assert.equal(findText(root, 'Missing'), null);
});

test('attributes: absent => null, empty kept by attr and dropped by attrNonEmpty', () => {
  const root = parseXml('<R><P a="x&amp;y" e="" /></R>', 'Doc');
  const p = findFirst(root, 'P');
  assert.equal(attr(p, 'a'), 'x&y');
  assert.equal(attr(p, 'e'), '');
  assert.equal(attrNonEmpty(p, 'e'), null);
  assert.equal(attr(p, 'missing'), null);
  assert.equal(attr(null, 'a'), null);
  assert.equal(attr(p, 'toString'), null);
});
