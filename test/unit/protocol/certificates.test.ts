import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { hasUsableCertificates, parseCertificatesXml } from '../../../src/protocol/schemas/certificates.js';
import { readWireFixture } from './fixtures.js';

const xml = readWireFixture('certificates.xml');

test('reads Format and Data (inner line breaks kept)', () => {
  const c = parseCertificatesXml(xml);
  assert.equal(c.format, 'Pkcs7BlobWithPfxContents');
  assert.equal(c.data, 'TUlJQkZBS0VEQVRBRk9SVEVTVFNPTkxZ\nTk9UQVJFQUxDRVJUSUZJQ0FURQ==');
  assert.equal(hasUsableCertificates(c), true);
});

test('an empty Format is treated as unspecified', () => {
  const c = parseCertificatesXml(xml.replace('<Format>Pkcs7BlobWithPfxContents</Format>', '<Format></Format>'));
  assert.equal(c.format, null);
  assert.equal(hasUsableCertificates(c), true);
});

test('another Format is skipped; no Data means no certificates', () => {
  assert.equal(hasUsableCertificates(parseCertificatesXml(xml.replace('Pkcs7BlobWithPfxContents', 'CertificateDataWithoutPfx'))), false);
  const none = parseCertificatesXml(xml.replace(/<Data>[\s\S]*<\/Data>/, ''));
  assert.equal(none.data, null);
  assert.equal(hasUsableCertificates(none), false);
  assert.equal(parseCertificatesXml(xml.replace(/<Data>[\s\S]*<\/Data>/, '<Data></Data>')).data, null);
});

test('malformed XML is a ProtocolError', () => {
  assert.throws(() => parseCertificatesXml('<CertificateFile><Data>'), ProtocolError);
});
