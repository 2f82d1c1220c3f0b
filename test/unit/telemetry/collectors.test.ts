import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentEvents } from '../../../src/telemetry/agent-events.js';
import { collectAgentEvents } from '../../../src/telemetry/event-collector.js';
import { parseEventFile, serializeEvent } from '../../../src/telemetry/event-file.js';
import { collectExtensionEvents } from '../../../src/telemetry/etp-collector.js';
import { AGENT_PROVIDER_ID, paramValue, type TelemetryEvent } from '../../../src/telemetry/event.js';
import { captureLogger, commonParams, fakeClock, tempDir } from './helpers.js';

const ev = (i: number, more: Record<string, unknown> = {}) => ({
  Version: '2.0', Timestamp: `2024-01-01T00:00:0${i % 10}.000000Z`, TaskName: 'Task', EventLevel: 'Informational',
  Message: `event ${i}`, EventPid: 10, EventTid: 20, OperationId: `op-${i}`, ...more,
});

async function etpSetup(t: Parameters<typeof tempDir>[0]) {
  const root = await tempDir(t);
  const extLogDir = join(root, 'azure');
  const logger = captureLogger();
  const queued: TelemetryEvent[] = [];
  const events = new AgentEvents({ clock: fakeClock(), logger, dir: join(root, 'lib', 'events'), common: commonParams(), agentName: 'WALinuxAgent', agentVersion: '9' });
  const collect = async () => {
    const r = await collectExtensionEvents({ clock: fakeClock(), logger, extLogDir, common: commonParams(), enqueue: (e) => queued.push(e), events, fileRetryDelayMs: 0 });
    await events.settled(); // log events are written in the background
    return r;
  };
  const eventsDir = async (handler: string) => {
    const d = join(extLogDir, handler, 'events');
    await mkdir(d, { recursive: true });
    return d;
  };
  return { root, extLogDir, logger, queued, events, collect, eventsDir };
}

test('ETP: valid events of every handler are queued, bad ones counted, every file deleted, problems logged once per scan', async (t) => {
  const s = await etpSetup(t);
  const a = await s.eventsDir('Pub.A');
  const b = await s.eventsDir('Pub.B');
  await writeFile(join(a, '1000.json'), JSON.stringify([ev(1), ev(2), { ...ev(3), Message: '' }, { ...ev(4), EventLevel: undefined }]));
  await writeFile(join(a, '1001.JSON'), JSON.stringify(ev(5)));
  await writeFile(join(a, '1002.json'), '{ not json');
  await writeFile(join(a, '1003.json'), '[1, 2');
  await writeFile(join(a, 'notes.txt'), 'leftover');
  await writeFile(join(b, '5.json'), JSON.stringify(ev(6)));
  await mkdir(join(s.extLogDir, 'Pub.C')); // no events folder: ignored
  const r = await s.collect();
  assert.deepEqual(r, { handlers: 2, collected: 4, dropped: 2, badFiles: 2 });
  assert.deepEqual(s.queued.map((e) => paramValue(e, 'Context1')), ['event 5', 'event 1', 'event 2', 'event 6'], 'newest file name first');
  assert.deepEqual(s.queued.map((e) => paramValue(e, 'EventName')), ['Pub.A-2.0', 'Pub.A-2.0', 'Pub.A-2.0', 'Pub.B-2.0']);
  assert.deepEqual(await readdir(a), []);
  assert.deepEqual(await readdir(b), []);
  const warnings = s.logger.lines.filter((l) => l.startsWith('WARNING'));
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings[0]!, /Failed to process 2 event file\(s\) of extension Pub\.A/);
  assert.match(warnings[1]!, /Dropped events for Extension: Pub\.A; Details:\n\tReason: EmptyMessageError: Message should not be empty; Dropped Count: 1\n\tReason: MissingKeyError: eventlevel not found; Dropped Count: 1/);
  // The warnings also go to telemetry as log events (EventName "Log").
  await s.events.settled();
  assert.equal((await readdir(join(s.root, 'lib', 'events'))).length, 2);
});

test('ETP: at most 360 events per handler per scan; the rest of the folder is deleted', async (t) => {
  const s = await etpSetup(t);
  const a = await s.eventsDir('Pub.A');
  for (let f = 0; f < 5; f++) await writeFile(join(a, `${100 + f}.json`), JSON.stringify(Array.from({ length: 100 }, (_, i) => ev(i))));
  const r = await s.collect();
  assert.equal(r.collected, 360);
  assert.equal(s.queued.length, 360);
  assert.deepEqual(await readdir(a), []);
  assert.ok(s.logger.lines.some((l) => l.includes('Reached max count for the extension: Pub.A; Max Limit: 360')));
});

test('ETP: files over 4 MiB are skipped and deleted', async (t) => {
  const s = await etpSetup(t);
  const a = await s.eventsDir('Pub.A');
  await writeFile(join(a, '1.json'), JSON.stringify(ev(1)));
  await truncate(join(a, '1.json'), 4 * 1024 * 1024 + 1);
  await writeFile(join(a, '2.json'), JSON.stringify(ev(2)));
  const r = await s.collect();
  assert.deepEqual([r.collected, r.badFiles], [1, 1]);
  assert.deepEqual(await readdir(a), []);
});

test('ETP: a missing extension log dir is not an error', async (t) => {
  const s = await etpSetup(t);
  assert.deepEqual(await s.collect(), { handlers: 0, collected: 0, dropped: 0, badFiles: 0 });
});

async function agentSetup(t: Parameters<typeof tempDir>[0]) {
  const root = await tempDir(t);
  const dir = join(root, 'events');
  await mkdir(dir);
  const logger = captureLogger();
  const queued: TelemetryEvent[] = [];
  const events = new AgentEvents({ clock: fakeClock(), logger, dir: join(root, 'other-events'), common: commonParams(), agentName: 'WALinuxAgent', agentVersion: '9' });
  const collect = async () => {
    const r = await collectAgentEvents({
      clock: fakeClock(), logger, dir, common: commonParams({ containerId: 'cid' }), enqueue: (e) => queued.push(e), events,
      agentNames: ['WALinuxAgent'], fileRetryDelayMs: 0,
    });
    await events.settled();
    return r;
  };
  return { root, dir, logger, queued, events, collect };
}

test('agent event files are sent as written; bad files are counted, reported and deleted', async (t) => {
  const s = await agentSetup(t);
  const own: TelemetryEvent = { eventId: 1, providerId: AGENT_PROVIDER_ID, fileType: '', parameters: [{ name: 'Name', value: 'WALinuxAgent' }, { name: 'Message', value: 'sig=abc' }, { name: 'GAVersion', value: 'x' }] };
  await writeFile(join(s.dir, '1.waagent.tld'), serializeEvent(own));
  await writeFile(join(s.dir, '2.waagent.tld'), 'garbage');
  await writeFile(join(s.dir, '3.tmp'), 'being written');
  const r = await s.collect();
  assert.deepEqual(r, { collected: 1, errors: 1 });
  assert.deepEqual(s.queued[0]!.parameters, [{ name: 'Name', value: 'WALinuxAgent' }, { name: 'Message', value: 'sig=<redacted>' }, { name: 'GAVersion', value: 'x' }]);
  assert.deepEqual(await readdir(s.dir), ['3.tmp']);
  await s.events.settled();
  const [report] = await readdir(join(s.root, 'other-events'));
  const e = parseEventFile(await (await import('node:fs/promises')).readFile(join(s.root, 'other-events', report!), 'utf8'), report!);
  assert.equal(paramValue(e, 'Operation'), 'CollectEventErrors');
  assert.match(String(paramValue(e, 'Message')), /^DroppedEventsCount: 1\nReasons \(first 5 errors\): Cannot parse event file 2\.waagent\.tld/);
});

test('legacy extension events keep only their own params, then get the common ones (ExtensionType = file type)', async (t) => {
  const s = await agentSetup(t);
  await writeFile(join(s.dir, 'ext.tld'), JSON.stringify({
    eventId: 1, providerId: AGENT_PROVIDER_ID,
    parameters: [{ name: 'Name', value: 'CustomScript' }, { name: 'Version', value: '1.4' }, { name: 'IsInternal', value: true }, { name: 'Operation', value: 'Run' },
      { name: 'OperationSuccess', value: true }, { name: 'Message', value: 'ok' }, { name: 'Duration', value: 0 }, { name: 'GAVersion', value: 'forged' }],
  }));
  await writeFile(join(s.dir, 'agent.tld'), `<Data><Provider id="${AGENT_PROVIDER_ID}"/><Event id="1"/><Param Name="Name" Value="WALinuxAgent" T="mt:wstr"/><Param Name="GAVersion" Value="old" T="mt:wstr"/></Data>`);
  await s.collect();
  const [agent, ext] = s.queued;
  const names = ext!.parameters.map((p) => p.name);
  assert.deepEqual(names.slice(0, 6), ['Name', 'Version', 'Operation', 'OperationSuccess', 'Message', 'Duration']);
  assert.equal(paramValue(ext!, 'GAVersion'), 'waagent-ts-9.9.9');
  assert.equal(paramValue(ext!, 'ExtensionType'), 'json');
  assert.equal(paramValue(ext!, 'IsInternal'), false);
  assert.equal(paramValue(ext!, 'ContainerId'), 'cid');
  // A legacy agent event keeps its own values and gains the common params it lacked.
  assert.equal(paramValue(agent!, 'GAVersion'), 'old');
  assert.equal(paramValue(agent!, 'ContainerId'), 'cid');
  assert.equal(agent!.parameters.filter((p) => p.name === 'GAVersion').length, 1);
  assert.deepEqual(await readdir(s.dir), []);
});
