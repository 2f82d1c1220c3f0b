import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepDepEntry, productionDeps } from '../../../src/tools/prod-deps.js';

async function pkg(dir: string, deps: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: dir, dependencies: deps, ...extra }));
}

test('the production closure follows dependencies and optionalDependencies the way node resolves them, dev ones excluded', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'prod-deps-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await pkg(root, { a: '1' }, { devDependencies: { dev: '1' }, optionalDependencies: { opt: '1' } });
  await pkg(join(root, 'node_modules/a'), { b: '1', c: '1' });
  await pkg(join(root, 'node_modules/b'));
  await pkg(join(root, 'node_modules/a/node_modules/c'), { b: '1' });
  await pkg(join(root, 'node_modules/opt'));
  await pkg(join(root, 'node_modules/dev'));
  assert.deepEqual(productionDeps(root).map((d) => d.relPath), ['node_modules/a', 'node_modules/a/node_modules/c', 'node_modules/b', 'node_modules/opt']);
  await pkg(join(root, 'node_modules/a'), { missing: '1' });
  assert.throws(() => productionDeps(root), /dependency missing is not installed/);
});

test('typings, sources, maps, docs and tests are left out of the package', () => {
  for (const f of ['index.js', 'index.cjs', 'index.mjs', 'LICENSE', 'package.json', 'x.json']) assert.equal(keepDepEntry(f, false), true, f);
  for (const f of ['index.d.ts', 'index.d.cts', 'index.js.map', 'README.md', 'src.ts']) assert.equal(keepDepEntry(f, false), false, f);
  for (const d of ['lib', 'dist', 'v4']) assert.equal(keepDepEntry(d, true), true, d);
  for (const d of ['test', 'docs', '.github', '.bin']) assert.equal(keepDepEntry(d, true), false, d);
});
