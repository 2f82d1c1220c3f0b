// `waagent -daemon` (agent-lifecycle.md §2): PID file, lib dir, then supervise the extension handler until SIGTERM.
// Imports no HTTP/XML/validation/pino code: the daemon stays resident for the VM's lifetime and must stay small.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { readOsInfo } from '../platform/os-info.js';
import { AGENT_NAME, AGENT_VERSION } from '../version.js';
import { recordAgentFailure } from './agent-error.js';
import { chooseAgent, type AgentChoice } from './agent-versions.js';
import { readDaemonConfig, type DaemonConfig } from './daemon-config.js';
import { createDaemonLogger, type DaemonLogger } from './daemon-log.js';
import { claimPidFile, releasePidFile } from './pid-file.js';
import { spawnAgent } from './spawn-agent.js';
import { Supervisor } from './supervisor.js';

export const DEFAULT_CONF_PATH = '/etc/waagent.conf';
export const DEFAULT_AGENT_LOG = '/var/log/waagent.log';
/** The installed extension handler: the same build as this daemon. */
export const INSTALLED_ENTRY = fileURLToPath(new URL('./child-entry.js', import.meta.url));

export interface DaemonOptions {
  readonly configurationPath?: string;
  readonly verbose?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

export function createSupervisor(cfg: DaemonConfig, log: DaemonLogger, opts: DaemonOptions): Supervisor {
  // The child runs in its own directory: the configuration path must not depend on the cwd.
  const args = [
    ...(opts.configurationPath ? [`-configuration-path:${resolve(opts.configurationPath)}`] : []),
    ...(opts.verbose ? ['-verbose'] : []),
  ];
  return new Supervisor({
    log,
    now: () => Date.now(),
    sleep: sleepUnlessAborted,
    choose: () => chooseAgent({ libDir: cfg.libDir, installed: { version: AGENT_VERSION, entry: INSTALLED_ENTRY }, runDownloaded: cfg.runDownloadedAgents }),
    spawn: (choice: AgentChoice) => spawnAgent(choice, { args, daemonVersion: AGENT_VERSION, ...(opts.env ? { env: opts.env } : {}) }),
    blacklist: (choice, reason) => {
      if (choice.dir !== null) recordAgentFailure(choice.dir, reason, true, Date.now());
    },
    crashLoop: { count: cfg.crashLoopCount, windowMs: cfg.crashLoopWindowMs },
  });
}

export async function runDaemonProcess(opts: DaemonOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  let cfg: DaemonConfig;
  try {
    cfg = readDaemonConfig(opts.configurationPath ?? DEFAULT_CONF_PATH);
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
  const log = createDaemonLogger({
    file: env.WAAGENT_TS_LOG_FILE || DEFAULT_AGENT_LOG,
    console: env.WAAGENT_TS_NO_CONSOLE !== '1',
    verbose: (opts.verbose ?? false) || cfg.verbose,
  });
  const os = readOsInfo();
  log.info(`Azure Linux Agent Version: ${AGENT_NAME}-${AGENT_VERSION}`);
  log.info(`OS: ${os.id} ${os.version}`);
  log.info(`Node.js: ${process.version}`);
  const other = claimPidFile(cfg.pidFile);
  if (other !== null) {
    log.info(`Daemon is already running: ${other}`);
    log.close();
    return 0;
  }
  mkdirSync(cfg.libDir, { recursive: true, mode: 0o700 });

  const supervisor = createSupervisor(cfg, log, opts);
  const ac = new AbortController();
  const onStop = (sig: NodeJS.Signals) => (): void => {
    if (ac.signal.aborted) return;
    log.info(`Received ${sig}; stopping the extension handler`);
    ac.abort();
  };
  const onTerm = onStop('SIGTERM');
  const onInt = onStop('SIGINT');
  // logrotate's postrotate: both processes reopen the log file.
  const onHup = (): void => {
    log.reopen();
    log.info('Received SIGHUP; log file reopened');
    supervisor.signalChild('SIGHUP');
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  try {
    await supervisor.run(ac.signal);
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    releasePidFile(cfg.pidFile);
    log.info('Daemon stopped');
    log.close();
  }
  return 0;
}
