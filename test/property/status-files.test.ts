// Files extensions and earlier agents leave on disk: <seq>.status (readExtensionStatus), heartbeat.log
// (readHeartbeat) and config/HandlerStatus (parseHandlerStatus). These never throw: generated files round-trip,
// mutated and random ones become an error outcome with a non-empty message naming the extension or file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readExtensionStatus, readHeartbeat, STATUS_VALUES } from '../../src/extensions/status-file.js';
import { handlerStatusJson, parseHandlerStatus, type HandlerStatusRecord } from '../../src/extensions/handler-state.js';
import { redactSecrets } from '../../src/log/redact.js';
import { checkAsync, check, figures, pick, randomText } from './arbitraries.js';
import { mutateJson, renderJson } from './documents.js';

const FULL = 'Pub.Ext-1.0';
const JSON_ALPHABET = '{}[]":,\\ -.0123456789truefalsnstatusheartbeatformattedMessage';
const MESSAGES = ['Enable succeeded', 'ünï 💥 中文', 'line1\nline2', 'quote " and \\ backslash', ''];
const OPERATIONS = ['Enable', 'Install', null, 7];

// ---- <seq>.status ----

const statusArb = fc.tuple(fc.nat(), fc.nat(), fc.array(fc.nat(), { maxLength: 4 })).map(([n, code, subs]) => {
  const status = pick(STATUS_VALUES, n);
  const message = n % 6 === 0 ? null : pick(MESSAGES, n >> 3);
  const substatus = subs.map((s) => ({ name: `sub${s}`, status: pick(STATUS_VALUES, s), code: s % 100, message: pick(MESSAGES, s >> 2) }));
  const entry = {
    version: 1.0,
    timestampUTC: '2025-01-15T10:20:30Z',
    status: {
      name: 'ignored',
      operation: pick(OPERATIONS, n >> 5),
      status,
      code,
      ...(message === null ? {} : { formattedMessage: { lang: 'en-US', message } }),
      substatus: substatus.map((s) => ({ name: s.name, status: s.status, code: s.code, formattedMessage: { lang: 'en-US', message: s.message } })),
    },
  };
  const expected = { status, code, message, operation: pick(OPERATIONS, n >> 5), substatus, outcome: 'ok', problem: null };
  return { doc: [entry], expected };
});

const statusOptions = (text: string) => ({
  statusDir: '/var/lib/waagent/Pub.Ext-1.0/status',
  fileName: '3.status',
  extensionName: 'Pub.Ext',
  extensionFullName: 'Pub.Ext',
  fullName: FULL,
  seq: 3,
  attempts: 1,
  readFile: async () => text,
});

test('<seq>.status: generated status files are reported field by field', async (t) => {
  const ms = await checkAsync(statusArb, async ({ doc, expected }) => {
    const r = await readExtensionStatus(statusOptions(renderJson(doc)));
    const { status, code, message, operation, substatus, outcome, problem } = r;
    assert.deepEqual({ status, code, message, operation, substatus, outcome, problem }, expected);
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

async function statusNeverThrows(text: string): Promise<void> {
  const r = await readExtensionStatus(statusOptions(text));
  assert.equal(r.sequenceNumber, 3);
  if (r.outcome === 'ok' || r.outcome === 'truncated') {
    assert.ok(r.status !== null && STATUS_VALUES.includes(r.status), `status ${String(r.status)}`);
    return;
  }
  assert.ok(r.problem !== null && r.problem.length > 0, 'a problem is described');
  if (r.outcome === 'empty') return;
  assert.equal(r.status, 'error');
  assert.ok(r.message !== null && r.message.includes(FULL), `message names the extension: ${r.message}`);
}

test('<seq>.status: mutated and random files give an error status naming the extension, never a throw', async (t) => {
  t.diagnostic(`mutated: ${figures(await checkAsync(mutateJson(statusArb.map((s) => s.doc)), statusNeverThrows))}`);
  t.diagnostic(`random: ${figures(await checkAsync(randomText(JSON_ALPHABET), statusNeverThrows))}`);
});

// ---- heartbeat.log ----

const NOW = Date.UTC(2025, 0, 15, 10, 20, 36);
const heartbeatArb = fc.tuple(fc.nat(), fc.boolean()).map(([n, withMessage]) => {
  const status = pick(['ready', 'NotReady', 'Ready'], n);
  const message = pick(MESSAGES, n >> 2);
  const heartbeat = { status, code: n % 10, ...(withMessage ? { formattedMessage: { lang: 'en-US', message } } : {}) };
  return { doc: [{ version: 1.0, heartbeat }], expected: withMessage ? { kind: 'ok', status, message } : { kind: 'ok', status } };
});
const hbIo = (text: string) => ({ readFile: async () => text, mtimeMs: async () => NOW - 5_000 });

test('heartbeat.log: generated heartbeats supply status and message', async (t) => {
  const ms = await checkAsync(heartbeatArb, async ({ doc, expected }) => {
    assert.deepEqual(await readHeartbeat('/x/heartbeat.log', NOW, hbIo(renderJson(doc))), expected);
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

async function heartbeatNeverThrows(text: string): Promise<void> {
  const r = await readHeartbeat('/x/heartbeat.log', NOW, hbIo(text));
  if (r.kind === 'ok') {
    assert.ok(r.status === null || typeof r.status === 'string');
    return;
  }
  assert.equal(r.kind, 'error');
  assert.match(r.message, /heart ?beat|status format/i);
}

test('heartbeat.log: mutated and random files are an error result, never a throw', async (t) => {
  t.diagnostic(`mutated: ${figures(await checkAsync(mutateJson(heartbeatArb.map((h) => h.doc)), heartbeatNeverThrows))}`);
  t.diagnostic(`random: ${figures(await checkAsync(randomText(JSON_ALPHABET), heartbeatNeverThrows))}`);
});

// ---- config/HandlerStatus ----

const SOURCE = '/var/lib/waagent/Pub.Ext-1.0/config/HandlerStatus';
const handlerStatusArb = fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2000 }), fc.boolean()).map(([n, code, ours]): { text: string; expected: HandlerStatusRecord } => {
  const record: HandlerStatusRecord = {
    name: `Pub.Ext${n % 50}`,
    version: `1.${n % 9}`,
    status: n % 2 === 0 ? 'Ready' : 'NotReady',
    code,
    message: n % 5 === 0 ? null : `${pick(MESSAGES, n)} https://h/p?sv=1&sig=SIG${n}`,
    supportsMultiConfig: n % 3 === 0,
  };
  if (ours) return { text: handlerStatusJson(record), expected: { ...record, message: record.message === null ? null : redactSecrets(record.message) } };
  // As WALinuxAgent writes it, with extra keys.
  const text = JSON.stringify({ ...record, supports_multi_config: record.supportsMultiConfig, supportsMultiConfig: undefined, extension_status: null });
  return { text, expected: record };
});

test('HandlerStatus: generated files round-trip', (t) => {
  const ms = check(handlerStatusArb, ({ text, expected }) => {
    assert.deepEqual(parseHandlerStatus(text, SOURCE), { value: expected, problem: null });
  });
  t.diagnostic(`valid: ${figures(ms)}`);
});

function handlerStatusNeverThrows(text: string): void {
  const r = parseHandlerStatus(text, SOURCE);
  if (r.value !== null) {
    assert.equal(r.problem, null);
    assert.ok(r.value.status === 'Ready' || r.value.status === 'NotReady');
    return;
  }
  assert.ok(r.problem !== null && r.problem.includes(SOURCE), `problem names the file: ${r.problem}`);
}

test('HandlerStatus: mutated and random files are a problem naming the file, never a throw', (t) => {
  t.diagnostic(`mutated: ${figures(check(mutateJson(handlerStatusArb.map((h) => JSON.parse(h.text) as unknown)), handlerStatusNeverThrows))}`);
  t.diagnostic(`random: ${figures(check(randomText(JSON_ALPHABET), handlerStatusNeverThrows))}`);
});
