import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/errors.js';
import { parseConfig, parseLine } from '../../../src/config/parse.js';
import { isPresent, PRESENT } from '../../../src/config/schema.js';

const parse = (text: string) => parseConfig(text, '/etc/waagent.conf');

test('values are typed: switch, int, string', () => {
  const { config, warnings } = parse(
    ['Logs.Verbose=Y', 'OS.EnableFirewall=n', 'Extensions.GoalStatePeriod=12', 'Lib.Dir=/srv/waagent', 'HttpProxy.Port=3128'].join('\n'),
  );
  assert.equal(config['Logs.Verbose'], true);
  assert.equal(config['OS.EnableFirewall'], false);
  assert.equal(config['Extensions.GoalStatePeriod'], 12);
  assert.equal(config['Lib.Dir'], '/srv/waagent');
  assert.equal(config['HttpProxy.Port'], 3128);
  assert.deepEqual(warnings, []);
});

test('absent keys take code defaults; derived defaults follow their source', () => {
  const { config } = parse('Extensions.GoalStatePeriod=9\nAutoUpdate.Enabled=n\n');
  assert.equal(config['Logs.Console'], true);
  assert.equal(config['ResourceDisk.Filesystem'], 'ext3');
  assert.equal(config['Extensions.InitialGoalStatePeriod'], 9);
  assert.equal(config['AutoUpdate.UpdateToLatestVersion'], false);
  assert.equal(isPresent(config, 'AutoUpdate.UpdateToLatestVersion'), false);
});

test('AutoUpdate.UpdateToLatestVersion overrides AutoUpdate.Enabled and is recorded as present', () => {
  const { config } = parse('AutoUpdate.Enabled=n\nAutoUpdate.UpdateToLatestVersion=y\n');
  assert.equal(config['AutoUpdate.Enabled'], false);
  assert.equal(config['AutoUpdate.UpdateToLatestVersion'], true);
  assert.equal(isPresent(config, 'AutoUpdate.UpdateToLatestVersion'), true);
});

test('later lines override earlier ones; None resets to the default', () => {
  const { config } = parse('Logs.CollectPeriod=100\nLogs.CollectPeriod=200\nLib.Dir=/x\nLib.Dir=None\n');
  assert.equal(config['Logs.CollectPeriod'], 200);
  assert.equal(config['Lib.Dir'], '/var/lib/waagent');
  const none = parse('AutoUpdate.UpdateToLatestVersion=n\nAutoUpdate.UpdateToLatestVersion=None\n').config;
  assert.equal(isPresent(none, 'AutoUpdate.UpdateToLatestVersion'), false);
  assert.equal(none['AutoUpdate.UpdateToLatestVersion'], true);
});

test('quotes, spaces and trailing comments are stripped as upstream does', () => {
  assert.deepEqual(parseLine('  Lib.Dir = "/a b" # where state lives'), { key: 'Lib.Dir', value: '/a b' });
  // Upstream quirk kept: a CR hides the closing quote from strip('" '), so the quote survives.
  assert.deepEqual(parseLine('Provisioning.Agent="auto"\r'), { key: 'Provisioning.Agent', value: 'auto"' });
  assert.deepEqual(parseLine('Provisioning.Agent=auto\r'), { key: 'Provisioning.Agent', value: 'auto' });
  assert.deepEqual(parseLine('HttpProxy.Host=None'), { key: 'HttpProxy.Host', value: null });
  assert.deepEqual(parseLine('A=b=c'), { key: 'A', value: 'b=c' });
  assert.equal(parseLine('# Lib.Dir=/x'), undefined);
  assert.equal(parseLine('no equals sign here'), undefined);
  const { config } = parse('ResourceDisk.MountOptions = "nodev,nosuid" # opts\nOS.RootDeviceScsiTimeout=300\n');
  assert.equal(config['ResourceDisk.MountOptions'], 'nodev,nosuid');
  assert.equal(config['OS.RootDeviceScsiTimeout'], '300');
});

test('commented-out and blank lines are skipped', () => {
  const { config, warnings } = parse('#Logs.Verbose=y\n\n# comment\nLogs.Verbose=n\n');
  assert.equal(config['Logs.Verbose'], false);
  assert.deepEqual(warnings, []);
});

test('an empty value for a key whose default is None means unset', () => {
  const { config } = parse('HttpProxy.Host=\nHttpProxy.Port=\n');
  assert.equal(config['HttpProxy.Host'], null);
  assert.equal(config['HttpProxy.Port'], null);
});

test('a bad value throws ConfigError naming file, line and key', () => {
  const cases: [string, string][] = [
    ['Logs.Verbose=maybe', "/etc/waagent.conf:2 has an invalid value for Logs.Verbose: expected y or n, got 'maybe'"],
    ['Extensions.GoalStatePeriod=abc', "/etc/waagent.conf:2 has an invalid value for Extensions.GoalStatePeriod: expected an integer >= 1, got 'abc'"],
    ['Extensions.GoalStatePeriod=0', "invalid value for Extensions.GoalStatePeriod: expected an integer >= 1, got '0'"],
    ['OS.EnableFirewallPeriod=-30', "invalid value for OS.EnableFirewallPeriod: expected an integer >= 1, got '-30'"],
    ['Logs.CollectPeriod=1.5', "invalid value for Logs.CollectPeriod: expected an integer >= 1, got '1.5'"],
    ['HttpProxy.Port=70000', "invalid value for HttpProxy.Port: expected a port number (1-65535), got '70000'"],
    ['Lib.Dir=', "invalid value for Lib.Dir: expected a non-empty string, got ''"],
    ['Extensions.Enabled=', "invalid value for Extensions.Enabled: expected y or n, got ''"],
  ];
  for (const [line, message] of cases) {
    assert.throws(
      () => parse(`# header\n${line}\n`),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, line);
        assert.equal(err.code, 'WAA_CONFIG');
        assert.ok(err.message.startsWith('Cannot load configuration as /etc/waagent.conf:2 has'), err.message);
        assert.ok(err.message.includes(message), `${err.message} !~ ${message}`);
        return true;
      },
    );
  }
});

test('zero is accepted where it is meaningful', () => {
  const { config } = parse('ResourceDisk.SwapSizeMB=0\nExtensions.WaitForCloudInitTimeout=0\nOS.SshClientAliveInterval=0\n');
  assert.equal(config['ResourceDisk.SwapSizeMB'], 0);
  assert.equal(config['Extensions.WaitForCloudInitTimeout'], 0);
  assert.equal(config['OS.SshClientAliveInterval'], 0);
});

test('Extensions.WaitForCloudInitTimeout is read as an int (upstream bug fixed)', () => {
  assert.equal(parse('Extensions.WaitForCloudInitTimeout=600\n').config['Extensions.WaitForCloudInitTimeout'], 600);
  assert.throws(() => parse('Extensions.WaitForCloudInitTimeout=y\n'), ConfigError);
});

test('integers parse like Python int()', () => {
  const { config } = parse('Logs.CollectPeriod=+0100\nDebug.AgentMemoryQuota=1_000_000\n');
  assert.equal(config['Logs.CollectPeriod'], 100);
  assert.equal(config['Debug.AgentMemoryQuota'], 1000000);
});

test('unknown keys produce a warning naming file:line and key, not an error', () => {
  const { config, warnings } = parse('Logs.Verbose=y\nProvisioning.Enabled=y\nlogs.verbose=n\n');
  assert.equal(config['Logs.Verbose'], true); // keys are case-sensitive
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /Provisioning\.Enabled.*\/etc\/waagent\.conf:2/);
  assert.match(warnings[1]!, /logs\.verbose.*\/etc\/waagent\.conf:3/);
});

test('an empty text throws ConfigError', () => {
  assert.throws(() => parse(''), (err: unknown) => err instanceof ConfigError && /\/etc\/waagent\.conf is empty/.test(err.message));
});

test('the result is deeply frozen', () => {
  const result = parse('Lib.Dir=/x\nUnknown.Key=1\n');
  assert.ok(Object.isFrozen(result));
  assert.ok(Object.isFrozen(result.config));
  assert.ok(Object.isFrozen(result.warnings));
  assert.ok(Object.isFrozen(result.config[PRESENT]));
  assert.throws(() => {
    (result.config as { 'Lib.Dir': string })['Lib.Dir'] = '/y';
  }, TypeError);
  assert.throws(() => (result.warnings as string[]).push('x'), TypeError);
});

test('a CRLF file loads: the \\r is dropped before quotes are stripped (upstream would read `y"`)', () => {
  const { config } = parseConfig('Logs.Verbose="y"\r\nExtensions.GoalStatePeriod=7\r\n', 'crlf.conf');
  assert.equal(config['Logs.Verbose'], true);
  assert.equal(config['Extensions.GoalStatePeriod'], 7);
});
