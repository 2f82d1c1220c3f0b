import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AgentError } from '../../../src/errors.js';
import { ensureDir, readJsonFile, writeFileAtomic, writeJsonAtomic } from '../../../src/state/atomic-write.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'waagent-atomic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const mode = (p: string): number => statSync(p).mode & 0o7777;

test('writes content, overwrites, leaves no temp files', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'HandlerState');
  await writeFileAtomic(file, 'Installed');
  assert.equal(readFileSync(file, 'utf8'), 'Installed');
  await writeFileAtomic(file, new TextEncoder().encode('Enabled'));
  assert.equal(readFileSync(file, 'utf8'), 'Enabled');
  assert.deepEqual(readdirSync(dir), ['HandlerState']);
});

test('applies an explicit mode regardless of umask, keeps an existing mode otherwise', async (t) => {
  const dir = tempDir(t);
  const secret = join(dir, '0.settings');
  await writeFileAtomic(secret, '{}', { mode: 0o600 });
  assert.equal(mode(secret), 0o600);
  await writeFileAtomic(secret, '{"a":1}');
  assert.equal(mode(secret), 0o600, 'an overwrite without mode must not loosen permissions');
  const exe = join(dir, 'x');
  await writeFileAtomic(exe, '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(mode(exe), 0o755);
});

test('a failed write throws AgentError and removes its temp file', async (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'is-a-dir');
  mkdirSync(join(target, 'child'), { recursive: true });
  await assert.rejects(writeFileAtomic(target, 'x'), (e: unknown) => e instanceof AgentError && e.code === 'WAA_STATE' && e.message.includes(target));
  assert.deepEqual(readdirSync(dir), ['is-a-dir']);
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'f'), 'x'), AgentError);
});

test('writeJsonAtomic and readJsonFile round-trip through a schema', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'HandlerStatus');
  const schema = z.object({ name: z.string(), code: z.number() });
  await writeJsonAtomic(file, { name: 'Pub.Ext', code: 0 });
  assert.equal(readFileSync(file, 'utf8'), '{"name":"Pub.Ext","code":0}');
  assert.deepEqual(await readJsonFile(file, schema, 'handler status'), { name: 'Pub.Ext', code: 0 });
  await writeJsonAtomic(file, { name: 'a', code: 1 }, { space: 2, mode: 0o640 });
  assert.equal(readFileSync(file, 'utf8'), '{\n  "name": "a",\n  "code": 1\n}');
  assert.equal(mode(file), 0o640);
});

test('readJsonFile: missing => undefined; BOM accepted; malformed and invalid name the file and field', async (t) => {
  const dir = tempDir(t);
  const schema = z.object({ status: z.enum(['Ready', 'NotReady']) });
  assert.equal(await readJsonFile(join(dir, 'none.json'), schema, 'status'), undefined);

  const bom = join(dir, 'bom.json');
  writeFileSync(bom, '\uFEFF{"status":"Ready"}');
  assert.deepEqual(await readJsonFile(bom, schema, 'status'), { status: 'Ready' });

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"status": ');
  await assert.rejects(readJsonFile(bad, schema, 'handler status'), (e: unknown) => {
    assert.ok(e instanceof AgentError && e.code === 'WAA_STATE');
    assert.match(e.message, /handler status/);
    assert.ok(e.message.includes(bad));
    assert.match(e.message, /not valid JSON/);
    return true;
  });

  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, '{"status":"SECRETVALUE"}');
  await assert.rejects(readJsonFile(wrong, schema, 'handler status'), (e: unknown) => {
    assert.ok(e instanceof AgentError);
    assert.ok(e.message.includes(wrong));
    assert.match(e.message, /status:/);
    assert.ok(!e.message.includes('SECRETVALUE'), 'values are not echoed');
    return true;
  });
});

test('ensureDir creates parents and sets the mode, also on an existing directory', async (t) => {
  const dir = tempDir(t);
  const nested = join(dir, 'a', 'b', 'config');
  await ensureDir(nested, 0o700);
  assert.equal(mode(nested), 0o700);
  chmodSync(nested, 0o755);
  await ensureDir(nested, 0o700);
  assert.equal(mode(nested), 0o700);
  writeFileSync(join(dir, 'file'), '');
  await assert.rejects(ensureDir(join(dir, 'file'), 0o700), AgentError);
});
