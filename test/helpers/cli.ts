// The compiled CLI as a child process, and the tar.gz bundles it writes: shared by the CLI-level tests.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Parser } from 'tar';
import { AGENT_MAIN } from './agent.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `waagent ARGS` (console logging off), with extra env, a time bound and optional stdin. */
export function runWaagent(args: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number; input?: string | null } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [
      '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
      '--', ...args,
    ], { timeout: opts.timeoutMs ?? 30_000, env: { ...process.env, WAAGENT_TS_NO_CONSOLE: '1', ...opts.env } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: child.exitCode, stdout, stderr });
    });
    if (opts.input !== undefined && opts.input !== null) child.stdin!.write(opts.input);
    child.stdin!.end();
  });
}

/** Every file entry of a tar.gz: path -> bytes. */
export async function untar(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const data = await readFile(file);
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({
      onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => {
          if (e.type === 'File') out.set(e.path, Buffer.concat(chunks));
        });
      },
    });
    p.on('end', resolve);
    p.on('error', reject);
    p.end(data);
  });
  return out;
}
