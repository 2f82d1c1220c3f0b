// Building zip packages in tests, including hostile ones yazl itself would refuse to write.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import yazl from 'yazl';

export interface ZipItem {
  name: string;
  data?: string | Buffer;
  dir?: boolean;
  mode?: number;
}

export async function buildZip(items: ZipItem[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const it of items) {
    if (it.dir) zip.addEmptyDirectory(it.name);
    else zip.addBuffer(Buffer.from(it.data ?? ''), it.name, it.mode === undefined ? {} : { mode: it.mode });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Every file of a folder as zip items (modes kept). */
export function folderItems(dir: string): ZipItem[] {
  const out: ZipItem[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push({ name: relative(dir, p), data: readFileSync(p), mode: st.mode });
    }
  };
  walk(dir);
  return out;
}

/** yazl refuses unsafe names, so evil zips are built with a same-length placeholder that is patched in. */
export function patchName(zip: Buffer, placeholder: string, evil: string): Buffer {
  assert.equal(Buffer.byteLength(placeholder), Buffer.byteLength(evil));
  const from = Buffer.from(placeholder);
  const to = Buffer.from(evil);
  let n = 0;
  for (let i = zip.indexOf(from); i >= 0; i = zip.indexOf(from, i + 1)) {
    to.copy(zip, i);
    n++;
  }
  assert.equal(n, 2, 'name found in the local header and the central directory');
  return zip;
}
