import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goalStateAgentVersion, versionText } from '../../../src/cli/commands/version.js';
import { AGENT_NAME, AGENT_VERSION } from '../../../src/version.js';

/** A fake /proc: pid -> NUL-separated command line (undefined: a pid directory without cmdline). */
async function withProc(procs: Record<string, string[] | undefined>, fn: (dir: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'waagent-cli-proc-'));
  try {
    for (const [pid, argv] of Object.entries(procs)) {
      await mkdir(join(dir, pid));
      if (argv) await writeFile(join(dir, pid, 'cmdline'), argv.join('\0') + '\0');
    }
    fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('goalStateAgentVersion finds the running -run-exthandlers process version', () =>
  withProc({
    '1': ['/sbin/init'],
    '42': ['node', `/var/lib/waagent/${AGENT_NAME}-9.8.7/bin/waagent.js`, '-run-exthandlers'],
    self: ['ignored'],
  }, (dir) => assert.equal(goalStateAgentVersion(dir), '9.8.7')));

test('goalStateAgentVersion accepts four-part versions', () =>
  withProc({ '7': ['node', `/var/lib/waagent/${AGENT_NAME}-1.2.3.4/bin/waagent.js`, '-run-exthandlers'] },
    (dir) => assert.equal(goalStateAgentVersion(dir), '1.2.3.4')));

test('goalStateAgentVersion ignores the daemon and other agents, and falls back to our version', () =>
  withProc({
    '10': ['node', `/var/lib/waagent/${AGENT_NAME}-9.8.7/bin/waagent.js`, '-daemon'],
    '11': ['python3', '-u', '/var/lib/waagent/WALinuxAgent-2.15.0.1/bin/WALinuxAgent-2.15.0.1-py3.12.egg', '-run-exthandlers'],
    '12': ['node', `/tmp/${AGENT_NAME}-test-abc/main.js`, '-run-exthandlers'],
    '13': undefined,
  }, (dir) => assert.equal(goalStateAgentVersion(dir), AGENT_VERSION)));

test('goalStateAgentVersion without a readable proc dir is our version', () => {
  assert.equal(goalStateAgentVersion('/nonexistent-proc-dir'), AGENT_VERSION);
});

test('versionText is exactly three lines in upstream order', () => {
  const lines = versionText().split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[3], '');
  assert.match(lines[0]!, new RegExp(`^${AGENT_NAME}-${AGENT_VERSION.replaceAll('.', '\\.')} running on \\S+ .*$`));
  assert.equal(lines[1], `Node.js: ${process.version}`);
  assert.match(lines[2]!, /^Goal state agent: \d+(\.\d+){1,3}$/);
});
