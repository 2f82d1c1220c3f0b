// Minimal supervisor: runs the extension handler as a child and restarts it with a back-off.
// Version selection, blacklisting and rollback build on this (agent-lifecycle.md §3, §5).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import type { GlobalOptions } from '../main.js';

const ENTRY = fileURLToPath(new URL('../../../../bin/waagent.js', import.meta.url));

export async function runDaemon(opts: GlobalOptions): Promise<number> {
  const args = [ENTRY, '-run-exthandlers', ...(opts.configurationPath ? [`-configuration-path:${opts.configurationPath}`] : [])];
  let stopping = false;
  let child: ReturnType<typeof spawn> | null = null;
  const stop = () => {
    stopping = true;
    child?.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('SIGHUP', () => child?.kill('SIGHUP'));
  let backoffMs = 1000;
  while (!stopping) {
    const started = Date.now();
    child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, _AZURE_GUEST_AGENT_DAEMON_VERSION_: '0.1.0' } });
    const code = await new Promise<number | null>((resolve) => child!.once('exit', (c) => resolve(c)));
    if (stopping) break;
    // A child that ran for a while restarts promptly; one that keeps dying backs off up to a minute.
    backoffMs = Date.now() - started > 60_000 ? 1000 : Math.min(backoffMs * 2, 60_000);
    process.stderr.write(`waagent: extension handler exited with ${code}; restarting in ${backoffMs} ms\n`);
    await delay(backoffMs);
  }
  return 0;
}
