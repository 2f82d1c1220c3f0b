#!/usr/bin/env node
// `npm run bench`: waagent-ts and WALinuxAgent side by side against the fabric emulator, inside a private network
// namespace that this script creates (168.63.129.16 and 169.254.169.254 exist only on its loopback; nothing leaves
// the machine). Needs root, iproute2, util-linux (unshare), a build (dist/), and for the incumbent Debian's
// `waagent` package (`apt-get install waagent`; this script installs nothing). See bench/README.md.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { findProcesses, netnsOf } from './lib/proc.mjs';
import { WALA_SCRIPT, walaVersion } from './lib/agents.mjs';
import { resultsMarkdown, table, details } from './lib/report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..');
const NS_PREFIX = 'waagent-bench-';
const FABRIC_IP = '168.63.129.16';
const IMDS_IP = '169.254.169.254';

const USAGE = `usage: node bench/run.mjs [--quick] [--only waagent-ts|WALinuxAgent] [--skip-incumbent]
       [--modes child,daemon] [--sizes 1,20,100] [--reps N] [--s1-reps N] [--idle SECONDS] [--dist DIR]
       [--with-noop] [--no-imds-stub] [--keep] [--no-write] [--report] [--node-args ARGS]
  --quick           S2 with 3 reactions, 30 s idle, sizes 1 and 20 (no 100), one S1 run
  --reps N          S2 reactions per agent and mode (default 5); --s1-reps N: cold starts with 1 extension (3)
  --only AGENT      run one agent (no ratios)
  --skip-incumbent  same as --only waagent-ts (when WALinuxAgent is not installed)
  --dist DIR        compiled project to test (default: dist/)
  --with-noop       also cold starts (S1/S4) with bench/fixtures/noop, a handler of shell builtins only,
                    which isolates the agents' own per-extension cost (= --handlers sample,noop)
  --no-imds-stub    no IMDS in the namespace (WALinuxAgent then waits ~31 s on its IMDS retries, twice in -daemon)
  --keep            keep the scratch roots (agent logs, fabric request logs) under the work dir
  --no-write        do not rewrite bench/RESULTS.md and bench/results.json
  --report          only rewrite bench/RESULTS.md from bench/results.json (the latest run) and bench/NOTES.md
  --node-args ARGS  extra node arguments for the waagent-ts process started (diagnostics, e.g.
                    "--cpu-prof --cpu-prof-dir=/tmp/prof"; in -daemon mode they reach the daemon only)`;

function parseArgs(argv) {
  const o = { quick: false, agents: ['waagent-ts', 'WALinuxAgent'], modes: ['child', 'daemon'], sizes: null, reps: null, s1Reps: null, idle: null, dist: join(REPO, 'dist'), imdsStub: true, keep: false, write: true, report: false, nodeArgs: [], handlers: ['sample'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') o.agents = [val()];
    else if (a === '--skip-incumbent') o.agents = ['waagent-ts'];
    else if (a === '--modes') o.modes = val().split(',');
    else if (a === '--sizes') o.sizes = val().split(',').map(Number);
    else if (a === '--reps') o.reps = Number(val());
    else if (a === '--s1-reps') o.s1Reps = Number(val());
    else if (a === '--idle') o.idle = Number(val());
    else if (a === '--dist') o.dist = resolve(val());
    else if (a === '--no-imds-stub') o.imdsStub = false;
    else if (a === '--with-noop') o.handlers = ['sample', 'noop'];
    else if (a === '--handlers') o.handlers = val().split(',');
    else if (a === '--keep') o.keep = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--report') o.report = true;
    else if (a === '--node-args') o.nodeArgs = val().split(/\s+/).filter(Boolean);
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const ag of o.agents) if (!['waagent-ts', 'WALinuxAgent'].includes(ag)) throw new Error(`--only: waagent-ts or WALinuxAgent, not ${ag}`);
  for (const h of o.handlers) if (!['sample', 'noop'].includes(h)) throw new Error(`--handlers: sample and/or noop, not ${h}`);
  for (const m of o.modes) if (!['child', 'daemon'].includes(m)) throw new Error(`--modes: child and/or daemon, not ${m}`);
  o.sizes ??= o.quick ? [1, 20] : [1, 20, 100];
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 128)) throw new Error('--sizes: integers 1..128');
  o.reps ??= o.quick ? 3 : 5;
  o.s1Reps ??= o.quick ? 1 : 3;
  o.idle ??= o.quick ? 30 : 60;
  return o;
}

function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Deletes namespaces of earlier runs whose bench process is gone. */
function removeStaleNetns() {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const m = new RegExp(`^(${NS_PREFIX}(\\d+))\\b`).exec(line);
    if (!m || Number(m[2]) === process.pid || existsSync(`/proc/${m[2]}`)) continue;
    killNetnsProcesses(m[1]);
    try {
      ip(['netns', 'del', m[1]]);
    } catch {
      // already gone
    }
  }
}

function killNetnsProcesses(name) {
  let pids = [];
  try {
    pids = ip(['netns', 'pids', name]).split('\n').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function createNetns(imdsStub) {
  removeStaleNetns();
  const name = `${NS_PREFIX}${process.pid}`;
  ip(['netns', 'add', name]);
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'addr', 'add', `${FABRIC_IP}/32`, 'dev', 'lo']);
    if (imdsStub) ip(['-n', name, 'addr', 'add', `${IMDS_IP}/32`, 'dev', 'lo']);
    // WALinuxAgent's DHCP handler looks for a route to the fabric in /proc/net/route (as on Azure) before it would
    // send DHCP requests; a host route on lo (already a local address, so nothing changes) satisfies it.
    ip(['-n', name, 'route', 'add', `${FABRIC_IP}/32`, 'dev', 'lo']);
    const links = ip(['-n', name, '-o', 'link', 'show']).trim().split('\n');
    if (links.length !== 1 || !/\blo\b/.test(links[0])) throw new Error(`namespace ${name} has links besides lo:\n${links.join('\n')}`);
  } catch (err) {
    try {
      ip(['netns', 'del', name]);
    } catch {
      // nothing to do
    }
    throw err;
  }
  return name;
}

/** Kills any WALinuxAgent process running in the host's network namespace (must never happen). */
function guardHost(hostNetns, incidents) {
  for (const p of findProcesses(WALA_SCRIPT)) {
    if (netnsOf(p.pid) !== hostNetns) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
    const msg = `WALinuxAgent process ${p.pid} (${p.args.join(' ')}) was running in the HOST network namespace: killed`;
    incidents.push(msg);
    process.stderr.write(`bench: ${msg}\n`);
  }
}

function versions(dist) {
  let python = 'unknown';
  try {
    python = execFileSync('/usr/bin/python3', ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim().replace(/^Python /, '');
  } catch {
    // not installed
  }
  let ts = 'unknown';
  try {
    ts = /AGENT_VERSION = '([^']+)'/.exec(readFileSync(join(dist, 'src/version.js'), 'utf8'))?.[1] ?? ts;
    ts += ` (git ${execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()}${execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() ? ', with uncommitted changes in src/' : ''})`;
  } catch {
    // no git
  }
  return { node: process.version, python, wala: walaVersion(), ts };
}

/** Prints the table and writes RESULTS.md (with NOTES.md appended) from one run's data. */
function writeReport(run, write) {
  console.log('');
  for (const l of table(run.results, run.modes)) console.log(l);
  for (const l of details(run.results)) console.log(l);
  if (run.incidents.length) console.log(`\nINCIDENTS:\n${run.incidents.join('\n')}`);
  if (!write) return;
  const notesFile = join(HERE, 'NOTES.md');
  const notes = [
    ...(run.imdsStub ? [] : ['Run without the IMDS stub: WALinuxAgent waited on IMDS retries.']),
    ...(run.incidents.length ? ['## Incidents', '', ...run.incidents.map((i) => `- ${i}`), ''] : []),
    ...(existsSync(notesFile) ? [readFileSync(notesFile, 'utf8')] : []),
  ];
  writeFileSync(join(HERE, 'RESULTS.md'), resultsMarkdown({ ...run, notes }));
  console.log(`\nbench: wrote ${join(HERE, 'RESULTS.md')}`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.report) {
    writeReport(JSON.parse(readFileSync(join(HERE, 'results.json'), 'utf8')), true);
    return 0;
  }
  if (process.getuid?.() !== 0) throw new Error('bench needs root (network and mount namespaces)');
  if (!existsSync(join(o.dist, 'src/emulator/index.js'))) throw new Error(`${o.dist} has no compiled emulator: run npm run build (or pass --dist)`);
  if (o.agents.includes('WALinuxAgent') && !walaVersion()) {
    throw new Error(`WALinuxAgent is not installed (${WALA_SCRIPT}): apt-get install waagent, or pass --skip-incumbent`);
  }
  const flags = process.argv.slice(2);
  const started = new Date().toISOString();
  const loadStart = loadavg().map((x) => x.toFixed(2)).join(' ');
  const hostNetns = readlinkSync('/proc/self/ns/net');
  const incidents = [];
  guardHost(hostNetns, incidents);
  const workDir = mkdtempSync(join(tmpdir(), 'waagent-bench-'));
  const ns = createNetns(o.imdsStub);
  const loads = [];
  let ticks = 0;
  const watchdog = setInterval(() => {
    guardHost(hostNetns, incidents);
    if (ticks++ % 15 === 0) loads.push(loadavg()[0]);
  }, 2000);
  const results = [];
  let inner;
  let complete = true;
  const limitMs = (o.quick ? 45 : 150) * 60_000;
  try {
    const plan = {
      hostNetns, agents: o.agents, modes: o.modes, sizes: o.sizes, s2Reps: o.reps, s1Reps: o.s1Reps, idleMs: o.idle * 1000, settleMs: 10_000,
      distDir: o.dist, workDir, handlers: o.handlers,
      handlerDirs: { sample: join(REPO, 'fixtures/extensions/sample'), noop: join(HERE, 'fixtures/noop') }, imdsStub: o.imdsStub, keep: o.keep, nodeArgs: o.nodeArgs,
    };
    console.log(`bench: namespace ${ns}, work dir ${workDir}, agents ${o.agents.join(', ')}, modes ${o.modes.join(', ')}, sizes ${o.sizes.join(', ')}`);
    inner = spawn('ip', ['netns', 'exec', ns, process.execPath, join(HERE, 'inner.mjs'), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    // Ctrl-C / SIGTERM: stop the inner run (and with it the agents) so the namespace is cleaned up below.
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.once(sig, () => {
        process.stderr.write(`bench: ${sig} received, stopping\n`);
        inner.kill('SIGKILL');
      });
    }
    const limit = setTimeout(() => {
      process.stderr.write(`bench: time limit ${limitMs / 60000} min reached, stopping\n`);
      inner.kill('SIGKILL');
    }, limitMs);
    const rl = createInterface({ input: inner.stdout });
    rl.on('line', (line) => {
      if (line.startsWith('@@result ')) {
        const r = JSON.parse(line.slice(9));
        results.push(r);
        console.log(JSON.stringify(r));
      } else console.log(line);
    });
    const code = await new Promise((res) => inner.once('exit', (c, s) => res(c ?? s)));
    clearTimeout(limit);
    if (code !== 0) {
      complete = false;
      process.stderr.write(`bench: inner run ended with ${code}; the results are partial\n`);
    }
  } finally {
    clearInterval(watchdog);
    killNetnsProcesses(ns);
    try {
      ip(['netns', 'del', ns]);
    } catch (err) {
      process.stderr.write(`bench: cannot delete namespace ${ns}: ${err.message}\n`);
    }
    guardHost(hostNetns, incidents);
    if (!o.keep) rmSync(workDir, { recursive: true, force: true });
    else console.log(`bench: scratch roots kept in ${workDir}`);
  }

  const c = cpus();
  const run = {
    results, modes: o.modes, flags, started, finished: new Date().toISOString(), incidents, imdsStub: o.imdsStub, versions: versions(o.dist),
    machine: {
      nproc: c.length, cpuModel: c[0]?.model ?? 'unknown', memGb: (totalmem() / 2 ** 30).toFixed(1), kernel: release(),
      loadStart, loadEnd: loadavg().map((x) => x.toFixed(2)).join(' '),
      load1: loads.length ? { min: Math.min(...loads).toFixed(2), mean: (loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2), max: Math.max(...loads).toFixed(2), samples: loads.length } : null,
    },
  };
  // A run that was cut short (time limit, signal) must not replace the latest complete one.
  const name = complete ? 'results.json' : 'results.partial.json';
  if (o.write) writeFileSync(join(HERE, name), `${JSON.stringify(run, null, 1)}\n`);
  if (!complete && o.write) console.log(`bench: partial run: kept RESULTS.md, data in ${join(HERE, name)}`);
  writeReport(run, o.write && complete);
  return results.some((r) => r.error) || incidents.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exitCode = 2;
  },
);
