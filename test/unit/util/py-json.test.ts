import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PyFloat, pyFloatRepr, pyJsonDumps } from '../../../src/util/py-json.js';

// Expected strings are what CPython 3's json.dumps prints for the same values.

test('containers use Python default separators and keep key order', () => {
  assert.equal(
    pyJsonDumps({ a: 1, b: [1, 2.5, null, true, false], c: {}, d: [] }),
    '{"a": 1, "b": [1, 2.5, null, true, false], "c": {}, "d": []}',
  );
  assert.equal(pyJsonDumps({ z: 1, a: 2, m: { y: 'x', b: 'c' } }), '{"z": 1, "a": 2, "m": {"y": "x", "b": "c"}}');
});

test('Map keeps insertion order even for integer-like keys', () => {
  assert.equal(pyJsonDumps(new Map<string, unknown>([['b', 1], ['2', 3]])), '{"b": 1, "2": 3}');
});

test('strings are escaped with ensure_ascii', () => {
  assert.equal(
    pyJsonDumps(['é', '😀', '\x7f', '\x00\x1f', 'a"b\\c\n\r\t\b\f', '/', '\u2028', '\ud800']),
    '["\\u00e9", "\\ud83d\\ude00", "\\u007f", "\\u0000\\u001f", "a\\"b\\\\c\\n\\r\\t\\b\\f", "/", "\\u2028", "\\ud800"]',
  );
});

test('floats print like Python repr', () => {
  const cases: [number, string][] = [
    [1, '1.0'],
    [100, '100.0'],
    [1e15, '1000000000000000.0'],
    [9999999999999998, '9999999999999998.0'],
    [1e16, '1e+16'],
    [12345678901234567, '1.2345678901234568e+16'],
    [1e22, '1e+22'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [0.1, '0.1'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [2.5e-5, '2.5e-05'],
    [1.5e-7, '1.5e-07'],
    [5e-324, '5e-324'],
    [-2.5, '-2.5'],
    [1234.5678, '1234.5678'],
    [123456789.123, '123456789.123'],
    [-0, '-0.0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
  ];
  for (const [x, want] of cases) {
    assert.equal(pyFloatRepr(x), want, `repr(${x})`);
    assert.equal(pyJsonDumps(new PyFloat(x)), want);
  }
});

test('plain numbers: integral values print as Python ints, others as floats', () => {
  assert.equal(pyJsonDumps([0, -7, 1e21, 2.5, 0.00001]), '[0, -7, 1000000000000000000000, 2.5, 1e-05]');
});

test('undefined properties are skipped, undefined array items are null', () => {
  assert.equal(pyJsonDumps({ a: undefined, b: 1 }), '{"b": 1}');
  assert.equal(pyJsonDumps([undefined]), '[null]');
});

test('rejects values JSON cannot hold', () => {
  const o: Record<string, unknown> = {};
  o.self = o;
  assert.throws(() => pyJsonDumps(o), /Circular/);
  assert.throws(() => pyJsonDumps({ f: () => 1 }), /not JSON serializable/);
});
