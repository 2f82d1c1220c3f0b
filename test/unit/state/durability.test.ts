// writeFileAtomic under SIGKILL: a child process writes a state file and is killed (a) at every step of the write
// (deterministically: fs calls are wrapped to stop there) and (b) at 200 seeded random moments of a write loop.
// The file must always hold either the old or the new content in full, and killed writes must not pile up temp files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ATOMIC_WRITE = fileURLToPath(new URL('../../../src/state/atomic-write.js', import.meta.url));

/**
 * The writer. argv: target mode size. mode: `loop` (write seq+1, seq+2 ... forever, "ready" after the first),
 * `once`, or `stop:<step>` (one write that prints "at:<step>" and hangs there). Content: {seq, pad, sum}, where pad
 * depends on seq, so a torn or mixed file can never validate.
 */
const WRITER = `
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { readFileSync } from 'node:fs';
const [target, mode, size] = process.argv.slice(1);
const stopAt = mode.startsWith('stop:') ? mode.slice(5) : '';
const hang = async (step) => {
  if (step !== stopAt) return;
  process.stdout.write('at:' + step + '\\n');
  await new Promise(() => setInterval(() => undefined, 1000));
};
if (stopAt) {
  const fsp = createRequire(import.meta.url)('node:fs/promises');
  const { open, rename } = fsp;
  fsp.open = async (...args) => {
    const fh = await open(...args);
    const { writeFile, sync } = fh;
    fh.writeFile = async (...a) => { await writeFile.apply(fh, a); await hang('written'); };
    fh.sync = async () => { await sync.apply(fh); await hang('synced'); };
    if (String(args[0]).endsWith('.tmp')) await hang('opened');
    return fh;
  };
  fsp.rename = async (...args) => { await hang('before-rename'); await rename(...args); await hang('renamed'); };
  syncBuiltinESMExports();
}
const { writeFileAtomic } = await import(${JSON.stringify(ATOMIC_WRITE)});
let seq = 0;
try { seq = JSON.parse(readFileSync(target, 'utf8')).seq; } catch {}
const content = (n) => {
  const pad = String(n % 10).repeat(Number(size));
  let sum = 0;
  for (let i = 0; i < pad.length; i += 997) sum = (sum * 31 + pad.charCodeAt(i) + i) % 1000000007;
  return JSON.stringify({ seq: n, pad, sum });
};
let ready = false;
do {
  await writeFileAtomic(target, content(++seq), { mode: 0o600 });
  if (mode === 'loop' && !ready) { ready = true; process.stdout.write('ready\\n'); }
} while (mode === 'loop');
`;

/** Parses a state file written by WRITER; throws unless it is complete and consistent. */
function parseState(text: string, size: number): number {
  const v = JSON.parse(text) as { seq: number; pad: string; sum: number };
  assert.equal(v.pad.length, size, 'pad length');
  assert.equal(v.pad, String(v.seq % 10).repeat(size), 'pad belongs to seq');
  let sum = 0;
  for (let i = 0; i < v.pad.length; i += 997) sum = (sum * 31 + v.pad.charCodeAt(i) + i) % 1000000007;
  assert.equal(v.sum, sum, 'checksum');
  return v.seq;
}

interface Writer {
  /** Resolves with the first stdout line. */
  line: Promise<string>;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

function startWriter(target: string, mode: string, size: number): Writer {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, '--', target, mode, String(size)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer printed nothing within 15 s; stderr: ${err}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`writer exited (${code}) before printing; stderr: ${err}`));
    });
  });
  line.catch(() => undefined);
  return {
    line,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

const temps = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.tmp'));

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-durability-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('SIGKILL at every step of writeFileAtomic: old content before the rename, new after, never torn', { timeout: 60_000 }, async (t) => {
  const dir = await scratch(t);
  const target = join(dir, 'HandlerState');
  const SIZE = 64 * 1024;
  const first = startWriter(target, 'once', SIZE);
  assert.equal(await first.exited, 0);
  let seq = parseState(await readFile(target, 'utf8'), SIZE);
  for (const [step, keepsOld] of [['opened', true], ['written', true], ['synced', true], ['before-rename', true], ['renamed', false]] as const) {
    const w = startWriter(target, `stop:${step}`, SIZE);
    try {
      assert.equal(await w.line, `at:${step}`);
    } finally {
      await w.kill();
    }
    const now = parseState(await readFile(target, 'utf8'), SIZE);
    assert.equal(now, keepsOld ? seq : seq + 1, `killed at ${step}`);
    assert.equal((await stat(target)).mode & 0o777, 0o600, `mode after a kill at ${step}`);
    // A kill before the rename leaves the writer's temp file; the next writer sweeps it, so at most one exists.
    assert.equal((await temps(dir)).length, keepsOld ? 1 : 0, `temp files after a kill at ${step}: ${await temps(dir)}`);
    seq = now;
  }
  const last = startWriter(target, 'once', SIZE);
  assert.equal(await last.exited, 0);
  assert.equal(parseState(await readFile(target, 'utf8'), SIZE), seq + 1);
  assert.deepEqual(await temps(dir), [], 'the next write removed the dead writer\'s temp file');
});

/** mulberry32: a seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

test('200 SIGKILLs at random moments of a write loop: the file always parses whole, temp files never pile up', { timeout: 480_000 }, async (t) => {
  const SEED = 0x5eed2025;
  const KILLS = 200;
  const LANES = 4;
  const SIZE = 256 * 1024;
  const random = prng(SEED);
  const dir = await scratch(t);
  const figures = { kills: 0, leftTemp: 0, advanced: 0, unchanged: 0, maxTemps: 0 };
  const lane = async (n: number): Promise<void> => {
    const laneDir = join(dir, `lane${n}`);
    await (await import('node:fs/promises')).mkdir(laneDir);
    const target = join(laneDir, 'waagent_status.json');
    let seq = 0;
    while (figures.kills < KILLS) {
      figures.kills++;
      const delayMs = Math.floor(random() * 40);
      const w = startWriter(target, 'loop', SIZE);
      try {
        await w.line;
        await new Promise((r) => setTimeout(r, delayMs));
      } finally {
        await w.kill();
      }
      const now = parseState(await readFile(target, 'utf8'), SIZE);
      assert.ok(now >= seq + 1, `lane ${n}: seq went from ${seq} to ${now}`);
      if (now > seq + 1) figures.advanced++;
      else figures.unchanged++;
      seq = now;
      const left = (await temps(laneDir)).length;
      figures.maxTemps = Math.max(figures.maxTemps, left);
      if (left > 0) figures.leftTemp++;
      assert.ok(left <= 1, `lane ${n}: ${left} temp files after kill ${figures.kills}`);
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
  console.log(`durability: seed ${SEED.toString(16)}, ${figures.kills} kills, ${figures.leftTemp} mid-write (temp left behind), ` +
    `${figures.advanced} after further writes, ${figures.unchanged} right after the first write, max temp files ${figures.maxTemps}; torn files: 0`);
  // The kills did land inside writes (else this test proves nothing about the steps).
  assert.ok(figures.leftTemp > 0, 'no kill landed between open and rename');
});

// Logs: bounded in size even without logrotate, also with two processes (daemon and extension handler) on one file.

test('the agent log is bounded: past maxBytes it rotates to .1 (one copy), also with two writers on the same file', async (t) => {
  const { createLogger } = await import('../../../src/log/logger.js');
  const dir = await scratch(t);
  const file = join(dir, 'waagent.log');
  const MAX = 256 * 1024;
  const SLACK = 64 * 1024 + 4096; // the size is checked every 64 KiB written, per writer
  const daemon = createLogger({ file, verbose: false, thread: 'Daemon', maxBytes: MAX });
  const child = createLogger({ file, verbose: false, thread: 'ExtHandler', maxBytes: MAX });
  const line = 'x'.repeat(900);
  let maxSeen = 0;
  for (let i = 0; i < 6000; i++) {
    (i % 3 === 0 ? daemon : child).info(`${i} ${line}`);
    if (i % 100 === 0) {
      const total = (await Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n))).size))).reduce((a, b) => a + b, 0);
      maxSeen = Math.max(maxSeen, total);
    }
  }
  await daemon.close();
  await child.close();
  // 6000 lines of ~1 KiB (about 5.5 MiB) went through; what is on disk stays near 2 x MAX.
  assert.deepEqual((await readdir(dir)).sort(), ['waagent.log', 'waagent.log.1']);
  assert.ok((await stat(file)).size <= MAX + 2 * SLACK, `waagent.log is ${(await stat(file)).size} bytes`);
  assert.ok((await stat(`${file}.1`)).size <= MAX + 2 * SLACK, `waagent.log.1 is ${(await stat(`${file}.1`)).size} bytes`);
  assert.ok(maxSeen <= 2 * (MAX + 2 * SLACK), `at most ${maxSeen} bytes on disk at any time`);
  assert.match(await readFile(file, 'utf8'), /INFO ExtHandler 5999 x+\n$/, 'the newest line is in the current file');
});

// A failed state write is remembered for the status until that folder takes writes again.

test('write health: a failed write is reported until a write in its folder (or below) works, or it ages out', async (t) => {
  const { writeFileAtomic } = await import('../../../src/state/atomic-write.js');
  const { createWriteHealth, WRITE_PROBLEM_TTL_MS } = await import('../../../src/state/write-health.js');
  let now = 1_000_000;
  const health = createWriteHealth({ clock: { now: () => now } });
  const other = createWriteHealth({ clock: { now: () => now } });
  const dir = await scratch(t);
  assert.equal(health.problem(), null);
  // The folder does not exist: the write fails with a clear error, remembered for the status.
  const missing = join(dir, 'Handler-1.0', 'config', '1.settings');
  await assert.rejects(writeFileAtomic(missing, '{}', { health }), /^AgentError: Cannot write \S+1\.settings as ENOENT/);
  assert.match(health.problem() ?? '', /^Cannot write \S+\/Handler-1\.0\/config\/1\.settings as ENOENT: no such file or directory/);
  assert.equal(other.problem(), null, 'each agent has its own tracker: nothing is process-wide');
  await assert.rejects(writeFileAtomic(missing, '{}'), /ENOENT/);
  assert.equal(other.problem(), null, 'a write without a tracker reports to none');
  await (await import('node:fs/promises')).mkdir(join(dir, 'Handler-1.0', 'config'), { recursive: true });
  await writeFileAtomic(join(dir, 'elsewhere'), 'x', { health });
  assert.notEqual(health.problem(), null, 'a write in another folder proves nothing');
  await writeFileAtomic(join(dir, 'Handler-1.0', 'config', '2.settings'), '{}', { health });
  assert.equal(health.problem(), null, 'the folder takes writes again');
  // A write below the failed file's folder clears it too; more than one failure is counted.
  health.noteFailure(join(dir, 'Handler-1.0', 'HandlerEnvironment.json'), 'Cannot write HandlerEnvironment.json as EROFS');
  now += 1;
  health.noteFailure(join(dir, 'SharedConfig.xml'), 'Cannot write SharedConfig.xml as EROFS');
  assert.equal(health.problem(), 'Cannot write SharedConfig.xml as EROFS (and 1 other file(s))');
  await writeFileAtomic(join(dir, 'Handler-1.0', 'config', 'HandlerState'), 'Enabled', { health });
  assert.equal(health.problem(), null);
  // The injected clock ages failures out.
  health.noteFailure(join(dir, 'x'), 'old');
  now += WRITE_PROBLEM_TTL_MS;
  assert.equal(health.problem(), 'old');
  now += 1;
  assert.equal(health.problem(), null, 'aged out');
});
