import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../../src/deps.js';
import { createLogger, installSighupReopen } from '../../../src/log/logger.js';

const T0 = Date.UTC(2026, 10, 25, 19, 2, 21) + 123.456; // ms with a microsecond fraction
const clock: Clock = { now: () => T0, sleep: async () => undefined };
const STAMP = '2026-11-25T19:02:21.123456Z';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'waagent-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writes upstream text lines; VERBOSE dropped unless verbose', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'sub', 'dir', 'waagent.log'); // parent created on demand
  const log = createLogger({ file, verbose: false, thread: 'ExtHandler', prefix: 'ExtHandler', clock });
  log.verbose('hidden');
  log.info('Agent started');
  log.warn('careful');
  log.error('broken');
  await log.close();
  assert.equal(
    readFileSync(file, 'utf8'),
    `${STAMP} INFO ExtHandler ExtHandler Agent started\n` +
      `${STAMP} WARNING ExtHandler ExtHandler careful\n` +
      `${STAMP} ERROR ExtHandler ExtHandler broken\n`,
  );

  const vfile = join(dir, 'verbose.log');
  const vlog = createLogger({ file: vfile, verbose: true, thread: 'Daemon', clock });
  vlog.verbose('shown');
  await vlog.close();
  assert.equal(readFileSync(vfile, 'utf8'), `${STAMP} VERBOSE Daemon shown\n`);
});

test('child loggers change prefix and thread; fields follow the message', async (t) => {
  const file = join(tempDir(t), 'waagent.log');
  const log = createLogger({ file, verbose: false, thread: 'ExtHandler', prefix: 'ExtHandler', clock });
  const ext = log.child({ prefix: '[Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9027]' });
  ext.info('Expected handler state: enabled');
  ext.child({ thread: 'MonitorHandler' }).info('m', { durationMs: 12, op: 'enable' });
  log.info('back to parent');
  await log.close();
  assert.deepEqual(readFileSync(file, 'utf8').split('\n'), [
    `${STAMP} INFO ExtHandler [Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9027] Expected handler state: enabled`,
    `${STAMP} INFO MonitorHandler [Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9027] m (durationMs=12, op=enable)`,
    `${STAMP} INFO ExtHandler ExtHandler back to parent`,
    '',
  ]);
});

test('messages and fields are redacted; non-ASCII escaped; newlines kept', async (t) => {
  const file = join(tempDir(t), 'waagent.log');
  const log = createLogger({ file, verbose: false, thread: 'T', clock });
  log.info('GET https://h/p?sv=1&sig=SECRETSIG done', { settings: '{"protectedSettings":"SECRETPS"}', protectedSettings: 'SECRET2' });
  log.info('caf\u00e9\nsecond line');
  await log.close();
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('SECRET'), text);
  assert.ok(text.includes('GET https://h/p?<redacted> done'));
  assert.ok(text.includes(`${STAMP} INFO T caf\\xe9\nsecond line\n`));
});

test('JSON mode keeps structured fields', async (t) => {
  const file = join(tempDir(t), 'waagent.json');
  const log = createLogger({ file, verbose: true, thread: 'ExtHandler', prefix: 'P', clock, json: true });
  log.verbose('v', { durationMs: 3, err: new Error('bad sig=XYZ'), level: 'spoof' });
  await log.close();
  const rec = JSON.parse(readFileSync(file, 'utf8').trim()) as Record<string, unknown>;
  assert.equal(rec.level, 'VERBOSE');
  assert.equal(rec.time, STAMP);
  assert.equal(rec.thread, 'ExtHandler');
  assert.equal(rec.prefix, 'P');
  assert.equal(rec.msg, 'v');
  assert.equal(rec.durationMs, 3);
  assert.equal(rec._level, 'spoof'); // reserved keys are renamed, not overwritten
  assert.equal((rec.err as Record<string, unknown>).message, 'bad sig=<redacted>');
});

test('reopen() after logrotate renames the file writes to a new file at the original path', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'waagent.log');
  const log = createLogger({ file, verbose: false, thread: 'T', clock });
  log.info('before rotation');
  renameSync(file, `${file}.1`);
  log.info('still old fd');
  log.reopen();
  log.info('after rotation');
  await log.close();
  assert.equal(readFileSync(`${file}.1`, 'utf8'), `${STAMP} INFO T before rotation\n${STAMP} INFO T still old fd\n`);
  assert.equal(readFileSync(file, 'utf8'), `${STAMP} INFO T after rotation\n`);
});

test('installSighupReopen calls reopen on SIGHUP until removed', () => {
  let n = 0;
  const remove = installSighupReopen({ reopen: () => n++ });
  process.emit('SIGHUP', 'SIGHUP');
  remove();
  process.emit('SIGHUP', 'SIGHUP');
  assert.equal(n, 1);
});

test('logging after close is a no-op; a missing file option logs nowhere', async (t) => {
  const file = join(tempDir(t), 'x.log');
  const log = createLogger({ file, verbose: false, thread: 'T', clock });
  await log.close();
  assert.doesNotThrow(() => log.info('late'));
  assert.equal(readFileSync(file, 'utf8'), '');
  const none = createLogger({ verbose: false, thread: 'T' });
  none.info('nowhere');
  none.flush();
  await none.close();
});

test('console lines reach stdout and the last line survives an immediate exit', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'waagent.log');
  const mod = fileURLToPath(new URL('../../../src/log/logger.js', import.meta.url));
  const script = `
    import { createLogger } from ${JSON.stringify(mod)};
    const log = createLogger({ file: ${JSON.stringify(file)}, console: true, verbose: false, thread: 'Daemon' });
    log.info('last words');
    process.exit(3);
  `;
  let stdout = '';
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  } catch (e) {
    stdout = (e as { stdout: string; status: number }).stdout;
    assert.equal((e as { status: number }).status, 3);
  }
  assert.match(stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z INFO Daemon last words\n$/);
  assert.ok(existsSync(file));
  assert.equal(readFileSync(file, 'utf8'), stdout);
});
