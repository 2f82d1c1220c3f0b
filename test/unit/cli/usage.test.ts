import { test } from 'node:test';
import assert from 'node:assert/strict';
import { usageText } from '../../../src/cli/usage.js';

// Upstream's usage line, verbatim (agent-lifecycle.md §11); scripts grep for it.
const UPSTREAM = 'usage: waagent [-verbose] [-force] [-help] -configuration-path:<path to configuration file>' +
  '-deprovision[+user]|-register-service|-version|-daemon|-start|-run-exthandlers|-show-configuration|' +
  '-collect-logs [-full]|-setup-firewall=<IP>]';

test('usage starts with a newline, then the upstream line verbatim', () => {
  const text = usageText('waagent');
  assert.ok(text.startsWith(`\n${UPSTREAM}\n`), JSON.stringify(text));
});

test('usage is followed by a blank line', () => {
  assert.ok(usageText('waagent').endsWith('\n\n'));
});

test('usage names the given argv0 and lists the emulator subcommand', () => {
  const text = usageText('/usr/sbin/waagent');
  assert.ok(text.includes('usage: /usr/sbin/waagent [-verbose]'));
  assert.match(text, /\/usr\/sbin\/waagent emulator --listen/);
});
