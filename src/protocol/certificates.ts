// Tenant certificates (wire-protocol.md §6): GET with the encrypted header set, CMS-decrypt with the transport key,
// PKCS#12 -> PEM, store <lib>/<THUMB>.crt and <THUMB>.prv. Never fails the goal state: errors yield an empty list.
import { mkdir } from 'node:fs/promises';
import type { Clock, Logger } from '../deps.js';
import { ProtocolError, errorMessage } from '../errors.js';
import type { Openssl } from '../platform/openssl.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { WriteHealth } from '../state/write-health.js';
import { libFile, type Paths } from '../state/paths.js';
import { matchBundle, splitPemBlocks } from './pem-bundle.js';
import { hasUsableCertificates, parseCertificatesXml } from './schemas/certificates.js';
import { ensureTransportCert, type TransportCert } from './transport-cert.js';
import type { WireClient } from './wire-client.js';

export interface CertificateSummary {
  /** Upper-case SHA-1 hex: the name of `<lib>/<thumbprint>.crt`. */
  readonly thumbprint: string;
  readonly hasPrivateKey: boolean;
}

/** Tried in this order; the host encrypts with the one named in x-ms-cipher-name. */
export const CERTIFICATE_CIPHERS = ['AES128_CBC', 'DES_EDE3_CBC'] as const;

export const CERTIFICATES_XML_FILE = 'Certificates.xml';
export const CERTIFICATES_PEM_FILE = 'Certificates.pem';
const SECRET_MODE = 0o600;

// openssl 3 refuses the RC2/3DES PKCS#12 encryption of older bundles without -legacy; upstream tries -nomacver first.
const PKCS12_VARIANTS: readonly (readonly string[])[] = [['-nomacver'], [], ['-legacy', '-nomacver']];

export interface CertificatesDeps {
  readonly wire: Pick<WireClient, 'getEncrypted'>;
  readonly openssl: Openssl;
  readonly paths: Paths;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly writeHealth?: WriteHealth;
}

/** Describes a summary for the log: thumbprints only. */
export function describeSummary(list: readonly CertificateSummary[]): string {
  return list.length === 0 ? 'none' : list.map((c) => `${c.thumbprint}${c.hasPrivateKey ? ' (with private key)' : ''}`).join(', ');
}

export class Certificates {
  private last: readonly CertificateSummary[] = [];

  constructor(private readonly deps: CertificatesDeps) {}

  /** The summary of the last download (empty before the first one or after a failure). */
  get summary(): readonly CertificateSummary[] {
    return this.last;
  }

  /** Downloads and stores the certificates of the goal state at `url`. Never throws; failures are logged. */
  async update(url: string, signal?: AbortSignal): Promise<readonly CertificateSummary[]> {
    try {
      this.last = await this.download(url, signal);
      this.deps.logger.info(`Certificates of the goal state: ${describeSummary(this.last)}`);
    } catch (err) {
      // An abort is the agent shutting down, not a certificate problem.
      if (!signal?.aborted) this.deps.logger.error(`Cannot download certificates as ${errorMessage(err)}`);
      this.last = [];
    }
    return this.last;
  }

  private async download(url: string, signal?: AbortSignal): Promise<CertificateSummary[]> {
    const { wire, logger, paths } = this.deps;
    await mkdir(paths.libDir, { recursive: true, mode: 0o700 });
    const transport = await ensureTransportCert(this.deps);
    for (const cipher of CERTIFICATE_CIPHERS) {
      let xml: string;
      try {
        xml = await wire.getEncrypted(url, transport.headerValue, cipher, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        logger.warn(`Cannot download certificates with cipher ${cipher} as ${errorMessage(err)}`);
        continue;
      }
      await writeFileAtomic(libFile(paths, CERTIFICATES_XML_FILE), xml, { mode: SECRET_MODE, health: this.deps.writeHealth });
      let data: string | null;
      try {
        const doc = parseCertificatesXml(xml);
        if (doc.data !== null && !hasUsableCertificates(doc)) {
          logger.warn(`Ignoring certificates in format ${String(doc.format)}`);
          return [];
        }
        data = doc.data;
      } catch (err) {
        logger.warn(`Cannot use the certificates received with cipher ${cipher} as ${errorMessage(err)}`);
        continue;
      }
      if (data === null) return [];
      const pfx = await this.decrypt(data, transport, cipher);
      if (pfx === null) continue;
      try {
        return await this.store(pfx);
      } finally {
        pfx.fill(0);
      }
    }
    throw new ProtocolError('Cannot download certificates using any of the supported cyphers', { code: 'WAA_PROTOCOL_PARSE' });
  }

  /** CMS EnvelopedData (DER) -> PKCS#12 bytes, or null (logged) when this cipher's payload cannot be decrypted. */
  private async decrypt(data: string, transport: TransportCert, cipher: string): Promise<Buffer | null> {
    const der = Buffer.from(data.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) {
      this.deps.logger.warn(`Cannot decrypt certificates received with cipher ${cipher} as Data is not base64`);
      return null;
    }
    try {
      return await this.deps.openssl.run(['cms', '-decrypt', '-inform', 'DER', '-inkey', transport.keyPath, '-recip', transport.certPath], der);
    } catch (err) {
      this.deps.logger.warn(`Cannot decrypt certificates received with cipher ${cipher} as ${errorMessage(err)}`);
      return null;
    }
  }

  private async pfxToPem(pfx: Buffer): Promise<string> {
    let lastError: unknown;
    for (const variant of PKCS12_VARIANTS) {
      try {
        return (await this.deps.openssl.run(['pkcs12', '-nodes', '-password', 'pass:', ...variant], pfx)).toString('utf8');
      } catch (err) {
        lastError = err;
      }
    }
    throw new ProtocolError(`Cannot convert the certificates from PKCS#12 as ${errorMessage(lastError)}`, { code: 'WAA_PROTOCOL_PARSE', cause: lastError });
  }

  private async store(pfx: Buffer): Promise<CertificateSummary[]> {
    const { paths, logger } = this.deps;
    const pem = await this.pfxToPem(pfx);
    // Kept like upstream (other tools read it), but 0600: it holds every private key.
    await writeFileAtomic(libFile(paths, CERTIFICATES_PEM_FILE), pem, { mode: SECRET_MODE, health: this.deps.writeHealth });
    const bundle = matchBundle(splitPemBlocks(pem));
    if (bundle.unparsable > 0) logger.warn(`Skipped ${bundle.unparsable} unparsable block(s) in the certificate bundle`);
    for (const c of bundle.certificates) {
      await writeFileAtomic(libFile(paths, `${c.thumbprint}.crt`), c.certPem, { mode: SECRET_MODE, health: this.deps.writeHealth });
      if (c.keyPem !== null) await writeFileAtomic(libFile(paths, `${c.thumbprint}.prv`), c.keyPem, { mode: SECRET_MODE, health: this.deps.writeHealth });
    }
    for (const k of bundle.orphanKeys) {
      logger.warn(`Found a private key matching no certificate; stored as ${k.index}.prv`);
      await writeFileAtomic(libFile(paths, `${k.index}.prv`), k.pem, { mode: SECRET_MODE, health: this.deps.writeHealth });
    }
    return bundle.certificates.map((c) => ({ thumbprint: c.thumbprint, hasPrivateKey: c.keyPem !== null }));
  }
}
