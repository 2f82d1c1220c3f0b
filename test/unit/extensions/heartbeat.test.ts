import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHeartbeat } from '../../../src/extensions/status-file.js';

const NOW = Date.UTC(2025, 0, 15, 10, 20, 36);

function io(text: string | Error, ageSeconds = 5) {
  return {
    mtimeMs: async () => NOW - ageSeconds * 1000,
    readFile: async () => {
      if (text instanceof Error) throw text;
      return text;
    },
  };
}

const hb = (heartbeat: unknown) => JSON.stringify([{ version: 1.0, heartbeat }]);

test('a fresh heartbeat supplies status and message', async () => {
  const r = await readHeartbeat('/x/heartbeat.log', NOW, io(hb({ status: 'ready', code: 0, formattedMessage: { lang: 'en-US', message: 'up' } })));
  assert.deepEqual(r, { kind: 'ok', status: 'ready', message: 'up' });
});

test('without formattedMessage only the status is supplied', async () => {
  const r = await readHeartbeat('/x/heartbeat.log', NOW, io(hb({ status: 'NotReady' })));
  assert.deepEqual(r, { kind: 'ok', status: 'NotReady' });
  assert.equal('message' in r, false);
});

test('older than 600 s => Unresponsive without reading the file', async () => {
  let read = false;
  const r = await readHeartbeat('/x/heartbeat.log', NOW, {
    mtimeMs: async () => NOW - 601_000,
    readFile: async () => {
      read = true;
      return '';
    },
  });
  assert.deepEqual(r, { kind: 'unresponsive', status: 'Unresponsive', code: -1, message: 'Extension heartbeat is not responsive' });
  assert.equal(read, false);
  // 600.9 s truncates to 600: still responsive, as upstream's int().
  const edge = await readHeartbeat('/x/heartbeat.log', NOW, { ...io(hb({ status: 'ready' })), mtimeMs: async () => NOW - 600_900 });
  assert.equal(edge.kind, 'ok');
});

test('missing, unreadable and malformed heartbeat files are handler errors', async () => {
  const missing = await readHeartbeat('/x/heartbeat.log', NOW, {
    mtimeMs: async () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    },
  });
  assert.deepEqual(missing, { kind: 'error', code: -1, message: 'Failed to get heart beat file' });

  const unreadable = await readHeartbeat('/x/h', NOW, io(new Error('EACCES: permission denied')));
  assert.deepEqual(unreadable, { kind: 'error', code: -1, message: 'Failed to get heartbeat file:EACCES: permission denied' });

  for (const text of ['{', '[]', '{}', '[{"version": 1.0}]', hb('ready'), hb({ status: 5 })]) {
    const r = await readHeartbeat('/x/h', NOW, io(text));
    assert.equal(r.kind, 'error', text);
    assert.ok(r.kind === 'error' && r.message.startsWith('Malformed heartbeat file: '), text);
  }
  const noLang = await readHeartbeat('/x/h', NOW, io(hb({ status: 'ready', formattedMessage: { message: 'm' } })));
  assert.deepEqual(noLang, { kind: 'error', code: -1, message: 'Invalid status format by extension: Missing formattedMessage/lang key' });
});

test('reads a real file and its mtime by default', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'extfiles-hb-'));
  try {
    const file = join(dir, 'heartbeat.log');
    await writeFile(file, hb({ status: 'ready', code: 0, formattedMessage: { lang: 'en-US', message: 'ok' } }));
    const mtime = new Date(NOW - 10_000);
    await utimes(file, mtime, mtime);
    assert.deepEqual(await readHeartbeat(file, NOW), { kind: 'ok', status: 'ready', message: 'ok' });
    const old = new Date(NOW - 3600_000);
    await utimes(file, old, old);
    assert.equal((await readHeartbeat(file, NOW)).kind, 'unresponsive');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
