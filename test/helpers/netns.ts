// Private network namespaces for end-to-end tests (root only): the fabric's real address on a loopback that
// exists nowhere else, so the agent can run with its default endpoint without touching the host's network.
// Host-side commands here are limited to `ip netns add|del|list|pids`; every address change and every
// packet happens inside the namespace.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { AGENT_MAIN, type TempRoot } from './agent.js';

const execFileP = promisify(execFile);

export const FABRIC_IP = '168.63.129.16';
const NAME_PREFIX = 'waagent-ts-e2e-';
const NAME_RE = /^waagent-ts-e2e-(\d+)-\d+$/;
const CMD_TIMEOUT_MS = 10_000;
let counter = 0;

/** Inline ESM entry running the compiled CLI (same as test/helpers/agent.ts), args after `--`. */
const CLI_SCRIPT = `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`;

/** One request from inside the namespace; prints {status, body} as JSON. argv: url method body timeoutMs. */
const FETCH_SCRIPT = `
const [url, method, body, ms] = process.argv.slice(1);
try {
  const r = await fetch(url, { method, body: body === '' ? undefined : body, signal: AbortSignal.timeout(Number(ms)) });
  process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() }));
} catch (err) {
  process.stderr.write(String(err && err.cause ? err.cause : err));
  process.exitCode = 2;
}`;

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('ip', args, { timeout: CMD_TIMEOUT_MS });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? 'ip not found (install iproute2)' : (e.stderr?.trim() || e.message);
    throw new Error(`ip ${args.join(' ')}: ${why}`);
  }
}

/** Whether this process may create network namespaces. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export interface NetnsProcess {
  readonly proc: ChildProcess;
  /** Everything printed so far (stdout + stderr). */
  output(): string;
  /** Resolves once the output matches `re`; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
}

export interface Netns {
  readonly name: string;
  /** Runs `cmd args` inside the namespace (`ip netns exec` execs it, so the pid is the command's). */
  spawn(cmd: string, args: string[], env?: NodeJS.ProcessEnv): NetnsProcess;
  /** One HTTP request sent from inside the namespace, bounded by `timeoutMs`. */
  fetch(url: string, opts?: { method?: string; body?: string; timeoutMs?: number }): Promise<{ status: number; body: string }>;
  /** Kills whatever still runs in the namespace (only what this test started), then deletes it. Idempotent. */
  destroy(): Promise<void>;
}

function track(proc: ChildProcess): NetnsProcess {
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of waiters) w();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  return {
    proc,
    output: () => out,
    waitForOutput: (re, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          clearTimeout(timer);
          waiters.delete(check);
          proc.off('exit', onExit);
          if (err) reject(err);
          else resolve();
        };
        const check = (): void => {
          if (re.test(out)) done();
        };
        const onExit = (code: number | null, sig: string | null): void =>
          done(new Error(`exited (${code ?? sig}) before printing ${re}; output:\n${out}`));
        const timer = setTimeout(() => done(new Error(`no ${re} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
        waiters.add(check);
        proc.once('exit', onExit);
        check();
        if (!running() && !re.test(out)) onExit(proc.exitCode, proc.signalCode);
      }),
    async stop() {
      if (!running()) return proc.exitCode;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Deletes namespaces of earlier runs whose test process is gone (a killed run cannot clean up after itself). */
export async function removeStaleNetns(): Promise<void> {
  const names = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '');
  for (const name of names) {
    const pid = NAME_RE.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') await ip(['netns', 'del', name]).catch(() => undefined);
    }
  }
}

/** A fresh namespace with `lo` up and `addresses` (default the fabric IP) added to that `lo` as /32s. */
export async function createNetns(addresses: readonly string[] = [FABRIC_IP]): Promise<Netns> {
  await removeStaleNetns();
  const name = `${NAME_PREFIX}${process.pid}-${++counter}`;
  await ip(['netns', 'add', name]);
  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> =>
    (destroyed ??= (async () => {
      // A process left inside (e.g. a handler command) would keep the namespace alive after `del`.
      const pids = (await ip(['netns', 'pids', name]).catch(() => '')).split('\n').filter((p) => /^\d+$/.test(p));
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await ip(['netns', 'del', name]);
    })());
  try {
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    for (const a of addresses) await ip(['-n', name, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    const shown = await ip(['-n', name, '-4', 'addr', 'show', 'dev', 'lo']);
    for (const a of addresses) if (!shown.includes(`inet ${a}/32`)) throw new Error(`namespace ${name}: ${a} missing on lo:\n${shown}`);
  } catch (err) {
    await destroy().catch(() => undefined);
    throw err;
  }

  const spawnIn = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): NetnsProcess =>
    track(spawn('ip', ['netns', 'exec', name, cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));

  return {
    name,
    spawn: spawnIn,
    async fetch(url, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 5000;
      const args = ['netns', 'exec', name, process.execPath, '--input-type=module', '-e', FETCH_SCRIPT, '--', url, opts.method ?? 'GET', opts.body ?? '', String(timeoutMs)];
      let stdout: string;
      try {
        ({ stdout } = await execFileP('ip', args, { timeout: timeoutMs + CMD_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 }));
      } catch (err) {
        const e = err as Error & { stderr?: string };
        throw new Error(`${opts.method ?? 'GET'} ${url} in ${name}: ${e.stderr?.trim() || e.message}`);
      }
      return JSON.parse(stdout) as { status: number; body: string };
    },
    destroy,
  };
}

/** `waagent emulator` inside `ns`, listening on the fabric's real address and ports; resolves once it is ready. */
export async function startEmulatorInNetns(ns: Netns, extraArgs: string[] = []): Promise<NetnsProcess> {
  const emu = ns.spawn(process.execPath, [
    '--input-type=module', '-e', CLI_SCRIPT, '--',
    'emulator', '--listen', `${FABRIC_IP}:80`, '--host-plugin-port', '32526', '--public-base-url', `http://${FABRIC_IP}`, ...extraArgs,
  ]);
  try {
    await emu.waitForOutput(/^Control API:/m, 15_000);
  } catch (err) {
    await emu.stop();
    throw err;
  }
  return emu;
}

/**
 * `waagent <args>` inside `ns` with the scratch root's config and log file but the agent's DEFAULT endpoint:
 * any WAAGENT_TS_WIRESERVER / WAAGENT_TS_HOSTPLUGIN of the caller's environment is dropped.
 */
export function startAgentInNetns(ns: Netns, root: TempRoot, args: string[] = ['-run-exthandlers'], env: Record<string, string> = {}): NetnsProcess {
  const { WAAGENT_TS_WIRESERVER: _w, WAAGENT_TS_HOSTPLUGIN: _h, ...base } = process.env;
  return ns.spawn(process.execPath, ['--input-type=module', '-e', CLI_SCRIPT, '--', ...args, `-configuration-path:${root.confPath}`], {
    ...base,
    WAAGENT_TS_LOG_FILE: root.logFile,
    WAAGENT_TS_RETRY_DELAY_MS: '50',
    ...env,
  });
}
