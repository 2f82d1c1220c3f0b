import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { RunOptions } from '../../../src/deps.js';
import { createRunner } from '../../../src/platform/runner.js';

const runner = createRunner();

function setup(t: { after: (fn: () => void) => void }): { dir: string; opts: (o?: Partial<RunOptions>) => RunOptions } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'waagent-run-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const opts = (o: Partial<RunOptions> = {}): RunOptions => ({
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: 10_000,
    stdoutPath: join(dir, 'stdout'),
    stderrPath: join(dir, 'stderr'),
    ...o,
  });
  return { dir, opts };
}

/** State letter from /proc (Z = zombie), or undefined when the pid is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

async function waitUntilDead(pid: number): Promise<boolean> {
  // Bounded: SIGKILL takes effect at once, but reaping by init may lag a little.
  for (let i = 0; i < 200; i++) {
    const s = procState(pid);
    if (s === undefined || s === 'Z' || s === 'X') return true;
    await delay(10);
  }
  return false;
}

function readPid(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

test('exit code, stdout and stderr are captured', async (t) => {
  const { opts } = setup(t);
  const r = await runner.run('echo out; echo err >&2; exit 3', opts());
  assert.equal(r.exitCode, 3);
  assert.equal(r.signal, null);
  assert.equal(r.timedOut, false);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.launchError, undefined);
  assert.ok(r.durationMs >= 0);
  const ok = await runner.run('true', opts());
  assert.equal(ok.exitCode, 0);
  assert.equal(ok.stdout, '');
});

test('env and cwd come from the options (complete environment)', async (t) => {
  const { dir, opts } = setup(t);
  process.env.WAAGENT_TEST_LEAK = 'leak';
  t.after(() => delete process.env.WAAGENT_TEST_LEAK);
  const r = await runner.run('echo "$FOO|${WAAGENT_TEST_LEAK:-none}"; pwd', opts({ env: { PATH: '/usr/bin:/bin', FOO: 'bar baz' } }));
  assert.equal(r.stdout, `bar baz|none\n${dir}\n`);
});

test('only the last 3200 bytes of each stream are read (the tail, where errors are), invalid UTF-8 escaped', async (t) => {
  const { opts } = setup(t);
  const r = await runner.run("head -c 5000 /dev/zero | tr '\\0' a; printf END; printf 'x\\377y' >&2", opts());
  assert.equal(r.stdout, `${'a'.repeat(3197)}END`);
  assert.equal(r.stderr, 'x\\xffy');
});

test('stdout and stderr are the files, not pipes', async (t) => {
  const { opts } = setup(t);
  const o = opts();
  const r = await runner.run('readlink /proc/$$/fd/1; readlink /proc/$$/fd/2 >&2; readlink /proc/$$/fd/0', o);
  const [out1, in0] = r.stdout.trim().split('\n');
  assert.equal(out1, o.stdoutPath);
  assert.equal(r.stderr.trim(), o.stderrPath);
  assert.equal(in0, '/dev/null'); // stdin ignored
});

test('runs in its own process group and session', async (t) => {
  const { opts } = setup(t);
  const r = await runner.run('cat /proc/$$/stat', opts());
  // Fields after the command name: state ppid pgrp session ...
  const stat = r.stdout;
  const pid = Number(stat.slice(0, stat.indexOf(' ')));
  const [, , pgid, sid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  assert.ok(pid !== undefined && pid > 0);
  assert.equal(pgid, pid);
  assert.equal(sid, pid);
  assert.notEqual(pgid, process.pid);
});

test('timeout kills the whole process group, background children included', async (t) => {
  const { dir, opts } = setup(t);
  const pidFile = join(dir, 'bg.pid');
  const r = await runner.run(`sleep 30 & echo $! > ${pidFile}; sleep 30`, opts({ timeoutMs: 300 }));
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, null);
  assert.equal(r.signal, 'SIGKILL');
  const bg = readPid(pidFile);
  t.after(() => {
    try {
      process.kill(bg, 'SIGKILL');
    } catch {
      // gone, as expected
    }
  });
  assert.equal(await waitUntilDead(bg), true, `background child ${bg} survived`);
});

test('a background job left by a successful command survives, and run() does not wait for it', async (t) => {
  const { dir, opts } = setup(t);
  const pidFile = join(dir, 'bg.pid');
  // The job inherits stdout/stderr; with pipes run() would wait for it to close them.
  const r = await runner.run(`nohup sleep 30 & echo $! > ${pidFile}; echo started`, opts({ timeoutMs: 5_000 }));
  const bg = readPid(pidFile);
  t.after(() => {
    try {
      process.kill(bg, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  assert.equal(r.exitCode, 0);
  assert.equal(r.timedOut, false);
  assert.match(r.stdout, /started/);
  const state = procState(bg);
  assert.ok(state !== undefined && state !== 'Z', `background job ${bg} is ${state ?? 'gone'}`);
});

test('abort signal kills the group', async (t) => {
  const { opts } = setup(t);
  const ac = new AbortController();
  const p = runner.run('sleep 30', opts({ signal: ac.signal }));
  setTimeout(() => ac.abort(), 50);
  const r = await p;
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.timedOut, false);
  const pre = await runner.run('true', opts({ signal: AbortSignal.abort() }));
  assert.match(pre.launchError ?? '', /Aborted/);
});

test('launch failures are results, not exceptions', async (t) => {
  const { dir, opts } = setup(t);
  const badCwd = await runner.run('true', opts({ cwd: join(dir, 'missing') }));
  assert.ok(badCwd.launchError, 'missing cwd');
  assert.equal(badCwd.exitCode, null);
  const badOut = await runner.run('true', opts({ stdoutPath: join(dir, 'no', 'such', 'file') }));
  assert.match(badOut.launchError ?? '', /Cannot open output files/);
  const badEnv = await runner.run('true', opts({ env: { BAD: 'a\0b' } }));
  assert.ok(badEnv.launchError, 'NUL in env');
});

test('a command that is not executable reports the shell exit code', async (t) => {
  const { dir, opts } = setup(t);
  const script = join(dir, 'noexec.sh');
  writeFileSync(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });
  const r = await runner.run(script, opts());
  assert.equal(r.exitCode, 126);
  const missing = await runner.run(join(dir, 'nope'), opts());
  assert.equal(missing.exitCode, 127);
});
