import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { MissingRoleInstanceError, parseGoalState } from '../../../src/protocol/schemas/goal-state.js';
import { readWireFixture } from './fixtures.js';

const full = readWireFixture('goal-state.xml');

test('parses the goal state fields', () => {
  const gs = parseGoalState(full);
  assert.deepEqual(gs, {
    incarnation: '7',
    containerId: '0a1b2c3d-1111-2222-3333-444455556666',
    roleInstanceId: '5e6f7a8b-aaaa-bbbb-cccc-ddddeeeeffff.vm-under-test',
    roleConfigName: '5e6f7a8b-aaaa-bbbb-cccc-ddddeeeeffff.3.5e6f7a8b-aaaa-bbbb-cccc-ddddeeeeffff.4.vm-under-test.1.xml',
    hostingEnvironmentConfigUrl: 'http://127.0.0.1:80/machine/0a1b2c3d/role?comp=config&type=hostingEnvironmentConfig&incarnation=7',
    sharedConfigUrl: 'http://127.0.0.1:80/machine/0a1b2c3d/role?comp=config&type=sharedConfig&incarnation=7',
    extensionsConfigUrl: 'http://127.0.0.1:80/machine/0a1b2c3d/role?comp=config&type=extensionsConfig&incarnation=7',
    certificatesUrl: 'http://127.0.0.1:80/machine/0a1b2c3d/role?comp=certificates&incarnation=7',
    // surrounding whitespace in the element text is trimmed
    remoteAccessInfoUrl: 'http://127.0.0.1:80/machine/0a1b2c3d/remote?comp=remoteaccess&incarnation=7',
  });
  assert.ok(Object.isFrozen(gs));
});

test('a leading BOM is ignored', () => {
  assert.equal(parseGoalState('\ufeff' + full).incarnation, '7');
});

test('ExtensionsConfig, Certificates and RemoteAccessInfo are optional', () => {
  const xml = full
    .replace(/<ExtensionsConfig>.*<\/ExtensionsConfig>/, '')
    .replace(/<Certificates>.*<\/Certificates>/, '')
    .replace(/<RemoteAccessInfo>[\s\S]*<\/RemoteAccessInfo>/, '');
  const gs = parseGoalState(xml);
  assert.equal(gs.extensionsConfigUrl, null);
  assert.equal(gs.certificatesUrl, null);
  assert.equal(gs.remoteAccessInfoUrl, null);
});

test('a goal state without RoleInstance raises the retryable MissingRoleInstanceError', () => {
  const xml = full.replace(/<RoleInstanceList>[\s\S]*<\/RoleInstanceList>/, '');
  assert.throws(
    () => parseGoalState(xml),
    (e: unknown) =>
      e instanceof MissingRoleInstanceError &&
      e instanceof ProtocolError &&
      e.retryable &&
      e.incarnation === '7' &&
      e.message === 'Fetched goal state without a RoleInstance [incarnation 7]',
  );
});

for (const [tag, field] of [
  ['HostingEnvironmentConfig', 'HostingEnvironmentConfig'],
  ['SharedConfig', 'SharedConfig'],
  ['Incarnation', 'Incarnation'],
  ['ContainerId', 'Container/ContainerId'],
  ['ConfigName', 'RoleInstance/Configuration/ConfigName'],
  ['InstanceId', 'RoleInstance/InstanceId'],
] as const) {
  test(`a missing ${tag} is a parse error naming it`, () => {
    const xml = full.replace(new RegExp(`<${tag}>[^<]*</${tag}>`), '');
    assert.throws(
      () => parseGoalState(xml),
      (e: unknown) =>
        e instanceof ProtocolError &&
        !(e instanceof MissingRoleInstanceError) &&
        e.code === 'WAA_PROTOCOL_PARSE' &&
        e.message === `Cannot parse GoalState as ${field} is missing`,
    );
  });
}

test('an empty required element counts as missing', () => {
  const xml = full.replace(/<SharedConfig>[^<]*<\/SharedConfig>/, '<SharedConfig></SharedConfig>');
  assert.throws(() => parseGoalState(xml), /GoalState as SharedConfig is missing/);
});
