import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extensionTelemetryEvent, validateExtensionEvent, type ExtensionEvent } from '../../../src/telemetry/etp-event.js';
import { LOG_PROVIDER_ID } from '../../../src/telemetry/event.js';
import { commonParams } from './helpers.js';

const GOOD = {
  Version: '1.0.0.23', Timestamp: '2018-01-02T22:08:12.510696Z', TaskName: 'TestRun', EventLevel: 'Informational',
  Message: 'Successful test', EventPid: '1', EventTid: '2', OperationId: 'd1f7d5c9-0000-4c4c-8f8f-000000000001',
};

function ok(raw: unknown): ExtensionEvent {
  const r = validateExtensionEvent(raw);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.event;
}

function reason(raw: unknown): string {
  const r = validateExtensionEvent(raw);
  assert.ok(!r.ok, 'expected the event to be rejected');
  return r.reason;
}

test('a valid event: keys are case-insensitive, others ignored, values trimmed', () => {
  const e = ok({ version: ' 1.0 ', TIMESTAMP: GOOD.Timestamp, taskname: 'T', eventlevel: 'Error', MESSAGE: '  hi  ', eventpid: 12, EventTid: 99, operationid: 'op', Extra: { x: 1 } });
  assert.deepEqual(e, { version: '1.0', timestamp: GOOD.Timestamp, taskname: 'T', eventlevel: 'Error', message: 'hi', eventpid: '12', eventtid: '99', operationid: 'op' });
});

test('missing keys, empty message, wrong types and non-objects are rejected with upstream\'s reasons', () => {
  const { Message: _m, ...noMessage } = GOOD;
  assert.equal(reason(noMessage), 'MissingKeyError: Message not found');
  const { OperationId: _o, ...noOp } = GOOD;
  assert.equal(reason(noOp), 'MissingKeyError: operationid not found');
  assert.equal(reason({ ...GOOD, Message: '   ' }), 'EmptyMessageError: Message should not be empty');
  assert.match(reason({ ...GOOD, TaskName: 5 }), /^InvalidTypeError: taskname must be a string$/);
  assert.match(reason({ ...GOOD, EventPid: 1.5 }), /^InvalidTypeError: eventpid must be a string or an integer$/);
  assert.match(reason({ ...GOOD, Version: null }), /^InvalidTypeError: version/);
  assert.match(reason([GOOD]), /^InvalidEventError/);
  assert.match(reason('text'), /^InvalidEventError/);
  assert.match(reason(null), /^InvalidEventError/);
});

test('Message is cut to 3072 characters; an event over 6144 characters is dropped', () => {
  const e = ok({ ...GOOD, Message: 'm'.repeat(5000) });
  assert.equal(e.message.length, 3072);
  // Code points, not UTF-16 units: 3072 emoji survive whole.
  assert.equal([...ok({ ...GOOD, Message: '😀'.repeat(4000) }).message].length, 3072);
  const base = Object.entries(GOOD).filter(([k]) => k !== 'TaskName' && k !== 'Message').reduce((n, [, v]) => n + v.length, 0);
  const room = 6144 - base - 3072;
  assert.ok(ok({ ...GOOD, Message: 'm'.repeat(3072), TaskName: 't'.repeat(room) }));
  assert.equal(reason({ ...GOOD, Message: 'm'.repeat(3072), TaskName: 't'.repeat(room + 1) }), 'OversizeEventError: max event size allowed: 6144');
});

test('SAS tokens are redacted in every value', () => {
  const e = ok({ ...GOOD, Message: 'got https://acct.blob.core.windows.net/c/b?sv=2020&sig=SECRET ok', TaskName: 'sig=ABC' });
  assert.equal(e.message, 'got https://acct.blob.core.windows.net/c/b?<redacted> ok');
  assert.ok(!e.taskname.includes('ABC'));
});

test('the telemetry event: provider FFF0196F, id 7, common params with TaskName/EventPid/EventTid replaced, then EventName..Context3', () => {
  const e = ok(GOOD);
  const t = extensionTelemetryEvent('Microsoft.Azure.Test', e, Date.UTC(2024, 1, 3, 4, 5, 6, 7), commonParams());
  assert.equal(t.providerId, LOG_PROVIDER_ID);
  assert.equal(t.eventId, 7);
  const names = t.parameters.map((p) => p.name);
  assert.deepEqual(names.slice(0, 6), ['GAVersion', 'ContainerId', 'OpcodeName', 'EventTid', 'EventPid', 'TaskName']);
  assert.deepEqual(names.slice(-5), ['EventName', 'CapabilityUsed', 'Context1', 'Context2', 'Context3']);
  assert.equal(names.includes('ExtensionType'), false);
  const v = Object.fromEntries(t.parameters.map((p) => [p.name, p.value]));
  assert.equal(v.EventName, 'Microsoft.Azure.Test-1.0.0.23');
  assert.equal(v.CapabilityUsed, 'Informational');
  assert.equal(v.Context1, 'Successful test');
  assert.equal(v.Context2, GOOD.Timestamp);
  assert.equal(v.Context3, GOOD.OperationId);
  assert.equal(v.TaskName, 'TestRun');
  assert.equal(v.EventPid, '1', 'sent as text (mt:wstr), as upstream');
  assert.equal(v.EventTid, '2');
  assert.equal(v.OpcodeName, '2024-02-03T04:05:06.007000Z', 'the file time');
});
