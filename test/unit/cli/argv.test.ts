import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeArgv, scanTopLevel } from '../../../src/cli/argv.js';

// Upstream spellings (agent-lifecycle.md §11) and what commander gets.
const TABLE: ReadonlyArray<readonly [readonly string[], readonly string[]]> = [
  [['-daemon'], ['--daemon']],
  [['/daemon'], ['--daemon']],
  [['//daemon'], ['--daemon']],
  [['--daemon'], ['--daemon']],
  [['-run-exthandlers'], ['--run-exthandlers']],
  [['-show-configuration'], ['--show-configuration']],
  [['-version'], ['--version']],
  [['/version'], ['--version']],
  [['-versionXYZ'], ['--version']],
  [['-verbose'], ['--verbose']],
  [['-verbose', '-version'], ['--verbose', '--version']],
  [['-version', '-verbose'], ['--version', '--verbose']],
  [['-debug', '-force'], ['--debug', '--force']],
  [['-configuration-path:/etc/x.conf'], ['--configuration-path', '/etc/x.conf']],
  [['/configuration-path:/etc/x.conf'], ['--configuration-path', '/etc/x.conf']],
  [['--configuration-path=/etc/x.conf'], ['--configuration-path', '/etc/x.conf']],
  [['--configuration-path', '/etc/x.conf'], ['--configuration-path', '/etc/x.conf']],
  // The value of a two-word option is a path, never an upstream flag spelled with `/`.
  [['--configuration-path', '/debug/x.conf'], ['--configuration-path', '/debug/x.conf']],
  [['--configuration-path', '/daemon.conf', '-daemon'], ['--configuration-path', '/daemon.conf', '--daemon']],
  [['-deprovision+user'], ['--deprovision-user']],
  [['-deprovision'], ['--deprovision']],
  [['-deprovision', '-force'], ['--deprovision', '--force']],
  [['-register-service'], ['--register-service']],
  [['-collect-logs', '-full'], ['--collect-logs', '--full']],
  [['-start'], ['--start']],
  [['-help'], ['--help']],
  [['-usage'], ['--help']],
  [['-?'], ['--help']],
  [['/?'], ['--help']],
  [['-setup-firewall=1.2.3.4'], ['--setup-firewall', '1.2.3.4']],
  [['-setup-firewall:1.2.3.4'], ['--setup-firewall', '1.2.3.4']],
  [['--setup-firewall', '1.2.3.4'], ['--setup-firewall', '1.2.3.4']],
  // The spelling of upstream agents before 2.13.
  [['-setup-firewall', '-dst_ip=1.2.3.4', '-uid=0', '-w'], ['--setup-firewall', '--dst-ip', '1.2.3.4', '--uid', '0', '--wait']],
  [['--setup-firewall', '--dst_ip=1.2.3.4', '--uid=0', '--wait'], ['--setup-firewall', '--dst-ip', '1.2.3.4', '--uid', '0', '--wait']],
  // Prefix matching is upstream's single-dash habit; GNU spellings match exactly and are left to commander.
  [['--versionXYZ'], ['--versionXYZ']],
  [['--bogus'], ['--bogus']],
  [['-bogus'], ['-bogus']],
  [['plain'], ['plain']],
  [[], []],
  // A subcommand and everything after it are untouched.
  [['emulator', '--listen', '1.2.3.4:80'], ['emulator', '--listen', '1.2.3.4:80']],
  [['emulator', '-version', '/daemon'], ['emulator', '-version', '/daemon']],
  [['-verbose', 'emulator', '-debug'], ['--verbose', 'emulator', '-debug']],
];

for (const [input, expected] of TABLE) {
  test(`normalizeArgv ${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(normalizeArgv(input), expected);
  });
}

test('normalizeArgv does not modify its input', () => {
  const input = Object.freeze(['-daemon', '-configuration-path:/x']);
  normalizeArgv(input);
  assert.deepEqual(input, ['-daemon', '-configuration-path:/x']);
});

test('a trailing two-word option without a value is passed on for commander to reject', () => {
  assert.deepEqual(normalizeArgv(['-daemon', '--configuration-path']), ['--daemon', '--configuration-path']);
});

test('scanTopLevel separates flags, option values and positionals', () => {
  const top = scanTopLevel(normalizeArgv(['-version', '-configuration-path:/etc/x.conf', 'extra']));
  assert.deepEqual([...top.flags].sort(), ['--configuration-path', '--version']);
  assert.deepEqual(top.positionals, ['extra']);
  assert.equal(top.configurationPath, '/etc/x.conf');
  assert.equal(top.subcommand, undefined);
});

test('scanTopLevel: the last configuration path wins, and a value is never a flag', () => {
  const top = scanTopLevel(['--configuration-path', '/a', '--configuration-path', '--help']);
  assert.equal(top.configurationPath, '--help');
  assert.ok(!top.flags.has('--help'));
});

test('scanTopLevel stops at a subcommand', () => {
  const top = scanTopLevel(normalizeArgv(['-verbose', 'emulator', '--help', '--configuration-path', '/x']));
  assert.equal(top.subcommand, 'emulator');
  assert.deepEqual([...top.flags], ['--verbose']);
  assert.equal(top.configurationPath, undefined);
});

test('scanTopLevel with no arguments', () => {
  const top = scanTopLevel([]);
  assert.equal(top.flags.size, 0);
  assert.deepEqual(top.positionals, []);
  assert.equal(top.subcommand, undefined);
});
