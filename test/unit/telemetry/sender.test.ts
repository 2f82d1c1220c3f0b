import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentEvents } from '../../../src/telemetry/agent-events.js';
import { parseEventFile } from '../../../src/telemetry/event-file.js';
import { AGENT_PROVIDER_ID, LOG_PROVIDER_ID, paramValue, type TelemetryEvent } from '../../../src/telemetry/event.js';
import { TelemetrySender } from '../../../src/telemetry/sender.js';
import { captureLogger, commonParams, fakeClock, tempDir, until } from './helpers.js';

const event = (i: number, providerId = AGENT_PROVIDER_ID): TelemetryEvent => ({ eventId: 1, providerId, fileType: '', parameters: [{ name: 'Message', value: `m${i}` }] });

test('the queue is bounded: the oldest events are dropped and counted, and logged once at the next flush', async () => {
  const logger = captureLogger();
  const bodies: string[] = [];
  const s = new TelemetrySender({ clock: fakeClock(), logger, send: async (b) => void bodies.push(b), maxQueue: 5 });
  for (let i = 0; i < 8; i++) s.enqueue(event(i));
  assert.equal(s.queued, 5);
  const r = await s.flush();
  assert.deepEqual(r, { events: 5, requests: 1, failedRequests: 0, oversized: 0 });
  assert.ok(bodies[0]!.includes('m3') && !bodies[0]!.includes('"m2"'));
  assert.deepEqual(s.stats, { sent: 5, failedRequests: 0, dropped: 3, oversized: 0 });
  assert.equal(logger.lines.filter((l) => l.includes('Dropped 3 telemetry event(s): the send queue is full')).length, 1);
});

test('failed requests are counted and reported as one ReportEventErrors event; events are not retried', async (t) => {
  const dir = join(await tempDir(t), 'events');
  const logger = captureLogger();
  const events = new AgentEvents({ clock: fakeClock(), logger, dir, common: commonParams(), agentName: 'WALinuxAgent', agentVersion: '9' });
  let calls = 0;
  const s = new TelemetrySender({
    clock: fakeClock(), logger, events,
    send: async (body) => {
      calls++;
      if (body.includes(LOG_PROVIDER_ID)) throw new Error('HTTP 500');
    },
  });
  s.enqueue(event(1));
  s.enqueue(event(2, LOG_PROVIDER_ID));
  const r = await s.flush();
  assert.deepEqual([r.requests, r.failedRequests], [2, 1]);
  assert.equal(calls, 2);
  assert.equal(s.queued, 0, 'not re-queued');
  assert.deepEqual((await s.flush()).requests, 0);
  await events.settled();
  const [f] = await readdir(dir);
  const e = parseEventFile(await readFile(join(dir, f!), 'utf8'), f!);
  assert.equal(paramValue(e, 'Operation'), 'ReportEventErrors');
  assert.equal(paramValue(e, 'OperationSuccess'), false);
  assert.equal(paramValue(e, 'Message'), 'DroppedEventsCount: 1\nReasons (first 5 errors): HTTP 500');
});

test('the loop waits for a first event, then batches until 30 events are queued (before the batch wait ends)', async () => {
  const clock = fakeClock();
  const sent: number[] = [];
  let sentAt = 0;
  const s = new TelemetrySender({
    clock, logger: captureLogger(),
    send: async (b) => {
      sentAt = clock.now();
      sent.push(b.split('<Event ').length - 1);
    },
  });
  const ac = new AbortController();
  const loop = s.run(ac.signal);
  await new Promise((r) => setImmediate(r));
  const before = clock.now();
  s.enqueue(event(0));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [], 'one event waits for more');
  for (let i = 1; i < 35; i++) s.enqueue(event(i));
  await until(() => sent.length > 0, 'a send');
  ac.abort();
  await loop;
  assert.deepEqual(sent, [35], 'everything queued goes out together');
  assert.ok(sentAt - before < 5000, 'sent before the batch wait ended');
});

test('the loop sends a partial batch once the batch wait has passed, without real waiting', async () => {
  const clock = fakeClock();
  const sent: number[] = [];
  let sentAt = 0;
  const s = new TelemetrySender({
    clock, logger: captureLogger(), batchWaitMs: 5000,
    send: async (b) => {
      sentAt = clock.now();
      sent.push(b.split('<Event ').length - 1);
    },
  });
  const ac = new AbortController();
  const loop = s.run(ac.signal);
  const before = clock.now();
  s.enqueue(event(1));
  s.enqueue(event(2));
  await until(() => sent.length > 0, 'a send');
  ac.abort();
  await loop;
  assert.deepEqual(sent, [2]);
  const waited = sentAt - before;
  assert.ok(waited >= 5000 && waited < 6000, `batch wait ${waited} ms of clock time`);
  assert.ok(clock.sleeps.every((ms) => ms <= 5000), 'no sleep longer than the poll period');
});

test('the loop ends when aborted while idle', async () => {
  const s = new TelemetrySender({ clock: fakeClock(), logger: captureLogger(), send: async () => undefined });
  const ac = new AbortController();
  const loop = s.run(ac.signal);
  await new Promise((r) => setImmediate(r));
  ac.abort();
  await loop;
  assert.equal(s.stats.sent, 0);
});

test('an idle loop sets no timer: it sleeps only after an event was queued', async () => {
  const clock = fakeClock();
  const sent: number[] = [];
  const s = new TelemetrySender({ clock, logger: captureLogger(), send: async (b) => void sent.push(b.split('<Event ').length - 1) });
  const ac = new AbortController();
  const loop = s.run(ac.signal);
  // The fake clock's sleeps resolve at once: a loop that polled an empty queue would have slept many times by now.
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(clock.sleeps, [], 'no wake-ups while nothing is queued');
  s.enqueue(event(1));
  await until(() => sent.length > 0, 'a send');
  assert.ok(clock.sleeps.length > 0, 'the batch wait runs on the clock');
  ac.abort();
  await loop;
  assert.deepEqual(sent, [1]);
});
