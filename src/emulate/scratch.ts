// The scratch root `waagent emulate` runs the agent in: its own lib and log folders, HOME and TMPDIR, and a
// waagent.conf with a 1 s goal-state period. Nothing outside it is written by the agent.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScratchRoot {
  readonly dir: string;
  readonly libDir: string;
  readonly extLogDir: string;
  /** The agent's log file (WAAGENT_TS_LOG_FILE). */
  readonly logFile: string;
  readonly confPath: string;
  readonly pidFile: string;
  /** HOME of the agent and so of the handler's commands: writes there are reported. */
  readonly homeDir: string;
  /** TMPDIR of the agent and the handler: temporary files are allowed there. */
  readonly tmpDir: string;
  remove(): Promise<void>;
}

export async function createScratchRoot(commandTimeoutS: number): Promise<ScratchRoot> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-emulate-'));
  const libDir = join(dir, 'var/lib/waagent');
  const extLogDir = join(dir, 'var/log/azure');
  const homeDir = join(dir, 'home');
  const tmpDir = join(dir, 'tmp');
  await mkdir(libDir, { recursive: true, mode: 0o700 });
  await mkdir(extLogDir, { recursive: true });
  await mkdir(homeDir, { recursive: true, mode: 0o700 });
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const confPath = join(dir, 'waagent.conf');
  const pidFile = join(dir, 'waagent.pid');
  const conf: Record<string, string> = {
    'Lib.Dir': libDir,
    'Extension.LogDir': extLogDir,
    'Pid.File': pidFile,
    'Extensions.GoalStatePeriod': '1',
    'Extensions.CommandTimeout': String(commandTimeoutS),
    'Extensions.LongCommandTimeout': String(commandTimeoutS),
    'AutoUpdate.Enabled': 'n',
    'OS.EnableFirewall': 'n',
    'Logs.Verbose': 'n',
  };
  await writeFile(confPath, Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return {
    dir, libDir, extLogDir, confPath, pidFile, homeDir, tmpDir, logFile: join(dir, 'waagent.log'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The agent's environment: the emulator's URLs, short retry delays, the scratch HOME and TMPDIR. */
export function agentEnvironment(root: ScratchRoot, urls: { wireUrl: string; hostPluginUrl: string }, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('WAAGENT_TS_')) env[k] = v;
  return {
    ...env,
    HOME: root.homeDir,
    TMPDIR: root.tmpDir,
    WAAGENT_TS_WIRESERVER: urls.wireUrl,
    WAAGENT_TS_HOSTPLUGIN: urls.hostPluginUrl,
    WAAGENT_TS_LOG_FILE: root.logFile,
    WAAGENT_TS_RETRY_DELAY_MS: '100',
  };
}
