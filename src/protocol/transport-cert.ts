// The transport certificate (wire-protocol.md §6.1): the key pair the host encrypts tenant certificates to.
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Clock, Logger } from '../deps.js';
import type { Openssl } from '../platform/openssl.js';
import { libFile, type Paths } from '../state/paths.js';
import { certHeaderValue, keyMatchesCert } from './pem-bundle.js';

export const TRANSPORT_CERT_FILE = 'TransportCert.pem';
export const TRANSPORT_KEY_FILE = 'TransportPrivate.pem';
const SECRET_MODE = 0o600;
// Regenerate a little before expiry, so the host never sees an expired certificate.
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

export interface TransportCert {
  readonly certPath: string;
  readonly keyPath: string;
  /** Value of `x-ms-guest-agent-public-x509-cert`. */
  readonly headerValue: string;
  /** True when this call generated a new pair. */
  readonly generated: boolean;
}

export interface TransportCertDeps {
  readonly openssl: Openssl;
  readonly paths: Paths;
  readonly logger: Logger;
  readonly clock: Clock;
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** A usable existing pair: both files parse, the key belongs to the certificate, and it has not (nearly) expired. */
function usable(certPem: string | null, keyPem: string | null, nowMs: number): certPem is string {
  if (certPem === null || keyPem === null || !keyMatchesCert(keyPem, certPem)) return false;
  try {
    return Date.parse(new X509Certificate(certPem).validTo) - RENEW_BEFORE_MS > nowMs;
  } catch {
    return false;
  }
}

async function tighten(path: string): Promise<void> {
  if (((await stat(path)).mode & 0o777) !== SECRET_MODE) await chmod(path, SECRET_MODE);
}

/** A 0600 file created before openssl writes into it, so the key is never readable by others, whatever the umask. */
async function createSecretFile(path: string): Promise<void> {
  const fh = await open(path, 'wx', SECRET_MODE);
  await fh.chmod(SECRET_MODE);
  await fh.close();
}

/**
 * Returns the transport certificate, generating `<lib>/TransportPrivate.pem` + `<lib>/TransportCert.pem` (RSA-2048,
 * self-signed, 730 days) when they are missing, unreadable, mismatched or about to expire. Files are mode 0600.
 * Generated lazily (not at every process start, as upstream's daemon does): a pair that still works is kept, and a
 * process that never sees a Certificates URL never pays for a key generation.
 */
export async function ensureTransportCert(deps: TransportCertDeps): Promise<TransportCert> {
  const certPath = libFile(deps.paths, TRANSPORT_CERT_FILE);
  const keyPath = libFile(deps.paths, TRANSPORT_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readIfPresent(certPath), readIfPresent(keyPath)]);
  if (usable(certPem, keyPem, deps.clock.now())) {
    await Promise.all([tighten(certPath), tighten(keyPath)]);
    return { certPath, keyPath, headerValue: certHeaderValue(certPem), generated: false };
  }

  const suffix = `${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const tmpKey = join(dirname(keyPath), `.${basename(keyPath)}.${suffix}`);
  const tmpCert = join(dirname(certPath), `.${basename(certPath)}.${suffix}`);
  try {
    await createSecretFile(tmpKey);
    await createSecretFile(tmpCert);
    await deps.openssl.run([
      'req', '-x509', '-nodes', '-subj', '/CN=LinuxTransport', '-days', '730', '-newkey', 'rsa:2048',
      '-keyout', tmpKey, '-out', tmpCert,
    ]);
    const newCert = await readFile(tmpCert, 'utf8');
    // Key first: a reader seeing the new key with the old certificate finds them mismatched and regenerates.
    await rename(tmpKey, keyPath);
    await rename(tmpCert, certPath);
    deps.logger.info('Generated the transport certificate');
    return { certPath, keyPath, headerValue: certHeaderValue(newCert), generated: true };
  } finally {
    await unlink(tmpKey).catch(() => undefined);
    await unlink(tmpCert).catch(() => undefined);
  }
}
