import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AgentError, ConfigError, ERROR_CODES, ExtCode, ExtensionError, GoneError, ProtocolError, errorMessage, type ErrorCode,
} from '../../src/errors.js';

/** The project root: the directory of the package.json named waagent-ts above this compiled file. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name === 'waagent-ts') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json named waagent-ts above the test');
    dir = parent;
  }
}

/** Codes in the first column of docs/errors.md's table. */
function documentedCodes(): string[] {
  const doc = readFileSync(join(projectRoot(), 'docs/errors.md'), 'utf8');
  return [...doc.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);
}

test('every ErrorCode is documented in docs/errors.md', () => {
  const documented = new Set(documentedCodes());
  const missing = ERROR_CODES.filter((c) => !documented.has(c));
  assert.deepEqual(missing, [], `add these codes to docs/errors.md: ${missing.join(', ')}`);
});

test('docs/errors.md documents no code that src/errors.ts lacks, and none twice', () => {
  const documented = documentedCodes();
  const known = new Set<string>(ERROR_CODES);
  assert.deepEqual(documented.filter((c) => !known.has(c)), []);
  assert.equal(new Set(documented).size, documented.length);
});

test('ERROR_CODES are unique and follow the WAA_ naming', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  for (const c of ERROR_CODES) assert.match(c, /^WAA_[A-Z_]+$/);
});

test('AgentError carries code, retryable (default false), cause and name', () => {
  const cause = new Error('root');
  const e = new AgentError('WAA_STATE', 'disk full', { retryable: true, cause });
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'WAA_STATE');
  assert.equal(e.retryable, true);
  assert.equal(e.cause, cause);
  assert.equal(e.name, 'AgentError');
  assert.equal(e.message, 'disk full');
  const plain = new AgentError('WAA_USAGE', 'bad flag');
  assert.equal(plain.retryable, false);
  assert.ok(!('cause' in plain), 'no cause property when none was given');
});

test('ConfigError is WAA_CONFIG and never retryable', () => {
  const e = new ConfigError('bad value');
  assert.ok(e instanceof AgentError);
  assert.equal(e.code, 'WAA_CONFIG');
  assert.equal(e.retryable, false);
  assert.equal(e.name, 'ConfigError');
});

test('ProtocolError defaults to WAA_PROTOCOL_HTTP and keeps status, retryable and an explicit code', () => {
  const e = new ProtocolError('HTTP 503', { status: 503, retryable: true });
  assert.ok(e instanceof AgentError);
  assert.equal(e.code, 'WAA_PROTOCOL_HTTP');
  assert.equal(e.status, 503);
  assert.equal(e.retryable, true);
  assert.equal(e.name, 'ProtocolError');
  const parse = new ProtocolError('bad XML', { code: 'WAA_PROTOCOL_PARSE' });
  assert.equal(parse.code, 'WAA_PROTOCOL_PARSE');
  assert.equal(parse.status, undefined);
  assert.equal(parse.retryable, false);
});

test('GoneError is a 410 ProtocolError with WAA_PROTOCOL_GONE', () => {
  const e = new GoneError('goal state gone');
  assert.ok(e instanceof ProtocolError);
  assert.ok(e instanceof AgentError);
  assert.equal(e.code, 'WAA_PROTOCOL_GONE');
  assert.equal(e.status, 410);
  assert.equal(e.name, 'GoneError');
});

test('ExtensionError carries the numeric WALinuxAgent code and defaults to WAA_EXT', () => {
  const e = new ExtensionError('download failed', ExtCode.PluginManifestDownloadError, { code: 'WAA_EXT_DOWNLOAD' });
  assert.ok(e instanceof AgentError);
  assert.equal(e.extCode, 1001);
  assert.equal(e.code, 'WAA_EXT_DOWNLOAD');
  assert.equal(e.retryable, false);
  assert.equal(e.name, 'ExtensionError');
  assert.equal(new ExtensionError('x', ExtCode.PluginProcessingError).code, 'WAA_EXT');
});

test('every error class takes only codes from the catalogue', () => {
  const codes: ErrorCode[] = [
    new ConfigError('a').code, new ProtocolError('b').code, new GoneError('c').code, new ExtensionError('d', -1).code,
  ];
  for (const c of codes) assert.ok((ERROR_CODES as readonly string[]).includes(c), c);
});

test('ExtCode values match WALinuxAgent ExtensionErrorCodes as documented (-1, 0, 1000-1012)', () => {
  const values = Object.values(ExtCode);
  assert.equal(new Set(values).size, values.length);
  for (const v of values) assert.ok(v === -1 || v === 0 || (v >= 1000 && v <= 1012), String(v));
  assert.equal(ExtCode.PluginHandlerScriptTimedout, 1011);
  assert.equal(ExtCode.PluginHandlerManifestNotFound, 1002);
  assert.equal(ExtCode.PluginHandlerManifestDeserializationError, 1003);
});

test('errorMessage handles errors and non-errors', () => {
  assert.equal(errorMessage(new ConfigError('boom')), 'boom');
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage(42), '42');
  assert.equal(errorMessage(undefined), 'undefined');
});
