// Starts the extension handler: `node <entry> -run-exthandlers [-configuration-path:<abs>]`, stdio inherited
// (the journal under systemd), in the agent's directory, with the daemon's identity in the environment.
import { spawn } from 'node:child_process';
import type { AgentChoice } from './agent-versions.js';
import type { ChildExit, ChildHandle } from './supervisor.js';

/** Set for the child: its daemon's version (upstream's variable) and PID (for the child's orphan check). */
export const DAEMON_VERSION_ENV = '_AZURE_GUEST_AGENT_DAEMON_VERSION_';
export const DAEMON_PID_ENV = 'WAAGENT_TS_DAEMON_PID';

export interface SpawnOptions {
  /** Extra arguments after -run-exthandlers (configuration path, -verbose). */
  readonly args: readonly string[];
  readonly daemonVersion: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function spawnAgent(choice: AgentChoice, opts: SpawnOptions): ChildHandle {
  const env = { ...(opts.env ?? process.env), [DAEMON_VERSION_ENV]: opts.daemonVersion, [DAEMON_PID_ENV]: String(process.pid) };
  const child = spawn(process.execPath, [choice.entry, '-run-exthandlers', ...opts.args], { cwd: choice.cwd, env, stdio: 'inherit' });
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => resolve({ code: null, signal: null, error: err.message }));
  });
  return {
    pid: child.pid,
    exited,
    kill(signal) {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
    },
  };
}
