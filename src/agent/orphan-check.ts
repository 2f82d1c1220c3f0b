// An extension handler started by the daemon exits when that daemon is gone (agent-lifecycle.md §5): its parent
// changed (re-parented to init or a subreaper). Standalone `-run-exthandlers` runs are never orphans.
import { DAEMON_PID_ENV } from '../daemon/spawn-agent.js';

/** A check returning true once the daemon that started this process is no longer its parent. */
export function orphanCheck(env: NodeJS.ProcessEnv, parentPid: () => number = () => process.ppid): () => boolean {
  const daemonPid = Number(env[DAEMON_PID_ENV]);
  if (!Number.isInteger(daemonPid) || daemonPid <= 0) return () => false;
  return () => parentPid() !== daemonPid;
}
