import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../../src/errors.js';
import { parseHostingEnvironment } from '../../../src/protocol/schemas/hosting-env.js';
import { readWireFixture } from './fixtures.js';

const xml = readWireFixture('hosting-env.xml');

test('reads the VM, role and deployment names', () => {
  assert.deepEqual(parseHostingEnvironment(xml), {
    vmName: 'vm-under-test',
    roleName: 'vm-under-test-role',
    deploymentName: 'f00dfeed0123456789abcdef01234567',
  });
});

test('a missing attribute reads as empty (minidom getAttribute)', () => {
  assert.equal(parseHostingEnvironment(xml.replace(' instance="vm-under-test"', '')).vmName, '');
});

test('a missing element is a parse error naming it', () => {
  assert.throws(
    () => parseHostingEnvironment(xml.replace(/<Role [^>]*\/>/, '')),
    (e: unknown) => e instanceof ProtocolError && e.message === 'Cannot parse HostingEnvironmentConfig as Role@name is missing',
  );
});
