// Telemetry end to end: the real agent process, the emulator, and a handler that writes ETP event files on enable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmulator } from '../../src/emulator/server.js';
import type { TelemetryEventRecord } from '../../src/emulator/recorder.js';
import { eventually, fixtureHandler, startAgent, tempRoot } from '../helpers/agent.js';

const NAME = 'Test.Eventer';
const AGENT_PROVIDER = '69B669B9-4AF8-4C50-BDC4-6006FA76E975';
const LOG_PROVIDER = 'FFF0196F-EE4C-4EAF-9AA5-776F622DEB4F';

const param = (e: TelemetryEventRecord, name: string) => e.params.find((p) => p.name === name);
const value = (e: TelemetryEventRecord, name: string) => param(e, name)?.value;

test('extension ETP events and the agent\'s operation events reach the fabric with their provider ids', async (t) => {
  const emu = await createEmulator({ scenario: { extensions: [{ name: NAME, version: '1.0.0', state: 'enabled', seqNo: 0, packageDir: fixtureHandler('eventer') }] } });
  const root = await tempRoot({ 'Debug.EtpCollectionPeriod': '1' });
  const agent = startAgent(root, emu, ['-run-exthandlers'], { WAAGENT_TS_EVENT_PERIOD_MS: '300', WAAGENT_TS_TELEMETRY_BATCH_MS: '200' });
  t.after(async () => {
    await agent.stop();
    await emu.close();
    await root.cleanup();
  });
  const events = () => emu.state.telemetry().flatMap((r) => r.events);
  const etp = () => events().filter((e) => value(e, 'EventName') === `${NAME}-1.0.0`);
  const ops = (op: string) => events().filter((e) => value(e, 'Name') === NAME && value(e, 'Operation') === op);
  const logEvent = () => events().find((e) => value(e, 'EventName') === 'Log' && /Dropped events for Extension: Test\.Eventer/.test(value(e, 'Context1') ?? ''));
  // Generous: on a loaded CI machine the agent, its collectors and the sender all share two cores.
  await emu.state.waitUntil(() => etp().length >= 2 && ops('Enable').length >= 1 && logEvent() !== undefined, 120_000, 'ETP, Enable and log events')
    .catch(async (err) => {
      const seen = `etp=${etp().length} enable=${ops('Enable').length} log=${logEvent() !== undefined} events=${events().length}`;
      throw new Error(`${(err as Error).message} (${seen})\nagent log tail:\n${(await agent.log()).slice(-3000)}`);
    });

  // Extension events: provider FFF0196F, id 7, EventName <Handler>-<Version>; the empty-message event was dropped.
  const ext = etp();
  assert.equal(ext.length, 2, JSON.stringify(ext.map((e) => value(e, 'Context1'))));
  for (const e of ext) {
    assert.equal(e.providerId, LOG_PROVIDER);
    assert.equal(e.eventId, '7');
    assert.equal(value(e, 'Context3'), 'op-0');
    assert.equal(param(e, 'EventPid')?.type, 'mt:wstr');
  }
  const byTask = Object.fromEntries(ext.map((e) => [value(e, 'TaskName'), e]));
  assert.equal(value(byTask.Enable!, 'Context1'), 'eventer enabled seq 0');
  assert.equal(value(byTask.Enable!, 'CapabilityUsed'), 'Informational');
  assert.equal(value(byTask.Download!, 'Context1'), 'fetched https://example.blob.core.windows.net/c/f?<redacted>');
  assert.equal(value(byTask.Download!, 'CapabilityUsed'), 'Warning');
  assert.deepEqual([value(byTask.Download!, 'EventPid'), value(byTask.Download!, 'EventTid')], ['7', '8']);

  // Agent operation events: provider 69B669B9, id 1, typed params, and the agent's common params.
  const [enable] = ops('Enable');
  assert.equal(enable!.providerId, AGENT_PROVIDER);
  assert.equal(enable!.eventId, '1');
  assert.deepEqual(enable!.params.slice(0, 6).map((p) => [p.name, p.type]), [
    ['Name', 'mt:wstr'], ['Version', 'mt:wstr'], ['Operation', 'mt:wstr'], ['OperationSuccess', 'mt:bool'], ['Message', 'mt:wstr'], ['Duration', 'mt:uint64'],
  ]);
  assert.equal(value(enable!, 'Version'), '1.0.0');
  assert.equal(value(enable!, 'OperationSuccess'), 'True');
  assert.match(value(enable!, 'Message')!, /^Command: bin\/eventer\.sh enable\n/);
  assert.match(value(enable!, 'GAVersion')!, /^waagent-ts-\d+\.\d+\.\d+/);
  assert.notEqual(value(enable!, 'ContainerId'), 'UNINITIALIZED', 'the goal state identity is known by then');
  assert.equal(value(enable!, 'ExtensionType'), '');
  assert.ok(ops('Install').length >= 1, 'Install was reported too');
  await emu.state.waitUntil(() => events().some((e) => value(e, 'Operation') === 'ExtensionProcessing' && /completed/.test(value(e, 'Message') ?? '')), 30_000, 'ExtensionProcessing');

  // Nothing secret on the wire; the handler's events folder was emptied (malformed and dropped files too).
  for (const r of emu.state.telemetry()) assert.ok(!r.raw.includes('SECRETSIG'));
  await eventually(async () => (await readdir(join(root.extLogDir, NAME, 'events'))).length === 0, 10_000, 'events folder emptied');
  const log = await agent.log();
  assert.match(log, /Failed to process 1 event file\(s\) of extension Test\.Eventer/);
  assert.match(log, /Reason: EmptyMessageError: Message should not be empty; Dropped Count: 1/);
});
