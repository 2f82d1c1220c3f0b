// Progress lines: formatting, the bounded rate of download and command lines, the live line, all on a manual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Clock, Logger } from '../../../src/deps.js';
import { LiveLine, liveLineFor } from '../../../src/log/live-line.js';
import {
  DEFAULT_PROGRESS, Progress, describeSource, formatBytes, formatDuration, formatRate, progressEvery,
} from '../../../src/log/progress.js';

/** Time moves only through advance(); sleepers due by then wake in order, each with the clock at its due time. */
function manualClock(): Clock & { advance(ms: number): Promise<void>; sleepers(): number } {
  let t = 0;
  const waiting: Array<{ at: number; wake: () => void }> = [];
  const settle = () => new Promise<void>((r) => setImmediate(r));
  return {
    now: () => t,
    sleep: (ms, signal) => new Promise<void>((resolve, reject) => {
      const w = { at: t + ms, wake: resolve };
      waiting.push(w);
      signal?.addEventListener('abort', () => {
        const i = waiting.indexOf(w);
        if (i >= 0) waiting.splice(i, 1);
        reject(signal.reason);
      }, { once: true });
    }),
    sleepers: () => waiting.length,
    async advance(ms) {
      const target = t + ms;
      for (;;) {
        await settle();
        waiting.sort((a, b) => a.at - b.at);
        const next = waiting[0];
        if (!next || next.at > target) break;
        waiting.shift();
        t = next.at;
        next.wake();
      }
      t = target;
      await settle();
    },
  };
}

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger: Logger & { lines: string[] } = {
    lines,
    verbose: (m) => void lines.push(`VERBOSE ${m}`),
    info: (m) => void lines.push(m),
    warn: (m) => void lines.push(`WARNING ${m}`),
    error: (m) => void lines.push(`ERROR ${m}`),
    child: () => logger,
  };
  return logger;
}

function fakeTerminal(columns = 80): { isTTY: true; columns: number; write(s: string): void; text: string[]; screen(): string } {
  const text: string[] = [];
  return {
    isTTY: true,
    columns,
    write: (s) => void text.push(s),
    text,
    /** What the bottom line shows now: the text after the last erase. */
    screen: () => text.join('').split('\r\x1b[2K').at(-1) ?? '',
  };
}

test('durations, sizes, rates and sources are short and readable', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(45_900), '45s');
  assert.equal(formatDuration(150_000), '2m30s');
  assert.equal(formatDuration(20 * 60_000), '20m');
  assert.equal(formatDuration(5400_000), '1h30m');
  assert.equal(formatDuration(2 * 3600_000), '2h');
  assert.equal(formatDuration(3600_000 + 5 * 60_000), '1h05m');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(48 * 1024 * 1024), '48.0 MiB');
  assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
  assert.equal(formatRate(2048, 1000), '2.0 KiB/s');
  assert.equal(formatRate(100, 0), '0 B/s');
  const sas = 'https://acct.blob.core.windows.net/c/Pub.Type__1.2.zip?sv=2020-01-01&sr=b&sig=SECRETSIGNATURE%3D';
  assert.equal(describeSource(sas), 'acct.blob.core.windows.net/c/Pub.Type__1.2.zip');
  assert.equal(describeSource('https://user:pw@host:8443/p?x=1'), 'host:8443/p');
  assert.equal(describeSource('not a url ?sig=abc'), 'an unparsable URL');
  assert.deepEqual(progressEvery(200), { ...DEFAULT_PROGRESS, downloadEveryMs: 200, commandEveryMs: 200, liveEveryMs: 200 });
});

test('a command logs "Still running" every interval with its timeout, and nothing after it ends', async () => {
  const clock = manualClock();
  const logger = captureLogger();
  const progress = new Progress({ clock });
  const p = progress.command(logger, 'enable of Pub.Type-1.2', 20 * 60_000);
  await clock.advance(29_000);
  assert.deepEqual(logger.lines, []);
  await clock.advance(1000);
  assert.deepEqual(logger.lines, ['Still running: enable of Pub.Type-1.2 for 30s (timeout 20m)']);
  await clock.advance(120_000);
  assert.equal(logger.lines.length, 5);
  assert.equal(logger.lines.at(-1), 'Still running: enable of Pub.Type-1.2 for 2m30s (timeout 20m)');
  p.finish();
  await clock.advance(300_000);
  assert.equal(logger.lines.length, 5);
  assert.equal(clock.sleepers(), 0, 'the timer stops with the command');
});

test('a short download logs nothing; a long one logs every interval and at each quarter, then a summary', async () => {
  const clock = manualClock();
  const logger = captureLogger();
  const progress = new Progress({ clock });
  const quick = progress.download(logger, 'Pub.Type-1.2 package', 'host/c/p.zip');
  quick.bytes(0, 1000);
  await clock.advance(500);
  quick.bytes(600, 1000); // past two quarters, but before the first interval: still quiet
  quick.bytes(1000, 1000);
  quick.finish(true);
  assert.deepEqual(logger.lines, []);

  const dl = progress.download(logger, 'Pub.Type-1.2 package', 'host/c/p.zip');
  dl.bytes(0, 1000);
  await clock.advance(1000);
  dl.bytes(100, 1000);
  await clock.advance(9000); // t = 10 s: the first timed line
  assert.deepEqual(logger.lines, ['Download progress: Pub.Type-1.2 package: 100 B of 1000 B (10%) in 10s at 10 B/s from host/c/p.zip']);
  await clock.advance(1000);
  dl.bytes(300, 1000); // crosses 25 %
  await clock.advance(1000);
  dl.bytes(400, 1000); // same quarter: nothing
  await clock.advance(1000);
  dl.bytes(500, 1000); // crosses 50 %
  assert.equal(logger.lines.length, 3);
  assert.match(logger.lines[1]!, /: 300 B of 1000 B \(30%\) in 11s at /);
  assert.match(logger.lines[2]!, /: 500 B of 1000 B \(50%\) in 13s at /);
  await clock.advance(7000); // t = 20 s: only 7 s since the last line
  assert.equal(logger.lines.length, 3);
  await clock.advance(10_000); // t = 30 s
  assert.equal(logger.lines.length, 4);
  assert.match(logger.lines[3]!, /: 500 B of 1000 B \(50%\) in 30s /);
  await clock.advance(1000);
  dl.bytes(1000, 1000); // 100 %: left to the summary
  dl.finish(true);
  assert.equal(logger.lines.length, 5);
  assert.equal(logger.lines[4], 'Downloaded Pub.Type-1.2 package: 1000 B in 31s at 32 B/s');
  assert.equal(clock.sleepers(), 0);
});

test('a stalled download still logs; an unknown size shows bytes only; a retry restarts the rate; failure has no summary', async () => {
  const clock = manualClock();
  const logger = captureLogger();
  const progress = new Progress({ clock, options: { downloadEveryMs: 5000 } });
  const dl = progress.download(logger, 'agent package waagent-ts-9.9.9', 'host/a.tar.gz via HostGAPlugin');
  await clock.advance(5000);
  assert.deepEqual(logger.lines, ['Download progress: agent package waagent-ts-9.9.9: 0 B in 5s at 0 B/s from host/a.tar.gz via HostGAPlugin']);
  dl.bytes(4096, null);
  await clock.advance(5000);
  assert.equal(logger.lines[1], 'Download progress: agent package waagent-ts-9.9.9: 4.0 KiB in 10s at 410 B/s from host/a.tar.gz via HostGAPlugin');
  dl.bytes(0, null); // a retry: the rate counts from here
  await clock.advance(1000);
  dl.bytes(2048, null);
  await clock.advance(4000);
  assert.equal(logger.lines[2], 'Download progress: agent package waagent-ts-9.9.9: 2.0 KiB in 15s at 410 B/s from host/a.tar.gz via HostGAPlugin');
  dl.finish(false);
  dl.bytes(9999, null); // after the end: ignored
  await clock.advance(60_000);
  assert.equal(logger.lines.length, 3);
});

test('a tracker never throws into the work it watches', async () => {
  const clock = manualClock();
  const boom: Logger = { verbose: () => { throw new Error('x'); }, info: () => { throw new Error('x'); }, warn: () => undefined, error: () => undefined, child: () => boom };
  const live = new LiveLine({ write: () => { throw new Error('EPIPE'); }, isTTY: true });
  const progress = new Progress({ clock, live, options: progressEvery(10) });
  const dl = progress.download(boom, 'x', 'h/p');
  const cmd = progress.command(boom, 'enable of A.B-1', 1000);
  assert.doesNotThrow(() => dl.bytes(5, 10));
  await clock.advance(50);
  assert.doesNotThrow(() => dl.bytes(10, 10));
  assert.doesNotThrow(() => dl.finish(true));
  assert.doesNotThrow(() => cmd.finish());
});

test('on a terminal: one live line, redrawn in place, cut to the width, cleared at the end', async () => {
  const clock = manualClock();
  const term = fakeTerminal(60);
  const live = liveLineFor(term)!;
  assert.ok(live);
  const logger = captureLogger();
  const progress = new Progress({ clock, live });
  const cmd = progress.command(logger, 'enable of Pub.Type-1.2', 20 * 60_000);
  assert.equal(term.screen(), 'Running enable of Pub.Type-1.2: 0s of 20m timeout');
  await clock.advance(3000);
  assert.equal(term.screen(), 'Running enable of Pub.Type-1.2: 3s of 20m timeout');
  assert.deepEqual(logger.lines, [], 'the live line does not make log lines more frequent');
  const dl = progress.download(logger, 'Pub.Other-2.0 package with a rather long name', 'h/p');
  dl.bytes(512 * 1024, 2 * 1024 * 1024);
  assert.equal(term.screen().length, 59, 'cut to the terminal width minus one');
  assert.ok(term.screen().startsWith('Downloading Pub.Other-2.0 package with a rather long name:'));
  assert.ok(term.screen().endsWith('…'));
  dl.finish(true);
  assert.equal(term.screen(), 'Running enable of Pub.Type-1.2: 3s of 20m timeout', 'the older activity shows again');
  cmd.finish();
  assert.equal(term.screen(), '');
  assert.ok(!term.text.join('').includes('\n'), 'never a newline: only carriage returns and erases');
});

test('LiveLine: around() erases before another write and redraws after; control characters never reach the terminal', () => {
  const term = fakeTerminal();
  const live = new LiveLine(term);
  live.around(() => term.write('log line\n'));
  assert.deepEqual(term.text, ['log line\n'], 'nothing to erase or draw while idle');
  live.set('a', 'busy\x1b[31m\rred');
  assert.equal(term.text.at(-1), '\r\x1b[2Kbusy [31m red');
  live.around(() => term.write('another\n'));
  assert.deepEqual(term.text.slice(-3), ['\r\x1b[2K', 'another\n', '\r\x1b[2Kbusy [31m red']);
  live.remove('a');
  live.remove('a');
  assert.deepEqual(term.text.slice(-1), ['\r\x1b[2K']);
  assert.equal(liveLineFor({ write: () => undefined, isTTY: false }), null);
  assert.equal(liveLineFor({ write: () => undefined }), null);
});

test('the logger erases the live line around each console line (same terminal, in order)', () => {
  const mod = fileURLToPath(new URL('../../../src/log/logger.js', import.meta.url));
  const script = `
    import { createLogger } from ${JSON.stringify(mod)};
    const live = { around(write) { process.stdout.write('<erase>'); write(); process.stdout.write('<draw>'); } };
    const log = createLogger({ console: true, verbose: false, thread: 'ExtHandler', live });
    log.info('one');
    log.verbose('dropped');
    log.info('two');
    log.flush();
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.match(out, /^<erase>\S+ INFO ExtHandler one\n<draw><erase>\S+ INFO ExtHandler two\n<draw>$/);
});
