// The emulated fabric's tenant certificate: generated once per emulator (lazily), served to the agent as CMS
// EnvelopedData of a PKCS#12 encrypted to the agent's transport certificate, and used to encrypt protected settings.
// Everything goes through the openssl CLI and its own fingerprint output, independent of the agent's code.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenssl, type Openssl } from '../platform/openssl.js';
import { HttpError } from './http-util.js';

export type CertificateCipher = 'AES128_CBC' | 'DES_EDE3_CBC';

export interface EncryptedSettings {
  /** Base64 DER CMS EnvelopedData of the settings JSON. */
  readonly data: string;
  /** Upper-case SHA-1 thumbprint of the certificate it is encrypted to. */
  readonly thumbprint: string;
}

interface Tenant {
  readonly certPem: string;
  readonly thumbprint: string;
  /** PKCS#12 (empty password) of the certificate and its key; the key itself is not kept elsewhere. */
  readonly pfx: Buffer;
}

const CMS_CIPHER: Record<CertificateCipher, string> = { AES128_CBC: '-aes128', DES_EDE3_CBC: '-des3' };
const MAX_CACHED_SETTINGS = 256;

/** The transport certificate sent in x-ms-guest-agent-public-x509-cert, as PEM; HttpError 400 when it is not one. */
export function transportCertPem(headerValue: string): string {
  const b64 = headerValue.trim();
  const bad = (): HttpError => new HttpError(400, 'x-ms-guest-agent-public-x509-cert is not a base64 DER certificate', 'InvalidHeaderValue');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw bad();
  try {
    new X509Certificate(Buffer.from(b64, 'base64'));
  } catch {
    throw bad();
  }
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Runs fn with a private scratch folder, removed afterwards (it may hold the tenant key briefly). */
async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-emu-cert-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class TenantCertificates {
  private tenant: Promise<Tenant> | null = null;
  private readonly settingsCache = new Map<string, EncryptedSettings>();
  private readonly openssl: Openssl;

  constructor(opts: { openssl?: Openssl } = {}) {
    this.openssl = opts.openssl ?? createOpenssl();
  }

  /** Thumbprint of the tenant certificate (generating it on first use). */
  async thumbprint(): Promise<string> {
    return (await this.ensure()).thumbprint;
  }

  /** PEM of the tenant certificate (public part only), for tests. */
  async certificatePem(): Promise<string> {
    return (await this.ensure()).certPem;
  }

  /** Base64 DER CMS EnvelopedData (cipher as requested) of the tenant PKCS#12, encrypted to the transport cert. */
  async certificatesData(transportCertHeader: string, cipher: CertificateCipher): Promise<string> {
    const recipient = transportCertPem(transportCertHeader);
    const { pfx } = await this.ensure();
    return withScratch(async (dir) => {
      const certFile = join(dir, 'transport.crt');
      await writeFile(certFile, recipient, { mode: 0o600 });
      const der = await this.openssl.run(['cms', '-encrypt', '-binary', '-outform', 'DER', CMS_CIPHER[cipher], certFile], pfx);
      return der.toString('base64');
    });
  }

  /** Protected settings as Azure sends them: base64 DER CMS (AES-256) to the tenant certificate. Cached per text. */
  async encryptSettings(plaintext: string): Promise<EncryptedSettings> {
    const hit = this.settingsCache.get(plaintext);
    if (hit) return hit;
    const { certPem, thumbprint } = await this.ensure();
    const data = await withScratch(async (dir) => {
      const certFile = join(dir, 'tenant.crt');
      await writeFile(certFile, certPem, { mode: 0o600 });
      return (await this.openssl.run(['cms', '-encrypt', '-binary', '-outform', 'DER', '-aes256', certFile], plaintext)).toString('base64');
    });
    if (this.settingsCache.size >= MAX_CACHED_SETTINGS) this.settingsCache.clear();
    const out = { data, thumbprint };
    this.settingsCache.set(plaintext, out);
    return out;
  }

  private ensure(): Promise<Tenant> {
    this.tenant ??= this.generate().catch((err: unknown) => {
      // A failed generation is retried by the next request rather than cached.
      this.tenant = null;
      throw err;
    });
    return this.tenant;
  }

  private generate(): Promise<Tenant> {
    return withScratch(async (dir) => {
      const key = join(dir, 'tenant.key');
      const crt = join(dir, 'tenant.crt');
      await this.openssl.run(['req', '-x509', '-nodes', '-subj', '/CN=EmulatorTenant', '-days', '365', '-newkey', 'rsa:2048', '-keyout', key, '-out', crt]);
      const certPem = await readFile(crt, 'utf8');
      const fp = (await this.openssl.run(['x509', '-in', crt, '-noout', '-fingerprint', '-sha1'])).toString('utf8');
      const m = /=\s*([0-9A-Fa-f:]+)\s*$/.exec(fp.trim());
      if (!m?.[1]) throw new Error('openssl x509 -fingerprint printed no fingerprint');
      const pfx = await this.openssl.run(['pkcs12', '-export', '-passout', 'pass:', '-inkey', key, '-in', crt]);
      return { certPem, thumbprint: m[1].replace(/:/g, '').toUpperCase(), pfx };
    });
  }
}
