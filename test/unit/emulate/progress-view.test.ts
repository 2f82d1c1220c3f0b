// `waagent emulate`'s view of progress: the agent's progress lines parsed, and the timeline's live line (a command's
// elapsed time against its timeout, a download's bytes) on a terminal. Time is a fixed `now`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentLogParser } from '../../../src/emulate/agent-log.js';
import { RunMonitor } from '../../../src/emulate/monitor.js';
import { Timeline } from '../../../src/emulate/timeline.js';

const at = (s: string) => `2026-01-01T00:00:${s}.000000Z`;

function terminal(columns = 200) {
  const writes: string[] = [];
  return {
    out: { write: (s: string) => void writes.push(s), isTTY: true, color: false, columns },
    /** The bottom line now: the text after the last erase or newline. */
    screen: () => writes.join('').split(/\r\x1b\[2K|\n/).at(-1) ?? '',
    all: () => writes.join(''),
  };
}

test('the parser turns the agent\'s download progress and summary lines into events, without the source', () => {
  const p = new AgentLogParser('Pub.Ext');
  const progress = p.feed(`${at('10')} INFO ExtHandler [Pub.Ext-1.0.0] Download progress: Pub.Ext-1.0.0 package: 1.5 MiB of 6.0 MiB (25%) in 10s at 153.6 KiB/s from acct.blob.core.windows.net/c/p.zip via HostGAPlugin`);
  assert.deepEqual(progress, [{ kind: 'download-progress', at: Date.parse('2026-01-01T00:00:10Z'), version: '1.0.0', detail: '1.5 MiB of 6.0 MiB (25%) in 10s at 153.6 KiB/s', done: false }]);
  const done = p.feed(`${at('40')} INFO ExtHandler [Pub.Ext-1.0.0] Downloaded Pub.Ext-1.0.0 package: 6.0 MiB in 40s at 153.6 KiB/s`);
  assert.deepEqual(done.map((e) => e.kind === 'download-progress' && [e.detail, e.done]), [['6.0 MiB in 40s at 153.6 KiB/s', true]]);
  assert.deepEqual(p.feed(`${at('41')} INFO ExtHandler [Pub.Ext-1.0.0] Still running: enable of Pub.Ext-1.0.0 for 30s (timeout 20m)`), []);
  assert.deepEqual(p.feed(`${at('42')} INFO ExtHandler [Other.Ext-1.0.0] Download progress: Other.Ext-1.0.0 package: 1 B in 10s at 0 B/s from h/p`), []);
});

test('on a terminal the live line shows a download\'s bytes and a command\'s time against its timeout', () => {
  const term = terminal();
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  let clock = now;
  const t = new Timeline(term.out, now, () => clock);
  const monitor = new RunMonitor('Pub.Ext', t, now, [], 120_000);
  try {
    monitor.agentLine(`${at('00')} INFO ExtHandler [Pub.Ext-1.0.0] Downloading Pub.Ext-1.0.0`);
    clock = now + 12_000;
    monitor.agentLine(`${at('12')} INFO ExtHandler [Pub.Ext-1.0.0] Download progress: Pub.Ext-1.0.0 package: 3.0 MiB of 6.0 MiB (50%) in 12s at 256.0 KiB/s from h/p`);
    assert.match(term.screen(), /^ +\S downloading 1\.0\.0: 3\.0 MiB of 6\.0 MiB \(50%\) at 256\.0 KiB\/s · 12\.0 s$/);
    monitor.agentLine(`${at('24')} INFO ExtHandler [Pub.Ext-1.0.0] Downloaded Pub.Ext-1.0.0 package: 6.0 MiB in 24s at 256.0 KiB/s`);
    clock = now + 25_000;
    monitor.agentLine(`${at('25')} INFO ExtHandler [Pub.Ext-1.0.0] Unpacked Pub.Ext-1.0.0: 2 files, 6291456 bytes`);
    assert.match(term.all(), /download 1\.0\.0: 2 files, 6291456 bytes in 25\.00 s \(transfer: 6\.0 MiB in 24s at 256\.0 KiB\/s\)\n/);
    monitor.agentLine(`${at('25')} INFO ExtHandler [Pub.Ext-1.0.0] Enable extension: [bin/x.sh enable]`);
    clock = now + 25_000 + 150_000;
    t.update('nothing-running', 'ignored');
    t.raw('another line'); // redraws the live line after it
    assert.match(term.screen(), /^ +\S enable 1\.0\.0 running \[bin\/x\.sh enable\] · 150\.0 s of 2m timeout$/);
    assert.ok(!term.all().includes('ignored'));
  } finally {
    t.close();
  }
  assert.equal(term.screen(), '', 'cleared at the end');
});

test('the live line is cut to the terminal width', () => {
  const term = terminal(40);
  const t = new Timeline(term.out, 0, () => 5000);
  try {
    t.begin('x', 'a label much longer than forty columns, which would wrap', 0, 60_000);
    assert.equal(term.screen().length, 39);
    assert.ok(term.screen().endsWith('…'));
  } finally {
    t.close();
  }
});
