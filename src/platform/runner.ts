import { spawn, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { RunOptions, RunResult, Runner } from '../deps.js';
import { errorMessage } from '../errors.js';
import { COMMAND_OUTPUT_MAX, decodeUtf8BackslashReplace } from './command-output.js';

/**
 * The last 3200 bytes of a stream, decoded with backslashreplace. Upstream reads the *first* 3200 bytes and
 * then keeps their tail, which drops the end of a long output, where the error usually is. We deliberately
 * read the true tail instead (a character cut at the start shows as `\xNN` escapes).
 */
async function readTail(path: string): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(0, size - COMMAND_OUTPUT_MAX);
    const buf = Buffer.alloc(Math.min(size, COMMAND_OUTPUT_MAX));
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return decodeUtf8BackslashReplace(buf.subarray(0, filled));
  } finally {
    await fh.close();
  }
}

// setTimeout fires at once for delays beyond 2^31-1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1;

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    // Negative pid: the whole process group the detached shell leads.
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

function launchFailure(started: number, reason: string): RunResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs: performance.now() - started,
    stdout: '',
    stderr: '',
    launchError: reason,
  };
}

type Outcome = { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'error'; error: Error };

/** Resolves on the main process's exit; kills the group on timeout or abort. Listeners attach synchronously. */
function waitForExit(child: ChildProcess, opts: RunOptions, onTimeout: () => void): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => {
      onTimeout();
      killGroup(child);
    }, Math.min(Math.max(0, opts.timeoutMs), MAX_TIMER_MS));
    const onAbort = (): void => killGroup(child);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (outcome: Outcome): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    // 'exit', not 'close': only the main process counts; background jobs may live on (never killed here).
    child.once('exit', (code, signal) => done({ kind: 'exit', code, signal }));
    child.on('error', (error) => {
      // Without a pid the process was never started (e.g. missing cwd) and no 'exit' follows.
      if (child.pid === undefined) done({ kind: 'error', error });
    });
  });
}

async function run(command: string, opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  if (opts.signal?.aborted) return launchFailure(started, 'Aborted before start');

  // Files, never pipes: a handler's background job (nohup ...) may keep them open long after we return.
  let out;
  let err;
  try {
    out = await open(opts.stdoutPath, 'w', 0o600);
    err = await open(opts.stderrPath, 'w', 0o600);
  } catch (e) {
    await out?.close();
    return launchFailure(started, `Cannot open output files: ${errorMessage(e)}`);
  }

  let timedOut = false;
  let exited: Promise<Outcome>;
  try {
    // detached: setsid(), so the shell leads a new session and process group we can kill as a whole.
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', out.fd, err.fd],
    });
    exited = waitForExit(child, opts, () => {
      timedOut = true;
    });
  } catch (e) {
    // Synchronous spawn errors (e.g. a NUL byte in an argument or the environment).
    return launchFailure(started, errorMessage(e));
  } finally {
    // Our copies only: the child got its own descriptors when it was forked.
    await out.close();
    await err.close();
  }

  const outcome = await exited;
  if (outcome.kind === 'error') return launchFailure(started, errorMessage(outcome.error));
  const [stdout, stderr] = await Promise.all([readTail(opts.stdoutPath), readTail(opts.stderrPath)]);
  return {
    exitCode: outcome.code,
    signal: outcome.signal,
    timedOut,
    durationMs: performance.now() - started,
    stdout,
    stderr,
  };
}

export function createRunner(): Runner {
  return { run };
}
