import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { isProtocolSupported, parseVersions } from '../../../src/protocol/schemas/versions.js';

const doc = (preferred: string, supported: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?><Versions>${preferred}<Supported>${supported
    .map((v) => `<Version>${v}</Version>`)
    .join('')}</Supported></Versions>`;

test('parses preferred and supported versions', () => {
  const v = parseVersions(doc('<Preferred><Version>2012-11-30</Version></Preferred>', ['2010-12-15', '2010-28-10']));
  assert.deepEqual(v, { preferred: '2012-11-30', supported: ['2010-12-15', '2010-28-10'] });
  assert.equal(isProtocolSupported(v, '2012-11-30'), true);
  assert.equal(isProtocolSupported(v, '2010-12-15'), true);
  assert.equal(isProtocolSupported(v, '2015-01-01'), false);
});

test('our version may be advised only in Supported', () => {
  const v = parseVersions(doc('<Preferred><Version>2099-01-01</Version></Preferred>', ['2012-11-30']));
  assert.equal(isProtocolSupported(v, '2012-11-30'), true);
});

test('a missing Preferred is tolerated when Supported lists versions', () => {
  const v = parseVersions(doc('', ['2012-11-30']));
  assert.equal(v.preferred, null);
  assert.equal(isProtocolSupported(v, '2012-11-30'), true);
});

test('a document with no versions at all is a parse error', () => {
  assert.throws(() => parseVersions('<Versions/>'), (e: unknown) => e instanceof ProtocolError && /Versions as Preferred\/Version is missing/.test(e.message));
});
