import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentChoice } from '../../../src/daemon/agent-versions.js';
import { Supervisor, describeExit, type ChildExit, type ChildHandle, type SupervisorDeps } from '../../../src/daemon/supervisor.js';

const choice = (version: string, kind: AgentChoice['kind'] = 'downloaded'): AgentChoice => ({
  version, kind, entry: `/lib/waagent-ts-${version}/bin/waagent.js`, cwd: `/lib/waagent-ts-${version}`, dir: kind === 'downloaded' ? `/lib/waagent-ts-${version}` : null,
});

/** A world where children exit as scripted (`runMs` of fake time each); an unscripted child runs until killed. */
function world(script: Array<ChildExit & { runMs?: number }>, opts: { versions?: string[]; ignoreSigterm?: boolean; stopTimeoutMs?: number } = {}) {
  let t = 1_000_000;
  const launched: string[] = [];
  const sleeps: number[] = [];
  const kills: string[] = [];
  const blacklisted = new Map<string, string>();
  const lines: string[] = [];
  const versions = opts.versions ?? ['0.1.2', '0.1.1'];
  const ac = new AbortController();
  let onIdle: () => void = () => undefined;
  const idle = new Promise<void>((r) => (onIdle = r));
  const deps: SupervisorDeps = {
    log: { info: (m) => lines.push(`INFO ${m}`), warn: (m) => lines.push(`WARN ${m}`), error: (m) => lines.push(`ERROR ${m}`) },
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    choose: () => {
      const v = versions.find((x) => !blacklisted.has(x));
      return v ? choice(v) : choice('0.1.0', 'installed');
    },
    spawn: (c): ChildHandle => {
      launched.push(c.version);
      const next = script.shift();
      if (next) {
        t += next.runMs ?? 10;
        return { pid: launched.length, exited: Promise.resolve(next), kill: (s) => kills.push(s) };
      }
      let resolve!: (e: ChildExit) => void;
      const exited = new Promise<ChildExit>((r) => (resolve = r));
      onIdle();
      return {
        pid: launched.length,
        exited,
        kill: (s) => {
          kills.push(s);
          if (s === 'SIGKILL' || !opts.ignoreSigterm) resolve({ code: null, signal: s });
        },
      };
    },
    blacklist: (c, reason) => blacklisted.set(c.version, reason),
    crashLoop: { count: 3, windowMs: 300_000 },
    backoff: { minMs: 1000, maxMs: 8000 },
    ...(opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: opts.stopTimeoutMs } : {}),
  };
  const sup = new Supervisor(deps);
  return { sup, deps, ac, idle, launched, sleeps, kills, blacklisted, lines, advance: (ms: number) => (t += ms) };
}

const crash = (code = 1, runMs = 10): ChildExit & { runMs: number } => ({ code, signal: null, runMs });

test('a downloaded version that crashes 3 times in the window is blacklisted with the reason; the previous one runs at once', async () => {
  const w = world([crash(1), { code: null, signal: 'SIGKILL', runMs: 10 }, crash(3)]);
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.deepEqual(w.launched, ['0.1.2', '0.1.2', '0.1.2', '0.1.1']);
  assert.deepEqual(w.sleeps, [200, 200], 'a new version failing at start: quick restarts, none before the fallback');
  assert.match(w.blacklisted.get('0.1.2')!, /^Agent waagent-ts-0\.1\.2 exited abnormally 3 times in 300 seconds \(last: exit code 3\)$/);
  assert.ok(w.lines.some((l) => l.startsWith('ERROR Agent waagent-ts-0.1.2 is permanently disabled')));
  assert.ok(w.lines.some((l) => l.includes('killed by SIGKILL')));
  w.ac.abort();
  await done;
  assert.deepEqual(w.kills, ['SIGTERM']);
});

test('crashes spread wider than the window do not blacklist', async () => {
  const w = world([crash(1), crash(1, 200_000), crash(1, 200_000), crash(1, 200_000)]);
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.equal(w.blacklisted.size, 0);
  assert.deepEqual(w.launched, ['0.1.2', '0.1.2', '0.1.2', '0.1.2', '0.1.2']);
  w.ac.abort();
  await done;
});

test('the installed agent is never blacklisted; its back-off doubles up to the cap and resets after a healthy run', async () => {
  const w = world([crash(), crash(), crash(), crash(), crash(), crash(1, 120_000), crash()], { versions: [] });
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.equal(w.blacklisted.size, 0);
  assert.deepEqual(w.sleeps, [1000, 2000, 4000, 8000, 8000, 1000, 2000]);
  assert.ok(w.launched.every((v) => v === '0.1.0'));
  w.ac.abort();
  await done;
});

test('a clean exit (update, orphan) restarts at once; one that exits immediately is rate limited', async () => {
  const w = world([{ code: 0, signal: null, runMs: 5000 }, { code: 0, signal: null, runMs: 10 }]);
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.deepEqual(w.sleeps, [1000]);
  assert.equal(w.launched.length, 3);
  assert.equal(w.blacklisted.size, 0);
  w.ac.abort();
  await done;
});

test('stopping sends SIGTERM, then SIGKILL to a child that ignores it, and resolves once it exited', async () => {
  const w = world([], { ignoreSigterm: true, stopTimeoutMs: 20 });
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.equal(w.sup.currentPid, 1);
  w.sup.signalChild('SIGHUP');
  w.ac.abort();
  await done;
  assert.deepEqual(w.kills, ['SIGHUP', 'SIGTERM', 'SIGKILL']);
  assert.equal(w.sup.currentPid, undefined);
  assert.ok(w.lines.some((l) => l.includes('did not stop within 20 ms')));
});

test('a child that cannot be spawned counts as a crash', async () => {
  const w = world([]);
  let calls = 0;
  const spawn = w.deps.spawn;
  (w.deps as { spawn: SupervisorDeps['spawn'] }).spawn = (c) => {
    if (++calls <= 3) throw new Error('spawn ENOENT');
    return spawn(c);
  };
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.match(w.blacklisted.get('0.1.2')!, /failed to start: spawn ENOENT/);
  w.ac.abort();
  await done;
});

test('another version starts with its own crash count and back-off', async () => {
  const w = world([crash(), crash(), { code: 0, signal: null, runMs: 5000 }, crash()], { versions: ['0.1.1'] });
  const versions = w.deps.choose;
  let updated = false;
  (w.deps as { choose: SupervisorDeps['choose'] }).choose = () => (updated ? choice('0.1.2') : versions());
  const spawn = w.deps.spawn;
  (w.deps as { spawn: SupervisorDeps['spawn'] }).spawn = (c) => {
    const h = spawn(c);
    if (w.launched.length === 3) updated = true;
    return h;
  };
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.deepEqual(w.launched, ['0.1.1', '0.1.1', '0.1.1', '0.1.2', '0.1.2']);
  assert.deepEqual(w.sleeps, [200, 200, 200], 'each new version failing at start is restarted quickly');
  assert.equal(w.blacklisted.size, 0);
  w.ac.abort();
  await done;
});

test('describeExit names the code, the signal or the start failure', () => {
  assert.equal(describeExit({ code: 2, signal: null }), 'exit code 2');
  assert.equal(describeExit({ code: null, signal: 'SIGSEGV' }), 'killed by SIGSEGV');
  assert.equal(describeExit({ code: null, signal: null, error: 'EACCES' }), 'failed to start: EACCES');
});

test('a downloaded version that ran healthy once, or one that crashes later than at start, gets the normal back-off', async () => {
  const proven = world([crash(1, 120_000), crash(), crash()]);
  const done = proven.sup.run(proven.ac.signal);
  await proven.idle;
  assert.deepEqual(proven.sleeps, [1000, 2000], 'proven by its healthy run (the third crash blacklists it)');
  proven.ac.abort();
  await done;
  const late = world([crash(1, 40_000), crash(1, 40_000)]);
  const done2 = late.sup.run(late.ac.signal);
  await late.idle;
  assert.deepEqual(late.sleeps, [1000, 2000], 'not a crash at start');
  late.ac.abort();
  await done2;
});

test('a version that cannot be blacklisted is not restarted quickly in a loop', async () => {
  const w = world([crash(), crash(), crash(), crash(), crash()], { versions: ['0.1.2'] });
  (w.deps as { blacklist: SupervisorDeps['blacklist'] }).blacklist = () => {
    throw new Error('EROFS');
  };
  const done = w.sup.run(w.ac.signal);
  await w.idle;
  assert.ok(w.lines.some((l) => l.startsWith('ERROR Cannot blacklist agent waagent-ts-0.1.2 as EROFS')));
  assert.deepEqual(w.sleeps, [200, 200, 1000, 2000], 'normal back-off once blacklisting failed');
  w.ac.abort();
  await done;
});
