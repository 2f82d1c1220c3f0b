import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMMAND_OUTPUT_MAX_EACH,
  decodeUtf8BackslashReplace,
  formatCommandOutput,
} from '../../../src/platform/command-output.js';

const fill = (c: string, n: number): string => c.repeat(n);

test('per-stream budget is 1590, as upstream computes it', () => {
  assert.equal(COMMAND_OUTPUT_MAX_EACH, 1590);
});

test('short output is kept whole in the upstream template', () => {
  assert.equal(formatCommandOutput('out', 'err'), '[stdout]\nout\n\n[stderr]\nerr');
  assert.equal(formatCommandOutput('', ''), '[stdout]\n\n\n[stderr]\n');
  // 3199 characters in total is still below the limit.
  const s = formatCommandOutput(fill('a', 1600), fill('b', 1599));
  assert.equal(s, `[stdout]\n${fill('a', 1600)}\n\n[stderr]\n${fill('b', 1599)}`);
});

test('at 3200 or more, both long streams keep their last 1590 characters', () => {
  const out = `${fill('x', 10)}${fill('a', 1600)}`;
  const err = `${fill('y', 10)}${fill('b', 1590)}`;
  const s = formatCommandOutput(out, err);
  assert.equal(s, `[stdout]\n${fill('a', 1590)}\n\n[stderr]\n${fill('b', 1590)}`);
  assert.equal(s.length, 3200);
});

test('a short stream gives its unused budget to the other', () => {
  const err = `HEAD${fill('e', 3196)}`; // 3200
  const s = formatCommandOutput('tiny', err);
  // stderr keeps 1590 + (1590 - 4) = 3176 characters from its end.
  assert.equal(s, `[stdout]\ntiny\n\n[stderr]\n${fill('e', 3176)}`);
  const s2 = formatCommandOutput(`HEAD${fill('o', 3196)}`, fill('r', 100));
  assert.equal(s2, `[stdout]\n${fill('o', 3080)}\n\n[stderr]\n${fill('r', 100)}`);
  assert.ok(s.length <= 3200 && s2.length <= 3200);
});

test('lengths count code points like Python, never splitting a surrogate pair', () => {
  const emoji = '\u{1F600}';
  const out = emoji.repeat(1600); // 1600 code points, 3200 UTF-16 units
  const s = formatCommandOutput(out, fill('b', 1600));
  assert.equal(s, `[stdout]\n${emoji.repeat(1590)}\n\n[stderr]\n${fill('b', 1590)}`);
  // Below the limit in code points even though .length would say otherwise.
  const whole = formatCommandOutput(emoji.repeat(1000), fill('b', 1000));
  assert.equal(whole, `[stdout]\n${emoji.repeat(1000)}\n\n[stderr]\n${fill('b', 1000)}`);
});

test('decodes UTF-8 with Python backslashreplace for invalid bytes', () => {
  const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
  assert.equal(decodeUtf8BackslashReplace(new TextEncoder().encode('h\u00e9 \u20ac \u{1F600}')), 'h\u00e9 \u20ac \u{1F600}');
  assert.equal(decodeUtf8BackslashReplace(b(0x61, 0xff, 0x62)), 'a\\xffb');
  assert.equal(decodeUtf8BackslashReplace(b(0xe2, 0x82)), '\\xe2\\x82'); // cut multi-byte at the end
  assert.equal(decodeUtf8BackslashReplace(b(0xc0, 0xaf)), '\\xc0\\xaf'); // overlong
  assert.equal(decodeUtf8BackslashReplace(b(0xed, 0xa0, 0x80)), '\\xed\\xa0\\x80'); // surrogate
  assert.equal(decodeUtf8BackslashReplace(b(0xf4, 0x90, 0x80, 0x80)), '\\xf4\\x90\\x80\\x80'); // > U+10FFFF
  assert.equal(decodeUtf8BackslashReplace(b(0xe2, 0x41)), '\\xe2A');
  assert.equal(decodeUtf8BackslashReplace(b(0xef, 0xbb, 0xbf, 0x41)), '\uFEFFA'); // BOM kept
});

test('secrets are redacted before the length rules apply', () => {
  const s = formatCommandOutput('GET https://h/p?sv=1&sig=SECRET ok', '{"protectedSettings":"PS"}');
  assert.equal(s, '[stdout]\nGET https://h/p?<redacted> ok\n\n[stderr]\n{"protectedSettings":"***REDACTED***"}');
});
