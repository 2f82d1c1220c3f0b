import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELP_COMMANDS, helpText, usageText } from '../../../src/cli/usage.js';

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

test('usage names the given argv0 and points at the help for the subcommands', () => {
  const text = usageText('/usr/sbin/waagent');
  assert.ok(text.includes('usage: /usr/sbin/waagent [-verbose]'));
  assert.match(text, /\/usr\/sbin\/waagent status\|emulate\|emulator \.\.\. +\(\/usr\/sbin\/waagent -help lists the commands\)/);
});

test('help: the upstream line first, then every command, options and examples named with argv0', () => {
  const text = helpText('/usr/sbin/waagent');
  assert.ok(text.startsWith(`\n${UPSTREAM.replace('usage: waagent', 'usage: /usr/sbin/waagent')}\n\nCommands:\n`), JSON.stringify(text));
  assert.ok(text.endsWith('\n\n'));
  for (const c of HELP_COMMANDS) assert.ok(text.includes(`  ${c.usage} `), c.usage);
  assert.match(text, /^  emulator --listen <addr> +run the fabric emulator$/m);
  assert.match(text, /^Examples:\n  \/usr\/sbin\/waagent -version$/m);
  assert.doesNotMatch(text, /^  waagent /m);
});
