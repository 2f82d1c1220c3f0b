// The real agent on a lib dir that fills up (a 1 MiB tmpfs) or turns read-only (a read-only bind mount): clear
// errors in the log and in the status, no crash or crash loop, state files never torn, recovery once space returns.
// Root only (mounts); CI=true makes it mandatory. Every mount is undone in `finally`, and mounts left behind by a
// killed run are found (their folder names carry the test process's pid) and removed at the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, fixtureHandler, startAgent, type AgentProcess, type TempRoot } from '../helpers/agent.js';
import { isRoot } from '../helpers/netns.js';
import { handler } from '../helpers/status.js';
import { buildZip, folderItems } from '../helpers/zip.js';

const execFileP = promisify(execFile);
const CI = process.env.CI === 'true';
const skip = !isRoot() && !CI ? 'needs root for mounts (runs under CI=true)' : false;
const PREFIX = `waagent-ts-durability-`;
const NAME = 'Test.Recorder';
const BIG = 'Test.TooBig';

const ext = (seqNo: number) => ({ name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings: { n: seqNo }, packageDir: fixtureHandler('recorder') });

/** Unmounts (lazily) what an earlier, killed run of this test left mounted. */
async function removeStaleMounts(): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const point = line.split(' ')[1] ?? '';
    const pid = new RegExp(`/${PREFIX}(\\d+)-`).exec(point)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      await execFileP('umount', ['-l', point.replace(/\\040/g, ' ')]).catch(() => undefined);
    }
  }
}

/** A scratch root like helpers/agent.ts's, named after this process so a leftover mount can be traced. */
async function scratchRoot(): Promise<TempRoot & { unmountAll(): Promise<void>; mount(args: string[]): Promise<void> }> {
  await removeStaleMounts();
  const dir = await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
  const libDir = join(dir, 'var/lib/waagent');
  const extLogDir = join(dir, 'var/log/azure');
  await mkdir(libDir, { recursive: true, mode: 0o700 });
  await mkdir(extLogDir, { recursive: true });
  const confPath = join(dir, 'waagent.conf');
  const conf = { 'Lib.Dir': libDir, 'Extension.LogDir': extLogDir, 'Pid.File': join(dir, 'waagent.pid'), 'Extensions.GoalStatePeriod': '1', 'OS.EnableFirewall': 'n', 'Logs.Verbose': 'y' };
  await writeFile(confPath, Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  let mounted = 0;
  const unmountAll = async (): Promise<void> => {
    for (; mounted > 0; mounted--) await execFileP('umount', ['-l', libDir]).catch(() => undefined);
  };
  return {
    dir, libDir, extLogDir, confPath, logFile: join(dir, 'var/log/waagent.log'),
    async mount(args) {
      // A remount read-only fails with EBUSY while the agent has a file open for writing on it: retry (bounded).
      for (let attempt = 1; ; attempt++) {
        try {
          await execFileP('mount', [...args, libDir], { timeout: 10_000 });
          break;
        } catch (err) {
          if (attempt >= 50 || !/busy/i.test(String((err as { stderr?: string }).stderr))) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (!args.some((a) => a.startsWith('remount'))) mounted++;
    },
    unmountAll,
    async cleanup() {
      await unmountAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every regular file under `dir` (relative path -> content). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, join(rel, e.name));
      // A temp file may be renamed away between readdir and read.
      else if (e.isFile()) await readFile(p, 'utf8').then((t) => out.set(join(rel, e.name), t), () => undefined);
    }
  };
  await walk(dir, '');
  return out;
}

/**
 * The state files the agent wrote must each parse; none may be empty. A temp file may only be one in flight
 * (named after the running agent's pid), at most one per file.
 */
function assertStateIntact(files: Map<string, string>, what: string, agentPid?: number): void {
  const inFlight = new Set<string>();
  for (const [rel, text] of files) {
    const tmp = /^(.*\/)?\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(rel);
    if (tmp) {
      assert.equal(Number(tmp[3]), agentPid, `${what}: temp file of a process that is gone: ${rel}`);
      const target = `${tmp[1] ?? ''}${tmp[2]}`;
      assert.ok(!inFlight.has(target), `${what}: two temp files for ${target}`);
      inFlight.add(target);
      continue;
    }
    assert.ok(!rel.endsWith('.tmp'), `${what}: temp file left: ${rel}`);
    if (/\.(json|settings|status)$/.test(rel) && !rel.includes('commands.log')) {
      assert.doesNotThrow(() => JSON.parse(text), `${what}: ${rel} does not parse: ${text.slice(0, 200)}`);
    }
    if (/config\/HandlerState$/.test(rel)) assert.match(text, /^(NotInstalled|Installed|Enabled|Disabled)$/, `${what}: ${rel} is "${text}"`);
  }
}

const gaMessage = (s: unknown): string =>
  String((s as { aggregateStatus?: { guestAgentStatus?: { formattedMessage?: { message?: unknown } } } })?.aggregateStatus?.guestAgentStatus?.formattedMessage?.message ?? '');

/** Fills the file system under `dir` with one file until ENOSPC; returns its path. */
async function fillUp(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const fh = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(16 * 1024, 1);
    for (let i = 0; i < 10_000; i++) {
      try {
        await fh.write(chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    // Partial pages too: write single bytes until nothing fits.
    for (let i = 0; i < 16 * 1024; i++) {
      try {
        await fh.write(Buffer.alloc(1));
      } catch {
        break;
      }
    }
  } finally {
    await fh.close();
  }
  return path;
}

test('a full lib dir (1 MiB tmpfs): ENOSPC in log and status, no crash, state intact, recovery when space returns', { skip, timeout: 180_000 }, async () => {
  assert.ok(isRoot(), 'CI=true: this end-to-end test must run as root (mounts)');
  const root = await scratchRoot();
  let agent: AgentProcess | undefined;
  const emu = await createEmulator({ scenario: { extensions: [ext(0)] } });
  try {
    await root.mount(['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'waagent-ts-durability']);
    // A package that cannot fit: 2 MiB of random bytes (incompressible).
    const bigZip = join(root.dir, 'big.zip');
    await writeFile(bigZip, await buildZip([...folderItems(fixtureHandler('recorder')), { name: 'blob.bin', data: randomBytes(2 * 1024 * 1024) }]));
    agent = startAgent(root, emu);
    const diag = async (): Promise<string> => `last guestAgentStatus message: ${gaMessage(emu.state.latestStatus()?.status)}\nagent log tail:\n${(await agent!.log()).slice(-3000)}`;
    await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 40_000).catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    const before = await snapshot(root.libDir);
    assertStateIntact(before, 'after the first goal state', agent.proc.pid);

    // 1. A package larger than the disk: its download fails with ENOSPC, reported on that handler.
    emu.publish({ extensions: [ext(0), { name: BIG, version: '1.0.0', state: 'enabled', seqNo: 0, publicSettings: {}, packageZip: bigZip }] });
    const rec = await emu.waitFor((s) => handler(s, BIG)?.status === 'NotReady', 60_000).catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.match(handler(rec.status, BIG)?.message ?? '', /ENOSPC|no space left on device/i, JSON.stringify(handler(rec.status, BIG)));
    console.log(`full disk: ${BIG} reported as: ${handler(rec.status, BIG)?.message}`);
    assert.match(await agent.log(), /ENOSPC|no space left on device/i);
    assert.equal(handler(rec.status, NAME)?.ext?.status, 'success', 'the other handler is unaffected');
    assert.equal(agent.proc.exitCode, null, 'the agent is still running');
    const afterBig = await snapshot(root.libDir);
    assertStateIntact(afterBig, 'after the failed download', agent.proc.pid);
    assert.ok(![...afterBig.keys()].some((k) => k.endsWith('.zip')), 'the partial package was removed');
    for (const [rel, text] of before) {
      if (rel.startsWith(`${NAME}-1.0.0/config/`)) assert.equal(afterBig.get(rel), text, `${rel} unchanged`);
    }

    // 2. Not a byte left: a new goal state cannot be persisted. The agent says so and keeps its old state whole.
    const filler = await fillUp(root.libDir);
    emu.publish({ extensions: [ext(1)] });
    const full = await emu.waitFor((s) => /cannot persist its state: .*(ENOSPC|no space left on device)/i.test(gaMessage(s)), 60_000)
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.match(gaMessage(full.status), /^Guest Agent is running, but cannot persist its state: Cannot write \S+ as ENOSPC/);
    console.log(`full disk: guestAgentStatus says: ${gaMessage(full.status)}`);
    assert.match(await agent.log(), /ERROR .*Cannot write \S+ as ENOSPC: no space left on device/);
    // Several polls later: still running, the same process (no crash loop), every state file whole.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(agent.proc.exitCode, null, 'the agent is still running');
    const whileFull = await snapshot(root.libDir);
    whileFull.delete('filler');
    assertStateIntact(whileFull, 'while the disk is full', agent.proc.pid);

    // 3. Space returns: the pending goal state is processed and the message clears.
    await rm(filler);
    const ok = await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 1 && handler(s, NAME)?.ext?.status === 'success' && gaMessage(s) === 'Guest Agent is running', 60_000)
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.equal(handler(ok.status, NAME)?.status, 'Ready');
    assertStateIntact(await snapshot(root.libDir), 'after recovery', agent.proc.pid);
    assert.equal(agent.proc.exitCode, null);
  } finally {
    await agent?.stop();
    await emu.close();
    await root.cleanup();
  }
});

test('a read-only lib dir: EROFS in log and status, no crash; a restart on it keeps running; recovery when writable', { skip, timeout: 180_000 }, async () => {
  assert.ok(isRoot(), 'CI=true: this end-to-end test must run as root (mounts)');
  const root = await scratchRoot();
  let agent: AgentProcess | undefined;
  const emu = await createEmulator({ scenario: { extensions: [ext(0)] } });
  try {
    agent = startAgent(root, emu);
    const diag = async (): Promise<string> => `last guestAgentStatus message: ${gaMessage(emu.state.latestStatus()?.status)}\nagent log tail:\n${(await agent!.log()).slice(-3000)}`;
    await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 40_000).catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    // Root ignores file modes, so only the mount makes it read-only: a bind mount of the folder onto itself, then ro.
    await root.mount(['--bind', root.libDir]);
    await root.mount(['-o', 'remount,bind,ro']);
    await assert.rejects(writeFile(join(root.libDir, 'probe'), 'x'), /EROFS/);
    const before = await snapshot(root.libDir);

    emu.publish({ extensions: [ext(1)] });
    const ro = await emu.waitFor((s) => /cannot persist its state: .*(EROFS|read-only file system)/i.test(gaMessage(s)), 60_000)
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.match(gaMessage(ro.status), /Cannot write \S+ as EROFS: read-only file system/);
    console.log(`read-only: guestAgentStatus says: ${gaMessage(ro.status)}`);
    assert.match(await agent.log(), /ERROR .*Cannot write \S+ as EROFS: read-only file system/);
    assert.equal(agent.proc.exitCode, null);
    assert.deepEqual(await snapshot(root.libDir), before, 'nothing changed on the read-only lib dir');

    // A restart on the read-only lib dir: the agent starts, logs the problem and keeps running (no crash loop).
    await agent.stop();
    const logBefore = (await agent.log()).length;
    agent = startAgent(root, emu);
    await eventually(async () => (await agent!.log()).slice(logBefore).match(/Cannot write \S+ as EROFS/), 30_000, 'EROFS in the log after the restart')
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(agent.proc.exitCode, null, 'still running after several polls on a read-only lib dir');
    assert.deepEqual(await snapshot(root.libDir), before);

    // Writable again: the pending goal state goes through.
    await root.unmountAll();
    const ok = await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 1 && handler(s, NAME)?.ext?.status === 'success' && gaMessage(s) === 'Guest Agent is running', 60_000)
      .catch(async (e) => assert.fail(`${e}\n${await diag()}`));
    assert.ok(ok);
    assertStateIntact(await snapshot(root.libDir), 'after recovery', agent.proc.pid);
    assert.ok((await stat(join(root.libDir, 'waagent_status.json'))).isFile());
  } finally {
    await agent?.stop();
    await emu.close();
    await root.cleanup();
  }
});
