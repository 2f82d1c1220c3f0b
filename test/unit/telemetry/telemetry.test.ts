import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExtensionsGoalState } from '../../../src/protocol/goal-state.js';
import { withProcessingEvents } from '../../../src/telemetry/agent-telemetry.js';
import { Telemetry, telemetryOptions } from '../../../src/telemetry/telemetry.js';
import { captureLogger, FACTS, fakeClock, tempDir, until } from './helpers.js';

test('telemetryOptions: upstream periods by default, test knobs from the environment', () => {
  assert.deepEqual(telemetryOptions(300), { eventPeriodMs: 60_000, etpPeriodMs: 300_000, batchWaitMs: 5000, fileRetryDelayMs: 1000, stopFlushMs: 5000 });
  const o = telemetryOptions(1, { WAAGENT_TS_EVENT_PERIOD_MS: '250', WAAGENT_TS_TELEMETRY_BATCH_MS: '100' });
  assert.deepEqual([o.eventPeriodMs, o.etpPeriodMs, o.batchWaitMs], [250, 1000, 100]);
  const bad = telemetryOptions(1, { WAAGENT_TS_EVENT_PERIOD_MS: 'soon', WAAGENT_TS_TELEMETRY_BATCH_MS: '0' });
  assert.deepEqual([bad.eventPeriodMs, bad.batchWaitMs], [60_000, 5000]);
});

async function service(t: Parameters<typeof tempDir>[0]) {
  const root = await tempDir(t);
  const paths = { libDir: join(root, 'lib'), extLogDir: join(root, 'log'), agentLogFile: join(root, 'waagent.log'), confPath: '', pidFile: '' };
  const clock = fakeClock(Date.now(), 1);
  const bodies: string[] = [];
  const tel = new Telemetry({
    clock, logger: captureLogger(), paths, send: async (b) => void bodies.push(b), facts: FACTS, identity: () => ({ containerId: 'cid' }),
    agentName: 'WALinuxAgent', agentVersion: '9.9.9', gaVersion: 'waagent-ts-9.9.9',
  }, { eventPeriodMs: 60_000, etpPeriodMs: 300_000, batchWaitMs: 5000, fileRetryDelayMs: 0, stopFlushMs: 1000 });
  return { root, paths, clock, bodies, tel };
}

test('the service collects agent and extension events on its own loop and sends them; stop sends what is queued', async (t) => {
  const s = await service(t);
  const etpDir = join(s.paths.extLogDir, 'Pub.Ext', 'events');
  await mkdir(etpDir, { recursive: true });
  await writeFile(join(etpDir, '1.json'), JSON.stringify({ Version: '1.2', Timestamp: 't', TaskName: 'x', EventLevel: 'Informational', Message: 'hello', EventPid: 1, EventTid: 2, OperationId: 'o' }));
  s.tel.events.add({ name: 'Pub.Ext', version: '1.2', op: 'Enable', durationMs: 5, message: 'Command: enable' });
  await s.tel.events.settled();
  s.tel.start();
  // Both collections run at start; the sender batches for 5 s of (fake) clock time, then posts per provider.
  await until(() => s.bodies.length >= 2, 'two posts');
  const all = s.bodies.join('\n');
  assert.match(all, /<Provider id="69B669B9-4AF8-4C50-BDC4-6006FA76E975"><Event id="1"><!\[CDATA\[<Param Name="Name" Value="Pub.Ext" T="mt:wstr" \/>/);
  assert.match(all, /<Provider id="FFF0196F-EE4C-4EAF-9AA5-776F622DEB4F"><Event id="7">.*<Param Name="EventName" Value="Pub.Ext-1.2" T="mt:wstr" \/>/);
  // Files are deleted right after their events are queued (the sender may post before that).
  await until(async () => (await readdir(join(s.paths.libDir, 'events'))).length === 0 && (await readdir(etpDir)).length === 0, 'collected files deleted');
  s.tel.sender.enqueue({ eventId: 1, providerId: '69B669B9-4AF8-4C50-BDC4-6006FA76E975', fileType: '', parameters: [{ name: 'Message', value: 'last' }] });
  await s.tel.stop();
  assert.match(s.bodies.at(-1)!, /Value="last"/);
});

test('goal-state processing is wrapped in ExtensionProcessing events with the duration; failures are reported and rethrown', async (t) => {
  const s = await service(t);
  const gs = { id: 'incarnation_3', channel: 'WireServer', source: 'Fabric', activityId: 'a', correlationId: 'c' } as ExtensionsGoalState;
  const ok = withProcessingEvents({ process: async () => s.clock.advance(1234) }, s.tel.events, s.clock);
  await ok.process(gs, new AbortController().signal);
  const failing = withProcessingEvents({ process: async () => { throw new Error('kaput'); } }, s.tel.events, s.clock);
  await assert.rejects(failing.process(gs, new AbortController().signal), /kaput/);
  await s.tel.collectAgentEventsOnce();
  await s.tel.sender.flush();
  const msgs = [...s.bodies.join('').matchAll(/Name="Message" Value="([^"]*)"[^>]*\/><Param Name="Duration" Value="(\d+)"/g)].map((m) => `${m[1]}|${m[2]}`);
  assert.deepEqual(msgs, [
    'ProcessExtensionsGoalState started [incarnation_3 channel: WireServer source: Fabric activity: a correlation c]|0',
    'ProcessExtensionsGoalState completed [incarnation_3 1234 ms]&#10;|1234',
    'ProcessExtensionsGoalState started [incarnation_3 channel: WireServer source: Fabric activity: a correlation c]|0',
    'ProcessExtensionsGoalState failed [incarnation_3 0 ms]&#10;kaput|0',
  ]);
  assert.match(s.bodies.join(''), /Value="False" T="mt:bool" \/><Param Name="Message" Value="ProcessExtensionsGoalState failed/);
});
