// Hand-written gzip'd ustar archives for agent-package tests (hostile entries included).
import { gzipSync } from 'node:zlib';

export interface RawEntry {
  name: string;
  type?: '0' | '1' | '2' | '5';
  data?: string;
  link?: string;
  mode?: number;
}

/** A gzip'd ustar archive written by hand, so hostile entries (.., absolute, links) can be made. */
export function rawTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h = Buffer.alloc(512);
    const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
    const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
    put(e.name, 0, 100);
    put(oct(e.mode ?? (e.type === '5' ? 0o755 : 0o644), 8), 100, 8);
    put(oct(0, 8), 108, 8);
    put(oct(0, 8), 116, 8);
    put(oct(e.type === '5' ? 0 : data.length, 12), 124, 12);
    put(oct(1577836800, 12), 136, 12);
    put('        ', 148, 8);
    put(e.type ?? '0', 156, 1);
    put(e.link ?? '', 157, 100);
    put('ustar\u000000', 257, 8);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    blocks.push(h);
    if (e.type !== '5' && data.length > 0) blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}


/** A minimal waagent-ts package (manifest, entry, one compiled file). */
export function goodPackage(version: string, extra: Record<string, unknown> = {}): Buffer {
  return rawTarGz([
    { name: 'waagent-ts-manifest.json', data: JSON.stringify({ format: 1, name: 'waagent-ts', version, entry: 'bin/waagent.js', ...extra }) },
    { name: 'bin/waagent.js', data: 'console.log(1)\n', mode: 0o755 },
  ]);
}
