// The production dependency closure of a package (dependencies + optionalDependencies, resolved the way node
// does: the nearest node_modules upwards), and which of their files an agent package needs at run time.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export interface DepDir {
  readonly name: string;
  /** Absolute folder of the installed dependency. */
  readonly dir: string;
  /** Its path relative to the root's node_modules parent (e.g. `node_modules/pino`). */
  readonly relPath: string;
}

function depsOf(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
  return Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
}

function resolveDep(name: string, from: string, root: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) return null;
  }
}

/** Every installed production dependency of the package at `root`, each once. Missing optional ones are skipped. */
export function productionDeps(root: string): DepDir[] {
  const out = new Map<string, DepDir>();
  const pending: Array<{ name: string; from: string }> = depsOf(root).map((name) => ({ name, from: root }));
  while (pending.length > 0) {
    const { name, from } = pending.pop()!;
    const dir = resolveDep(name, from, root);
    if (dir === null) throw new Error(`Cannot package ${root} as dependency ${name} is not installed`);
    if (out.has(dir)) continue;
    out.set(dir, { name, dir, relPath: relative(root, dir).split(sep).join('/') });
    for (const d of depsOf(dir)) pending.push({ name: d, from: dir });
  }
  return [...out.values()].sort((a, b) => a.relPath.localeCompare(b.relPath));
}

const SKIP_DIRS = new Set(['test', 'tests', '__tests__', 'docs', 'doc', 'benchmarks', 'bench', 'example', 'examples', '.github', '.bin']);
const SKIP_FILES = /\.(?:d\.ts|d\.mts|d\.cts|map|md|markdown|ts|mts|cts|tsbuildinfo)$|^\.(?:npmignore|eslintrc.*|prettierrc.*|editorconfig|travis\.yml)$/;

/** Whether a file or folder inside a dependency is needed at run time (sources, typings, docs and tests are not). */
export function keepDepEntry(name: string, isDir: boolean): boolean {
  if (isDir) return !SKIP_DIRS.has(name);
  return !SKIP_FILES.test(name);
}
