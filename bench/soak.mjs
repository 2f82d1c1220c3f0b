#!/usr/bin/env node
// Soak benchmark: the loop of test/soak/soak.test.ts run longer (10 minutes by default). The real agent
// (-run-exthandlers) against the fabric emulator on loopback (the agent is pointed at it; nothing leaves the machine),
// 20 extensions, a new goal state every 3 s; prints RSS start/end/max, fd and child-process counts at start and end,
// goal states published and applied and status uploads, a line per minute, and the verdict of the same leak checks
// as the test (exit code 1 when one fails). Needs a build (`npm run build`).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: node bench/soak.mjs [--duration SECONDS] [--extensions N] [--publish-every SECONDS] [--dist DIR] [--json]
  --duration        length of the soak after warm-up (default 600)
  --extensions      extensions in the goal state (default 20)
  --publish-every   seconds between goal states (default 3)
  --dist            compiled project (default dist/)
  --json            also print the result as one JSON line`;

function parseArgs(argv) {
  const o = { duration: 600, extensions: 20, publishEvery: 3, dist: join(REPO, 'dist'), json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
      return v;
    };
    if (a === '--duration') o.duration = num(a);
    else if (a === '--extensions') o.extensions = Math.floor(num(a));
    else if (a === '--publish-every') o.publishEvery = num(a);
    else if (a === '--dist') o.dist = resolve(argv[++i] ?? '');
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (o.duration > 6 * 3600) throw new Error('--duration is bounded to 6 hours');
  return o;
}

const o = parseArgs(process.argv.slice(2));
const lib = join(o.dist, 'test/soak/soak-run.js');
if (!existsSync(lib)) {
  console.error(`${lib} not found: build first (npm run build)`);
  process.exit(2);
}
const { runSoak, describeSoak, soakProblems } = await import(pathToFileURL(lib).href);
const started = new Date();
console.log(`soak benchmark: ${o.duration} s, ${o.extensions} extensions, a goal state every ${o.publishEvery} s (${started.toISOString()})`);
const r = await runSoak({
  durationMs: o.duration * 1000, extensions: o.extensions, publishEveryMs: o.publishEvery * 1000, warmupMs: 15_000,
  log: (line) => console.log(line),
});
for (const line of describeSoak(r)) console.log(line);
const problems = soakProblems(r);
console.log(problems.length === 0 ? 'verdict: no leak detected' : `verdict: ${problems.join('; ')}`);
if (o.json) console.log(JSON.stringify({ startedAt: started.toISOString(), options: o, result: r, problems }));
process.exitCode = problems.length === 0 ? 0 : 1;
