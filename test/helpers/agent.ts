// Test helpers: a scratch root with a waagent.conf, and the real agent process pointed at an emulator.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiled CLI entry, resolved beside this compiled helper so it works from dist/ and any other outDir. */
export const AGENT_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface TempRoot {
  readonly dir: string;
  readonly libDir: string;
  readonly extLogDir: string;
  readonly logFile: string;
  readonly confPath: string;
  cleanup(): Promise<void>;
}

/** A scratch root: lib dir, extension log dir, agent log file, and a waagent.conf pointing at them. */
export async function tempRoot(extraConf: Record<string, string> = {}): Promise<TempRoot> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-test-'));
  const libDir = join(dir, 'var/lib/waagent');
  const extLogDir = join(dir, 'var/log/azure');
  await mkdir(libDir, { recursive: true, mode: 0o700 });
  await mkdir(extLogDir, { recursive: true });
  const confPath = join(dir, 'waagent.conf');
  const conf: Record<string, string> = {
    'Lib.Dir': libDir,
    'Extension.LogDir': extLogDir,
    'Pid.File': join(dir, 'waagent.pid'),
    'Extensions.GoalStatePeriod': '1',
    'OS.EnableFirewall': 'n',
    'Logs.Verbose': 'y',
    ...extraConf,
  };
  await writeFile(confPath, Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return {
    dir, libDir, extLogDir, confPath, logFile: join(dir, 'var/log/waagent.log'),
    cleanup: async () => {
      // Handler processes outlive a SIGKILLed agent (as on a VM): end the ones started from this root first.
      await killProcessesUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** SIGKILLs every process (but this one) whose command line mentions `dir`; returns how many. */
export async function killProcessesUnder(dir: string): Promise<number> {
  let killed = 0;
  const ownStat = await readFile('/proc/self/stat', 'utf8').catch(() => '');
  const ownGroup = Number(ownStat.slice(ownStat.lastIndexOf(')') + 2).split(' ')[2]);
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes(dir)) continue;
    // Its whole process group too: a handler's background children (`sleep 600 &`) do not name the folder.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    for (const target of Number.isInteger(pgid) && pgid > 1 && pgid !== ownGroup ? [-pgid, pid] : [pid]) {
      try {
        process.kill(target, 'SIGKILL');
        killed++;
      } catch {
        // Already gone.
      }
    }
  }
  return killed;
}

export interface AgentProcess {
  readonly proc: ChildProcess;
  /** Everything the agent printed so far (stdout + stderr). */
  output(): string;
  log(): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `waagent <args>` (default -run-exthandlers) against the emulator URLs with the root's config. */
export function startAgent(root: TempRoot, urls: { wireUrl: string; hostPluginUrl: string }, args: string[] = ['-run-exthandlers'], env: Record<string, string> = {}): AgentProcess {
  const proc = spawn(process.execPath, [
    '--input-type=module', '-e',
    `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
    '--', ...args, `-configuration-path:${root.confPath}`,
  ], {
    env: {
      ...process.env,
      WAAGENT_TS_WIRESERVER: urls.wireUrl,
      WAAGENT_TS_HOSTPLUGIN: urls.hostPluginUrl,
      WAAGENT_TS_LOG_FILE: root.logFile,
      WAAGENT_TS_RETRY_DELAY_MS: '20',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    log: () => readFile(root.logFile, 'utf8').catch(() => ''),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return proc.exitCode;
    },
  };
}

/** The repository root (the folder with waagent-ts's package.json), found above this compiled helper. */
export function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'waagent-ts') return dir;
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  throw new Error('repository root not found');
}

/** A handler folder under test/fixtures/extensions. */
export function fixtureHandler(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', 'extensions', name);
}

/** Polls until check() returns a truthy value or the deadline passes (bounded; for files and logs). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What runAgainstEmulator() starts; everything is stopped and removed when the test ends. */
export interface AgentSetup<E> {
  readonly emu: E;
  readonly root: TempRoot;
  readonly agent: AgentProcess;
}

/**
 * Starts an emulator (via the given factory), a scratch root and the agent against it; registers cleanup on t.
 * The factory keeps this helper free of an emulator import, so product code stays separate from test wiring.
 */
export async function runAgainstEmulator<E extends { wireUrl: string; hostPluginUrl: string; close(): Promise<void> }>(
  t: { after: (fn: () => Promise<void>) => void },
  makeEmulator: () => Promise<E>,
  conf: Record<string, string> = {},
): Promise<AgentSetup<E>> {
  const emu = await makeEmulator();
  const root = await tempRoot(conf);
  const agent = startAgent(root, emu);
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });
  return { emu, root, agent };
}
