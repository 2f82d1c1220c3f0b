// The daemon stays resident for the VM's lifetime: its module graph must not reach the child's heavy stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const FORBIDDEN = ['undici', 'fast-xml-parser', 'zod', 'pino', 'tar', 'yauzl', 'yazl'];

/** Static imports (import/export ... from, bare import) of the compiled file, recursively. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  }
  return { files, packages };
}

test('waagent -daemon loads no HTTP, XML, validation, logging or archive package', () => {
  for (const entry of ['cli/commands/daemon.js', 'cli/main.js']) {
    const g = graph(resolve(SRC, entry));
    const bad = [...g.packages].filter((p) => FORBIDDEN.some((f) => p === f || p.startsWith(`${f}/`)));
    assert.deepEqual(bad, [], `${entry} reaches ${bad.join(', ')}`);
  }
  const daemon = graph(resolve(SRC, 'cli/commands/daemon.js'));
  const heavy = [...daemon.files].filter((f) =>
    /\/(protocol|config|agent)\//.test(f) || (f.includes('/extensions/') && !f.endsWith('/extensions/version.js')) || f.endsWith('/compose.js') || f.includes('/log/logger'));
  assert.deepEqual(heavy, []);
  assert.ok(daemon.files.has(resolve(SRC, 'daemon/supervisor.js')));
  assert.ok(daemon.files.size < 20, `${daemon.files.size} modules`);
});
