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

// ---- Tenant certificates: PEM bundle helpers, transport certificate, download/decrypt/store (real openssl) ----

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../src/deps.js';
import { TenantCertificates } from '../../../src/emulator/certificates.js';
import { createOpenssl } from '../../../src/platform/openssl.js';
import { Certificates, type CertificatesDeps } from '../../../src/protocol/certificates.js';
import { certHeaderValue, keyMatchesCert, matchBundle, splitPemBlocks, thumbprint } from '../../../src/protocol/pem-bundle.js';
import { ensureTransportCert } from '../../../src/protocol/transport-cert.js';
import type { Paths } from '../../../src/state/paths.js';

const OPENSSL = '/usr/bin/openssl';

interface Pair {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed EC certificate and key (fast to generate), as PEM text. */
function ecPair(dir: string, name: string): Pair {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  execFileSync(OPENSSL, ['req', '-x509', '-nodes', '-subj', `/CN=${name}`, '-days', '2', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-certs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const mk = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  const logger: Logger & { lines: string[] } = {
    lines, verbose: mk('VERBOSE'), info: mk('INFO'), warn: mk('WARNING'), error: mk('ERROR'), child: () => logger,
  };
  return logger;
}

const clock = { now: () => Date.now(), sleep: async () => undefined };

test('thumbprint is the upper-case SHA-1 of the DER, as openssl x509 -fingerprint prints it', async (t) => {
  const dir = await scratch(t);
  const a = ecPair(dir, 'a');
  const tp = thumbprint(a.cert);
  assert.match(tp, /^[0-9A-F]{40}$/);
  const fp = execFileSync(OPENSSL, ['x509', '-noout', '-fingerprint', '-sha1', '-in', join(dir, 'a.crt')]).toString();
  assert.equal(tp, fp.trim().split('=')[1]!.replace(/:/g, ''));
  assert.equal(tp, createHash('sha1').update(new X509Certificate(a.cert).raw).digest('hex').toUpperCase());
  assert.throws(() => thumbprint('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'));
});

test('the x-ms-guest-agent-public-x509-cert value is the PEM body on one line: the DER in base64', async (t) => {
  const dir = await scratch(t);
  const { cert } = ecPair(dir, 'h');
  const v = certHeaderValue(cert);
  assert.equal(v, new X509Certificate(cert).raw.toString('base64'));
  assert.doesNotMatch(v, /[\s-]/);
  assert.equal(certHeaderValue(cert.replace(/\n/g, '\r\n')), v);
});

test('splitPemBlocks keeps certificate and private-key blocks in order and drops bag attributes and other blocks', () => {
  const text = [
    'Bag Attributes', '    localKeyID: 01 02', 'subject=CN = a',
    '-----BEGIN CERTIFICATE-----', 'QUFB', '-----END CERTIFICATE-----',
    'Key Attributes: <No Attributes>',
    '-----BEGIN PRIVATE KEY-----', 'QkJC', '-----END PRIVATE KEY-----',
    '-----BEGIN PUBLIC KEY-----', 'Q0ND', '-----END PUBLIC KEY-----',
    '-----BEGIN X509 CRL-----', 'RERE', '-----END X509 CRL-----',
    '-----BEGIN RSA PRIVATE KEY-----\r', 'RUVF\r', '-----END RSA PRIVATE KEY-----\r',
    '-----BEGIN CERTIFICATE-----', 'truncated',
  ].join('\n');
  assert.deepEqual(splitPemBlocks(text), [
    { kind: 'certificate', pem: '-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n' },
    { kind: 'privateKey', pem: '-----BEGIN PRIVATE KEY-----\nQkJC\n-----END PRIVATE KEY-----\n' },
    { kind: 'privateKey', pem: '-----BEGIN RSA PRIVATE KEY-----\nRUVF\n-----END RSA PRIVATE KEY-----\n' },
  ]);
  assert.deepEqual(splitPemBlocks(''), []);
});

test('private keys are matched to certificates by public key: two certificates, one key', async (t) => {
  const dir = await scratch(t);
  const a = ecPair(dir, 'a');
  const b = ecPair(dir, 'b');
  const c = ecPair(dir, 'c');
  assert.equal(keyMatchesCert(b.key, b.cert), true);
  assert.equal(keyMatchesCert(b.key, a.cert), false);
  assert.equal(keyMatchesCert('garbage', a.cert), false);

  // Key first, as openssl pkcs12 may print it; the key belongs to the second certificate.
  const bundle = matchBundle(splitPemBlocks(b.key + a.cert + b.cert));
  assert.deepEqual(bundle.certificates.map((x) => [x.thumbprint, x.keyPem !== null]), [[thumbprint(a.cert), false], [thumbprint(b.cert), true]]);
  assert.equal(bundle.certificates[1]!.keyPem, splitPemBlocks(b.key)[0]!.pem);
  assert.deepEqual(bundle.orphanKeys, []);
  assert.equal(bundle.unparsable, 0);

  // A key without its certificate is an orphan (with its block index); a broken block is counted, not thrown.
  const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  const other = matchBundle(splitPemBlocks(a.cert + broken + c.key + a.cert));
  assert.deepEqual(other.certificates.map((x) => x.thumbprint), [thumbprint(a.cert)]);
  assert.deepEqual(other.orphanKeys.map((k) => k.index), [2]);
  assert.equal(other.unparsable, 1);
});

test('openssl failures name the subcommand and never hang', async () => {
  await assert.rejects(createOpenssl({ path: '/nonexistent/openssl' }).run(['version']), /Cannot run openssl version as \/nonexistent\/openssl was not found/);
  await assert.rejects(createOpenssl().run(['cms', '-decrypt', '-inform', 'DER', '-inkey', '/nonexistent.pem'], Buffer.from('junk')), /Cannot run openssl cms as it exited with code \d+/);
  assert.match((await createOpenssl().run(['version'])).toString(), /OpenSSL/);
});

// ---- Certificates: download with the encrypted header set, decrypt, split, store ----

const tenant = new TenantCertificates();
let transportSeed: { cert: string; key: string } | null = null;

function certificatesXml(data: string | null, format = 'Pkcs7BlobWithPfxContents'): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<CertificateFile><Version>2012-11-30</Version><Incarnation>1</Incarnation><Format>${format}</Format>` +
    `${data === null ? '' : `<Data>${data.replace(/.{1,76}/g, '$&\n')}</Data>`}</CertificateFile>\n`;
}

interface Setup {
  readonly paths: Paths;
  readonly logger: ReturnType<typeof captureLogger>;
  readonly calls: { url: string; cert: string; cipher: string }[];
  deps(answer: (cipher: string, cert: string) => Promise<string>, opensslPath?: string): CertificatesDeps;
}

/** A lib dir (with a transport pair copied from the first generated one, to keep the tests fast) and a fake wire. */
async function setup(t: { after(fn: () => Promise<void>): void }, opts: { seed?: boolean } = {}): Promise<Setup> {
  const dir = await scratch(t);
  const paths: Paths = { libDir: join(dir, 'lib'), extLogDir: join(dir, 'log'), agentLogFile: join(dir, 'waagent.log'), confPath: join(dir, 'waagent.conf'), pidFile: join(dir, 'pid') };
  const logger = captureLogger();
  await mkdir(paths.libDir, { recursive: true, mode: 0o700 });
  if (opts.seed !== false && transportSeed) {
    await writeFile(join(paths.libDir, 'TransportCert.pem'), transportSeed.cert, { mode: 0o600 });
    await writeFile(join(paths.libDir, 'TransportPrivate.pem'), transportSeed.key, { mode: 0o600 });
  }
  const calls: Setup['calls'] = [];
  return {
    paths, logger, calls,
    deps: (answer, opensslPath) => ({
      paths, logger, clock, openssl: createOpenssl(opensslPath === undefined ? {} : { path: opensslPath }),
      wire: { getEncrypted: async (url, cert, cipher) => (calls.push({ url, cert, cipher }), answer(cipher, cert)) },
    }),
  };
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const URL_ = 'http://127.0.0.1/machine/c/r?comp=certificates&incarnation=1';

test('downloads, decrypts and stores the tenant certificate as <THUMB>.crt/.prv (0600) with the transport cert in the header', async (t) => {
  const s = await setup(t, { seed: false });
  const certs = new Certificates(s.deps(async (cipher, cert) => certificatesXml(await tenant.certificatesData(cert, cipher as 'AES128_CBC'))));
  const summary = await certs.update(URL_);
  const tp = await tenant.thumbprint();
  assert.deepEqual(summary, [{ thumbprint: tp, hasPrivateKey: true }]);
  assert.deepEqual(certs.summary, summary);

  const lib = s.paths.libDir;
  const transport = await readFile(join(lib, 'TransportCert.pem'), 'utf8');
  assert.deepEqual(s.calls, [{ url: URL_, cert: certHeaderValue(transport), cipher: 'AES128_CBC' }]);
  assert.equal(new X509Certificate(transport).subject, 'CN=LinuxTransport');
  for (const f of ['TransportCert.pem', 'TransportPrivate.pem', 'Certificates.xml', 'Certificates.pem', `${tp}.crt`, `${tp}.prv`]) {
    assert.equal(await mode(join(lib, f)), 0o600, f);
  }
  const crt = await readFile(join(lib, `${tp}.crt`), 'utf8');
  assert.equal(crt, await tenant.certificatePem());
  assert.equal(keyMatchesCert(await readFile(join(lib, `${tp}.prv`), 'utf8'), crt), true);
  assert.match(await readFile(join(lib, 'Certificates.xml'), 'utf8'), /<Data>/);
  transportSeed = { cert: transport, key: await readFile(join(lib, 'TransportPrivate.pem'), 'utf8') };

  // Logged: thumbprints only, never key material.
  const log = s.logger.lines.join('\n');
  assert.match(log, new RegExp(`INFO Certificates of the goal state: ${tp} \\(with private key\\)`));
  assert.doesNotMatch(log, /PRIVATE KEY|BEGIN/);

  // The next incarnation: same transport pair, files rewritten.
  await certs.update(URL_);
  assert.equal(await readFile(join(lib, 'TransportCert.pem'), 'utf8'), transport);
  assert.equal(s.calls.length, 2);
  assert.ok(!s.logger.lines.some((l) => l.startsWith('ERROR') || l.startsWith('WARNING')), s.logger.lines.join('\n'));
});

test('falls back to DES_EDE3_CBC when AES128_CBC fails over HTTP or cannot be decrypted', async (t) => {
  const s = await setup(t);
  const http = new Certificates(s.deps(async (cipher, cert) => {
    if (cipher === 'AES128_CBC') throw new ProtocolError('Wireserver returned 500');
    return certificatesXml(await tenant.certificatesData(cert, cipher as 'DES_EDE3_CBC'));
  }));
  assert.deepEqual(await http.update(URL_), [{ thumbprint: await tenant.thumbprint(), hasPrivateKey: true }]);
  assert.deepEqual(s.calls.map((c) => c.cipher), ['AES128_CBC', 'DES_EDE3_CBC']);
  assert.ok(s.logger.lines.some((l) => /^WARNING Cannot download certificates with cipher AES128_CBC as Wireserver returned 500/.test(l)));

  const garbage = new Certificates(s.deps(async (cipher, cert) =>
    certificatesXml(cipher === 'AES128_CBC' ? Buffer.from('not a CMS blob').toString('base64') : await tenant.certificatesData(cert, 'DES_EDE3_CBC'))));
  assert.equal((await garbage.update(URL_)).length, 1);
  assert.ok(s.logger.lines.some((l) => /^WARNING Cannot decrypt certificates received with cipher AES128_CBC as Cannot run openssl cms/.test(l)));
});

test('error paths yield an empty list and never throw', async (t) => {
  const s = await setup(t);
  const run = async (answer: (cipher: string, cert: string) => Promise<string>, opensslPath?: string) => {
    s.logger.lines.length = 0;
    s.calls.length = 0;
    return new Certificates(s.deps(answer, opensslPath)).update(URL_);
  };

  assert.deepEqual(await run(async () => { throw new ProtocolError('Wireserver returned 503'); }), []);
  assert.deepEqual(s.calls.map((c) => c.cipher), ['AES128_CBC', 'DES_EDE3_CBC']);
  assert.ok(s.logger.lines.includes('ERROR Cannot download certificates as Cannot download certificates using any of the supported cyphers'));

  // No Data: no certificates, not an error; another Format: skipped.
  assert.deepEqual(await run(async () => certificatesXml(null)), []);
  assert.equal(s.calls.length, 1);
  assert.ok(!s.logger.lines.some((l) => l.startsWith('ERROR')));
  assert.deepEqual(await run(async () => certificatesXml('QUJD', 'CertificateDataWithoutPfx')), []);
  assert.ok(s.logger.lines.some((l) => /Ignoring certificates in format CertificateDataWithoutPfx/.test(l)));

  // Malformed XML and undecryptable Data for both ciphers.
  assert.deepEqual(await run(async () => '<CertificateFile><Data>'), []);
  assert.deepEqual(await run(async () => certificatesXml(Buffer.from('junk').toString('base64'))), []);
  assert.ok(s.logger.lines.some((l) => /^ERROR .*any of the supported cyphers/.test(l)));

  // Decrypts, but the content is not a PKCS#12 bundle.
  const transportPem = await readFile(join(s.paths.libDir, 'TransportCert.pem'), 'utf8');
  const notPfx = await withFile(transportPem, (f) => createOpenssl().run(['cms', '-encrypt', '-binary', '-outform', 'DER', '-aes128', f], 'hello'));
  assert.deepEqual(await run(async () => certificatesXml(notPfx.toString('base64'))), []);
  assert.ok(s.logger.lines.some((l) => /^ERROR Cannot download certificates as Cannot convert the certificates from PKCS#12/.test(l)), s.logger.lines.join('\n'));

  // No openssl at all: the transport certificate cannot be made.
  await rm(join(s.paths.libDir, 'TransportPrivate.pem'));
  assert.deepEqual(await run(async () => certificatesXml(null), '/nonexistent/openssl'), []);
  assert.equal(s.calls.length, 0);
  assert.ok(s.logger.lines.some((l) => /^ERROR Cannot download certificates as Cannot run openssl req as \/nonexistent\/openssl was not found/.test(l)));
});

async function withFile<T>(text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-certs-'));
  try {
    await writeFile(join(dir, 'f.pem'), text);
    return await fn(join(dir, 'f.pem'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the transport pair is kept while valid and regenerated when the key does not match', async (t) => {
  const s = await setup(t);
  const deps = { openssl: createOpenssl(), paths: s.paths, logger: s.logger, clock };
  const certPath = join(s.paths.libDir, 'TransportCert.pem');
  const keyPath = join(s.paths.libDir, 'TransportPrivate.pem');
  await chmod(keyPath, 0o644);
  const kept = await ensureTransportCert(deps);
  assert.equal(kept.generated, false);
  assert.equal(await mode(keyPath), 0o600, 'an existing key is tightened to 0600');
  assert.equal(kept.headerValue, certHeaderValue(await readFile(certPath, 'utf8')));

  await writeFile(keyPath, ecPair(s.paths.libDir, 'stray').key);
  const fresh = await ensureTransportCert(deps);
  assert.equal(fresh.generated, true);
  assert.notEqual(fresh.headerValue, kept.headerValue);
  assert.equal(keyMatchesCert(await readFile(keyPath, 'utf8'), await readFile(certPath, 'utf8')), true);
  assert.equal(await mode(keyPath), 0o600);
  assert.equal(await mode(certPath), 0o600);
  // Only the pair and the stray test files: no temp files left behind.
  assert.deepEqual((await readdir(s.paths.libDir)).filter((f) => f.endsWith('.tmp')), []);
  // An expired (or nearly expired) certificate would be renewed too: a pair valid for 2 days is within the margin.
  const shortDir = s.paths.libDir;
  execFileSync(OPENSSL, ['req', '-x509', '-nodes', '-subj', '/CN=Short', '-days', '2', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore', cwd: shortDir });
  assert.equal((await ensureTransportCert(deps)).generated, true);
});
