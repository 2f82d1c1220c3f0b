// The real agent against the emulator when things go wrong: it reports, keeps running and recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { fixtureHandler, eventually, runAgainstEmulator } from '../helpers/agent.js';
import type { Scenario } from '../../src/emulator/scenario.js';
import { goalStateStatus, handler } from '../helpers/status.js';
import { buildZip, folderItems, patchName } from '../helpers/zip.js';

const NAME = 'Test.Recorder';
const ext = (seqNo: number, publicSettings: Record<string, unknown> = {}) => ({
  name: NAME, version: '1.0.0', state: 'enabled' as const, seqNo, publicSettings, packageDir: fixtureHandler('recorder'),
});

const setup = (t: Parameters<typeof runAgainstEmulator>[0], scenario: Scenario) => runAgainstEmulator(t, () => createEmulator({ scenario }));

test('a failing enable is reported NotReady with code 1009, the operation, exit code and output tails', async (t) => {
  const { emu } = await setup(t, { extensions: [ext(0, { fail: 'enable' })] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.code === 1009, 30_000);
  const h = handler(rec.status, NAME)!;
  assert.equal(h.status, 'NotReady');
  assert.match(h.message!, /Enable: Non-zero exit code: 3, \S+\/Test\.Recorder-1\.0\.0\/bin\/handler\.sh enable/);
  assert.match(h.message!, /\[stdout\]\n[\s\S]*the last stdout line\n+\[stderr\]\nstderr: enable is failing on purpose/);
  // Only the tail of the long stdout is kept.
  assert.doesNotMatch(h.message!, /stdout line 0 of enable\n/);
  assert.ok(h.message!.length < 4000, `message length ${h.message!.length}`);
  assert.equal(goalStateStatus(rec.status)?.status, 'Success');
  // A new goal state with good settings recovers.
  emu.publish({ extensions: [ext(1)] });
  await emu.waitFor((s) => handler(s, NAME)?.status === 'Ready' && handler(s, NAME)?.ext?.status === 'success', 30_000);
});

test('a malformed goal state is logged clearly; the agent keeps running and recovers on the next good one', async (t) => {
  const { emu, agent } = await setup(t, { extensions: [ext(0)] });
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 30_000);
  emu.setGoalStateXmlOverride('<GoalState><Incarnation>7</Incarnation><Container><ContainerId>abc');
  await eventually(async () => /ERROR ExtHandler ExtHandler Error fetching the goal state: .*GoalState/.test(await agent.log()), 15_000, 'the parse error in the log');
  assert.equal(agent.proc.exitCode, null, 'the agent is still running');
  emu.setGoalStateXmlOverride(null);
  emu.publish({ extensions: [ext(5)] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.ext?.sequenceNumber === 5 && handler(s, NAME)?.ext?.status === 'success', 30_000);
  assert.equal(goalStateStatus(rec.status)?.status, 'Success');
  assert.match(await agent.log(), /Fetching the goal state recovered/);
});

test('the fabric answering 500 and then recovering: the agent retries and completes', async (t) => {
  const { emu } = await runAgainstEmulator(t, async () => {
    const e = await createEmulator({ scenario: { extensions: [ext(0)] } });
    // Enough failures to exhaust more than one poll's retries, in place before the agent starts.
    e.injectFault({ path: '/machine/?comp=goalstate', status: 500, count: 9 });
    e.injectFault({ path: '/machine/', status: 503, count: 2, server: 'wire' });
    return e;
  });
  await emu.waitFor((s) => handler(s, NAME)?.ext?.status === 'success', 60_000);
  const failed = emu.state.requests({ path: '/machine/?comp=goalstate' }).filter((r) => r.status === 500).length;
  assert.ok(failed >= 9, `${failed} goal-state requests answered 500`);
});

test('a package with a ../ entry is rejected and reported; nothing is written outside the handler folder', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-ts-evilzip-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const items = folderItems(fixtureHandler('recorder'));
  items.push({ name: 'zz/evil.txt', data: 'escaped' });
  const zipPath = join(dir, 'evil.zip');
  await writeFile(zipPath, patchName(await buildZip(items), 'zz/evil.txt', '../evil.txt'));
  const { emu, root } = await setup(t, { extensions: [{ ...ext(0), packageDir: undefined, packageZip: zipPath }] });
  const rec = await emu.waitFor((s) => handler(s, NAME)?.code === 1001, 30_000);
  const h = handler(rec.status, NAME)!;
  assert.equal(h.code, 1001);
  assert.match(h.message!, /Failed to download artifacts: .*\.\.\/evil\.txt/);
  const libParent = dirname(root.libDir);
  for (const d of [root.libDir, libParent, root.dir]) {
    assert.ok(!(await readdir(d)).includes('evil.txt'), `no evil.txt in ${d}`);
  }
  const base = join(root.libDir, `${NAME}-1.0.0`);
  assert.deepEqual(await readdir(base), ['config'], 'only the agent-owned config/ remains');
});
