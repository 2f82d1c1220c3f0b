// Self-update and rollback for real: the daemon runs this build, the emulator publishes an agent package built from
// it (npm run package's code). A good X+1 takes over; a bad X+2 whose entry throws at start is blacklisted and the
// daemon rolls back to X+1, which reports and processes goal states again; the blacklist survives a daemon restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import { AGENT_VERSION } from '../../src/version.js';
import { eventually, tempRoot } from '../helpers/agent.js';
import { goalStateStatus } from '../helpers/status.js';
import { UPDATE_CONF, agentPackage, agentVersionOf, badAgentPackage, isAlive, nextVersions, startDaemon } from './daemon-harness.js';

const [X1, X2] = nextVersions(AGENT_VERSION, 2) as [string, string];
const logTime = (log: string, re: RegExp): number => Date.parse(re.exec(log)?.[1] ?? '');
const starts = (log: string, v: string) => log.split('\n').filter((l) => l.includes(`Daemon Daemon Starting agent waagent-ts-${v} `)).length;

test('a good X+1 takes over; a bad X+2 is blacklisted and rolled back to X+1; the blacklist survives a restart', async (t) => {
  // Built while the installed agent starts.
  const packages = Promise.all([agentPackage(X1), badAgentPackage(X2)]);
  packages.catch(() => undefined); // awaited below; a failure before that must not be an unhandled rejection
  const emu = await createEmulator({ scenario: { gaFamilies: [{ name: 'Prod' }], extensions: [] } });
  const root = await tempRoot(UPDATE_CONF);
  let d = startDaemon(root, emu);
  t.after(async () => {
    d.kill();
    await emu.close();
    await root.cleanup();
  });
  await emu.waitFor((s) => agentVersionOf(s) === AGENT_VERSION, 30_000);
  const daemonPid = d.pid;
  const [good, bad] = await packages;

  // X+1: downloaded, verified, unpacked; the child exits 0 and the daemon starts X+1.
  emu.publish({ agentPackages: [{ version: X1, packageFile: good }] });
  await emu.waitFor((s) => agentVersionOf(s) === X1, 30_000);
  const x1Dir = join(root.libDir, `waagent-ts-${X1}`);
  assert.deepEqual(JSON.parse(await readFile(join(x1Dir, 'waagent-ts-manifest.json'), 'utf8')), { format: 1, name: 'waagent-ts', version: X1, entry: 'bin/waagent.js' });
  const child = await d.waitForChild(5000);
  assert.match(await readFile(`/proc/${child}/cmdline`, 'latin1'), new RegExp(`waagent-ts-${X1.replace(/\./g, '\\.')}/bin/waagent\\.js\\0-run-exthandlers\\0`));
  assert.ok(isAlive(daemonPid), 'the daemon never updates itself');
  let log = await d.log();
  assert.match(log, new RegExp(`Current Agent ${AGENT_VERSION} completed all update checks, exiting current process to upgrade to the new Agent version ${X1}`));
  assert.match(log, new RegExp(`INFO ExtHandler ExtHandler waagent-ts-${X1} running as the goal state agent`));

  // X+2 crashes at start: 3 abnormal exits, blacklisted with the reason, back to X+1.
  emu.publish({ agentPackages: [{ version: X1, packageFile: good }, { version: X2, packageFile: bad }] });
  const x2Dir = join(root.libDir, `waagent-ts-${X2}`);
  const failure = await eventually(async () => JSON.parse(await readFile(join(x2Dir, 'error.json'), 'utf8').catch(() => 'null')), 30_000, 'X+2 blacklisted');
  assert.equal(failure.was_fatal, true);
  assert.match(failure.reason, new RegExp(`^Agent waagent-ts-${X2.replace(/\./g, '\\.')} exited abnormally 3 times in 300 seconds \\(last: exit code 1\\)$`));
  // X+2 never reports: any status from now on comes from the rolled-back X+1.
  const back = await emu.waitFor((s) => agentVersionOf(s) === X1, 30_000, { after: emu.state.statusBlobs().at(-1)!.seq });
  log = await d.log();
  const badStart = logTime(log, new RegExp(`^(\\S+) INFO Daemon Daemon Starting agent waagent-ts-${X2} `, 'm'));
  const lastBefore = emu.state.statusBlobs().filter((r) => r.at < badStart).at(-1)!;
  t.diagnostic(`rollback (b): ${back.at - badStart} ms from the first start of X+2 to X+1's status; status gap ${back.at - lastBefore.at} ms`);
  assert.equal(starts(log, X2), 3);
  assert.match(log, /ERROR Daemon Daemon Agent waagent-ts-\S+ is permanently disabled: /);
  assert.ok(isAlive(daemonPid));

  // X+1 keeps working (a new goal state is processed) and does not try X+2 again.
  const incarnation = String(emu.publish({}));
  await emu.waitFor((s) => agentVersionOf(s) === X1 && goalStateStatus(s)?.inSvdSeqNo === incarnation, 30_000);
  const polls = emu.state.requests({ path: '/machine/?comp=goalstate' }).length;
  await emu.state.waitUntil(() => emu.state.requests({ path: '/machine/?comp=goalstate' }).length >= polls + 2, 15_000, 'two more polls');
  log = await d.log();
  assert.equal(starts(log, X2), 3);
  assert.match(log, new RegExp(`Agent waagent-ts-${X2} is blacklisted \\(Agent waagent-ts-${X2} exited abnormally`));

  // A restarted daemon reads the blacklist from disk and starts X+1 directly.
  assert.equal((await d.stop()).code, 0);
  const mark = (await d.log()).length;
  const seqBefore = emu.state.statusBlobs().at(-1)!.seq;
  d = startDaemon(root, emu);
  await emu.waitFor((s) => agentVersionOf(s) === X1, 30_000, { after: seqBefore });
  const after = (await d.log()).slice(mark);
  assert.equal(starts(after, X2), 0);
  assert.equal(starts(after, X1), 1);
  assert.deepEqual((await readdir(root.libDir)).filter((n) => n.startsWith('waagent-ts-')).sort(), [`waagent-ts-${X1}`, `waagent-ts-${X2}`]);
  await assert.rejects(access(join(root.libDir, `waagent-ts-${X2}.tar.gz`)));
});
