// Soak (a leak detector, not a benchmark): 60 s of a goal state every 3 s across 20 extensions against the real
// agent; its RSS, file descriptors and child processes are sampled from /proc and printed. At rest at the end, after
// the last goal state was applied, the agent holds no more descriptors or children than at the start (small
// tolerance: a keep-alive socket, a log reopened), and its RSS grew less than a generous bound.
// `node bench/soak.mjs` runs the same loop for 10 minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSoak, FD_TOLERANCE, RSS_GROWTH_KB, runSoak, soakProblems } from './soak-run.js';

test('soak: 60 s of goal-state changes across 20 extensions leak no descriptors, children or memory', { timeout: 420_000 }, async (t) => {
  const r = await runSoak({ durationMs: 60_000, extensions: 20, publishEveryMs: 3000, log: (l) => t.diagnostic(l) });
  for (const line of describeSoak(r)) t.diagnostic(line);
  assert.ok(r.published >= 15, `${r.published} goal states published`);
  assert.ok(r.applied >= 3, `${r.applied} goal states applied`);
  assert.ok(r.uploads > r.applied, `${r.uploads} status uploads`);
  assert.ok(r.end.fds <= r.start.fds + FD_TOLERANCE, `fd leak: ${r.start.fds} at the start, ${r.end.fds} at the end (tolerance ${FD_TOLERANCE})`);
  assert.equal(r.end.children, 0, `${r.end.children} child process(es) left at rest (${r.start.children} at the start)`);
  assert.ok(r.end.rssKb - r.start.rssKb < RSS_GROWTH_KB, `RSS grew by ${r.end.rssKb - r.start.rssKb} kB (bound ${RSS_GROWTH_KB} kB)`);
  assert.equal(r.agentExitCode, 0, 'the agent stopped cleanly');
  assert.deepEqual(soakProblems(r), []);
});
