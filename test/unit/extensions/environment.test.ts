import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  handlerEnvironmentFor,
  handlerEnvironmentJson,
  writeHandlerEnvironment,
} from '../../../src/extensions/environment.js';
import type { Paths } from '../../../src/state/paths.js';

const paths: Paths = {
  libDir: '/var/lib/waagent',
  extLogDir: '/var/log/azure',
  agentLogFile: '/var/log/waagent.log',
  confPath: '/etc/waagent.conf',
  pidFile: '/var/run/waagent.pid',
};

// Byte-exact: what WALinuxAgent 2.15 writes (json.dumps, this key order, version the float 1.0).
const GOLDEN =
  '[{"name": "Microsoft.Azure.Extensions.CustomScript", "version": 1.0, "handlerEnvironment": {' +
  '"logFolder": "/var/log/azure/Microsoft.Azure.Extensions.CustomScript", ' +
  '"configFolder": "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.6/config", ' +
  '"statusFolder": "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.6/status", ' +
  '"heartbeatFile": "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.6/heartbeat.log", ' +
  '"eventsFolder": "/var/log/azure/Microsoft.Azure.Extensions.CustomScript/events", ' +
  '"eventsFolder_preview": "/var/log/azure/Microsoft.Azure.Extensions.CustomScript/events"}}]';

test('HandlerEnvironment.json is byte-identical to upstream', () => {
  const env = handlerEnvironmentFor(paths, 'Microsoft.Azure.Extensions.CustomScript', '2.1.6');
  assert.equal(handlerEnvironmentJson(env), GOLDEN);
});

test('the CustomScript shim can find logFolder with its grep pattern', () => {
  const text = handlerEnvironmentJson(handlerEnvironmentFor(paths, 'A.B', '1.0'));
  // misc/custom-script-shim: grep -Po '"logFolder": "\K[^"]*' style lookups.
  assert.match(text, /"logFolder": "\/var\/log\/azure\/A\.B",/);
});

test('non-ASCII paths are escaped as Python does', () => {
  const env = { ...handlerEnvironmentFor(paths, 'A.B', '1.0'), logFolder: '/var/log/é' };
  assert.ok(handlerEnvironmentJson(env).includes('"logFolder": "/var/log/\\u00e9"'));
});

test('writeHandlerEnvironment writes the file in the handler dir', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'extfiles-env-'));
  try {
    const env = handlerEnvironmentFor(paths, 'Microsoft.Azure.Extensions.CustomScript', '2.1.6');
    const file = await writeHandlerEnvironment(dir, env);
    assert.equal(file, join(dir, 'HandlerEnvironment.json'));
    assert.equal(await readFile(file, 'utf8'), GOLDEN);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
