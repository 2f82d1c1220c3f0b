// Pure helpers for the tenant certificate bundle (wire-protocol.md §2.1, §6.3): PEM splitting, thumbprints,
// pairing private keys with certificates by public key. Parsing only (node:crypto), no I/O.
import { X509Certificate, createPublicKey } from 'node:crypto';

export interface PemBlock {
  readonly kind: 'certificate' | 'privateKey';
  /** BEGIN line to END line, newline-terminated (openssl's "Bag Attributes" lines are dropped). */
  readonly pem: string;
}

const BEGIN_RE = /^-+BEGIN .*-+$/;
const END_KEY_RE = /^-+END .*KEY-+$/;
const END_CERT_RE = /^-+END .*CERTIFICATE-+$/;

/** Splits openssl's PEM output into certificate and private-key blocks, in order; other blocks are ignored. */
export function splitPemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  let buf: string[] | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (BEGIN_RE.test(line)) {
      buf = [line];
      continue;
    }
    if (buf === null) continue;
    buf.push(line);
    const kind = END_KEY_RE.test(line) ? 'privateKey' : END_CERT_RE.test(line) ? 'certificate' : null;
    if (kind !== null) {
      // Only private keys: a stray PUBLIC KEY block is not something to store as .prv.
      if (kind === 'certificate' || /PRIVATE KEY/.test(line)) out.push({ kind, pem: buf.join('\n') + '\n' });
      buf = null;
    } else if (/^-+END /.test(line)) {
      buf = null;
    }
  }
  return out;
}

/** Upper-case hex SHA-1 of the certificate's DER, no colons (what `openssl x509 -fingerprint` prints). */
export function thumbprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint.replace(/:/g, '').toUpperCase();
}

/** The certificate for `x-ms-guest-agent-public-x509-cert`: PEM lines without the `----` lines, joined. */
export function certHeaderValue(certPem: string): string {
  return certPem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.includes('----'))
    .join('');
}

function certPublicKeyDer(certPem: string): Buffer {
  return new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
}

/** SubjectPublicKeyInfo DER of a private key's public half (what `openssl rsa|pkey -pubout` prints). */
function keyPublicKeyDer(keyPem: string): Buffer {
  return createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
}

/** True when the private key belongs to the certificate (same public key). Unparsable input => false. */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  try {
    return keyPublicKeyDer(keyPem).equals(certPublicKeyDer(certPem));
  } catch {
    return false;
  }
}

export interface StoredCertificate {
  readonly thumbprint: string;
  readonly certPem: string;
  /** The matching private key, if the bundle held one. */
  readonly keyPem: string | null;
}

export interface MatchedBundle {
  readonly certificates: readonly StoredCertificate[];
  /** Keys matching no certificate, with their block index (upstream stores them as `<index>.prv`). */
  readonly orphanKeys: readonly { readonly index: number; readonly pem: string }[];
  /** Blocks that could not be parsed (counted, never echoed: they may hold key material). */
  readonly unparsable: number;
}

/** Thumbprints every certificate and pairs each private key with the certificate of the same public key. */
export function matchBundle(blocks: readonly PemBlock[]): MatchedBundle {
  const certs: { thumbprint: string; certPem: string; spki: Buffer; keyPem: string | null }[] = [];
  const keys: { index: number; pem: string; spki: Buffer }[] = [];
  let unparsable = 0;
  blocks.forEach((b, index) => {
    try {
      if (b.kind === 'certificate') certs.push({ thumbprint: thumbprint(b.pem), certPem: b.pem, spki: certPublicKeyDer(b.pem), keyPem: null });
      else keys.push({ index, pem: b.pem, spki: keyPublicKeyDer(b.pem) });
    } catch {
      unparsable++;
    }
  });
  const orphanKeys: { index: number; pem: string }[] = [];
  for (const k of keys) {
    const owners = certs.filter((c) => c.spki.equals(k.spki));
    if (owners.length === 0) orphanKeys.push({ index: k.index, pem: k.pem });
    for (const c of owners) c.keyPem = k.pem;
  }
  // One entry per thumbprint: the same certificate twice in a bundle is stored once.
  const seen = new Set<string>();
  const certificates = certs
    .filter((c) => !seen.has(c.thumbprint) && seen.add(c.thumbprint))
    .map(({ thumbprint: t, certPem, keyPem }) => ({ thumbprint: t, certPem, keyPem }));
  return { certificates, orphanKeys, unparsable };
}
