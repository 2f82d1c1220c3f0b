import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NAME, AGENT_VERSION, WIRE_AGENT_NAME } from '../../src/version.js';

/** The project's package.json, found by walking up from this compiled file (works from dist/ and any outDir). */
function projectPackage(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'waagent-ts') return pkg as { name: string; version: string };
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json named waagent-ts above the test');
    dir = parent;
  }
}

test('AGENT_VERSION equals package.json version', () => {
  assert.equal(AGENT_VERSION, projectPackage().version);
});

test('AGENT_NAME equals the package name', () => {
  assert.equal(AGENT_NAME, projectPackage().name);
});

test('AGENT_VERSION is a plain dotted version (the agent directory name and goal-state scan rely on it)', () => {
  assert.match(AGENT_VERSION, /^\d+\.\d+\.\d+(\.\d+)?$/);
});

test('the fabric-facing agent name stays WALinuxAgent', () => {
  assert.equal(WIRE_AGENT_NAME, 'WALinuxAgent');
});
