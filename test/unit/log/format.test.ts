import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeNonAscii, formatLogLine, formatTimestamp, renderFields } from '../../../src/log/format.js';

const T = Date.UTC(2026, 10, 25, 19, 2, 21) * 1000 + 123456; // 2026-11-25T19:02:21.123456Z

test('formats the upstream example line', () => {
  const line = formatLogLine({
    timeMicros: T,
    level: 'INFO',
    thread: 'ExtHandler',
    prefix: '[Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9027]',
    msg: 'Expected handler state: enabled',
  });
  assert.equal(
    line,
    '2026-11-25T19:02:21.123456Z INFO ExtHandler [Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9027] Expected handler state: enabled\n',
  );
});

test('omits the prefix when none is set, keeps embedded newlines', () => {
  const line = formatLogLine({ timeMicros: BigInt(T), level: 'WARNING', thread: 'Daemon', msg: 'a\nb' });
  assert.equal(line, '2026-11-25T19:02:21.123456Z WARNING Daemon a\nb\n');
});

test('timestamps always carry six fractional digits, bigint or number', () => {
  assert.equal(formatTimestamp(0), '1970-01-01T00:00:00.000000Z');
  assert.equal(formatTimestamp(1n), '1970-01-01T00:00:00.000001Z');
  assert.equal(formatTimestamp(Date.UTC(2025, 0, 15, 10, 20, 30) * 1000 + 4512), '2025-01-15T10:20:30.004512Z');
  assert.equal(formatTimestamp(-1n), '1969-12-31T23:59:59.999999Z');
});

test('non-ASCII is escaped like Python backslashreplace', () => {
  assert.equal(escapeNonAscii('caf\u00e9 \u20ac \u{1F600} ok'), 'caf\\xe9 \\u20ac \\U0001f600 ok');
  const line = formatLogLine({ timeMicros: T, level: 'ERROR', thread: 'T\u00e9', msg: 'x\u00ff' });
  assert.equal(line, '2026-11-25T19:02:21.123456Z ERROR T\\xe9 x\\xff\n');
  assert.ok(!/[^\x00-\x7f]/.test(line));
});

test('renderFields appends compact key=value pairs', () => {
  assert.equal(renderFields({}), '');
  assert.equal(renderFields({ durationMs: 12 }), ' (durationMs=12)');
  assert.equal(renderFields({ op: 'enable', msg: 'two words', n: null, u: undefined }), ' (op=enable, msg="two words", n=null)');
  assert.equal(renderFields({ err: { type: 'Error', message: 'boom' } }), ' (err="boom")');
  assert.equal(renderFields({ o: { a: 1 } }), ' (o={"a":1})');
});
