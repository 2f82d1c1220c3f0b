import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { AGENT_NAME, AGENT_VERSION } from '../../version.js';
import { readOsInfo } from '../../platform/os-info.js';

/**
 * The version of the running extension-handler process, found like upstream does: a
 * `-run-exthandlers` command line under `waagent-ts-<version>/`; else our own version.
 */
export function goalStateAgentVersion(procDir = '/proc'): string {
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    return AGENT_VERSION;
  }
  const pattern = new RegExp(`${AGENT_NAME}-(\\d+(?:\\.\\d+){1,3})[/\\x00]`);
  // One buffer and a single read per process: readFileSync on /proc files (size 0) costs several times more,
  // and this scan is most of `--version`'s own work. The script path is near the start of the command line.
  const buf = Buffer.allocUnsafe(4096);
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = readCmdline(`${procDir}/${pid}/cmdline`, buf);
    if (cmdline === undefined || !cmdline.includes('run-exthandlers')) continue;
    const m = pattern.exec(cmdline);
    if (m) return m[1]!;
  }
  return AGENT_VERSION;
}

function readCmdline(path: string, buf: Buffer): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return undefined; // the process exited, or its cmdline is not readable
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Upstream's three lines; tools (e.g. VMBackup) parse the last one. */
export function versionText(): string {
  const os = readOsInfo();
  return [
    `${AGENT_NAME}-${AGENT_VERSION} running on ${os.id} ${os.version}`,
    `Node.js: ${process.version}`,
    `Goal state agent: ${goalStateAgentVersion()}`,
  ].join('\n') + '\n';
}
