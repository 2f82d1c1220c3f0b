import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_VERSION, runningVersion } from '../../../src/version.js';

test('the running version comes from the install directory <lib>/waagent-ts-X.Y.Z/, else the built-in one', () => {
  assert.equal(runningVersion('file:///var/lib/waagent/waagent-ts-1.2.3/dist/src/version.js'), '1.2.3');
  assert.equal(runningVersion('file:///var/lib/waagent/waagent-ts-1.2.3.4/dist/src/version.js'), '1.2.3.4');
  assert.equal(runningVersion('file:///usr/lib/node_modules/waagent-ts/dist/src/version.js'), AGENT_VERSION);
  assert.equal(runningVersion('file:///x/waagent-ts-1.2.3/other/version.js'), AGENT_VERSION);
  assert.equal(runningVersion(), AGENT_VERSION);
});
