import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_KEYS, buildConfig, CONFIG_KEYS, DEFAULT_CONFIG, isPresent } from '../../../src/config/schema.js';

test('DEFAULT_CONFIG holds the code defaults with their types', () => {
  assert.equal(DEFAULT_CONFIG['Lib.Dir'], '/var/lib/waagent');
  assert.equal(DEFAULT_CONFIG['Extensions.GoalStatePeriod'], 6);
  assert.equal(DEFAULT_CONFIG['Logs.Verbose'], false);
  assert.equal(DEFAULT_CONFIG['Logs.Console'], true);
  assert.equal(DEFAULT_CONFIG['ResourceDisk.Filesystem'], 'ext3');
  assert.equal(DEFAULT_CONFIG['OS.EnableFirewall'], false);
  assert.equal(DEFAULT_CONFIG['OS.EnableFirewallPeriod'], 300);
  assert.equal(DEFAULT_CONFIG['OS.SshClientAliveInterval'], 180);
  assert.equal(DEFAULT_CONFIG['HttpProxy.Host'], null);
  assert.equal(DEFAULT_CONFIG['HttpProxy.Port'], null);
  assert.equal(DEFAULT_CONFIG['OS.RootDeviceScsiTimeout'], null);
  assert.equal(DEFAULT_CONFIG['Debug.AgentMemoryQuota'], 31457280);
  assert.equal(DEFAULT_CONFIG['Debug.SelfUpdateHotfixFrequency'], 14400);
  assert.equal(DEFAULT_CONFIG['Debug.SelfUpdateRegularFrequency'], 86400);
  assert.equal(DEFAULT_CONFIG['Debug.EnableCgroupV2ResourceLimiting'], true);
  assert.equal(DEFAULT_CONFIG['Extensions.WaitForCloudInitTimeout'], 3600);
  assert.equal(DEFAULT_CONFIG['Extensions.CommandTimeout'], 1200);
  assert.equal(DEFAULT_CONFIG['Extensions.LongCommandTimeout'], 5400);
  assert.equal(DEFAULT_CONFIG['Extensions.InitialGoalStatePeriod'], 6);
  assert.equal(DEFAULT_CONFIG['AutoUpdate.UpdateToLatestVersion'], true);
  assert.equal(isPresent(DEFAULT_CONFIG, 'AutoUpdate.UpdateToLatestVersion'), false);
});

test('every key has a default that satisfies its own schema', () => {
  assert.equal(ALL_KEYS.length, 83); // the 79 keys of §9 + our two timeouts + our two crash-loop limits
  for (const key of ALL_KEYS) {
    const spec = CONFIG_KEYS[key];
    assert.ok(spec.schema.safeParse(spec.default).success, key);
    assert.equal(typeof DEFAULT_CONFIG[key], spec.default === null ? 'object' : typeof spec.default, key);
  }
});

test('derived defaults follow the keys they derive from unless set', () => {
  const a = buildConfig({ 'Extensions.GoalStatePeriod': 10, 'AutoUpdate.Enabled': false });
  assert.equal(a['Extensions.InitialGoalStatePeriod'], 10);
  assert.equal(a['AutoUpdate.UpdateToLatestVersion'], false);
  assert.equal(isPresent(a, 'AutoUpdate.UpdateToLatestVersion'), false);
  const b = buildConfig({ 'Extensions.InitialGoalStatePeriod': 2, 'AutoUpdate.Enabled': false, 'AutoUpdate.UpdateToLatestVersion': true });
  assert.equal(b['Extensions.InitialGoalStatePeriod'], 2);
  assert.equal(b['AutoUpdate.UpdateToLatestVersion'], true);
  assert.equal(isPresent(b, 'AutoUpdate.UpdateToLatestVersion'), true);
});

test('DEFAULT_CONFIG is frozen', () => {
  assert.ok(Object.isFrozen(DEFAULT_CONFIG));
  assert.throws(() => {
    (DEFAULT_CONFIG as { 'Lib.Dir': string })['Lib.Dir'] = '/tmp';
  }, TypeError);
});
