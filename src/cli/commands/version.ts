import { readdirSync, readFileSync } from 'node:fs';
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
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`${procDir}/${pid}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (!cmdline.includes('run-exthandlers')) continue;
    const m = new RegExp(`${AGENT_NAME}-(\\d+(?:\\.\\d+){1,3})[/\\x00]`).exec(cmdline);
    if (m) return m[1]!;
  }
  return AGENT_VERSION;
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
