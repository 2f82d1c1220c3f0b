// The few waagent.conf keys the daemon needs, read without the zod-based loader so the parent stays small.
// Line rules are upstream's (as config/parse.ts); the extension handler validates every key again at start.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

export interface DaemonConfig {
  readonly libDir: string;
  readonly pidFile: string;
  readonly verbose: boolean;
  /** AutoUpdate.UpdateToLatestVersion present, or AutoUpdate.Enabled on: the newest downloaded agent may run. */
  readonly runDownloadedAgents: boolean;
  readonly crashLoopCount: number;
  readonly crashLoopWindowMs: number;
}

/** Python's str.strip(chars) on both ends. */
function strip(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a]!)) a++;
  while (b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/** key -> raw value for every set key; later lines win, `None` unsets. */
export function readConfLines(text: string): Map<string, string> {
  const set = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = strip(line.slice(eq + 1).split('#')[0]!, '" ').trim();
    if (value === 'None') set.delete(key);
    else set.set(key, value);
  }
  return set;
}

export function parseDaemonConfig(text: string, source: string): DaemonConfig {
  if (text.length === 0) throw new ConfigError(`Cannot load configuration as ${source} is empty`);
  const set = readConfLines(text);
  const bad = (key: string, expected: string): ConfigError =>
    new ConfigError(`Cannot load configuration as ${source} has an invalid value for ${key}: expected ${expected}, got '${set.get(key) ?? ''}'`);
  const sw = (key: string, def: boolean): boolean => {
    const v = set.get(key)?.toLowerCase();
    if (v === undefined) return def;
    if (v === 'y' || v === 'n') return v === 'y';
    throw bad(key, 'y or n');
  };
  const int = (key: string, def: number): number => {
    const v = set.get(key);
    if (v === undefined) return def;
    if (!/^\+?\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw bad(key, 'an integer >= 1');
    return Number(v);
  };
  const str = (key: string, def: string): string => {
    const v = set.get(key);
    if (v === '') throw bad(key, 'a non-empty string');
    return v ?? def;
  };
  const autoUpdate = sw('AutoUpdate.Enabled', true);
  // Validated even though only its presence matters here (upstream's rule for the daemon).
  sw('AutoUpdate.UpdateToLatestVersion', autoUpdate);
  return {
    libDir: str('Lib.Dir', '/var/lib/waagent'),
    pidFile: str('Pid.File', '/var/run/waagent.pid'),
    verbose: sw('Logs.Verbose', false),
    runDownloadedAgents: set.has('AutoUpdate.UpdateToLatestVersion') || autoUpdate,
    crashLoopCount: int('Debug.AgentCrashLoopCount', 3),
    crashLoopWindowMs: int('Debug.AgentCrashLoopWindow', 300) * 1000,
  };
}

export function readDaemonConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') throw new ConfigError(`Missing configuration in ${path}`, { cause: err });
    throw new ConfigError(`Failed to load conf file:${path}, ${(err as Error).message}`, { cause: err });
  }
  return parseDaemonConfig(text, path);
}
