// For -collect-logs: the plaintext of the protected settings on this VM, so it can be scrubbed from the bundle.
// Handlers decrypt their settings and some write the plaintext (or a command line built from it) to their log
// folder, which the bundle takes; redactSecrets cannot recognise a bare value. The collector decrypts each
// settings file with the tenant key beside it, as the handler does, and redacts every value it finds.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Openssl } from '../../platform/openssl.js';
import { REDACTED } from '../../log/redact.js';

/** Shorter values are too likely to be ordinary words; they are not secrets worth scrubbing either. */
const MIN_VALUE = 6;
/** Tokens of a value (a command line) are scrubbed on their own when at least this long. */
const MIN_TOKEN = 8;
const MAX_VALUES = 10_000;

function leaves(v: unknown, out: Set<string>, depth = 0): void {
  if (depth > 32 || out.size >= MAX_VALUES) return;
  if (typeof v === 'string') {
    if (v.length >= MIN_VALUE) out.add(v);
    for (const tok of v.split(/[\s"'`,;=]+/)) if (tok.length >= MIN_TOKEN) out.add(tok);
  } else if (typeof v === 'number' && String(v).length >= MIN_VALUE) {
    out.add(String(v));
  } else if (Array.isArray(v)) {
    for (const x of v) leaves(x, out, depth + 1);
  } else if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) leaves(x, out, depth + 1);
  }
}

interface HandlerSettings {
  protectedSettings?: unknown;
  protectedSettingsCertThumbprint?: unknown;
}

/**
 * Decrypts the protectedSettings of every given settings file with `<libDir>/<thumbprint>.crt/.prv` and returns the
 * values found (the whole plaintext, its string leaves and their long tokens). A file that cannot be read or
 * decrypted is counted in `failed`, never fatal.
 */
export async function protectedValues(libDir: string, settingsFiles: readonly string[], openssl: Openssl): Promise<{ values: string[]; failed: number }> {
  const out = new Set<string>();
  let failed = 0;
  const seen = new Set<string>();
  for (const file of settingsFiles) {
    let list: HandlerSettings[];
    try {
      const doc = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, '')) as { runtimeSettings?: Array<{ handlerSettings?: HandlerSettings }> };
      list = (doc.runtimeSettings ?? []).map((r) => r.handlerSettings ?? {});
    } catch {
      failed++;
      continue;
    }
    for (const hs of list) {
      const blob = hs.protectedSettings;
      const thumb = hs.protectedSettingsCertThumbprint;
      if (typeof blob !== 'string' || blob === '' || seen.has(blob)) continue;
      seen.add(blob);
      if (typeof thumb !== 'string' || !/^[0-9A-Fa-f]{40}$/.test(thumb)) {
        failed++;
        continue;
      }
      try {
        const der = Buffer.from(blob, 'base64');
        const crt = join(libDir, `${basename(thumb)}.crt`);
        const prv = join(libDir, `${basename(thumb)}.prv`);
        const plain = (await openssl.run(['cms', '-decrypt', '-inform', 'DER', '-recip', crt, '-inkey', prv], der)).toString('utf8');
        if (plain.length >= MIN_VALUE) out.add(plain);
        try {
          leaves(JSON.parse(plain), out);
        } catch {
          leaves(plain, out);
        }
      } catch {
        failed++;
      }
    }
  }
  // Longest first, so a value is replaced before a token inside it.
  return { values: [...out].sort((a, b) => b.length - a.length), failed };
}

/** Replaces every value in `text` (values as returned by protectedValues, longest first). */
export function scrubValues(text: string, values: readonly string[]): string {
  let t = text;
  for (const v of values) if (t.includes(v)) t = t.split(v).join(REDACTED);
  return t;
}
