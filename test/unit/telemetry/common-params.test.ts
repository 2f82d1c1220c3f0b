import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSystemFacts, utcTimestamp } from '../../../src/telemetry/common-params.js';
import { AGENT_PROVIDER_ID, LOG_EVENT_ID, LOG_PROVIDER_ID } from '../../../src/telemetry/event.js';
import { commonParams } from './helpers.js';

const ORIGIN = { pid: 42, tid: 7, taskName: 'ExtHandler' };

test('utcTimestamp prints microseconds, as create_utc_timestamp', () => {
  assert.equal(utcTimestamp(Date.UTC(2020, 0, 31, 0, 6, 54, 74) + 0.757), '2020-01-31T00:06:54.074757Z');
  assert.equal(utcTimestamp(Date.UTC(2020, 0, 31, 0, 6, 54)), '2020-01-31T00:06:54.000000Z');
  assert.equal(utcTimestamp(Date.UTC(2020, 0, 31, 0, 6, 54, 999) + 0.999), '2020-01-31T00:06:54.999999Z');
});

test('operation events get ExtensionType and IsInternal after TaskName; the order is upstream\'s', () => {
  const p = commonParams().for({ eventId: 1, providerId: AGENT_PROVIDER_ID, fileType: 'json' }, Date.UTC(2024, 0, 1), ORIGIN);
  assert.deepEqual(p.map((x) => x.name), [
    'GAVersion', 'ContainerId', 'OpcodeName', 'EventTid', 'EventPid', 'TaskName', 'ExtensionType', 'IsInternal',
    'OSVersion', 'ExecutionMode', 'RAM', 'Processors', 'KeywordName', 'TenantName', 'RoleName', 'RoleInstanceName',
    'Location', 'SubscriptionId', 'ResourceGroupName', 'VMId', 'ImageOrigin',
  ]);
  const v = Object.fromEntries(p.map((x) => [x.name, x.value]));
  assert.equal(v.GAVersion, 'waagent-ts-9.9.9');
  assert.equal(v.ContainerId, 'UNINITIALIZED');
  assert.equal(v.OpcodeName, '2024-01-01T00:00:00.000000Z');
  assert.equal(v.EventTid, 7);
  assert.equal(v.EventPid, 42);
  assert.equal(v.ExtensionType, 'json');
  assert.equal(v.IsInternal, false);
  assert.equal(v.ExecutionMode, 'IAAS');
  assert.equal(v.KeywordName, '{"CpuArchitecture": "x86_64"}');
  assert.equal(v.TenantName, 'TenantName_UNINITIALIZED');
  assert.equal(v.ImageOrigin, 0);
});

test('log events have no ExtensionType/IsInternal; goal-state identity fills the placeholders', () => {
  const id = { containerId: 'c-1', tenantName: 'dep', roleName: 'role', roleInstanceName: 'inst' };
  const p = commonParams(id).for({ eventId: LOG_EVENT_ID, providerId: LOG_PROVIDER_ID, fileType: '' }, 0, ORIGIN);
  const v = Object.fromEntries(p.map((x) => [x.name, x.value]));
  assert.equal('ExtensionType' in v, false);
  assert.equal('IsInternal' in v, false);
  assert.deepEqual([v.ContainerId, v.TenantName, v.RoleName, v.RoleInstanceName], ['c-1', 'dep', 'role', 'inst']);
});

test('system facts have upstream\'s shapes', () => {
  const f = readSystemFacts({ id: 'ubuntu', version: '22.04', codename: 'jammy', hostname: 'h' });
  assert.match(f.osVersion, /^Linux:ubuntu-22\.04-jammy:\S+$/);
  assert.ok(Number.isInteger(f.ramMb) && f.ramMb > 0);
  assert.ok(Number.isInteger(f.processors) && f.processors > 0);
  assert.ok(f.cpuArchitecture.length > 0);
});
