import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readExtensionStatus,
  type ReadExtensionStatusOptions,
  UPSTREAM_STATUS_RETRY,
} from '../../../src/extensions/status-file.js';

const FULL = 'Microsoft.Azure.Extensions.CustomScript-2.1.6';
const NAME = 'Microsoft.Azure.Extensions.CustomScript';

/** Options around an in-memory file sequence: each read returns (or throws) the next item, the last one repeats. */
function harness(contents: (string | NodeJS.ErrnoException)[], extra: Partial<ReadExtensionStatusOptions> = {}) {
  const reads: string[] = [];
  const sleeps: number[] = [];
  const opts: ReadExtensionStatusOptions = {
    statusDir: '/lib/H-2.1.6/status',
    fileName: '0.status',
    extensionName: NAME,
    extensionFullName: NAME,
    fullName: FULL,
    seq: 0,
    readFile: async (p) => {
      reads.push(p);
      const item = contents[Math.min(reads.length - 1, contents.length - 1)]!;
      if (typeof item !== 'string') throw item;
      return item;
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  };
  return { opts, reads, sleeps };
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

const statusDoc = (status: Record<string, unknown>) => JSON.stringify([{ version: 1.0, timestampUTC: '2025-01-15T10:20:30Z', status }]);

test('a valid status file is reported field by field', async () => {
  const { opts, reads } = harness([
    statusDoc({
      name: 'ignored',
      operation: 'Enable',
      status: 'success',
      code: 0,
      configurationAppliedTime: '2025-01-15T10:20:29Z',
      formattedMessage: { lang: 'en-US', message: 'Enable succeeded' },
      substatus: [{ name: 'StdOut', status: 'success', code: 0, formattedMessage: { lang: 'en-US', message: 'hello' } }],
      extra: { ignored: true },
    }),
  ]);
  const r = await readExtensionStatus(opts);
  assert.deepEqual(reads, ['/lib/H-2.1.6/status/0.status']);
  assert.deepEqual(r, {
    name: NAME,
    sequenceNumber: 0,
    status: 'success',
    code: 0,
    message: 'Enable succeeded',
    operation: 'Enable',
    configurationAppliedTime: '2025-01-15T10:20:29Z',
    substatus: [{ name: 'StdOut', status: 'success', code: 0, message: 'hello' }],
    outcome: 'ok',
    problem: null,
  });
});

test('missing file => transitioning/0 with the agent message, no retry by default', async () => {
  const { opts, reads, sleeps } = harness([errno('ENOENT', 'nope')]);
  const r = await readExtensionStatus(opts);
  assert.equal(r.status, 'transitioning');
  assert.equal(r.code, 0);
  assert.equal(
    r.message,
    `This status is being reported by the Guest Agent since no status file was reported by extension ${NAME}: Status file /lib/H-2.1.6/status/0.status does not exist`,
  );
  assert.equal(r.outcome, 'missing');
  assert.equal(r.operation, null);
  assert.equal(r.configurationAppliedTime, null);
  assert.equal(reads.length, 1);
  assert.deepEqual(sleeps, []);
});

test('missing file with upstream retries: 5 attempts 2 s apart', async () => {
  const { opts, reads, sleeps } = harness([errno('ENOENT', 'nope')], { ...UPSTREAM_STATUS_RETRY });
  const r = await readExtensionStatus(opts);
  assert.equal(r.outcome, 'missing');
  assert.equal(reads.length, 5);
  assert.deepEqual(sleeps, [2000, 2000, 2000, 2000]);
});

test('MC missing file names the extension full name', async () => {
  const { opts } = harness([errno('ENOENT', 'x')], {
    extensionName: 'MCExt1',
    extensionFullName: 'Pub.Handler.MCExt1',
    fullName: 'Pub.Handler.MCExt1-1.2.0',
    fileName: 'MCExt1.4.status',
    seq: 4,
  });
  const r = await readExtensionStatus(opts);
  assert.equal(r.name, 'MCExt1');
  assert.equal(r.sequenceNumber, 4);
  assert.match(r.message!, /reported by extension Pub\.Handler\.MCExt1: Status file \/lib\/H-2\.1\.6\/status\/MCExt1\.4\.status does not exist$/);
});

test('unreadable file => error/-1 after the retries', async () => {
  const { opts, reads, sleeps } = harness([errno('EACCES', 'EACCES: permission denied')]);
  const r = await readExtensionStatus(opts);
  assert.equal(r.status, 'error');
  assert.equal(r.code, -1);
  assert.equal(
    r.message,
    `We couldn't read any status for ${FULL} extension, for the sequence number 0. It failed due to EACCES: permission denied`,
  );
  assert.equal(r.outcome, 'unreadable');
  assert.equal(reads.length, 4);
  assert.deepEqual(sleeps, [200, 200, 200]);
});

test('invalid JSON => error/1012 with the parse error and the start of the file', async () => {
  const { opts, reads } = harness(['[{"status": '], { attempts: 2 });
  const r = await readExtensionStatus(opts);
  assert.equal(r.status, 'error');
  assert.equal(r.code, 1012);
  assert.equal(r.outcome, 'invalid-json');
  assert.ok(
    r.message!.startsWith(
      `The status reported by the extension ${FULL}(Sequence number 0), was in an incorrect format and the agent could not parse it correctly. Failed due to `,
    ),
  );
  assert.ok(r.message!.endsWith(' \n First 2000 Bytes of status file:\n [{"status": '));
  assert.equal(reads.length, 2);
});

test('a file caught mid-write is read again', async () => {
  const { opts, reads } = harness(['[{"sta', statusDoc({ status: 'success', code: 0 })]);
  const r = await readExtensionStatus(opts);
  assert.equal(r.outcome, 'ok');
  assert.equal(r.status, 'success');
  assert.equal(reads.length, 2);
});

test('schema violations => error/1012 with upstream wording', async () => {
  const cases: [string, string][] = [
    [JSON.stringify({ status: { status: 'success' } }), 'The extension status must be an array: {"status": {"status": "success"}}'],
    [JSON.stringify([{ version: 1 }]), 'Invalid status format by extension: Missing status key'],
    [statusDoc({ code: 0 }), 'Invalid status format by extension: Missing status/status key'],
    [statusDoc({ status: 'success', formattedMessage: { message: 'm' } }), 'Invalid status format by extension: Missing formattedMessage/lang key'],
    [statusDoc({ status: 'success', formattedMessage: { lang: 'en-US' } }), 'Invalid status format by extension: Missing formattedMessage/message key'],
    [statusDoc({ status: 'success', substatus: [{ name: 'a' }] }), 'Invalid status format by extension: Missing substatus/status key'],
    [
      statusDoc({ status: 'success', substatus: [{ status: 'done' }] }),
      "Invalid value done in range ['transitioning', 'warning', 'error', 'success'] at the node substatus/status",
    ],
    [
      statusDoc({ status: 'success', substatus: [{ status: null }] }),
      "Invalid value None in range ['transitioning', 'warning', 'error', 'success'] at the node substatus/status",
    ],
    [
      statusDoc({ status: 'success', substatus: [{ status: 'success', formattedMessage: { message: 'x' } }] }),
      'Invalid status format by extension: Missing formattedMessage/lang key',
    ],
  ];
  for (const [text, detail] of cases) {
    const { opts } = harness([text]);
    const r = await readExtensionStatus(opts);
    assert.equal(r.status, 'error', text);
    assert.equal(r.code, 1012, text);
    assert.equal(r.outcome, 'malformed', text);
    assert.equal(r.message, `Could not get a valid status from the extension ${FULL}. Encountered the following error: ${detail}`, text);
  }
});

test('unknown status values become error; code defaults to 0 and is passed through as written', async () => {
  const r1 = await readExtensionStatus(harness([statusDoc({ status: 'Succeeded' })]).opts);
  assert.equal(r1.status, 'error');
  assert.equal(r1.code, 0);
  assert.equal(r1.message, null);
  assert.deepEqual(r1.substatus, []);
  const r2 = await readExtensionStatus(harness([statusDoc({ status: 'warning', code: '51', formattedMessage: null })]).opts);
  assert.equal(r2.status, 'warning');
  assert.equal(r2.code, '51');
  assert.equal(r2.message, null);
});

test('substatus may be null; null items are skipped; item code defaults to 0', async () => {
  const r1 = await readExtensionStatus(harness([statusDoc({ status: 'success', substatus: null })]).opts);
  assert.deepEqual(r1.substatus, []);
  assert.equal(r1.outcome, 'ok');
  const r2 = await readExtensionStatus(
    harness([statusDoc({ status: 'success', substatus: [null, { status: 'warning' }, { name: 'n', status: 'error', code: 3 }] })]).opts,
  );
  assert.deepEqual(r2.substatus, [
    { name: null, status: 'warning', code: 0, message: null },
    { name: 'n', status: 'error', code: 3, message: null },
  ]);
});

test('an empty array or null is reported with null status, as upstream does', async () => {
  for (const text of ['[]', 'null']) {
    const r = await readExtensionStatus(harness([text]).opts);
    assert.equal(r.status, null);
    assert.equal(r.code, null);
    assert.equal(r.outcome, 'empty');
  }
});

test('a file over 128 KiB: message cut to 1024, substatus fields to 10240, list bounded', async () => {
  const SUFFIX = ' ... [TRUNCATED]';
  const long = 'm'.repeat(5000);
  const subs = Array.from({ length: 20 }, (_, i) => ({
    name: `sub${i}`,
    status: 'success',
    formattedMessage: { lang: 'en-US', message: 'x'.repeat(12000) },
  }));
  const text = statusDoc({ status: 'success', formattedMessage: { lang: 'en-US', message: long }, substatus: subs });
  assert.ok(text.length > 128 * 1024);
  const r = await readExtensionStatus(harness([text]).opts);
  assert.equal(r.outcome, 'truncated');
  assert.equal(r.status, 'success');
  assert.equal(r.message, 'm'.repeat(1024) + SUFFIX);
  // Running total: 1040 (message) + per item 4-5 (name) + 10256 (message) must stay <= 131072 => 12 items.
  assert.equal(r.substatus.length, 12);
  assert.equal(r.substatus[0]!.message, 'x'.repeat(10240) + SUFFIX);
  assert.equal(r.substatus[0]!.name, 'sub0');
  assert.match(r.problem!, /is too big\. Max Limit allowed is 131072 bytes$/);
});

test('a file exactly at the limit is not truncated', async () => {
  const head = statusDoc({ status: 'success', formattedMessage: { lang: 'en-US', message: '' } });
  const pad = 128 * 1024 - head.length;
  const text = statusDoc({ status: 'success', formattedMessage: { lang: 'en-US', message: 'y'.repeat(pad) } });
  assert.equal(text.length, 128 * 1024);
  const r = await readExtensionStatus(harness([text]).opts);
  assert.equal(r.outcome, 'ok');
  assert.equal(r.message!.length, pad);
});

test('reads a real file from disk by default', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'extfiles-status-'));
  try {
    await writeFile(join(dir, '7.status'), statusDoc({ status: 'transitioning', operation: 'Enable' }));
    const r = await readExtensionStatus({ statusDir: dir, fileName: '7.status', extensionName: NAME, extensionFullName: NAME, fullName: FULL, seq: 7 });
    assert.equal(r.status, 'transitioning');
    assert.equal(r.operation, 'Enable');
    const missing = await readExtensionStatus({ statusDir: dir, fileName: '8.status', extensionName: NAME, extensionFullName: NAME, fullName: FULL, seq: 8 });
    assert.equal(missing.outcome, 'missing');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
