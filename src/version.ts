// The agent's identity. AGENT_VERSION must match package.json (checked by a unit test).
export const AGENT_NAME = 'waagent-ts';
export const AGENT_LONG_NAME = 'Azure Linux Agent (waagent-ts)';
export const AGENT_VERSION = '0.1.0';
// Name sent in x-ms-agent-name and the User-Agent; the fabric knows agents by this name.
export const WIRE_AGENT_NAME = 'WALinuxAgent';
export const WIRE_PROTOCOL_VERSION = '2012-11-30';
export const HOST_PLUGIN_API_VERSION = '2015-09-01';
export const STORAGE_API_VERSION = '2014-02-14';

/**
 * The version this code runs as. Like upstream (which looks at its cwd), a downloaded agent knows its version
 * from its own install directory `<lib>/waagent-ts-<X.Y.Z>/`; the installed agent is AGENT_VERSION.
 */
export function runningVersion(moduleUrl: string = import.meta.url): string {
  const m = /\/waagent-ts-(\d+(?:\.\d+){0,3})\/dist\/src\/version\.js$/.exec(new URL(moduleUrl).pathname);
  return m?.[1] ?? AGENT_VERSION;
}
