// Certificates XML (wire-protocol.md §6.2). Only Format and Data are read; decryption happens elsewhere.
import { findText, parseXml } from '../xml.js';

export const PFX_FORMAT = 'Pkcs7BlobWithPfxContents';

export interface CertificatesXml {
  /** Null when absent or empty (treated like Pkcs7BlobWithPfxContents). */
  readonly format: string | null;
  /** Base64 CMS EnvelopedData, or null when absent or empty: "no certificates". */
  readonly data: string | null;
}

export function parseCertificatesXml(xml: string): CertificatesXml {
  const root = parseXml(xml, 'Certificates');
  return Object.freeze({ format: findText(root, 'Format'), data: findText(root, 'Data') });
}

/** Data is only used when present and the format is absent or Pkcs7BlobWithPfxContents. */
export function hasUsableCertificates(c: CertificatesXml): boolean {
  return c.data !== null && (c.format === null || c.format === PFX_FORMAT);
}
