import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentEvents } from '../../../src/telemetry/agent-events.js';
import { MAX_EVENT_FILES, parseEventFile, readParsedFile, serializeEvent, SizeError, writeEventFile } from '../../../src/telemetry/event-file.js';
import { AGENT_PROVIDER_ID, LOG_PROVIDER_ID, type TelemetryEvent } from '../../../src/telemetry/event.js';
import { captureLogger, commonParams, fakeClock, tempDir } from './helpers.js';

test('writeEventFile writes <µs>.waagent.tld and leaves no .tmp behind', async (t) => {
  const dir = join(await tempDir(t), 'events');
  await writeEventFile(dir, 1_700_000_000_000_001, '{"x":1}');
  assert.deepEqual(await readdir(dir), ['1700000000000001.waagent.tld']);
  assert.equal(await readFile(join(dir, '1700000000000001.waagent.tld'), 'utf8'), '{"x":1}');
});

test('at most 1000 files: the oldest beyond 999 are deleted before writing', async (t) => {
  const dir = await tempDir(t);
  const base = 1_700_000_000_000_000;
  await Promise.all(Array.from({ length: MAX_EVENT_FILES + 5 }, (_, i) => writeFile(join(dir, `${base + i}.waagent.tld`), '{}')));
  const removed = await writeEventFile(dir, base + 5000, '{}');
  assert.equal(removed, 6);
  const files = (await readdir(dir)).sort();
  assert.equal(files.length, MAX_EVENT_FILES);
  assert.equal(files[0], `${base + 6}.waagent.tld`);
  assert.equal(files.at(-1), `${base + 5000}.waagent.tld`);
});

test('serializeEvent writes upstream\'s file shape and parseEventFile reads it back', () => {
  const e: TelemetryEvent = { eventId: 1, providerId: AGENT_PROVIDER_ID, fileType: '', parameters: [{ name: 'Name', value: 'X' }, { name: 'OperationSuccess', value: false }, { name: 'Duration', value: 5 }] };
  const text = serializeEvent(e);
  assert.deepEqual(JSON.parse(text), { eventId: 1, providerId: AGENT_PROVIDER_ID, parameters: [{ name: 'Name', value: 'X' }, { name: 'OperationSuccess', value: false }, { name: 'Duration', value: 5 }], file_type: '' });
  assert.deepEqual(parseEventFile(text, 'f'), { ...e, fileType: 'json' });
});

test('legacy XML event files are parsed with their types', () => {
  const xml = `<Data><Provider id="${AGENT_PROVIDER_ID}"/><Event id="1"/>
    <Param Name="OperationSuccess" Value="False" T="mt:bool"/><Param Name="Duration" Value="12" T="mt:uint64"/>
    <Param Name="Value" Value="1.0" T="mt:float64"/><Param Name="Message" Value="a&amp;b&#10;c" T="mt:wstr"/></Data>`;
  const e = parseEventFile(xml, 'legacy.tld');
  assert.equal(e.fileType, 'xml');
  assert.equal(e.eventId, 1);
  assert.deepEqual(e.parameters, [
    { name: 'OperationSuccess', value: false }, { name: 'Duration', value: 12 }, { name: 'Value', value: 1, float: true }, { name: 'Message', value: 'a&b\nc' },
  ]);
});

test('malformed event files are rejected naming the file and field', () => {
  assert.throws(() => parseEventFile('{"eventId": 1, "providerId": "nope", "parameters": []}', 'a.tld'), /event file a\.tld as providerId: must be a GUID/);
  assert.throws(() => parseEventFile(`{"eventId": 1, "providerId": "${LOG_PROVIDER_ID}", "parameters": [{"name": "x", "value": null}]}`, 'b.tld'), /b\.tld as parameters\.0\.value/);
  assert.throws(() => parseEventFile('not xml, not json', 'c.tld'), /c\.tld/);
  assert.throws(() => parseEventFile(`<Data><Provider id="${LOG_PROVIDER_ID}"/><Event id="x"/></Data>`, 'd.tld'), /Event\/@id/);
});

test('AgentEvents records operation events with common params, redacted, in files named by time', async (t) => {
  const dir = join(await tempDir(t), 'events');
  const clock = fakeClock(Date.UTC(2024, 0, 1));
  const events = new AgentEvents({ clock, logger: captureLogger(), dir, common: commonParams(), agentName: 'WALinuxAgent', agentVersion: '9.9.9' });
  events.add({ name: 'Pub.Ext', version: '1.0', op: 'Enable', durationMs: 12.6, message: 'Command: x https://h/p?sv=1&sig=SECRET' });
  events.add({ op: 'ExtensionProcessing', success: false, message: 'boom' });
  await events.settled();
  const files = (await readdir(dir)).sort();
  assert.equal(files.length, 2, 'same-microsecond events get distinct names');
  assert.ok(files.every((f) => f.endsWith('.waagent.tld')));
  const first = parseEventFile(await readFile(join(dir, files[0]!), 'utf8'), files[0]!);
  const v = Object.fromEntries(first.parameters.map((p) => [p.name, p.value]));
  assert.deepEqual(first.parameters.slice(0, 6).map((p) => p.name), ['Name', 'Version', 'Operation', 'OperationSuccess', 'Message', 'Duration']);
  assert.deepEqual([v.Name, v.Version, v.Operation, v.OperationSuccess, v.Duration], ['Pub.Ext', '1.0', 'Enable', true, 13]);
  assert.equal(v.Message, 'Command: x https://h/p?<redacted>');
  assert.equal(v.ExtensionType, '');
  assert.equal(v.GAVersion, 'waagent-ts-9.9.9');
  const second = parseEventFile(await readFile(join(dir, files[1]!), 'utf8'), files[1]!);
  const v2 = Object.fromEntries(second.parameters.map((p) => [p.name, p.value]));
  assert.deepEqual([v2.Name, v2.Version, v2.OperationSuccess], ['WALinuxAgent', '9.9.9', false]);
});

test('AgentEvents bounds what waits to be written and counts the rest', async (t) => {
  const dir = join(await tempDir(t), 'events');
  const logger = captureLogger();
  const events = new AgentEvents({ clock: fakeClock(), logger, dir, common: commonParams(), agentName: 'A', agentVersion: '1', maxPending: 3 });
  for (let i = 0; i < 10; i++) events.add({ op: 'Enable', message: String(i) });
  await events.settled();
  assert.equal((await readdir(dir)).length, 3);
  assert.equal(events.dropped, 7);
  assert.equal(logger.lines.filter((l) => l.includes('Dropped')).length, 1, 'logged once, not per event');
});

test('readParsedFile retries a young file that does not parse yet, but not an old one or an oversized one', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, '1.json');
  await writeFile(path, '{ half');
  let calls = 0;
  const parse = (text: string) => {
    calls++;
    return JSON.parse(text) as unknown;
  };
  const clock = fakeClock(Date.now());
  await assert.rejects(readParsedFile(path, 1024, parse, clock, { delayMs: 7 }), SyntaxError);
  assert.equal(calls, 3);
  assert.deepEqual(clock.sleeps, [7, 7]);
  const old = new Date(Date.now() - 60_000);
  await utimes(path, old, old);
  calls = 0;
  await assert.rejects(readParsedFile(path, 1024, parse, fakeClock(Date.now()), { delayMs: 7 }), SyntaxError);
  assert.equal(calls, 1, 'old garbage is not retried');
  await writeFile(path, '{"a": 1}');
  await assert.rejects(readParsedFile(path, 3, parse, fakeClock(Date.now())), SizeError);
  assert.deepEqual(await readParsedFile(path, 1024, parse, fakeClock(Date.now())), { a: 1 });
});
