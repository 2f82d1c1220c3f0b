// The real daemon (parent) and extension handler (child) against the emulator: crash recovery, bounded stop,
// PID file, and the memory both take at idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { eventually, fixtureHandler, tempRoot } from '../helpers/agent.js';
import { goalStateStatus, handler } from '../helpers/status.js';
import { DEFAULT_BACKOFF } from '../../src/daemon/supervisor.js';
import { isAlive, memoryOf, startDaemon } from './daemon-harness.js';

const NAME = 'Test.Recorder';
const scenario = (seqNo: number) => ({ extensions: [{ name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings: {}, packageDir: fixtureHandler('recorder') }] });
const ops = async (extLogDir: string) => (await readFile(join(extLogDir, NAME, 'commands.log'), 'utf8').catch(() => '')).trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));

test('kill -9 of the extension handler: the daemon restarts it, state intact; SIGTERM stops both within the bound', async (t) => {
  const emu = await createEmulator({ scenario: scenario(0) });
  const root = await tempRoot({ 'Logs.Verbose': 'n' });
  const d = startDaemon(root, emu);
  t.after(async () => {
    d.kill();
    await emu.close();
    await root.cleanup();
  });
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000);
  const first = await d.waitForChild(10_000);
  assert.equal(await readFile(join(root.dir, 'waagent.pid'), 'utf8'), String(d.pid));

  // Idle: the goal state is processed; a few more polls go by before measuring.
  const polls = emu.state.requests({ path: '/machine/?comp=goalstate' }).length;
  await emu.state.waitUntil(() => emu.state.requests({ path: '/machine/?comp=goalstate' }).length >= polls + 3, 15_000, 'three more polls');
  const parent = memoryOf(d.pid);
  const child = memoryOf(first);
  t.diagnostic(`idle memory: daemon Rss ${parent.rssKb} kB Pss ${parent.pssKb} kB; extension handler Rss ${child.rssKb} kB Pss ${child.pssKb} kB`);
  assert.ok(parent.rssKb < child.rssKb, 'the daemon is smaller than the extension handler');

  const before = emu.state.statusBlobs().length;
  const lastBefore = emu.state.statusBlobs().at(-1)!;
  const killedAt = Date.now();
  process.kill(first, 'SIGKILL');
  const second = await d.waitForChild(15_000, first);
  // Status gap: from the kill to the first upload of the restarted handler. Its first status is the one the killed
  // process left on disk (the goal state outcome included), sent before any extension work.
  const firstAfter = await emu.waitFor(() => true, 30_000, { after: before });
  const gapMs = firstAfter.at - killedAt;
  t.diagnostic(`kill -9: status gap ${gapMs} ms from the kill to the restarted handler's first upload (${firstAfter.at - lastBefore.at} ms since the previous upload)`);
  assert.ok(goalStateStatus(lastBefore.status)?.inSvdSeqNo === '1');
  assert.deepEqual(goalStateStatus(firstAfter.status), goalStateStatus(lastBefore.status), 'the goal state outcome of the killed process');
  assert.equal(handler(firstAfter.status, NAME)?.ext?.status, 'success', 'the persisted handler status');
  const processingStarts = await eventually(async () => {
    const times = [...(await d.log()).matchAll(/^(\S+) INFO ExtHandler ExtHandler ProcessExtensionsGoalState started/gm)].map((m) => Date.parse(m[1]!));
    return times.length >= 2 ? times : undefined;
  }, 30_000, 'the restarted handler processing the goal state');
  assert.ok(firstAfter.at <= processingStarts[1]!, `uploaded (${new Date(firstAfter.at).toISOString()}) before the restarted handler processed the goal state (${new Date(processingStarts[1]!).toISOString()})`);
  // Correctness bound, not a benchmark: the first restart waits DEFAULT_BACKOFF.minMs; the allowance covers starting
  // Node.js and loading the agent (about 2-4 s on a loaded 2-core machine), negotiating the wire protocol version and
  // fetching one goal state, with ample margin for a slow CI machine.
  const START_ALLOWANCE_MS = 20_000;
  assert.ok(gapMs <= DEFAULT_BACKOFF.minMs + START_ALLOWANCE_MS, `status gap ${gapMs} ms > restart back-off ${DEFAULT_BACKOFF.minMs} ms + ${START_ALLOWANCE_MS} ms`);
  // The restarted handler reports again (and re-enables, as upstream does after a restart) before the next goal state.
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000, { after: before });
  await eventually(async () => (await ops(root.extLogDir)).length === 3, 10_000, 'enable after the restart');
  emu.publish(scenario(1));
  await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 1 && handler(s, NAME)?.ext?.status === 'success', 30_000, { after: before });
  assert.deepEqual(await ops(root.extLogDir), ['install seq=0', 'enable seq=0', 'enable seq=0', 'enable seq=1'], 'restarted, never reinstalled');
  assert.equal(await readFile(join(root.libDir, `${NAME}-1.0.0`, 'config', 'HandlerState'), 'utf8'), 'Enabled');
  assert.ok(isAlive(d.pid), 'the daemon kept running');
  assert.match(await d.log(), /WARNING Daemon Daemon Agent waagent-ts-\d+\.\d+\.\d+ exited abnormally \(killed by SIGKILL\)/);

  const { code, ms } = await d.stop();
  t.diagnostic(`SIGTERM to the daemon: both stopped in ${ms} ms`);
  assert.equal(code, 0);
  assert.equal(isAlive(second), false, 'the extension handler stopped with the daemon');
  const log = await d.log();
  assert.match(log, /INFO Daemon Daemon Received SIGTERM; stopping the extension handler\n/);
  assert.match(log, /INFO ExtHandler ExtHandler Received SIGTERM; stopping the extension handler\n/);
  assert.match(log, /INFO Daemon Daemon Daemon stopped\n$/m);
  await assert.rejects(readFile(join(root.dir, 'waagent.pid')), { code: 'ENOENT' });
});

test('a second daemon exits 0 while the first runs; a stale PID file is taken over', async (t) => {
  const emu = await createEmulator({ scenario: { extensions: [] } });
  const root = await tempRoot({ 'Logs.Verbose': 'n' });
  const first = startDaemon(root, emu);
  const procs = [first];
  t.after(async () => {
    for (const p of procs) p.kill();
    await emu.close();
    await root.cleanup();
  });
  await first.waitForChild(10_000);
  const second = startDaemon(root, emu);
  procs.push(second);
  assert.equal(await second.exited, 0);
  assert.match(await second.log(), new RegExp(`INFO Daemon Daemon Daemon is already running: ${first.pid}\\n`));
  assert.equal((await first.stop()).code, 0);

  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await writeFile(join(root.dir, 'waagent.pid'), dead);
  const third = startDaemon(root, emu);
  procs.push(third);
  await third.waitForChild(10_000);
  await eventually(async () => (await readFile(join(root.dir, 'waagent.pid'), 'utf8')) === String(third.pid), 5000, 'the PID file taken over');
  assert.equal((await third.stop()).code, 0);
});

test('an invalid configuration is an error with a non-zero exit; no child is started', async (t) => {
  const emu = await createEmulator({ scenario: { extensions: [] } });
  const root = await tempRoot({ 'Debug.AgentCrashLoopCount': 'many' });
  const d = startDaemon(root, emu);
  t.after(async () => {
    d.kill();
    await emu.close();
    await root.cleanup();
  });
  assert.equal(await d.exited, 1);
  assert.match(d.output(), /^Error: Cannot load configuration as .*waagent\.conf has an invalid value for Debug\.AgentCrashLoopCount: expected an integer >= 1, got 'many'\n$/);
});
