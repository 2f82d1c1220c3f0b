// Runs inside the benchmark's network namespace (started by run.mjs through `ip netns exec`): every session in
// turn, agents interleaved so a change in machine load hits both. Prints progress lines, and one
// `@@result {json}` line per scenario result. argv[2]: the plan as JSON (see run.mjs).
import { readlinkSync } from 'node:fs';
import { runSession } from './lib/scenarios.mjs';

const plan = JSON.parse(process.argv[2] ?? '{}');
const progress = (text) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const emit = (r) => process.stdout.write(`@@result ${JSON.stringify(r)}\n`);

// Refuse to run in the host's network namespace: run.mjs passes the namespace it created.
const myNet = readlinkSync('/proc/self/ns/net');
if (myNet === plan.hostNetns) {
  process.stderr.write('inner.mjs: refusing to run in the host network namespace\n');
  process.exit(2);
}

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => {
  stopping = true;
  progress(`${sig}: stopping after the current session`);
});

// The sample handler gets every scenario; the noop handler (--with-noop) only cold starts (S1/S4).
const sessions = [];
for (const mode of plan.modes) {
  for (const handler of plan.handlers) {
    for (const n of plan.sizes) {
      const first = n === 1 && handler === 'sample';
      for (const agent of plan.agents) sessions.push({ agent, mode, handler, n, s2Reps: first ? plan.s2Reps : 0, idleMs: first ? plan.idleMs : 0 });
      // More cold starts with one extension (the machine's load varies): S1 is their median.
      for (let r = 1; n === 1 && r < plan.s1Reps; r++) for (const agent of plan.agents) sessions.push({ agent, mode, handler, n, s2Reps: 0, idleMs: 0 });
    }
  }
}
for (const [index, s] of sessions.entries()) {
  if (stopping) break;
  try {
    await runSession({ ...plan, ...s, index, emit, progress });
  } catch (err) {
    emit({ scenario: s.n === 1 ? 'S1' : 'S4', agent: s.agent, mode: s.mode, handler: s.handler, extensions: s.n, error: `session failed: ${err?.stack ?? err}` });
  }
}
progress('inner: done');
