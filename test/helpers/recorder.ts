// The recorder fixture handler: variants of its manifest, and the commands it recorded.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureHandler } from './agent.js';

export interface RecordedCommand {
  readonly op: string;
  readonly [key: string]: string;
}

/** A copy of the recorder handler with manifest fields changed (e.g. updateMode, supportsMultipleExtensions). */
export async function recorderVariant(patch: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-handler-'));
  await cp(fixtureHandler('recorder'), dir, { recursive: true });
  const file = join(dir, 'HandlerManifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Array<{ handlerManifest: Record<string, unknown> }>;
  Object.assign(manifest[0]!.handlerManifest, patch);
  await writeFile(file, JSON.stringify(manifest));
  return dir;
}

/** Parses commands.log lines: `<op> key=value key=value ...`. */
export async function recorded(extLogDir: string, handlerName: string): Promise<RecordedCommand[]> {
  const text = await readFile(join(extLogDir, handlerName, 'commands.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => {
    const [op, ...rest] = line.split(' ');
    const fields: Record<string, string> = { op: op! };
    for (const kv of rest) {
      const i = kv.indexOf('=');
      if (i > 0) fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return fields as RecordedCommand;
  });
}

/** `op@version` for each recorded command, the shape order assertions compare. */
export function opsOf(cmds: readonly RecordedCommand[]): string[] {
  return cmds.map((c) => `${c.op}@${c.version}${c.ext ? `:${c.ext}` : ''}`);
}
