// The real `waagent -daemon` against the emulator, in its own process group so a test can always kill the
// daemon and every agent it started; agent packages built from this build (npm run package's code).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { buildAgentPackage } from '../../src/tools/package.js';
import { AGENT_MAIN, eventually, repoRoot, type TempRoot } from '../helpers/agent.js';

/** Short periods: polls every second, self-update checks every second with at most 1 s of random delay. */
export const UPDATE_CONF: Record<string, string> = {
  'Autoupdate.Frequency': '1',
  'Debug.SelfUpdateHotfixFrequency': '1',
  'Debug.SelfUpdateRegularFrequency': '1',
  'Logs.Verbose': 'n',
};

export interface DaemonProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  output(): string;
  log(): Promise<string>;
  /** PIDs of the daemon's children (the extension handler), from /proc. */
  children(): number[];
  /** Waits for a child other than `not`. */
  waitForChild(timeoutMs: number, not?: number): Promise<number>;
  /** SIGTERM to the daemon; resolves with its exit code and how long it took (SIGKILL to the group after 20 s). */
  stop(): Promise<{ code: number | null; ms: number }>;
  /** SIGKILL to the whole process group (cleanup). */
  kill(): void;
  /** Resolves with the exit code when the daemon exits by itself. */
  readonly exited: Promise<number | null>;
}

export function startDaemon(root: TempRoot, urls: { wireUrl: string; hostPluginUrl: string }, env: Record<string, string> = {}): DaemonProcess {
  const proc = spawn(process.execPath, [
    '--input-type=module', '-e',
    `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`,
    '--', '-daemon', `-configuration-path:${root.confPath}`,
  ], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, WAAGENT_TS_WIRESERVER: urls.wireUrl, WAAGENT_TS_HOSTPLUGIN: urls.hostPluginUrl, WAAGENT_TS_LOG_FILE: root.logFile,
      WAAGENT_TS_RETRY_DELAY_MS: '20', WAAGENT_TS_NO_CONSOLE: '1', ...env,
    },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const pid = proc.pid!;
  const kill = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const children = (): number[] => {
    const out: number[] = [];
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
        if (text) out.push(...text.split(/\s+/).map(Number));
      }
    } catch {
      // daemon gone
    }
    return out;
  };
  return {
    proc, pid, kill, children, exited,
    output: () => out,
    log: () => readFile(root.logFile, 'utf8').catch(() => ''),
    waitForChild: (timeoutMs, not) => eventually(() => children().find((c) => c !== not), timeoutMs, 'the extension handler child'),
    async stop() {
      const started = Date.now();
      if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, ms: 0 };
      proc.kill('SIGTERM');
      const t = setTimeout(kill, 20_000);
      const code = await exited;
      clearTimeout(t);
      return { code, ms: Date.now() - started };
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Rss and Pss (kB) of a process, from /proc/<pid>/smaps_rollup. */
export function memoryOf(pid: number): { rssKb: number; pssKb: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: kb('Rss'), pssKb: kb('Pss') };
}

let packageDir: string | undefined;
const built = new Map<string, Promise<string>>();

function scratch(): string {
  if (packageDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'waagent-ts-test-pkgs-'));
    packageDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return packageDir;
}

/** An agent package of this build at `version`, as `npm run package` makes it (cached per test process). */
export function agentPackage(version: string): Promise<string> {
  let p = built.get(version);
  if (!p) {
    p = buildAgentPackage({ repoRoot: repoRoot(), compiledSrc: fileURLToPath(new URL('../../src', import.meta.url)), version, outDir: join(scratch(), version) }).then((r) => r.file);
    built.set(version, p);
  }
  return p;
}

/**
 * A bad release: a valid waagent-ts package (our manifest, the version, an entry) whose entry throws at start.
 * Only those two files, so that building it costs nothing next to the real ones.
 */
export async function badAgentPackage(version: string): Promise<string> {
  const stage = join(scratch(), `${version}-bad-stage`);
  mkdirSync(join(stage, 'bin'), { recursive: true });
  writeFileSync(join(stage, 'waagent-ts-manifest.json'), JSON.stringify({ format: 1, name: 'waagent-ts', version, entry: 'bin/waagent.js' }));
  writeFileSync(join(stage, 'bin/waagent.js'), `throw new Error('waagent-ts ${version} is a bad release');\n`);
  const file = join(scratch(), `waagent-ts-${version}-bad.tar.gz`);
  await tar.c({ gzip: true, file, cwd: stage, portable: true }, ['waagent-ts-manifest.json', 'bin']);
  return file;
}

/** The next patch versions after `base` (X+1, X+2, ...). */
export function nextVersions(base: string, n: number): string[] {
  const parts = base.split('.').map(Number);
  return Array.from({ length: n }, (_, i) => [...parts.slice(0, -1), parts.at(-1)! + i + 1].join('.'));
}

/** The guest agent version a status blob reports. */
export function agentVersionOf(status: unknown): string | undefined {
  return (status as { aggregateStatus?: { guestAgentStatus?: { version?: string } } })?.aggregateStatus?.guestAgentStatus?.version;
}
