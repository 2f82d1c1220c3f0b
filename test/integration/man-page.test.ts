// man/waagent.8: renders without a single groff or man warning, and documents what the CLI really offers: every
// command of `waagent -help`, every option of each subcommand's --help, the files, and configuration keys that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_MAIN, repoRoot } from '../helpers/agent.js';
import { HELP_COMMANDS, HELP_OPTIONS } from '../../src/cli/usage.js';
import { isConfigKey } from '../../src/config/schema.js';

const CI = process.env.CI === 'true';
const MAN_PAGE = join(repoRoot(), 'man', 'waagent.8');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const ENV = { ...process.env, LC_ALL: 'C.UTF-8', MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' };

/** A tool the test needs: mandatory under CI=true (.ci/run installs man-db, which brings groff-base). */
function need(t: { skip(msg: string): void }, cmd: string): boolean {
  if (has(cmd)) return true;
  assert.ok(!CI, `${cmd} is required under CI=true (apt-get install man-db)`);
  t.skip(`${cmd} is not installed (apt-get install --no-install-recommends man-db)`);
  return false;
}

function render(): string {
  const r = spawnSync('man', ['--warnings', '-E', 'UTF-8', '-l', MAN_PAGE], { encoding: 'utf8', env: ENV, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'man --warnings printed warnings');
  // Plain text: drop overstrike bold/underline if a formatter left any.
  return r.stdout.replace(/.\x08/g, '');
}

function subcommandHelp(cmd: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    `const m = await import(${JSON.stringify(AGENT_MAIN)}); process.exitCode = await m.main(process.argv.slice(1));`, '--', cmd, '--help'],
  { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('groff -man -ww: no warnings', (t) => {
  if (!need(t, 'groff')) return;
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', MAN_PAGE], { encoding: 'utf8', env: ENV, timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('man -l renders every section, within 80 columns', (t) => {
  if (!need(t, 'man')) return;
  const text = render();
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'CONFIGURATION', 'FILES', 'ENVIRONMENT', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO']) {
    assert.match(text, new RegExp(`^${section}$`, 'm'), section);
  }
  assert.match(text, /^ {7}waagent - Azure Linux guest agent \(waagent-ts\)$/m);
  for (const line of text.split('\n')) assert.ok(line.length <= 80, `wider than 80 columns: ${line}`);
});

test('every command and option of the help is documented', (t) => {
  if (!need(t, 'man')) return;
  const text = render();
  for (const e of [...HELP_COMMANDS, ...HELP_OPTIONS]) {
    // The command or option itself: `-collect-logs [-full]` -> -collect-logs, `-deprovision[+user]` -> -deprovision.
    const word = /^[-a-z?]+/.exec(e.usage)![0];
    assert.match(text, new RegExp(`^ {7}${word.replace('?', '\\?')}`, 'm'), `${word} has no entry of its own`);
  }
  for (const word of ['-full', '-deprovision+user', '-setup-firewall=IP', '-register-service', '-start', '--help']) assert.ok(text.includes(word), word);
});

test('every option of status, emulate and emulator --help is documented', (t) => {
  if (!need(t, 'man')) return;
  const text = render();
  for (const cmd of ['status', 'emulate', 'emulator']) {
    const options = [...subcommandHelp(cmd).matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]!).filter((o) => o !== '--help');
    assert.ok(options.length >= 2, `${cmd}: ${options.join(' ')}`);
    for (const o of options) assert.match(text, new RegExp(`^ {14}${o}\\b`, 'm'), `${cmd} ${o}`);
  }
});

test('FILES names the agent\'s files; CONFIGURATION names only keys that exist', (t) => {
  if (!need(t, 'man')) return;
  const text = render();
  const files = text.slice(text.indexOf('\nFILES\n'), text.indexOf('\nENVIRONMENT\n'));
  for (const f of ['/etc/waagent.conf', '/var/lib/waagent', '/var/log/waagent.log', '/var/log/azure']) assert.match(files, new RegExp(`^ {7}${f}$`, 'm'), f);
  const conf = text.slice(text.indexOf('\nCONFIGURATION\n'), text.indexOf('\nFILES\n'));
  const keys = [...conf.matchAll(/^ {7}([A-Z][A-Za-z]*\.[A-Za-z.]+)(?:, ([A-Z][A-Za-z]*\.[A-Za-z.]+))?$/gm)].flatMap((m) => m.slice(1).filter((k): k is string => k !== undefined));
  assert.ok(keys.length >= 10, keys.join(' '));
  for (const k of keys) assert.ok(isConfigKey(k), `${k} is not a configuration key`);
});

test('the source has no trailing whitespace and no hand-made hyphens that groff would turn into dashes', () => {
  const src = readFileSync(MAN_PAGE, 'utf8');
  for (const [i, line] of src.split('\n').entries()) {
    assert.doesNotMatch(line, /[ \t]$/, `line ${i + 1}: trailing whitespace`);
    if (line.startsWith('.\\"')) continue;
    // Options and paths are written \- so that they copy and paste as ASCII hyphens.
    assert.doesNotMatch(line, /(?:^|[\s[{(|"])-[a-z]/, `line ${i + 1}: unescaped "-" in ${line}`);
  }
});
